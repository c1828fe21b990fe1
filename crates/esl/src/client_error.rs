//! [`ClientError`]: why an ESL request (inbound client or outbound session) failed, and [`LossReason`]:
//! why a connection ended. Messages carry command *names* and reply texts FreeSWITCH produced for our
//! own requests, never event contents (those may hold card digits).

use super::command::CommandError;
use super::error::WireError;
use std::time::Duration;

/// Why a connection to FreeSWITCH ended.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LossReason {
    /// FreeSWITCH closed the TCP connection; `notice` is the `Content-Disposition` of the last
    /// `text/disconnect-notice` it sent before (`disconnect`, `linger`), if any.
    #[error("FreeSWITCH closed the connection (last disconnect-notice: {})", notice.as_deref().unwrap_or("none"))]
    PeerClosed { notice: Option<String> },
    /// Reading or writing the socket failed.
    #[error("socket error: {message}")]
    Io { message: String },
    /// FreeSWITCH sent bytes we cannot frame; the stream cannot be trusted any more.
    #[error("protocol error: {message}")]
    Protocol { message: String },
    /// We closed it: shutdown, or every handle was dropped.
    #[error("closed locally")]
    Local,
}

impl From<&WireError> for LossReason {
    fn from(e: &WireError) -> LossReason {
        match e {
            WireError::Io(io) => LossReason::Io {
                message: io.to_string(),
            },
            other => LossReason::Protocol {
                message: other.to_string(),
            },
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The command could not be encoded (line break in an argument, ...). Nothing was sent.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// `auth` answered `-ERR invalid`: the password is wrong. Retrying will not help (exit code 78).
    #[error("FreeSWITCH refused the ESL password (-ERR invalid)")]
    AuthFailed,
    /// FreeSWITCH's ACL refused us (`text/rude-rejection`).
    #[error("FreeSWITCH refused the connection (rude-rejection: check apply-inbound-acl)")]
    AccessDenied,
    /// TCP connect failed.
    #[error("cannot connect to FreeSWITCH at {addr}: {message}")]
    Connect { addr: String, message: String },
    /// No connection right now (the inbound client is reconnecting, or the session has closed).
    #[error("not connected to FreeSWITCH")]
    NotConnected,
    /// The connection dropped while the request was pending.
    #[error("connection to FreeSWITCH lost while `{command}` was pending: {reason}")]
    ConnectionLost {
        command: &'static str,
        reason: LossReason,
    },
    /// No reply within the command timeout. The connection stays usable: the late reply is discarded.
    #[error("`{command}` got no reply within {after:?}")]
    Timeout {
        command: &'static str,
        after: Duration,
    },
    /// The `BACKGROUND_JOB` of a `bgapi` did not arrive within the job timeout.
    #[error("bgapi job {job_uuid} got no BACKGROUND_JOB within {after:?}")]
    JobTimeout { job_uuid: String, after: Duration },
    /// FreeSWITCH answered `-ERR ...` to a command.
    #[error("`{command}` refused by FreeSWITCH: {reply}")]
    Rejected {
        command: &'static str,
        reply: String,
    },
    /// FreeSWITCH answered something we did not expect at this point.
    #[error("unexpected answer to `{command}`: {what}")]
    Unexpected { command: &'static str, what: String },
    /// The outbound socket's channel is not under `full` control.
    #[error("outbound socket is not in full mode (Control: {control})")]
    NotFullControl { control: String },
}

impl ClientError {
    /// Whether the failure is about the connection (reconnecting may help) rather than the request.
    pub fn is_connection_error(&self) -> bool {
        match self {
            ClientError::Connect { .. }
            | ClientError::NotConnected
            | ClientError::ConnectionLost { .. }
            | ClientError::AccessDenied => true,
            ClientError::Command(_)
            | ClientError::AuthFailed
            | ClientError::Timeout { .. }
            | ClientError::JobTimeout { .. }
            | ClientError::Rejected { .. }
            | ClientError::Unexpected { .. }
            | ClientError::NotFullControl { .. } => false,
        }
    }
}
