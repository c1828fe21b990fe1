//! The dialplan: destination number -> list of applications (context `default`, as recorded).

use std::net::SocketAddr;

/// One extension: a destination and the applications it runs, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub destination: String,
    pub actions: Vec<(String, String)>,
}

impl Extension {
    pub fn new(destination: &str, actions: &[(&str, &str)]) -> Extension {
        Extension {
            destination: destination.to_owned(),
            actions: actions
                .iter()
                .map(|(a, d)| ((*a).to_owned(), (*d).to_owned()))
                .collect(),
        }
    }
}

/// The extensions of the recording's test dialplan. `socket` and `socket-resume` connect to
/// `outbound_target` (default `127.0.0.1:8084`, FreeSWITCH's default port).
pub fn default_extensions(outbound_target: Option<SocketAddr>) -> Vec<Extension> {
    let target = outbound_target
        .map(|a| a.to_string())
        .unwrap_or_else(|| "127.0.0.1:8084".into());
    let socket_arg = format!("{target} async full");
    let socket = |resume: &str| {
        vec![
            ("set".to_owned(), format!("socket_resume={resume}")),
            ("socket".to_owned(), socket_arg.clone()),
            (
                "log".to_owned(),
                format!("NOTICE socket app returned; dialplan continues (socket_resume={resume})"),
            ),
            ("playback".to_owned(), "silence_stream://3000".to_owned()),
            ("hangup".to_owned(), "NORMAL_CLEARING".to_owned()),
        ]
    };
    vec![
        Extension {
            destination: "socket".into(),
            actions: socket("false"),
        },
        Extension {
            destination: "socket-resume".into(),
            actions: socket("true"),
        },
        Extension::new("park", &[("park", "")]),
        Extension::new(
            "customer",
            &[("answer", ""), ("playback", "silence_stream://-1")],
        ),
        Extension::new(
            "agent",
            &[
                ("answer", ""),
                ("playback", "tone_stream://%(100,1900,800);loops=-1"),
            ],
        ),
        Extension::new(
            "capture",
            &[("answer", ""), ("sleep", "10000"), ("hangup", "")],
        ),
        Extension::new(
            "dtmf",
            &[("answer", ""), ("playback", "silence_stream://-1")],
        ),
        Extension::new("echo", &[("answer", ""), ("echo", "")]),
        Extension::new("conf", &[("answer", ""), ("conference", "conf@default")]),
    ]
}
