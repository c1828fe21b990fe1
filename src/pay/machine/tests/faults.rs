//! Machine tests for the faults the flow fault matrix (`tests/confpay/flow_matrix_*.rs`) found: a leg lost
//! while a command was refused, commands lost with the ESL connection, the resync after it.

use super::*;

fn snapshot(capture_alive: bool) -> Snapshot {
    Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: capture_alive.then_some(15),
        customer_held: false,
        agent_isolated: false,
        recordings: Vec::new(),
    }
}

#[test]
fn connection_lost_while_dialling_ends_after_the_resync() {
    // Was stuck: the originate's result is lost with the connection, yet `dialling` stayed set
    // after the resync, so the session waited for that result forever.
    let mut m = machine(Topology::InConference, Some("4711"));
    let a = m.step(Input::Start { agent_id: None });
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Dialling);
    m.step(Input::ConnectionLost);
    let a = m.step(Input::Resync(snapshot(false)));
    assert!(!m.legs().dialling);
    let a = answer_all(&mut m, a);
    assert_eq!(
        sends(&a)[0],
        (Step::UnholdCustomer, "conference pay-1 unhold 13".into())
    );
    assert!(
        sends(&a)[1..]
            .iter()
            .all(|(s, _)| *s == Step::UnmaskRecording)
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::ConnectionLost))
    );
}

#[test]
fn connection_lost_while_arming_for_aca_never_resumes_without_the_start_key() {
    // Was resumed as `Capturing` although the daemon's '1' had never reached the capture service:
    // the customer keyed into a capture that had not started, until `max_capture_s`.
    let (mut m, _) = to_ready();
    m.step(Input::StartCapture);
    assert_eq!(m.state(), &State::Arming);
    m.step(Input::ConnectionLost);
    let a = m.step(Input::Resync(snapshot(true)));
    assert_eq!(
        sends(&a),
        [(Step::KillCapture, format!("uuid_kill {P} NORMAL_CLEARING"))]
    );
    let a = answer_all(&mut m, a);
    assert!(
        !sends(&a).iter().any(|(s, _)| *s == Step::SendStart),
        "{a:?}"
    );
    // Was left off: the `sensitive_dtmf=true` sent on arming may have been lost with the connection.
    assert!(
        sends(&a).contains(&(
            Step::Sensitive,
            format!("uuid_setvar {C} sensitive_dtmf true")
        )),
        "{a:?}"
    );
    // Capture leg down first, then isolation cleared.
    assert_eq!(
        sends(&a)[..2],
        [
            (Step::KillCapture, format!("uuid_kill {P} NORMAL_CLEARING")),
            (Step::Restore, "conference pay-1 relate 14 13 clear".into())
        ]
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::ConnectionLost))
    );
}

#[test]
fn a_hangup_right_after_a_refusal_is_the_outcome() {
    // Was `command_failed`: FreeSWITCH refuses a command on a leg that has just gone before the
    // hangup event arrives; the hangup is what happened.
    for (leg, reason) in [
        (Leg::Customer, FailReason::CustomerHungUp),
        (Leg::Agent, FailReason::AgentHungUp),
    ] {
        let (mut m, _) = to_ready();
        m.step(Input::StartCapture);
        let a = m.step(Input::Reply {
            step: Step::Isolate,
            ok: false,
            reply: "-ERR relationship 2->1 not found.".into(),
        });
        assert_eq!(m.state(), &State::Unwinding);
        // The hangup event arrives while the capture leg is being hung up.
        let mut log = a.clone();
        log.extend(m.step(Input::Hangup { leg }));
        let log = answer_all(&mut m, log);
        assert_eq!(finished(&log), Some(Outcome::Failed(reason)), "{leg:?}");
    }
}

#[test]
fn a_refusal_that_shows_the_customer_gone_ends_as_a_hangup() {
    // Was `command_failed` (and the session done before the hangup event came): the hold of a
    // customer who has just hung up is refused with `-ERR Non-Existant ID`.
    let mut m = machine(Topology::InConference, Some("4711"));
    m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::Holding);
    let a = m.step(Input::Reply {
        step: Step::HoldCustomer,
        ok: false,
        reply: "-ERR Non-Existant ID 13".into(),
    });
    assert!(sends(&a).is_empty(), "nothing to restore: {a:?}");
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CustomerHungUp))
    );
}

#[test]
fn connection_lost_with_the_hold_in_flight_unholds_after_the_resync() {
    // Was left on hold: the hold ran in FreeSWITCH but its reply was lost with the connection, so
    // the session believed the customer was never held and the restore did not unhold.
    let mut m = machine(Topology::InConference, Some("4711"));
    m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::Holding);
    m.step(Input::ConnectionLost);
    let a = m.step(Input::Resync(snapshot(false)));
    let a = answer_all(&mut m, a);
    assert_eq!(
        sends(&a),
        [(Step::UnholdCustomer, "conference pay-1 unhold 13".into())]
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::ConnectionLost))
    );
}

#[test]
fn connection_lost_halfway_through_an_attach_brings_the_legs_together() {
    // Was left apart: the customer had been moved into the conference, the agent was parked
    // (`park_after_bridge`), and the session ended without moving the agent in.
    let mut m = machine(Topology::Bridged, Some("4711"));
    m.step(Input::Start { agent_id: None });
    assert_eq!(m.state(), &State::Moving);
    m.step(Input::ConnectionLost);
    let a = m.step(Input::Resync(Snapshot {
        agent_member: None,
        ..snapshot(false)
    }));
    let a = answer_all(&mut m, a);
    assert_eq!(
        sends(&a),
        [(
            Step::TransferAgent,
            format!("uuid_transfer {A} conference:pay-1@confpay+flags{{skip-dtmf}} inline")
        )]
    );
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::ConnectionLost))
    );
}
