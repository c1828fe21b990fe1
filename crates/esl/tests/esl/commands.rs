//! Command encoding: every command's exact wire text, checked against the recorded `>>>` chunks of the
//! FreeSWITCH transcripts where one exists, and line-break injection refused for every argument.

use crate::fake_switch::client_chunks;
use bytes::{Bytes, BytesMut};
use confpay_esl::command::{
    APP_ARG_HEADER_MAX, CallCommand, Command, CommandError, EventFormat, EventSet, Execute,
    LogLevel,
};
use confpay_esl::secret::Secret;
use uuid::Uuid;

fn wire(cmd: &Command) -> String {
    String::from_utf8(cmd.to_bytes().expect("encodes").to_vec()).expect("utf8")
}

fn recorded(name: &str, index: usize) -> String {
    String::from_utf8(client_chunks(name)[index].clone()).expect("utf8")
}

#[test]
fn auth_api_bgapi_exit_match_the_recording() {
    let f = "inbound-auth-and-api";
    assert_eq!(wire(&Command::auth(Secret::new("ClueCon"))), recorded(f, 0));
    assert_eq!(wire(&Command::api("status")), recorded(f, 1));
    assert_eq!(wire(&Command::api("show channels as json")), recorded(f, 2));
    assert_eq!(wire(&Command::bgapi("status", None)), recorded(f, 7));
    assert_eq!(
        wire(&Command::event(
            EventFormat::Plain,
            EventSet::new().event("BACKGROUND_JOB")
        )),
        recorded(f, 8)
    );
    let job = Uuid::parse_str("11111111-2222-3333-4444-555555555555").expect("uuid");
    assert_eq!(wire(&Command::bgapi("version", Some(job))), recorded(f, 10));
    assert_eq!(wire(&Command::Exit), recorded(f, 12));
    assert_eq!(wire(&Command::Exit), "exit\n\n");
}

#[test]
fn event_with_custom_subclass_last_matches_the_recording() {
    let events = EventSet::new().custom("conference::maintenance").events([
        "CHANNEL_CREATE",
        "CHANNEL_ANSWER",
        "CHANNEL_BRIDGE",
        "CHANNEL_UNBRIDGE",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
        "CHANNEL_HOLD",
        "CHANNEL_UNHOLD",
        "DTMF",
        "BACKGROUND_JOB",
    ]);
    assert_eq!(
        wire(&Command::event(EventFormat::Plain, events)),
        recorded("inbound-conference-control", 1)
    );
    let xml = EventSet::new().custom("conference::maintenance").events([
        "CHANNEL_CREATE",
        "CHANNEL_HANGUP_COMPLETE",
        "BACKGROUND_JOB",
    ]);
    assert_eq!(
        wire(&Command::event(EventFormat::Xml, xml)),
        recorded("inbound-events-xml", 1)
    );
    assert_eq!(
        wire(&Command::event(EventFormat::Json, EventSet::all())),
        recorded("inbound-events-json-all", 1)
    );
    assert_eq!(
        wire(&Command::event(
            EventFormat::Plain,
            EventSet::new().custom("test::payment")
        )),
        recorded("inbound-large-and-edge-frames", 2)
    );
}

#[test]
fn custom_as_a_plain_event_name_is_refused() {
    let bad = EventSet::new().event("CUSTOM").event("DTMF");
    assert_eq!(
        Command::event(EventFormat::Plain, bad).to_bytes(),
        Err(CommandError::CustomAsEventName { command: "event" })
    );
    assert_eq!(
        Command::event(EventFormat::Plain, EventSet::new()).to_bytes(),
        Err(CommandError::NoEvents { command: "event" })
    );
}

#[test]
fn subscription_commands_match_the_recording() {
    let f = "inbound-subscription-commands";
    assert_eq!(
        wire(&Command::NixEvent {
            events: EventSet::new().event("CHANNEL_ANSWER")
        }),
        recorded(f, 6)
    );
    assert_eq!(
        wire(&Command::filter("Event-Name", "CHANNEL_CREATE")),
        recorded(f, 8)
    );
    assert_eq!(
        wire(&Command::FilterDelete {
            header: "Event-Name".into(),
            value: Some("CHANNEL_CREATE".into())
        }),
        recorded(f, 9)
    );
    assert_eq!(wire(&Command::NoEvents), recorded(f, 11));
    assert_eq!(
        wire(&Command::MyEvents {
            uuid: Some("00000000-0000-0000-0000-000000000000".into())
        }),
        recorded(f, 13)
    );
    assert_eq!(wire(&Command::MyEvents { uuid: None }), recorded(f, 14));
    assert_eq!(wire(&Command::Linger { seconds: None }), recorded(f, 15));
    assert_eq!(
        wire(&Command::hangup(
            Some("00000000-0000-0000-0000-000000000000".into()),
            None
        )),
        recorded(f, 16)
    );
    assert_eq!(wire(&Command::DivertEvents { on: true }), recorded(f, 17));
    assert_eq!(wire(&Command::Resume), recorded(f, 18));
    assert_eq!(
        wire(&Command::GetVar { name: "foo".into() }),
        recorded(f, 19)
    );
    assert_eq!(
        wire(&Command::DivertEvents { on: false }),
        "divert_events off\n\n"
    );
    assert_eq!(wire(&Command::NoLinger), "nolinger\n\n");
    assert_eq!(
        wire(&Command::FilterDelete {
            header: "all".into(),
            value: None
        }),
        "filter delete all\n\n"
    );
}

#[test]
fn outbound_commands_match_the_recording() {
    let f = "outbound-full-session";
    assert_eq!(wire(&Command::Connect), recorded(f, 0));
    assert_eq!(wire(&Command::Linger { seconds: None }), recorded(f, 2));
    assert_eq!(
        wire(&Command::event(
            EventFormat::Plain,
            EventSet::new().events(["CHANNEL_HANGUP", "DTMF"])
        )),
        recorded(f, 3)
    );
    assert_eq!(
        wire(&Command::execute(None, Execute::new("answer").event_lock())),
        recorded(f, 4)
    );
    let app_uuid = Uuid::parse_str("7e57a990-0000-4000-8000-000000000001").expect("uuid");
    assert_eq!(
        wire(&Command::execute(
            None,
            Execute::new("playback")
                .arg("tone_stream://%(1000,1000,440);loops=-1")
                .event_uuid(app_uuid)
        )),
        recorded(f, 5)
    );
    assert_eq!(
        wire(&Command::hangup(None, Some("NORMAL_CLEARING".into()))),
        recorded(f, 10)
    );
    assert_eq!(
        wire(&Command::Linger { seconds: Some(2) }),
        recorded("outbound-unknown-app", 2)
    );
    assert_eq!(
        wire(&Command::execute(
            None,
            Execute::new("no_such_app").arg("x")
        )),
        recorded("outbound-unknown-app", 4)
    );
}

#[test]
fn sendevent_log_nolog_match_the_recording() {
    let f = "inbound-large-and-edge-frames";
    let body = "line one of body\nline two: with colon\n\nafter blank line\n";
    let with_body = Command::SendEvent {
        name: "CUSTOM".into(),
        headers: vec![
            ("Event-Subclass".into(), "test::payment".into()),
            ("X-Card-Token".into(), "tok_12345".into()),
            ("Content-Type".into(), "text/plain".into()),
        ],
        body: Some(Bytes::from_static(body.as_bytes())),
    };
    assert_eq!(wire(&with_body), recorded(f, 3));
    let no_body = Command::SendEvent {
        name: "CUSTOM".into(),
        headers: vec![
            ("Event-Subclass".into(), "test::payment".into()),
            ("X-Note".into(), "no body here".into()),
        ],
        body: None,
    };
    assert_eq!(wire(&no_body), recorded(f, 4));
    assert_eq!(
        wire(&Command::Log {
            level: Some(LogLevel::Debug)
        }),
        recorded(f, 12)
    );
    assert_eq!(wire(&Command::NoLog), recorded(f, 15));
    assert_eq!(wire(&Command::Log { level: None }), recorded(f, 17));
    assert_eq!(
        wire(&Command::Log {
            level: Some(LogLevel::Notice)
        }),
        "log 5\n\n"
    );
}

#[test]
fn sendevent_refuses_its_own_content_length() {
    let cmd = Command::SendEvent {
        name: "CUSTOM".into(),
        headers: vec![("content-length".into(), "3".into())],
        body: None,
    };
    assert_eq!(
        cmd.to_bytes(),
        Err(CommandError::ReservedHeader {
            command: "sendevent",
            name: "Content-Length"
        })
    );
}

#[test]
fn app_arg_with_line_breaks_or_long_travels_as_text_plain_body() {
    let cmd = Command::execute(None, Execute::new("set").arg("a=1\nb=2"));
    assert_eq!(
        wire(&cmd),
        "sendmsg\ncall-command: execute\nexecute-app-name: set\nContent-Type: text/plain\nContent-Length: 7\n\na=1\nb=2"
    );
    let long = "x".repeat(APP_ARG_HEADER_MAX + 1);
    let text = wire(&Command::execute(
        None,
        Execute::new("log").arg(long.clone()),
    ));
    assert!(
        !text.contains("execute-app-arg"),
        "long arg must not be a header"
    );
    assert!(text.ends_with(&format!("Content-Length: {}\n\n{long}", long.len())));
    let lead = wire(&Command::execute(None, Execute::new("log").arg(" INFO x")));
    assert!(lead.ends_with("Content-Type: text/plain\nContent-Length: 7\n\n INFO x"));
    let all = wire(&Command::execute(
        Some("abc".into()),
        Execute::new("playback")
            .arg("f.wav")
            .loops(3)
            .event_lock()
            .force_async(),
    ));
    assert_eq!(
        all,
        "sendmsg abc\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: f.wav\nloops: 3\nevent-lock: true\nasync: true\n\n"
    );
}

#[test]
fn auth_debug_masks_the_password() {
    let cmd = Command::auth(Secret::new("ClueCon"));
    let debug = format!("{cmd:?}");
    assert!(!debug.contains("ClueCon"), "{debug}");
    assert!(debug.contains("***"), "{debug}");
}

#[test]
fn encode_appends_and_leaves_dst_untouched_on_error() {
    let mut dst = BytesMut::from(&b"x"[..]);
    assert!(Command::api("bad\nline").encode(&mut dst).is_err());
    assert_eq!(&dst[..], b"x");
    Command::api("status").encode(&mut dst).expect("ok");
    assert_eq!(&dst[..], b"xapi status\n\n");
}

/// Every argument of every command, with `\n`, `\r` and NUL: refused with a typed error.
#[test]
fn line_breaks_are_refused_in_every_argument() {
    for bad in ["a\nb", "a\rb", "a\0b", "x\n\nexit"] {
        let s = || bad.to_owned();
        let cases: Vec<(Command, &str, &str)> = vec![
            (Command::auth(Secret::new(bad)), "auth", "password"),
            (Command::api(bad), "api", "api command"),
            (Command::bgapi(bad, None), "bgapi", "api command"),
            (
                Command::event(EventFormat::Plain, EventSet::new().event(bad)),
                "event",
                "event name",
            ),
            (
                Command::event(EventFormat::Plain, EventSet::new().custom(bad)),
                "event",
                "CUSTOM subclass",
            ),
            (
                Command::NixEvent {
                    events: EventSet::new().event(bad),
                },
                "nixevent",
                "event name",
            ),
            (Command::filter(bad, "v"), "filter", "header name"),
            (Command::filter("Unique-ID", bad), "filter", "filter value"),
            (
                Command::FilterDelete {
                    header: s(),
                    value: None,
                },
                "filter delete",
                "header name",
            ),
            (
                Command::FilterDelete {
                    header: "H".into(),
                    value: Some(s()),
                },
                "filter delete",
                "filter value",
            ),
            (
                Command::execute(Some(s()), Execute::new("answer")),
                "sendmsg",
                "channel uuid",
            ),
            (
                Command::execute(None, Execute::new(bad)),
                "sendmsg",
                "execute-app-name",
            ),
            (
                Command::SendMsg {
                    uuid: None,
                    command: CallCommand::Hangup { cause: Some(s()) },
                },
                "sendmsg",
                "hangup-cause",
            ),
            (
                Command::MyEvents { uuid: Some(s()) },
                "myevents",
                "channel uuid",
            ),
            (
                Command::SendEvent {
                    name: s(),
                    headers: vec![],
                    body: None,
                },
                "sendevent",
                "event name",
            ),
            (
                Command::SendEvent {
                    name: "CUSTOM".into(),
                    headers: vec![(s(), "v".into())],
                    body: None,
                },
                "sendevent",
                "header name",
            ),
            (
                Command::SendEvent {
                    name: "CUSTOM".into(),
                    headers: vec![("X-H".into(), s())],
                    body: None,
                },
                "sendevent",
                "header value",
            ),
            (Command::GetVar { name: s() }, "getvar", "variable name"),
        ];
        for (cmd, command, field) in cases {
            assert_eq!(
                cmd.to_bytes(),
                Err(CommandError::LineBreak { command, field }),
                "{command} {field} with {bad:?}"
            );
        }
    }
}

#[test]
fn errors_never_echo_the_value() {
    let err = Command::auth(Secret::new("sec\nret"))
        .to_bytes()
        .expect_err("refused");
    let text = err.to_string();
    assert!(!text.contains("sec"), "{text}");
    assert_eq!(
        text,
        "password of `auth` contains a line break or NUL byte (refused: command injection)"
    );
}

#[test]
fn empty_and_multi_token_arguments_are_refused() {
    assert_eq!(
        Command::api("").to_bytes(),
        Err(CommandError::Empty {
            command: "api",
            field: "api command"
        })
    );
    assert_eq!(
        Command::filter("Unique ID", "x").to_bytes(),
        Err(CommandError::NotAToken {
            command: "filter",
            field: "header name"
        })
    );
    assert_eq!(
        Command::GetVar { name: "a b".into() }.to_bytes(),
        Err(CommandError::NotAToken {
            command: "getvar",
            field: "variable name"
        })
    );
}

#[test]
fn esl_codec_is_an_encoder_of_commands() {
    use confpay_esl::EslCodec;
    use confpay_esl::command::EncodeError;
    use tokio_util::codec::Encoder;
    let mut codec = EslCodec::default();
    let mut dst = BytesMut::new();
    codec
        .encode(&Command::Linger { seconds: Some(2) }, &mut dst)
        .expect("encodes");
    assert_eq!(&dst[..], b"linger 2\n\n");
    let err = codec
        .encode(&Command::api("a\rb"), &mut dst)
        .expect_err("refused");
    assert!(matches!(
        err,
        EncodeError::Command(CommandError::LineBreak {
            command: "api",
            field: "api command"
        })
    ));
    assert_eq!(&dst[..], b"linger 2\n\n");
}
