//! Typed commands → the exact FreeSWITCH API text, and how to read their replies. Pure.

use super::types::{Cmd, Recorder, Recording};

/// The API command line (without the `api `/`bgapi ` prefix) for `cmd`.
pub fn api_text(cmd: &Cmd) -> String {
    match cmd {
        Cmd::SetVars { uuid, vars } => {
            let list: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("uuid_setvar_multi {uuid} {}", list.join(";"))
        }
        Cmd::SetVar { uuid, name, value } => format!("uuid_setvar {uuid} {name} {value}"),
        Cmd::TransferToConference {
            uuid,
            room,
            profile,
            flags,
        } => format!("uuid_transfer {uuid} conference:{room}@{profile}+flags{{{flags}}} inline"),
        Cmd::ConferenceHold {
            room,
            member,
            music,
        } => {
            format!("conference {room} hold {member} {music}")
        }
        Cmd::ConferenceUnhold { room, member } => format!("conference {room} unhold {member}"),
        Cmd::Originate {
            uuid,
            dial,
            room,
            profile,
            timeout,
        } => format!(
            "originate {{origination_uuid={uuid},originate_timeout={},ignore_early_media=true,confpay_role=capture}}{dial} &conference({room}@{profile})",
            timeout.as_secs().max(1)
        ),
        Cmd::SendDtmf {
            uuid,
            digits,
            duration_ms,
        } => format!("uuid_send_dtmf {uuid} {digits}@{duration_ms}"),
        Cmd::Relate {
            room,
            a,
            b,
            isolate,
        } => {
            let action = if *isolate { "nospeak,nohear" } else { "clear" };
            format!("conference {room} relate {a} {b} {action}")
        }
        Cmd::Verify { room, .. } | Cmd::FindMembers { room, .. } => {
            format!("conference {room} json_list")
        }
        Cmd::ListLegRecordings { uuid } => format!("uuid_buglist {uuid}"),
        Cmd::ListConferenceRecordings { room } => format!("conference {room} recording check"),
        Cmd::MaskRecording {
            room,
            recording,
            mask,
        } => match &recording.on {
            Recorder::Leg(uuid) => {
                let action = if *mask { "mask" } else { "unmask" };
                format!("uuid_record {uuid} {action} {}", recording.path)
            }
            Recorder::Conference => {
                let action = if *mask { "pause" } else { "resume" };
                format!("conference {room} recording {action} {}", recording.path)
            }
        },
        Cmd::Kill { uuid, cause } => format!("uuid_kill {uuid} {cause}"),
        Cmd::Transfer { uuid, destination } => format!("uuid_transfer {uuid} {destination}"),
    }
}

/// Whether an API reply means success. FreeSWITCH's API replies are not uniform (`-ERR ...`,
/// `-USAGE: ...`, conference usage lines with no prefix at all): only `+OK` counts as success.
pub fn reply_ok(reply: &str) -> bool {
    reply.starts_with("+OK")
}

/// Whether `reply` to `cmd` means success: [`reply_ok`], except for the pre-capture check, which
/// reads the conference's member list.
pub fn check(cmd: &Cmd, reply: &str) -> bool {
    match cmd {
        Cmd::Verify {
            room,
            capture,
            customer,
        } => super::recover::parse_members(reply, room).is_some_and(|m| {
            m.iter().any(|(_, u)| u == capture) && m.iter().any(|(_, u)| u == customer)
        }),
        Cmd::FindMembers {
            room,
            customer,
            agent,
        } => members_of(reply, room, customer, agent).is_some(),
        Cmd::ListLegRecordings { uuid } => leg_recordings(reply, uuid).is_some(),
        Cmd::ListConferenceRecordings { .. } => conference_recordings(reply).is_some(),
        // A conference pause of a path it does not record answers `+OK Pause recording file <p>`
        // and then `-ERR non-existant recording '<p>'` on a second line: every line must be `+OK`.
        Cmd::MaskRecording { .. } => reply_ok(reply) && !reply.lines().any(|l| l.starts_with('-')),
        Cmd::SetVars { .. }
        | Cmd::SetVar { .. }
        | Cmd::TransferToConference { .. }
        | Cmd::ConferenceHold { .. }
        | Cmd::ConferenceUnhold { .. }
        | Cmd::Originate { .. }
        | Cmd::SendDtmf { .. }
        | Cmd::Relate { .. }
        | Cmd::Kill { .. }
        | Cmd::Transfer { .. } => reply_ok(reply),
    }
}

/// The member ids of `customer` and `agent` in a `conference <room> json_list` reply, when both
/// are members.
pub fn members_of(json_list: &str, room: &str, customer: &str, agent: &str) -> Option<(u32, u32)> {
    let members = super::recover::parse_members(json_list, room)?;
    let id_of = |uuid: &str| members.iter().find(|(_, u)| u == uuid).map(|(id, _)| *id);
    Some((id_of(customer)?, id_of(agent)?))
}

/// The recordings on channel `uuid` in its `uuid_buglist` reply: the media bugs of function
/// `session_record` (what `uuid_record … start` and the `record_session` application add), by their
/// target, the file path. `None` when the reply is not a bug list (the channel is gone: FreeSWITCH
/// then answers nothing, which reaches ESL as `-ERR no reply`).
pub fn leg_recordings(buglist: &str, uuid: &str) -> Option<Vec<Recording>> {
    let body = buglist.trim_start().strip_prefix("<media-bugs>")?;
    if !body.trim_end().ends_with("</media-bugs>") {
        return None;
    }
    let mut found = Vec::new();
    for bug in body.split("<media-bug>").skip(1) {
        let function = between(bug, "<function>", "</function>");
        let target = between(bug, "<target>", "</target>");
        if let (Some("session_record"), Some(path)) = (function, target) {
            found.push(Recording {
                on: Recorder::Leg(uuid.to_owned()),
                path: path.to_owned(),
            });
        }
    }
    Some(found)
}

/// The conference's recordings in a `conference <room> recording check` reply: one line
/// `+OK Record file <path>` each (` (Auto)` after an `auto-record` one), or
/// `-ERR Conference is not being recorded.` for none. `None` for any other reply (the conference
/// is gone: `-ERR Conference <room> not found`).
pub fn conference_recordings(reply: &str) -> Option<Vec<Recording>> {
    if reply.trim_end() == "-ERR Conference is not being recorded." {
        return Some(Vec::new());
    }
    let mut found = Vec::new();
    for line in reply.lines().filter(|l| !l.is_empty()) {
        let path = line.strip_prefix("+OK Record file ")?;
        let path = path.strip_suffix(" (Auto)").unwrap_or(path);
        found.push(Recording {
            on: Recorder::Conference,
            path: path.to_owned(),
        });
    }
    (!found.is_empty()).then_some(found)
}

/// The text between the first `open` and the next `close` in `s`.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// The channel UUID in an originate reply (`+OK <uuid>`), or the failure cause (`-ERR <CAUSE>`).
pub fn originate_result(reply: &str) -> Result<String, String> {
    let line = reply.trim_end();
    match line.strip_prefix("+OK ") {
        Some(uuid) if !uuid.trim().is_empty() => Ok(uuid.trim().to_owned()),
        _ => Err(line.strip_prefix("-ERR ").unwrap_or(line).trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_every_command() {
        let u = "11111111-2222-3333-4444-555555555555".to_string();
        let cases = [
            (
                Cmd::SetVars {
                    uuid: u.clone(),
                    vars: vec![
                        ("park_after_bridge", "true"),
                        ("hangup_after_bridge", "false"),
                    ],
                },
                format!("uuid_setvar_multi {u} park_after_bridge=true;hangup_after_bridge=false"),
            ),
            (
                Cmd::SetVar {
                    uuid: u.clone(),
                    name: "sensitive_dtmf",
                    value: "true",
                },
                format!("uuid_setvar {u} sensitive_dtmf true"),
            ),
            (
                Cmd::TransferToConference {
                    uuid: u.clone(),
                    room: "pay-1".into(),
                    profile: "confpay".into(),
                    flags: "dist-dtmf",
                },
                format!("uuid_transfer {u} conference:pay-1@confpay+flags{{dist-dtmf}} inline"),
            ),
            (
                Cmd::ConferenceHold {
                    room: "pay-1".into(),
                    member: 13,
                    music: "local_stream://moh".into(),
                },
                "conference pay-1 hold 13 local_stream://moh".into(),
            ),
            (
                Cmd::ConferenceUnhold {
                    room: "pay-1".into(),
                    member: 13,
                },
                "conference pay-1 unhold 13".into(),
            ),
            (
                Cmd::Originate {
                    uuid: u.clone(),
                    dial: "sofia/gateway/paytia/pay".into(),
                    room: "pay-1".into(),
                    profile: "confpay".into(),
                    timeout: Duration::from_secs(30),
                },
                format!(
                    "originate {{origination_uuid={u},originate_timeout=30,ignore_early_media=true,confpay_role=capture}}sofia/gateway/paytia/pay &conference(pay-1@confpay)"
                ),
            ),
            (
                Cmd::SendDtmf {
                    uuid: u.clone(),
                    digits: "4711#".into(),
                    duration_ms: 100,
                },
                format!("uuid_send_dtmf {u} 4711#@100"),
            ),
            (
                Cmd::Relate {
                    room: "pay-1".into(),
                    a: 14,
                    b: 13,
                    isolate: true,
                },
                "conference pay-1 relate 14 13 nospeak,nohear".into(),
            ),
            (
                Cmd::Relate {
                    room: "pay-1".into(),
                    a: 14,
                    b: 13,
                    isolate: false,
                },
                "conference pay-1 relate 14 13 clear".into(),
            ),
            (
                Cmd::Kill {
                    uuid: u.clone(),
                    cause: "NORMAL_CLEARING",
                },
                format!("uuid_kill {u} NORMAL_CLEARING"),
            ),
            (
                Cmd::Transfer {
                    uuid: u.clone(),
                    destination: "survey XML default".into(),
                },
                format!("uuid_transfer {u} survey XML default"),
            ),
        ];
        for (cmd, text) in cases {
            assert_eq!(api_text(&cmd), text);
        }
    }

    #[test]
    fn replies_as_freeswitch_writes_them() {
        // Texts from tests/fixtures/freeswitch-esl (inbound-conference-control, inbound-call-control).
        assert!(reply_ok("+OK 1->2 nohear set\n"));
        assert!(reply_ok("+OK relationship 1->2 cleared.\n"));
        assert!(reply_ok("+OK\n"));
        assert!(!reply_ok("-ERR relationship 1->999 not found.\n"));
        assert!(!reply_ok("-ERR No such channel!\n"));
        assert!(!reply_ok("-USAGE: <uuid> <dtmf_data>\n"));
        assert!(!reply_ok(
            "mute <[member_id|all]|last|non_moderator> [<quiet>]"
        ));
        assert!(!reply_ok(""));
    }

    #[test]
    fn renders_recording_commands() {
        let leg = Recording {
            on: Recorder::Leg("c1".into()),
            path: "/rec/a.wav".into(),
        };
        let conf = Recording {
            on: Recorder::Conference,
            path: "/rec/c.wav".into(),
        };
        let mask = |recording: &Recording, mask| {
            api_text(&Cmd::MaskRecording {
                room: "pay-1".into(),
                recording: recording.clone(),
                mask,
            })
        };
        assert_eq!(mask(&leg, true), "uuid_record c1 mask /rec/a.wav");
        assert_eq!(mask(&leg, false), "uuid_record c1 unmask /rec/a.wav");
        assert_eq!(
            mask(&conf, true),
            "conference pay-1 recording pause /rec/c.wav"
        );
        assert_eq!(
            mask(&conf, false),
            "conference pay-1 recording resume /rec/c.wav"
        );
        assert_eq!(
            api_text(&Cmd::ListLegRecordings { uuid: "c1".into() }),
            "uuid_buglist c1"
        );
        assert_eq!(
            api_text(&Cmd::ListConferenceRecordings {
                room: "pay-1".into()
            }),
            "conference pay-1 recording check"
        );
    }

    /// Replies as the real switch wrote them (FreeSWITCH 1.11.3, tests/fixtures/freeswitch-esl/README.md).
    #[test]
    fn recording_lists_and_masks_as_freeswitch_answers() {
        let two = "<media-bugs>\n <media-bug>\n  <function>session_record</function>\n  <target>/tmp/leg.wav</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n <media-bug>\n  <function>spandsp_dtmf_detect</function>\n  <target></target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n</media-bugs>\n";
        assert_eq!(
            leg_recordings(two, "c1"),
            Some(vec![Recording {
                on: Recorder::Leg("c1".into()),
                path: "/tmp/leg.wav".into()
            }])
        );
        assert_eq!(
            leg_recordings("<media-bugs>\n</media-bugs>\n", "c1"),
            Some(vec![])
        );
        assert_eq!(leg_recordings("-ERR no reply\n", "c1"), None);
        assert_eq!(
            conference_recordings("-ERR Conference is not being recorded.\n"),
            Some(vec![])
        );
        let paths: Vec<String> =
            conference_recordings("+OK Record file /r/1.wav\n+OK Record file /r/2.wav (Auto)\n")
                .unwrap()
                .into_iter()
                .map(|r| r.path)
                .collect();
        assert_eq!(paths, ["/r/1.wav", "/r/2.wav"]);
        assert_eq!(conference_recordings("-ERR Conference x not found\n"), None);
        let pause = Cmd::MaskRecording {
            room: "x".into(),
            recording: Recording {
                on: Recorder::Conference,
                path: "/r/1.wav".into(),
            },
            mask: true,
        };
        assert!(check(&pause, "+OK Pause recording file /r/1.wav\n"));
        assert!(!check(
            &pause,
            "+OK Pause recording file /r/9.wav\n-ERR non-existant recording '/r/9.wav'\n"
        ));
        assert!(!check(&pause, "-ERR Conference x not found\n"));
        let list = Cmd::ListLegRecordings { uuid: "c1".into() };
        assert!(check(&list, "<media-bugs>\n</media-bugs>\n"));
        assert!(!check(&list, "-ERR no reply\n"));
    }

    #[test]
    fn originate_results() {
        assert_eq!(
            originate_result("+OK b2b44970-f25a-4a1b-b319-944003a74f66\n"),
            Ok("b2b44970-f25a-4a1b-b319-944003a74f66".into())
        );
        assert_eq!(
            originate_result("-ERR USER_BUSY\n"),
            Err("USER_BUSY".into())
        );
        assert_eq!(
            originate_result("-ERR NO_ANSWER\n"),
            Err("NO_ANSWER".into())
        );
        assert_eq!(originate_result("+OK\n"), Err("+OK".into()));
    }
}
