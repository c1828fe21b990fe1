//! Recordings masked before any capture leg, unmasked once it is gone: on the way, on a refusal,
//! and after a daemon restart.

use super::*;

fn texts(actions: &[Action]) -> Vec<String> {
    sends(actions).into_iter().map(|(_, t)| t).collect()
}

/// Start, hold confirmed, every list answered: the masks are out.
fn masks_sent() -> (Machine, Vec<Action>) {
    let mut m = machine(Topology::InConference, Some("4711"));
    m.step(Input::Start { agent_id: None });
    let lists = m.step(ok(Step::HoldCustomer));
    assert_eq!(m.state(), &State::Masking);
    let mut masks = Vec::new();
    for (step, cmd) in lists.iter().filter_map(|a| match a {
        Action::Send { step, cmd } => Some((*step, cmd.clone())),
        _ => None,
    }) {
        let reply = recordings_reply(&cmd).expect("a list");
        masks.extend(m.step(Input::Reply {
            step,
            ok: true,
            reply,
        }));
    }
    (m, masks)
}

#[test]
fn the_capture_leg_is_dialled_only_after_every_mask_is_confirmed() {
    let (mut m, masks) = masks_sent();
    assert_eq!(
        texts(&masks),
        [
            format!("uuid_record {C} mask {CUSTOMER_REC}"),
            format!("conference pay-1 recording pause {ROOM_REC}"),
        ]
    );
    let a = m.step(ok(Step::MaskRecording));
    assert!(texts(&a).is_empty(), "one mask still unconfirmed: {a:?}");
    let a = m.step(ok(Step::MaskRecording));
    assert_eq!(m.state(), &State::Dialling);
    assert!(texts(&a)[0].starts_with("originate "));
}

#[test]
fn a_refused_mask_fails_safe_before_any_capture_leg() {
    let (mut m, _) = masks_sent();
    m.step(ok(Step::MaskRecording));
    let refusal =
        "+OK Pause recording file /rec/room.wav\n-ERR non-existant recording '/rec/room.wav'";
    let a = m.step(fail(Step::MaskRecording, refusal));
    let sent = texts(&a);
    assert!(!sent.iter().any(|t| t.starts_with("originate")), "{sent:?}");
    // Undone like everything else: customer unheld, recordings unmasked.
    assert!(sent.contains(&"conference pay-1 unhold 13".to_string()));
    assert!(sent.contains(&format!("uuid_record {C} unmask {CUSTOMER_REC}")));
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::MaskRecording,
            reply: refusal.into()
        }))
    );
}

#[test]
fn an_unreadable_list_fails_safe() {
    let mut m = machine(Topology::InConference, Some("4711"));
    m.step(Input::Start { agent_id: None });
    m.step(ok(Step::HoldCustomer));
    let a = m.step(fail(Step::ListCustomerRecordings, "-ERR no reply"));
    assert!(!texts(&a).iter().any(|t| t.starts_with("originate")));
    let a = answer_all(&mut m, a);
    assert!(matches!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::ListCustomerRecordings,
            ..
        }))
    ));
}

#[test]
fn a_recording_stopped_during_capture_does_not_spoil_the_outcome() {
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    m.step(Input::Hangup { leg: Leg::Capture });
    m.step(ok(Step::Restore));
    m.step(ok(Step::UnmaskRecording));
    let a = m.step(fail(
        Step::UnmaskRecording,
        "-ERR Cannot unmask recording session!",
    ));
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
}

fn restart_snapshot(capture_alive: bool) -> Snapshot {
    Snapshot {
        customer_alive: true,
        agent_alive: true,
        capture_alive,
        customer_member: Some(13),
        agent_member: Some(14),
        capture_member: capture_alive.then_some(15),
        recordings: vec![Recording {
            on: Recorder::Leg(C.into()),
            path: CUSTOMER_REC.into(),
        }],
    }
}

#[test]
fn after_a_restart_mid_capture_recordings_are_masked_again_then_unmasked() {
    let (mut m, a) = Machine::recovered(cfg(), "pay-1".into(), legs(), restart_snapshot(true));
    assert_eq!(m.state(), &State::Capturing);
    assert!(texts(&a).contains(&format!("uuid_record {C} mask {CUSTOMER_REC}")));
    answer_all(&mut m, a);
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    assert!(texts(&a).contains(&format!("uuid_record {C} unmask {CUSTOMER_REC}")));
    let a = answer_all(&mut m, a);
    assert!(finished(&a).is_some());
    assert!(!m.legs().masked);
}

#[test]
fn after_a_restart_with_the_capture_over_recordings_are_unmasked() {
    let (mut m, a) = Machine::recovered(cfg(), "pay-1".into(), legs(), restart_snapshot(false));
    let sent = texts(&a);
    assert!(sent.contains(&format!("uuid_record {C} unmask {CUSTOMER_REC}")));
    assert!(!sent.iter().any(|t| t.contains(" mask ")), "{sent:?}");
    let a = answer_all(&mut m, a);
    assert!(finished(&a).is_some());
}
