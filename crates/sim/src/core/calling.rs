//! Where FreeSWITCH 1.11 fires each event from (`Event-Calling-File`, `-Function`,
//! `-Line-Number`), as recorded.

/// Source file, function and line of the code that fires an event.
pub(crate) type CallingSite = (&'static str, &'static str, u32);

/// Per event name (or conference action): where it is fired from.
const SITES: &[(&str, CallingSite)] = &[
    (
        "API",
        ("switch_loadable_module.c", "switch_api_execute", 3140),
    ),
    ("SHUTDOWN", ("switch_core.c", "switch_core_destroy", 3003)),
    ("BACKGROUND_JOB", ("mod_event_socket.c", "api_exec", 1580)),
    (
        "CHANNEL_ANSWER",
        (
            "switch_channel.c",
            "switch_channel_perform_mark_answered",
            3848,
        ),
    ),
    (
        "CHANNEL_BRIDGE",
        (
            "switch_ivr_bridge.c",
            "switch_ivr_multi_threaded_bridge",
            1689,
        ),
    ),
    (
        "CHANNEL_UNBRIDGE",
        (
            "switch_ivr_bridge.c",
            "switch_ivr_multi_threaded_bridge",
            1879,
        ),
    ),
    (
        "CHANNEL_CALLSTATE",
        (
            "switch_channel.c",
            "switch_channel_perform_set_callstate",
            302,
        ),
    ),
    (
        "CHANNEL_CREATE",
        (
            "switch_core_state_machine.c",
            "switch_core_session_run",
            626,
        ),
    ),
    (
        "CHANNEL_ORIGINATE",
        (
            "switch_core_state_machine.c",
            "switch_core_session_run",
            632,
        ),
    ),
    (
        "CHANNEL_OUTGOING",
        (
            "switch_core_session.c",
            "switch_core_session_outgoing_channel",
            768,
        ),
    ),
    (
        "CHANNEL_DATA",
        ("mod_event_socket.c", "parse_command", 2029),
    ),
    (
        "CHANNEL_DESTROY",
        (
            "switch_core_session.c",
            "switch_core_session_perform_destroy",
            1588,
        ),
    ),
    (
        "CHANNEL_EXECUTE",
        ("switch_core_session.c", "switch_core_session_exec", 2949),
    ),
    (
        "CHANNEL_EXECUTE_COMPLETE",
        ("switch_core_session.c", "switch_core_session_exec", 2972),
    ),
    (
        "CHANNEL_HANGUP",
        ("switch_channel.c", "switch_channel_perform_hangup", 3447),
    ),
    (
        "CHANNEL_HANGUP_COMPLETE",
        (
            "switch_core_state_machine.c",
            "switch_core_session_reporting_state",
            943,
        ),
    ),
    ("CHANNEL_HOLD", ("switch_ivr.c", "switch_ivr_hold", 1558)),
    (
        "CHANNEL_UNHOLD",
        ("switch_ivr.c", "switch_ivr_unhold", 1638),
    ),
    ("CHANNEL_PARK", ("switch_ivr.c", "switch_ivr_park", 1002)),
    ("CHANNEL_UNPARK", ("switch_ivr.c", "switch_ivr_park", 1213)),
    (
        "CHANNEL_STATE",
        (
            "switch_channel.c",
            "switch_channel_perform_set_running_state",
            2409,
        ),
    ),
    (
        "DTMF",
        ("switch_channel.c", "switch_channel_dequeue_dtmf", 678),
    ),
    (
        "PLAYBACK_START",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 1649),
    ),
    (
        "PLAYBACK_STOP",
        ("switch_ivr_play_say.c", "switch_ivr_play_file", 2023),
    ),
    (
        "conference-create",
        ("mod_conference.c", "conference_new", 3848),
    ),
    (
        "conference-destroy",
        ("mod_conference.c", "conference_thread_run", 863),
    ),
    (
        "add-member",
        ("conference_member.c", "conference_member_add", 962),
    ),
    (
        "del-member",
        ("conference_member.c", "conference_member_del", 1355),
    ),
    (
        "floor-change",
        (
            "conference_member.c",
            "conference_member_set_floor_holder",
            1158,
        ),
    ),
    (
        "mute-member",
        ("conference_api.c", "conference_api_sub_mute", 339),
    ),
    (
        "unmute-member",
        ("conference_api.c", "conference_api_sub_unmute", 492),
    ),
    (
        "deaf-member",
        ("conference_api.c", "conference_api_sub_deaf", 797),
    ),
    (
        "undeaf-member",
        ("conference_api.c", "conference_api_sub_undeaf", 839),
    ),
    (
        "hup-member",
        ("conference_api.c", "conference_api_sub_hup", 871),
    ),
    (
        "kick-member",
        ("conference_api.c", "conference_api_sub_kick", 902),
    ),
    (
        "dtmf-member",
        ("conference_api.c", "conference_api_sub_dtmf", 1049),
    ),
    (
        "hold-member",
        ("conference_api.c", "conference_api_sub_hold", 1111),
    ),
    (
        "unhold-member",
        ("conference_api.c", "conference_api_sub_unhold", 1157),
    ),
    ("dtmf", ("conference_loop.c", "conference_loop_input", 1340)),
    (
        "start-talking",
        ("conference_loop.c", "conference_loop_input", 1154),
    ),
    (
        "stop-talking",
        ("conference_loop.c", "stop_talking_handler", 783),
    ),
];

/// Where anything else is fired from: `sendevent`'s `parse_command`.
const SENDEVENT: CallingSite = ("mod_event_socket.c", "parse_command", 2283);

/// The calling site recorded for event (or conference action) `name`.
pub(crate) fn calling_of(name: &str) -> CallingSite {
    SITES
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(SENDEVENT, |(_, site)| *site)
}
