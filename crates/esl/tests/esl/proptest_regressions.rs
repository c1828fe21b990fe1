//! Regressions found by the property tests (`proptest_*`), pinned as plain tests.

use bytes::Bytes;
use confpay_esl::command::{Command, CommandError, Execute};

/// Found by `hostile_arguments_never_inject_a_command`: an `execute` argument with a NUL went into a
/// `text/plain` body, which FreeSWITCH stores with `"%s"`, so the application got the argument cut
/// at the NUL (`"\0"` arrived as nothing). Refused instead, with nothing written.
#[test]
fn execute_argument_with_nul_is_refused_not_truncated() {
    for arg in ["\0", "a\0b", "line1\nline2\0"] {
        let cmd = Command::execute(None, Execute::new("playback").arg(arg));
        assert_eq!(
            cmd.to_bytes(),
            Err(CommandError::LineBreak {
                command: "sendmsg",
                field: "execute-app-arg"
            }),
            "{arg:?}"
        );
    }
    // Line breaks alone still travel in the body, whole.
    let ok = Command::execute(None, Execute::new("playback").arg("a\nb"));
    assert!(ok.to_bytes().expect("encodes").ends_with(b"\n\na\nb"));
}

/// Same for a `sendevent` body: FreeSWITCH would keep only the bytes before the first NUL.
#[test]
fn sendevent_body_with_nul_is_refused_not_truncated() {
    let cmd = Command::SendEvent {
        name: "CUSTOM".into(),
        headers: vec![],
        body: Some(Bytes::from_static(b"ab\0cd")),
    };
    assert_eq!(
        cmd.to_bytes(),
        Err(CommandError::LineBreak {
            command: "sendevent",
            field: "body"
        })
    );
}
