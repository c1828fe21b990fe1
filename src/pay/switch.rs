//! What the payment engine needs from FreeSWITCH ([`Switch`]: `api` and `bgapi`), and why a command
//! can bring back no reply ([`SwitchError`]). A leaf: sessions, the engine, attach and recovery all
//! drive FreeSWITCH through it; the daemon's ESL-backed implementation is in [`super::dialplan`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What a session needs from FreeSWITCH: `api` and `bgapi` over the daemon's inbound connection.
pub trait Switch: Send + Sync + 'static {
    /// `api <cmd>`: the reply body (FreeSWITCH's `-ERR ...` answers included), or why there is none.
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>>;
    /// `bgapi <cmd>`: the job's output (its `BACKGROUND_JOB` body), or why there is none.
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>>;
    /// A command about one call's own channels, with [`Switch::api`]'s answer and within the same
    /// command timeout, sent where FreeSWITCH runs the commands of many calls in parallel rather
    /// than one after another (see [`super::dialplan::EslSwitch`]). For callers that are not the
    /// engine's own task: its replies travel with the events that task consumes. Order within one
    /// call is the caller's: each awaits a command's answer before it sends the next.
    fn call_api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.api(cmd)
    }
}

/// Why a [`Switch`] command brought back no reply body. The texts are the ESL client's own: command
/// names and FreeSWITCH's answers to our requests, never event contents (no digits).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// No connection (down, or lost while the command was pending): not FreeSWITCH's answer, and the
    /// command may or may not have run. A session waits for the reconnect's resync, which reads
    /// FreeSWITCH's state back.
    #[error("no connection to FreeSWITCH: {reason}")]
    NoConnection { reason: String },
    /// No reply in time over a connection that is still up; the command may still run.
    #[error("`{command}` got no reply within {after:?}")]
    Timeout {
        command: &'static str,
        after: Duration,
    },
    /// A `bgapi` was accepted but its result (`BACKGROUND_JOB`) did not arrive in time.
    #[error("bgapi job {job_uuid} got no BACKGROUND_JOB within {after:?}")]
    JobTimeout { job_uuid: String, after: Duration },
    /// FreeSWITCH refused the request itself (`-ERR` to the command frame, not an API reply body).
    #[error("`{command}` refused by FreeSWITCH: {reply}")]
    Refused {
        command: &'static str,
        reply: String,
    },
    /// FreeSWITCH answered something the client did not expect.
    #[error("unexpected answer to `{command}`: {what}")]
    Unexpected { command: &'static str, what: String },
    /// The command could not be put on the wire (a line break in an argument, ...): nothing was sent.
    #[error("{reason}")]
    Unsendable { reason: String },
    /// The connection cannot run commands for us (a wrong password, an outbound socket without
    /// `full` control): retrying the command will not help.
    #[error("{reason}")]
    Unusable { reason: String },
}

pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
