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
        customer_held: false,
        agent_isolated: false,
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

/// A recording the agent starts on the agent's leg mid-capture.
const AGENT_REC: &str = "/rec/agent-new.wav";

/// The agent's leg's list once [`AGENT_REC`] runs.
fn agent_list() -> String {
    format!(
        "<media-bugs>\n <media-bug>\n  <function>session_record</function>\n  <target>{AGENT_REC}</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n</media-bugs>\n"
    )
}

fn capturing() -> Machine {
    let (mut m, _) = to_ready();
    let a = m.step(Input::CustomerStartKey);
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Capturing);
    m
}

/// Answers the lists in `actions`: the agent's leg with [`AGENT_REC`], the others as usual.
fn answer_lists(m: &mut Machine, actions: &[Action]) -> Vec<Action> {
    let mut out = Vec::new();
    for (step, cmd) in actions.iter().filter_map(|a| match a {
        Action::Send { step, cmd } => Some((*step, cmd.clone())),
        _ => None,
    }) {
        let reply = match &cmd {
            Cmd::ListLegRecordings { uuid } if uuid == A => agent_list(),
            _ => recordings_reply(&cmd).expect("a list"),
        };
        out.extend(m.step(Input::Reply {
            step,
            ok: true,
            reply,
        }));
    }
    out
}

#[test]
fn a_recording_started_mid_capture_is_masked_at_once_and_unmasked_with_the_others() {
    let mut m = capturing();
    let lists = m.step(Input::RecordingStarted);
    assert_eq!(
        texts(&lists),
        [
            format!("uuid_buglist {C}"),
            format!("uuid_buglist {A}"),
            "conference pay-1 recording check".to_string(),
        ],
        "read back from FreeSWITCH, not taken from the event"
    );
    let masks = answer_lists(&mut m, &lists);
    // Everything FreeSWITCH reports is masked again, the new one among them.
    let sent = texts(&masks);
    assert!(
        sent.contains(&format!("uuid_record {A} mask {AGENT_REC}")),
        "{sent:?}"
    );
    assert!(sent.contains(&format!("uuid_record {C} mask {CUSTOMER_REC}")));
    assert_eq!(m.state(), &State::Capturing);
    answer_all(&mut m, masks);
    assert_eq!(
        m.state(),
        &State::Capturing,
        "confirmed masks change nothing"
    );
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    let sent = texts(&a);
    assert!(
        sent.contains(&format!("uuid_record {A} unmask {AGENT_REC}")),
        "{sent:?}"
    );
    assert!(sent.contains(&format!("uuid_record {C} unmask {CUSTOMER_REC}")));
    let a = answer_all(&mut m, a);
    assert_eq!(
        finished(&a),
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
}

#[test]
fn a_mask_refused_mid_capture_ends_the_capture() {
    let mut m = capturing();
    let lists = m.step(Input::RecordingStarted);
    answer_lists(&mut m, &lists);
    let refusal = "-ERR Cannot mask recording session!\n";
    let a = m.step(fail(Step::MaskRecording, refusal));
    assert_eq!(m.state(), &State::Unwinding);
    assert_eq!(texts(&a), [format!("uuid_kill {P} NORMAL_CLEARING")]);
    // Nothing else is restored before the capture leg is gone; then everything is.
    let a = answer_all(&mut m, a);
    let sent = texts(&a);
    assert!(
        sent.contains(&"conference pay-1 relate 14 13 clear".to_string()),
        "{sent:?}"
    );
    assert!(sent.contains(&format!("uuid_record {A} unmask {AGENT_REC}")));
    assert_eq!(
        finished(&a),
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::MaskRecording,
            reply: refusal.into()
        }))
    );
}

#[test]
fn an_unreadable_list_mid_capture_ends_the_capture() {
    let mut m = capturing();
    m.step(Input::RecordingStarted);
    let a = m.step(fail(Step::ListAgentRecordings, "-ERR no reply\n"));
    assert_eq!(m.state(), &State::Unwinding);
    assert_eq!(texts(&a), [format!("uuid_kill {P} NORMAL_CLEARING")]);
}

#[test]
fn a_recording_started_while_the_lists_are_out_is_read_again() {
    // Before the capture leg: lists out while masking.
    let mut m = machine(Topology::InConference, Some("4711"));
    m.step(Input::Start { agent_id: None });
    let lists = m.step(ok(Step::HoldCustomer));
    assert!(
        texts(&m.step(Input::RecordingStarted)).is_empty(),
        "lists already out"
    );
    let a = answer_lists(&mut m, &lists);
    let sent = texts(&a);
    assert_eq!(
        sent[0],
        format!("uuid_buglist {C}"),
        "read once more: {sent:?}"
    );
    assert!(!sent.iter().any(|t| t.starts_with("originate")), "{sent:?}");
    let a = answer_lists(&mut m, &a);
    assert!(texts(&a).contains(&format!("uuid_record {A} mask {AGENT_REC}")));
    assert_eq!(m.state(), &State::Masking);
    let a = answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Dialling);
    assert!(texts(&a).iter().any(|t| t.starts_with("originate")));
    // During capture: a second event while the first lists are out reads them once more.
    let mut m = capturing();
    let lists = m.step(Input::RecordingStarted);
    assert!(texts(&m.step(Input::RecordingStarted)).is_empty());
    let a = answer_lists(&mut m, &lists);
    assert_eq!(
        texts(&a)
            .iter()
            .filter(|t| t.starts_with("uuid_buglist"))
            .count(),
        2,
        "{a:?}"
    );
}

#[test]
fn a_recording_started_when_no_capture_can_be_heard_is_left_alone() {
    let mut idle = machine(Topology::InConference, Some("4711"));
    assert!(idle.step(Input::RecordingStarted).is_empty());
    let mut held = machine(Topology::InConference, Some("4711"));
    held.step(Input::Start { agent_id: None });
    assert_eq!(held.state(), &State::Holding);
    assert!(
        held.step(Input::RecordingStarted).is_empty(),
        "masking lists it"
    );
    // Unwinding with the capture leg gone: the unmask is on its way; nothing to hide any more.
    let mut m = capturing();
    let a = m.step(Input::Hangup { leg: Leg::Capture });
    assert_eq!(m.state(), &State::Unwinding);
    assert!(m.step(Input::RecordingStarted).is_empty());
    answer_all(&mut m, a);
    assert_eq!(m.state(), &State::Done);
    assert!(m.step(Input::RecordingStarted).is_empty());
}

#[test]
fn a_recording_started_while_unwinding_with_the_capture_leg_present_is_masked_then_unmasked() {
    let mut m = capturing();
    let kill = m.step(Input::Cancel);
    assert_eq!(texts(&kill), [format!("uuid_kill {P} NORMAL_CLEARING")]);
    let lists = m.step(Input::RecordingStarted);
    let masks = answer_lists(&mut m, &lists);
    assert!(texts(&masks).contains(&format!("uuid_record {A} mask {AGENT_REC}")));
    let mut a = answer_all(&mut m, masks);
    a.extend(answer_all(&mut m, kill));
    assert!(
        texts(&a).contains(&format!("uuid_record {A} unmask {AGENT_REC}")),
        "{a:?}"
    );
    assert_eq!(finished(&a), Some(Outcome::Cancelled));
    assert!(!m.legs().masked);
}
