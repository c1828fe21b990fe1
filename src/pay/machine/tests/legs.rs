//! The capture service and the parties going away: busy, late, early or long captures, hangups,
//! lost connections and recovery after a restart, a refused attach transfer.

use super::*;

#[test]
fn capture_service_busy_or_unanswered() {
    for (input, cause) in [
        (
            Input::CaptureFailed {
                cause: "USER_BUSY".into(),
            },
            "USER_BUSY",
        ),
        (
            Input::CaptureFailed {
                cause: "CALL_REJECTED".into(),
            },
            "CALL_REJECTED",
        ),
        (Input::Timer(TimerKind::CaptureAnswer), "NO_ANSWER"),
    ] {
        let mut m = machine(Topology::InConference, Some("1"));
        let a = m.step(Input::Start { agent_id: None });
        answer_all(&mut m, a);
        assert_eq!(m.state(), &State::Dialling);
        let timed_out = input == Input::Timer(TimerKind::CaptureAnswer);
        let a = m.step(input);
        let mut all = answer_all(&mut m, a);
        if timed_out {
            // The originate is still in flight: its failure (after our kill) ends the wait.
            assert_eq!(m.state(), &State::Unwinding);
            let a = m.step(Input::CaptureFailed {
                cause: "ORIGINATOR_CANCEL".into(),
            });
            all.extend(answer_all(&mut m, a));
        }
        assert!(
            sends(&all)
                .iter()
                .any(|(_, t)| t == "conference pay-1 unhold 13")
        );
        assert_eq!(
            finished(&all),
            Some(Outcome::Failed(FailReason::CaptureUnavailable {
                cause: cause.into()
            }))
        );
    }
}

/// FreeSWITCH sends a failed leg's CHANNEL_HANGUP before the originate's result (seen on the real
/// switch): the outcome still names the result's cause, not a bare hangup.
#[test]
fn capture_leg_hangup_before_the_originate_result_keeps_its_cause() {
    let mut m = machine(Topology::InConference, Some("1"));
    let a = m.step(Input::Start { agent_id: None });
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Dialling);
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    assert_eq!(m.state(), &State::Dialling, "{a:?}");
    let a = m.step(Input::CaptureFailed {
        cause: "USER_BUSY".into(),
    });
    let all = answer_all(&mut m, a);
    assert_eq!(
        finished(&all),
        Some(Outcome::Failed(FailReason::CaptureUnavailable {
            cause: "USER_BUSY".into()
        }))
    );
}

#[test]
fn capture_answered_after_cancel_is_killed() {
    let mut m = machine(Topology::InConference, Some("1"));
    let a = m.step(Input::Start { agent_id: None });
    answer_all(&mut m, a);
    let a = m.step(Input::Cancel);
    // uuid_kill while dialling finds no channel yet.
    let kill = sends(&a);
    assert_eq!(kill[0].0, Step::KillCapture);
    m.step(Input::Reply {
        step: Step::KillCapture,
        ok: false,
        reply: "-ERR No such channel!\n".into(),
    });
    assert_eq!(m.state(), &State::Unwinding);
    let a = m.step(Input::CaptureAnswered { uuid: P.into() });
    assert_eq!(
        sends(&a)[0],
        (Step::KillCapture, format!("uuid_kill {P} NORMAL_CLEARING"))
    );
    let a = answer_all(&mut m, a);
    assert_eq!(finished(&a), Some(Outcome::Cancelled));
}

#[test]
fn capture_leaves_before_start() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CaptureLeftEarly))
    );
}

#[test]
fn capture_runs_too_long() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    let a = m.step(Input::Timer(TimerKind::MaxCapture));
    // Kill first; isolation stays until the capture leg is gone.
    assert_eq!(
        sends(&a),
        [(Step::KillCapture, format!("uuid_kill {P} NORMAL_CLEARING"))]
    );
    assert!(m.legs().isolated);
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
    assert!(!m.legs().isolated);
}

#[test]
fn agent_hangup_during_capture_lets_it_finish_then_applies_policy() {
    for (policy, expect) in [
        (
            AgentHangupPolicy::Hangup,
            format!("uuid_kill {C} NORMAL_CLEARING"),
        ),
        (
            AgentHangupPolicy::Transfer("survey XML default".into()),
            format!("uuid_transfer {C} survey XML default"),
        ),
    ] {
        let mut c = cfg();
        c.on_agent_hangup = policy;
        let mut m = Machine::new(
            c,
            "pay-1".into(),
            Topology::InConference,
            legs(),
            AgentId::parse("7"),
        );
        let a = m.step(Input::Start { agent_id: None });
        answer_all(&mut m, a);
        let a = m.step(Input::CaptureAnswered { uuid: P.into() });
        answer_all(&mut m, a);
        let a = m.step(Input::Timer(TimerKind::AgentIdDelay));
        answer_all(&mut m, a);
        let a = m.step(Input::CustomerStartKey);
        answer_all(&mut m, a);
        let a = m.step(Input::Hangup { leg: Leg::Agent });
        assert!(sends(&a).is_empty(), "capture goes on without the agent");
        assert_eq!(m.state(), &State::Capturing);
        let a = m.step(Input::Hangup { leg: Leg::Capture });
        let a = answer_all(&mut m, a);
        assert!(sends(&a).iter().any(|(_, t)| *t == expect), "{a:?}");
        assert!(matches!(finished(&a), Some(Outcome::Completed { .. })));
    }
}

#[test]
fn customer_hangup_tears_the_capture_leg_down() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::Hangup { leg: Leg::Customer });
    assert_eq!(
        sends(&a),
        [(Step::KillCapture, format!("uuid_kill {P} NORMAL_CLEARING"))]
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CustomerHungUp))
    );
}

#[test]
fn connection_lost_mid_capture_resumes_and_reisolates() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    m.step(Input::ConnectionLost);
    assert_eq!(m.state(), &State::Suspended);
    assert!(m.step(Input::Hangup { leg: Leg::Capture }).is_empty());
    let a = m.step(Input::Resync(Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive: true,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: Some(15),
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    }));
    assert_eq!(m.state(), &State::Capturing);
    assert_eq!(
        sends(&a)[0],
        (
            Step::Isolate,
            "conference pay-1 relate 14 13 nospeak,nohear".into()
        )
    );
}

#[test]
fn connection_lost_and_capture_gone_restores() {
    // Members read back, or not (the resync's `json_list` got no answer: `None`): either way the
    // members known before get their isolation cleared; never finished with the two apart.
    for (customer_member, agent_member) in [(Some(13), Some(14)), (None, None)] {
        let (mut m, _) = to_ready();
        let a = m.step(Input::CustomerStartKey);
        answer_all(&mut m, a);
        m.step(Input::ConnectionLost);
        let a = m.step(Input::Resync(Snapshot {
            customer_alive: true,
            agent_alive: true,
            capture_alive: false,
            customer_member,
            agent_member,
            capture_member: None,
            customer_held: false,
            agent_isolated: false,
            recordings: Vec::new(),
        }));
        assert_eq!(sends(&a)[0].1, "conference pay-1 relate 14 13 clear");
        let a = answer_all(&mut m, a);
        assert_eq!(
            finished(&a),
            Some(Outcome::Completed {
                method: StartMethod::Keyphone
            })
        );
    }
}

#[test]
fn recovered_after_restart_with_capture_present_isolates() {
    let snap = Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive: true,
        customer_member: Some(3),
        agent_member: Some(4),
        capture_member: Some(5),
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    };
    let (m, a) = Machine::recovered(cfg(), "pay-9".into(), legs(), snap);
    assert_eq!(m.state(), &State::Capturing);
    assert_eq!(sends(&a)[0].1, "conference pay-9 relate 4 3 nospeak,nohear");
}

#[test]
fn resumed_capture_gets_its_time_limit_again() {
    // After an ESL loss (or a restart) a resumed capture is bounded by max_capture again.
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    m.step(Input::ConnectionLost);
    let a = m.step(Input::Resync(Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive: true,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: Some(15),
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    }));
    assert_eq!(m.state(), &State::Capturing);
    assert!(a.contains(&Action::StartTimer {
        kind: TimerKind::MaxCapture,
        after: Duration::from_secs(600)
    }));
}

#[test]
fn recovered_with_capture_present_unholds_the_customer_at_once() {
    // Killed while the capture service was set up (customer on hold): the rebuilt session
    // isolates first, then takes the customer off hold (music would drown the capture service's
    // prompts); once the capture limit passes it clears isolation, nothing left to unhold.
    let snap = Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive: true,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: Some(15),
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    };
    let (mut m, a) = Machine::recovered(cfg(), "pay-1".into(), legs(), snap);
    let texts: Vec<String> = sends(&a).into_iter().map(|(_, t)| t).collect();
    let isolate = texts
        .iter()
        .position(|t| t == "conference pay-1 relate 14 13 nospeak,nohear");
    let unhold = texts.iter().position(|t| t == "conference pay-1 unhold 13");
    assert!(
        matches!((isolate, unhold), (Some(i), Some(u)) if i < u),
        "isolate, then unhold: {texts:?}"
    );
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Capturing);
    assert!(!m.legs().customer_held);
    let a = m.step(Input::Timer(TimerKind::MaxCapture));
    let a = answer_all(&mut m, a);
    let texts: Vec<String> = sends(&a).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            format!("uuid_kill {P} NORMAL_CLEARING"),
            "conference pay-1 relate 14 13 clear".to_string(),
        ]
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
}

#[test]
fn refused_attach_transfer_is_sent_once_more() {
    let mut m = machine(Topology::Bridged, Some("4711"));
    let a = m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::Moving);
    let transfer = sends(&a)
        .into_iter()
        .find(|(s, _)| *s == Step::TransferCustomer)
        .expect("customer transfer");
    // mod_commands `transfer_function`: a bare `-ERR` when the transfer itself fails (a gone
    // channel is `-ERR No such channel!`, which is its hangup, not a refusal).
    let a = m.step(fail(Step::TransferCustomer, "-ERR"));
    assert_eq!(sends(&a), [transfer]);
    assert_eq!(m.state(), &State::Moving);
    // Refused again: the session gives up.
    let a = m.step(fail(Step::TransferCustomer, "-ERR"));
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::TransferCustomer,
            reply: "-ERR".into()
        }))
    );
}
