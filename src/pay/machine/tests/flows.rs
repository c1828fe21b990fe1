//! Scripted paths through the flow: keyphone and ACA starts, attach, agent ID entry.

use super::*;

#[test]
fn happy_path_keyphone_in_conference() {
    let (mut m, log) = to_ready();
    let texts: Vec<String> = sends(&log).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "conference pay-1 hold 13 local_stream://moh".to_string(),
            // Every recording of the call listed and masked before the capture leg exists.
            format!("uuid_buglist {C}"),
            format!("uuid_buglist {A}"),
            "conference pay-1 recording check".to_string(),
            format!("uuid_record {C} mask {CUSTOMER_REC}"),
            format!("conference pay-1 recording pause {ROOM_REC}"),
            format!(
                "originate {{origination_uuid={P},originate_timeout=30,ignore_early_media=true,confpay_role=capture}}sofia/gateway/paytia/pay &conference(pay-1@confpay)"
            ),
            format!("uuid_send_dtmf {P} 4711#@100"),
            "conference pay-1 unhold 13".to_string(),
            format!("uuid_setvar {C} sensitive_dtmf false"),
        ]
    );
    let a = m.step(Input::CustomerStartKey);
    assert_eq!(
        m.state(),
        &State::Arming,
        "capturing only once isolation is confirmed"
    );
    assert_eq!(
        sends(&a),
        [
            (
                Step::Isolate,
                "conference pay-1 relate 14 13 nospeak,nohear".to_string()
            ),
            (
                Step::Sensitive,
                format!("uuid_setvar {C} sensitive_dtmf true")
            ),
        ]
    );
    let a = answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Capturing);
    assert!(a.contains(&Action::StartTimer {
        kind: TimerKind::MaxCapture,
        after: Duration::from_secs(600)
    }));
    assert!(m.legs().masked);
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    assert_eq!(
        sends(&a),
        [
            (
                Step::Restore,
                "conference pay-1 relate 14 13 clear".to_string()
            ),
            (
                Step::UnmaskRecording,
                format!("uuid_record {C} unmask {CUSTOMER_REC}")
            ),
            (
                Step::UnmaskRecording,
                format!("conference pay-1 recording resume {ROOM_REC}")
            ),
        ]
    );
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
    assert_eq!(m.state(), &State::Done);
    assert!(!m.legs().masked);
    assert!(
        m.step(Input::Cancel).is_empty(),
        "a finished session ignores input"
    );
}

#[test]
fn aca_isolates_before_sending_the_start_key() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::StartCapture);
    assert_eq!(m.state(), &State::Arming);
    assert!(
        !sends(&a).iter().any(|(s, _)| *s == Step::SendStart),
        "'1' must wait for isolation to be confirmed"
    );
    assert!(m.step(ok(Step::Isolate)).is_empty() || m.state() == &State::Arming);
    let a = m.step(ok(Step::Sensitive));
    // The pre-capture check asks FreeSWITCH for the members before '1' goes out.
    assert_eq!(
        sends(&a),
        [(Step::Verify, "conference pay-1 json_list".to_string())]
    );
    let a = m.step(ok(Step::Verify));
    assert_eq!(
        sends(&a),
        [(Step::SendStart, format!("uuid_send_dtmf {P} 1@100"))]
    );
    m.step(ok(Step::SendStart));
    assert_eq!(m.state(), &State::Capturing);
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Aca
        })
    );
}

#[test]
fn aca_failed_precapture_check_never_sends_start() {
    let (mut m, _) = to_ready();
    m.step(Input::StartCapture);
    m.step(ok(Step::Isolate));
    m.step(ok(Step::Sensitive));
    let a = m.step(Input::Reply {
        step: Step::Verify,
        ok: false,
        reply: "-ERR the capture leg or the customer is not in the conference".into(),
    });
    assert!(!sends(&a).iter().any(|(s, _)| *s == Step::SendStart));
    let a = answer_all(&mut m, a);
    assert!(matches!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::Verify,
            ..
        }))
    ));
}

#[test]
fn aca_refused_isolation_never_sends_start() {
    let (mut m, _) = to_ready();
    m.step(Input::StartCapture);
    let a = m.step(Input::Reply {
        step: Step::Isolate,
        ok: false,
        reply: "-ERR relationship 14->13 not found.\n".into(),
    });
    assert!(!sends(&a).iter().any(|(s, _)| *s == Step::SendStart));
    assert_eq!(m.state(), &State::Unwinding);
    // The capture leg is killed first; isolation is cleared only after it is gone.
    assert_eq!(sends(&a)[0].0, Step::KillCapture);
    let a = answer_all(&mut m, a);
    assert!(matches!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::Isolate,
            ..
        }))
    ));
    assert!(!m.legs().isolated && !m.legs().customer_held);
}

#[test]
fn attach_moves_both_legs_with_their_flags_first() {
    let mut m = machine(Topology::Bridged, Some("4711"));
    let a = m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::Moving);
    let t = sends(&a);
    assert_eq!(
        t[0].1,
        format!(
            "uuid_setvar_multi {C} park_after_bridge=true;hangup_after_bridge=false;conference_controls=none;confpay_role=customer"
        )
    );
    assert_eq!(
        t[2].1,
        format!("uuid_transfer {C} conference:pay-1@confpay+flags{{dist-dtmf|endconf}} inline")
    );
    assert_eq!(
        t[3].1,
        format!("uuid_transfer {A} conference:pay-1@confpay+flags{{skip-dtmf}} inline")
    );
    for s in [
        Step::PrepareCustomer,
        Step::PrepareAgent,
        Step::TransferCustomer,
        Step::TransferAgent,
    ] {
        assert!(sends(&m.step(ok(s))).is_empty());
    }
    m.step(Input::Joined {
        leg: Leg::Agent,
        member: 21,
    });
    assert_eq!(m.state(), &State::Moving);
    let a = m.step(Input::Joined {
        leg: Leg::Customer,
        member: 20,
    });
    assert_eq!(m.state(), &State::Holding);
    assert_eq!(
        sends(&a),
        [(
            Step::HoldCustomer,
            "conference pay-1 hold 20 local_stream://moh".into()
        )]
    );
}

#[test]
fn agent_keys_the_agent_id_when_nobody_gave_it() {
    let mut m = machine(Topology::InConference, None);
    let a = m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::AwaitingAgentId);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::StartTimer {
            kind: TimerKind::AgentIdEntry,
            ..
        }
    )));
    for d in ['9', '*', '4', '2', 'A'] {
        assert!(sends(&m.step(Input::AgentDigit(d))).is_empty());
    }
    let a = m.step(Input::AgentDigit('#'));
    assert_eq!(m.agent_id().map(AgentId::as_str), Some("42"));
    assert_eq!(m.state(), &State::Holding);
    assert_eq!(sends(&a).len(), 1);
}

#[test]
fn agent_id_entry_times_out() {
    let mut m = machine(Topology::InConference, None);
    m.step(Input::Start { agent_id: None });
    let a = m.step(Input::Timer(TimerKind::AgentIdEntry));
    assert_eq!(finished(&a), Some(Outcome::Failed(FailReason::NoAgentId)));
    assert!(sends(&a).is_empty(), "nothing was changed, nothing to undo");
}
