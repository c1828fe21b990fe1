//! Tests of the pure session machine: scripted paths for every flow, and an exhaustive sweep of every
//! reachable state × every input, checked against the safety invariants.

use super::machine::*;
use super::types::*;
use std::time::Duration;

mod faults;

const C: &str = "cust-0000";
const A: &str = "agent-0000";
const P: &str = "capt-0000";

fn cfg() -> MachineConfig {
    MachineConfig {
        capture_dial: "sofia/gateway/paytia/pay".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: "".into(),
        agent_id_suffix: "#".into(),
        dtmf_duration_ms: 100,
        agent_id_delay: Duration::from_millis(1000),
        capture_answer_timeout: Duration::from_secs(30),
        max_capture: Duration::from_secs(600),
        agent_id_entry_timeout: Duration::from_secs(20),
        step_timeout: Duration::from_secs(10),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    }
}

fn legs() -> Legs {
    Legs {
        customer: C.into(),
        agent: A.into(),
        capture: P.into(),
        customer_member: Some(13),
        agent_member: Some(14),
        ..Legs::default()
    }
}

fn machine(topology: Topology, agent_id: Option<&str>) -> Machine {
    let mut l = legs();
    if topology == Topology::Bridged {
        l.customer_member = None;
        l.agent_member = None;
    }
    Machine::new(
        cfg(),
        "pay-1".into(),
        topology,
        l,
        agent_id.and_then(AgentId::parse),
    )
}

fn sends(actions: &[Action]) -> Vec<(Step, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { step, cmd } => Some((*step, super::commands::api_text(cmd))),
            _ => None,
        })
        .collect()
}

fn finished(actions: &[Action]) -> Option<Outcome> {
    actions.iter().find_map(|a| match a {
        Action::Finished(o) => Some(o.clone()),
        _ => None,
    })
}

fn ok(step: Step) -> Input {
    Input::Reply {
        step,
        ok: true,
        reply: "+OK\n".into(),
    }
}

/// Answers every command of `actions` with success (a well-behaved FreeSWITCH), recursively, and
/// returns every action produced along the way.
fn answer_all(m: &mut Machine, actions: Vec<Action>) -> Vec<Action> {
    let mut all = Vec::new();
    let mut queue = actions;
    while !queue.is_empty() {
        let batch = std::mem::take(&mut queue);
        for a in &batch {
            if let Action::Send { step, cmd } = a {
                match cmd {
                    Cmd::Originate { .. } => {}
                    Cmd::Kill { uuid, .. } if uuid == P => {
                        queue.extend(m.step(ok(*step)));
                        queue.extend(m.step(Input::Hangup { leg: Leg::Capture }));
                    }
                    _ => queue.extend(m.step(ok(*step))),
                }
            }
        }
        all.extend(batch);
    }
    all
}

/// Drives a fresh in-conference session to Ready; returns the machine and every action so far.
fn to_ready() -> (Machine, Vec<Action>) {
    let mut m = machine(Topology::InConference, Some("4711"));
    let mut log = Vec::new();
    let a = m.step(Input::Start { agent_id: None });
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Dialling);
    let a = m.step(Input::CaptureAnswered { uuid: P.into() });
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Answered);
    let a = m.step(Input::Timer(TimerKind::AgentIdDelay));
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Ready);
    (m, log)
}

#[test]
fn happy_path_keyphone_in_conference() {
    let (mut m, log) = to_ready();
    let texts: Vec<String> = sends(&log).into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        [
            "conference pay-1 hold 13 local_stream://moh".to_string(),
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
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    assert_eq!(
        sends(&a),
        [(
            Step::Restore,
            "conference pay-1 relate 14 13 clear".to_string()
        ),]
    );
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
    assert_eq!(m.state(), &State::Done);
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

// ---- exhaustive sweep -------------------------------------------------------------------------

fn fail(step: Step, reply: &str) -> Input {
    Input::Reply {
        step,
        ok: false,
        reply: reply.into(),
    }
}

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
    assert_eq!(sends(&a), [(Step::Restore, clear.clone())]);
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
    assert_eq!(sends(&a), [(Step::UnholdCustomer, unhold.clone())]);
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

fn all_inputs() -> Vec<Input> {
    let mut v = vec![
        Input::Start { agent_id: None },
        Input::Start {
            agent_id: AgentId::parse("55"),
        },
        Input::AgentDigit('5'),
        Input::AgentDigit('#'),
        Input::CustomerStartKey,
        Input::StartCapture,
        Input::Cancel,
        Input::CaptureAnswered { uuid: P.into() },
        Input::CaptureFailed {
            cause: "USER_BUSY".into(),
        },
        Input::Joined {
            leg: Leg::Customer,
            member: 13,
        },
        Input::Joined {
            leg: Leg::Agent,
            member: 14,
        },
        Input::Joined {
            leg: Leg::Capture,
            member: 15,
        },
        Input::ConnectionLost,
        Input::Resync(Snapshot {
            customer_alive: true,
            agent_alive: true,
            capture_alive: true,
            customer_member: Some(13),
            agent_member: Some(14),
            capture_member: Some(15),
        }),
        Input::Resync(Snapshot {
            customer_alive: true,
            agent_alive: true,
            capture_alive: false,
            customer_member: Some(13),
            agent_member: Some(14),
            capture_member: None,
        }),
    ];
    for leg in [Leg::Customer, Leg::Agent, Leg::Capture] {
        v.push(Input::Hangup { leg });
    }
    for kind in [
        TimerKind::AgentIdEntry,
        TimerKind::Join,
        TimerKind::CaptureAnswer,
        TimerKind::AgentIdDelay,
        TimerKind::MaxCapture,
        TimerKind::Step,
    ] {
        v.push(Input::Timer(kind));
    }
    for step in [
        Step::PrepareCustomer,
        Step::PrepareAgent,
        Step::TransferCustomer,
        Step::TransferAgent,
        Step::HoldCustomer,
        Step::DialCapture,
        Step::SendAgentId,
        Step::UnholdCustomer,
        Step::Isolate,
        Step::Sensitive,
        Step::Verify,
        Step::SendStart,
        Step::KillCapture,
        Step::Restore,
        Step::WatchStartKey,
        Step::AfterAgentHangup,
    ] {
        v.push(ok(step));
        v.push(Input::Reply {
            step,
            ok: false,
            reply: "-ERR Operation failed\n".into(),
        });
        v.push(Input::Reply {
            step,
            ok: false,
            reply: "-ERR No such channel!\n".into(),
        });
    }
    v
}

/// Every machine reachable from a fresh session (both topologies) in up to `depth` inputs, with
/// duplicate states collapsed by their debug form.
fn reachable(depth: usize) -> Vec<Machine> {
    let inputs = all_inputs();
    let mut seen = std::collections::HashSet::new();
    let ready = to_ready().0;
    let mut capturing = ready.clone();
    let a = capturing.step(Input::CustomerStartKey);
    answer_all(&mut capturing, a);
    let mut frontier = vec![
        machine(Topology::InConference, Some("4711")),
        machine(Topology::InConference, None),
        machine(Topology::Bridged, Some("4711")),
        ready,
        capturing,
    ];
    let mut all = Vec::new();
    for _ in 0..depth {
        let mut next = Vec::new();
        for m in frontier {
            if !seen.insert(format!("{m:?}")) {
                continue;
            }
            for i in &inputs {
                let mut n = m.clone();
                n.step(i.clone());
                next.push(n);
            }
            all.push(m);
        }
        frontier = next;
    }
    all
}

/// An input that tells the session the capture leg is gone.
fn capture_gone_signal(input: &Input) -> bool {
    match input {
        Input::Hangup { leg: Leg::Capture } => true,
        Input::Reply {
            step: Step::KillCapture,
            reply,
            ..
        } => reply.contains("No such channel"),
        Input::Resync(snap) => !snap.capture_alive,
        _ => false,
    }
}

/// Checks the safety invariants of one step.
fn check_step(before: &Machine, input: &Input, after: &Machine, actions: &[Action]) {
    let ctx = || {
        format!(
            "{:?} --{input:?}--> {:?}: {actions:?}",
            before.state(),
            after.state()
        )
    };
    for (step, text) in sends(actions) {
        if step == Step::Restore {
            assert!(
                !before.legs().capture_up || capture_gone_signal(input),
                "isolation cleared while the capture leg may be present: {}",
                ctx()
            );
            assert!(
                !after.legs().capture_up && !after.legs().dialling,
                "{}",
                ctx()
            );
        }
        if step == Step::SendStart {
            assert!(
                after.legs().isolated,
                "'1' sent without isolation: {}",
                ctx()
            );
        }
        assert!(!text.contains('\n'), "{}", ctx());
    }
    let done: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::Finished(_)))
        .collect();
    assert!(done.len() <= 1, "{}", ctx());
    if !done.is_empty() {
        assert_eq!(after.state(), &State::Done, "{}", ctx());
        if after.legs().customer_alive {
            assert!(!after.legs().isolated, "ended isolated: {}", ctx());
            assert!(!after.legs().customer_held, "ended on hold: {}", ctx());
            assert!(
                !after.legs().keys_exposed,
                "ended with sensitive_dtmf off: {}",
                ctx()
            );
            assert!(
                !after.legs().capture_up,
                "ended with capture leg up: {}",
                ctx()
            );
        }
    }
    if before.state() == &State::Done {
        assert!(actions.is_empty(), "{}", ctx());
    }
    if before.state() == &State::Capturing && after.state() != &State::Suspended {
        assert!(
            after.legs().isolated
                || !after.legs().customer_alive
                || !after.legs().capture_up
                || after.legs().agent_member.is_none(),
            "capture leg present without isolation: {}",
            ctx()
        );
    }
}

/// From any state, a well-behaved FreeSWITCH plus the session's own timers end the session.
fn ends_eventually(m: &Machine) {
    let mut m = m.clone();
    for _ in 0..20 {
        if m.state() == &State::Done {
            return;
        }
        let a = m.step(Input::Cancel);
        answer_all(&mut m, a);
        if m.state() == &State::Suspended {
            let a = m.step(Input::Resync(Snapshot {
                customer_alive: true,
                agent_alive: true,
                capture_alive: m.legs().capture_up,
                customer_member: Some(13),
                agent_member: Some(14),
                capture_member: None,
            }));
            answer_all(&mut m, a);
        }
        for kind in [TimerKind::Step, TimerKind::CaptureAnswer] {
            let a = m.step(Input::Timer(kind));
            answer_all(&mut m, a);
        }
        if m.legs().dialling {
            let a = m.step(Input::CaptureFailed {
                cause: "ORIGINATOR_CANCEL".into(),
            });
            answer_all(&mut m, a);
        }
    }
    panic!("session stuck in {:?}: {m:?}", m.state());
}

#[test]
fn exhaustive_state_by_input_sweep() {
    let machines = reachable(6);
    let states: std::collections::HashSet<String> = machines
        .iter()
        .map(|m| format!("{:?}", m.state()))
        .collect();
    // Every state of the flow is reached by the sweep.
    for s in [
        "Idle",
        "AwaitingAgentId",
        "Moving",
        "Holding",
        "Dialling",
        "Answered",
        "SendingAgentId",
        "Unholding",
        "Ready",
        "Arming",
        "Capturing",
        "Unwinding",
        "Suspended",
        "Done",
    ] {
        assert!(
            states.contains(s),
            "state {s} not reached; reached {states:?}"
        );
    }
    let inputs = all_inputs();
    for m in &machines {
        for i in &inputs {
            let mut n = m.clone();
            let actions = n.step(i.clone());
            check_step(m, i, &n, &actions);
        }
        ends_eventually(m);
    }
}
