//! The dialplan applications the simulator knows; anything else is "Invalid Application".

/// A known dialplan application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Application {
    Answer,
    PreAnswer,
    RingReady,
    Set,
    Export,
    Unset,
    Log,
    Info,
    Hangup,
    Sleep,
    Playback,
    Park,
    Echo,
    Socket,
    Conference,
    Bridge,
    Transfer,
    BindMetaApp,
}

impl Application {
    /// The application called `name`, if the simulator knows it.
    pub(crate) fn named(name: &str) -> Option<Application> {
        Some(match name {
            "answer" => Application::Answer,
            "pre_answer" => Application::PreAnswer,
            "ring_ready" => Application::RingReady,
            "set" => Application::Set,
            "export" => Application::Export,
            "unset" => Application::Unset,
            "log" => Application::Log,
            "info" => Application::Info,
            "hangup" => Application::Hangup,
            "sleep" => Application::Sleep,
            "playback" => Application::Playback,
            "park" => Application::Park,
            "echo" => Application::Echo,
            "socket" => Application::Socket,
            "conference" => Application::Conference,
            "bridge" => Application::Bridge,
            "transfer" => Application::Transfer,
            "bind_meta_app" => Application::BindMetaApp,
            _ => return None,
        })
    }
}
