//! Event routing on its own: each event kind read from its headers, and each leg's input.

use super::*;

const PREFIX: &str = "confpay-";
const START: &str = "confpay::start";

fn event(headers: &[(&str, &str)]) -> Event {
    let mut e = Event::default();
    for (name, value) in headers {
        e.headers.push(name, value);
    }
    e
}

fn route(e: &Event) -> Intake<'_> {
    classify(e, START, PREFIX)
}

#[test]
fn the_feature_code_requests_a_start_from_the_agent_channel() {
    let e = event(&[
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", START),
        ("Unique-ID", "agent-1"),
        ("variable_confpay_agent_id", "31"),
    ]);
    let want = Intake::StartRequest {
        agent: Some("agent-1"),
        agent_id: Some("31"),
    };
    assert_eq!(route(&e), want);
    // A header set by the firing app wins over the channel variable; no Unique-ID is still a request.
    let e = event(&[
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", START),
        ("confpay_agent_id", "7"),
        ("variable_confpay_agent_id", "31"),
    ]);
    let want = Intake::StartRequest {
        agent: None,
        agent_id: Some("7"),
    };
    assert_eq!(route(&e), want);
    let other = event(&[
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", "sofia::register"),
    ]);
    assert_eq!(route(&other), Intake::Ignored);
}

#[test]
fn conference_member_changes_in_our_rooms_only() {
    let member = |room: &str, action: &str| {
        event(&[
            ("Event-Name", "CUSTOM"),
            ("Event-Subclass", "conference::maintenance"),
            ("Conference-Name", room),
            ("Action", action),
            ("Member-ID", "12"),
            ("Unique-ID", "cust-1"),
        ])
    };
    for (action, want) in [
        ("add-member", MemberAction::Added),
        ("del-member", MemberAction::Left),
        ("start-talking", MemberAction::Other),
    ] {
        let e = member("confpay-cust-1", action);
        let expected = Intake::Member {
            room: "confpay-cust-1",
            uuid: "cust-1",
            action: want,
            member: Some(12),
        };
        assert_eq!(route(&e), expected);
    }
    assert_eq!(route(&member("other-room", "add-member")), Intake::Ignored);
    // No channel named, no member id: still a change, read as such.
    let bare = event(&[
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", "conference::maintenance"),
        ("Conference-Name", "confpay-x"),
        ("Action", "add-member"),
    ]);
    let expected = Intake::Member {
        room: "confpay-x",
        uuid: "",
        action: MemberAction::Added,
        member: None,
    };
    assert_eq!(route(&bare), expected);
}

#[test]
fn hangups_tell_a_shutdown_apart() {
    let e = event(&[
        ("Event-Name", "CHANNEL_HANGUP"),
        ("Unique-ID", "agent-1"),
        ("Hangup-Cause", "NORMAL_CLEARING"),
    ]);
    let want = Intake::Hangup {
        uuid: "agent-1",
        shutdown: false,
    };
    assert_eq!(route(&e), want);
    let e = event(&[
        ("Event-Name", "CHANNEL_HANGUP"),
        ("Unique-ID", "agent-1"),
        ("Hangup-Cause", "SYSTEM_SHUTDOWN"),
    ]);
    let want = Intake::Hangup {
        uuid: "agent-1",
        shutdown: true,
    };
    assert_eq!(route(&e), want);
    assert_eq!(
        route(&event(&[("Event-Name", "CHANNEL_HANGUP")])),
        Intake::Ignored
    );
}

#[test]
fn agent_ids_are_noted_from_channel_events_when_valid() {
    for name in ["CHANNEL_BRIDGE", "CHANNEL_ANSWER", "CHANNEL_CREATE"] {
        let e = event(&[
            ("Event-Name", name),
            ("Unique-ID", "agent-1"),
            ("variable_confpay_agent_id", "31"),
        ]);
        let want = Intake::AgentIdSeen {
            id: "31",
            uuid: "agent-1",
        };
        assert_eq!(route(&e), want);
    }
    let bad = event(&[
        ("Event-Name", "CHANNEL_ANSWER"),
        ("Unique-ID", "agent-1"),
        ("variable_confpay_agent_id", "not-digits"),
    ]);
    assert_eq!(route(&bad), Intake::Ignored);
    let unrelated = event(&[("Event-Name", "HEARTBEAT")]);
    assert_eq!(route(&unrelated), Intake::Ignored);
}

#[test]
fn member_changes_by_leg() {
    for leg in [Leg::Customer, Leg::Agent, Leg::Capture] {
        assert_eq!(
            member_input(leg, MemberAction::Added, Some(5)),
            Some(Input::Joined { leg, member: 5 })
        );
        assert_eq!(member_input(leg, MemberAction::Added, None), None);
        assert_eq!(member_input(leg, MemberAction::Other, Some(5)), None);
    }
    assert_eq!(
        member_input(Leg::Capture, MemberAction::Left, Some(5)),
        Some(Input::Hangup { leg: Leg::Capture })
    );
    assert_eq!(
        member_input(Leg::Customer, MemberAction::Left, Some(5)),
        None
    );
    assert_eq!(member_input(Leg::Agent, MemberAction::Left, None), None);
}

#[test]
fn hangups_by_leg() {
    for leg in [Leg::Customer, Leg::Agent, Leg::Capture] {
        assert_eq!(hangup_input(leg, false), Input::Hangup { leg });
        assert_eq!(hangup_input(leg, true), Input::ConnectionLost);
    }
}

#[test]
fn only_the_agent_id_keys_and_the_start_key_become_inputs() {
    let dtmf = |digit: &str| {
        event(&[
            ("Event-Name", "DTMF"),
            ("Unique-ID", "x"),
            ("DTMF-Digit", digit),
        ])
    };
    assert_eq!(route(&dtmf("5")), Intake::Dtmf { uuid: "x" });
    let five = dtmf("5");
    let one = dtmf("1");
    assert_eq!(
        dtmf_input(Leg::Agent, &State::AwaitingAgentId, &five),
        Some(Input::AgentDigit('5'))
    );
    assert_eq!(
        dtmf_input(Leg::Customer, &State::Ready, &one),
        Some(Input::CustomerStartKey)
    );
    // The customer's digits otherwise, the agent's outside agent ID entry, the capture leg's: none.
    assert_eq!(dtmf_input(Leg::Customer, &State::Ready, &five), None);
    assert_eq!(dtmf_input(Leg::Customer, &State::Capturing, &one), None);
    assert_eq!(
        dtmf_input(Leg::Customer, &State::AwaitingAgentId, &five),
        None
    );
    assert_eq!(dtmf_input(Leg::Agent, &State::Ready, &one), None);
    assert_eq!(dtmf_input(Leg::Capture, &State::Ready, &one), None);
    let no_digit = event(&[("Event-Name", "DTMF"), ("Unique-ID", "x")]);
    assert_eq!(
        dtmf_input(Leg::Agent, &State::AwaitingAgentId, &no_digit),
        None
    );
}

/// Headers as FreeSWITCH sets them: `RECORD_START` from `record_callback` (switch_ivr_async.c:
/// `Record-File-Path` and the channel's data) and `start-recording` from
/// `conference_record_thread_run` (conference_record.c: `Action`, `Path` and the conference's
/// data); see tests/fixtures/freeswitch-esl/README.md.
#[test]
fn recordings_started_on_a_leg_or_in_our_rooms() {
    let leg = event(&[
        ("Event-Name", "RECORD_START"),
        ("Unique-ID", "cust-1"),
        ("Record-File-Path", "/rec/x.wav"),
    ]);
    assert_eq!(
        route(&leg),
        Intake::RecordingStarted(Recorded::Leg("cust-1"))
    );
    assert_eq!(
        route(&event(&[("Event-Name", "RECORD_START")])),
        Intake::Ignored
    );
    let room = |name: &str| {
        event(&[
            ("Event-Name", "CUSTOM"),
            ("Event-Subclass", "conference::maintenance"),
            ("Conference-Name", name),
            ("Action", "start-recording"),
            ("Path", "/rec/room.wav"),
        ])
    };
    assert_eq!(
        route(&room("confpay-c1")),
        Intake::RecordingStarted(Recorded::Room("confpay-c1"))
    );
    assert_eq!(route(&room("sales")), Intake::Ignored);
}

/// The events as the real switch sent them to a listener subscribed and filtered as confpayd is
/// (tests/fixtures/freeswitch-esl/inbound-recording-events, made by
/// tests/confpay/live/record_recordings.py): the followed leg's two recordings (`uuid_record`,
/// `record_session`) and the conference's one start; the unfollowed leg's recording never came.
#[test]
fn recordings_started_as_the_real_switch_reports_them() {
    use confpay_test_fixtures::recordings::{events, frames_of};
    let events = events(&frames_of("inbound-recording-events.raw"));
    let started: Vec<Intake<'_>> = events
        .iter()
        .map(|e| classify(e, START, "confpay-fixture-"))
        .filter(|i| matches!(i, Intake::RecordingStarted(_)))
        .collect();
    assert_eq!(started.len(), 3, "{started:?}");
    let leg = match started[0] {
        Intake::RecordingStarted(Recorded::Leg(uuid)) => uuid,
        other => panic!("{other:?}"),
    };
    assert_eq!(started[1], Intake::RecordingStarted(Recorded::Leg(leg)));
    assert_eq!(
        started[2],
        Intake::RecordingStarted(Recorded::Room("confpay-fixture-rec"))
    );
    // RECORD_STOP and stop-recording are no input.
    let stops = events
        .iter()
        .filter(|e| e.name() == Some("RECORD_STOP") || e.get("Action") == Some("stop-recording"))
        .count();
    assert_eq!(stops, 3);
}
