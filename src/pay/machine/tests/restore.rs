//! Unwinding puts things back even when FreeSWITCH does not answer or refuses once.

use super::*;

#[test]
fn hold_without_reply_is_undone_when_unwinding() {
    // The hold got no reply in time: it may still happen in FreeSWITCH, so unwinding unholds.
    let mut m = machine(Topology::InConference, Some("4711"));
    let a = m.step(Input::Start { agent_id: None });
    assert_eq!(
        sends(&a),
        [(
            Step::HoldCustomer,
            "conference pay-1 hold 13 local_stream://moh".to_string()
        )]
    );
    let a = m.step(fail(Step::HoldCustomer, "`api` got no reply within 5s"));
    assert_eq!(
        sends(&a),
        [(
            Step::UnholdCustomer,
            "conference pay-1 unhold 13".to_string()
        )]
    );
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::HoldCustomer,
            reply: "`api` got no reply within 5s".into()
        }))
    );
    assert!(!m.legs().customer_held);
}

#[test]
fn refused_restore_is_retried_once() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Capturing);
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    let clear = "conference pay-1 relate 14 13 clear".to_string();
    assert_eq!(sends(&a)[0], (Step::Restore, clear.clone()));
    m.step(ok(Step::UnmaskRecording));
    m.step(ok(Step::UnmaskRecording));
    // Refused (or no reply in time): sent once more, the outcome untouched.
    let a = m.step(fail(Step::Restore, "`api` got no reply within 5s"));
    assert_eq!(sends(&a), [(Step::Restore, clear)]);
    assert_eq!(finished(&a), None);
    // The retry finds nothing left to clear (the late first one went through): done, completed.
    let a = m.step(fail(Step::Restore, "-ERR relationship 14->13 not found."));
    assert_eq!(sends(&a), []);
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
}

#[test]
fn refused_unhold_while_unwinding_is_retried_once_then_reported() {
    let mut m = machine(Topology::InConference, Some("4711"));
    let a = m.step(Input::Start { agent_id: None });
    answer_all(&mut m, a);
    let a = m.step(Input::CaptureFailed {
        cause: "USER_BUSY".into(),
    });
    let unhold = "conference pay-1 unhold 13".to_string();
    assert_eq!(sends(&a)[0], (Step::UnholdCustomer, unhold.clone()));
    m.step(ok(Step::UnmaskRecording));
    m.step(ok(Step::UnmaskRecording));
    let a = m.step(fail(Step::UnholdCustomer, "-ERR Operation failed"));
    assert_eq!(sends(&a), [(Step::UnholdCustomer, unhold)]);
    let a = m.step(fail(Step::UnholdCustomer, "-ERR Operation failed"));
    assert_eq!(sends(&a), []);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CaptureUnavailable {
            cause: "USER_BUSY".into()
        }))
    );
}

/// What FreeSWITCH shows of a call whose payment ended before the daemon restarted.
fn after_the_payment() -> Snapshot {
    Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive: false,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: None,
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    }
}

/// Ends a recovered session, FreeSWITCH answering the relate clear with `relate`.
fn end_recovered(snap: Snapshot, relate: &str) -> Machine {
    let (mut m, mut a) = Machine::recovered(cfg(), "pay-1".into(), legs(), snap);
    let relate_ok = relate.starts_with("+OK");
    while !a.is_empty() {
        let mut next = Vec::new();
        for (step, _) in sends(&a) {
            next.extend(m.step(match step {
                Step::Restore if !relate_ok => fail(step, relate),
                _ => ok(step),
            }));
        }
        a = next;
    }
    assert_eq!(m.state(), &State::Done);
    m
}

#[test]
fn a_recovered_session_that_finds_no_payment_running_says_so() {
    // The isolation was cleared and the customer unheld before the restart: nothing to undo. (The
    // real switch answers the clear `+OK … cleared.` either way.)
    let gone = "+OK relationship 14->13 cleared.";
    assert!(end_recovered(after_the_payment(), gone).found_nothing_running());
    // The isolation was still there (killed mid-capture, the capture leg left while it was down).
    let isolated = Snapshot {
        agent_isolated: true,
        ..after_the_payment()
    };
    let m = end_recovered(isolated, "+OK relationship 14->13 cleared.");
    assert!(!m.found_nothing_running());
    // The customer still on hold (killed while the capture service was being set up).
    let held = Snapshot {
        customer_held: true,
        ..after_the_payment()
    };
    assert!(!end_recovered(held, gone).found_nothing_running());
    // Sessions started here are never "rebuilt".
    let (mut m, _) = to_ready();
    let a = m.step(Input::Cancel);
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Done);
    assert!(!m.found_nothing_running());
}
