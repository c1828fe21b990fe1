//! What `parse_command` works on for one connection, and what a command tells the connection loop.

use super::subscription::Subscription;

/// How the outbound `socket` application was invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundMode {
    pub async_mode: bool,
    pub full: bool,
}

/// Whether the loop goes on after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// End the connection with the disconnect notice.
    Close,
    /// End the connection abruptly (fault injection: no notice).
    Drop,
}

/// The inbound password; never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"********\"")
    }
}

/// The state `parse_command` works on.
#[derive(Debug)]
pub struct ConnState {
    pub sub: Subscription,
    pub authed: bool,
    pub password: Password,
    /// The controlled channel (outbound session, or inbound `myevents <uuid>`).
    pub session: Option<String>,
    pub outbound: Option<OutboundMode>,
    /// `connect` was received (outbound).
    pub connected: bool,
    /// `None` = no linger; `Some(-1)` = forever; `Some(n)` = n seconds.
    pub linger: Option<i64>,
    /// `resume` was sent.
    pub resume: bool,
    /// `log <level>` in force.
    pub log_level: Option<u8>,
    /// The controlled channel's name (for the linger notice).
    pub channel_name: String,
}
