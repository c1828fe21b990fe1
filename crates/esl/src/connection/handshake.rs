//! Sequential request/reply on a socket before the driver runs (inbound auth, outbound `connect`).

use super::{EslStream, check_reply};
use crate::client_error::{ClientError, LossReason};
use crate::command::Command;
use crate::frame::{ContentType, Frame};
use crate::reply::Reply;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tracing::debug;

/// Reads the next frame during a handshake (before the driver runs).
pub async fn next_frame(
    stream: &mut EslStream,
    command: &'static str,
    timeout: Duration,
) -> Result<Frame, ClientError> {
    match tokio::time::timeout(timeout, stream.next()).await {
        Ok(Some(Ok(frame))) => Ok(frame),
        Ok(Some(Err(e))) => Err(ClientError::ConnectionLost {
            command,
            reason: LossReason::from(&e),
        }),
        Ok(None) => Err(ClientError::ConnectionLost {
            command,
            reason: LossReason::PeerClosed { notice: None },
        }),
        Err(_) => Err(ClientError::Timeout {
            command,
            after: timeout,
        }),
    }
}

/// Sends one command during a handshake and waits for its reply frame. Frames that are not replies
/// (a stray event, a disconnect-notice) are skipped; the handshake orders its commands so that no
/// events are subscribed before its last command.
pub async fn roundtrip(
    stream: &mut EslStream,
    command: &Command,
    timeout: Duration,
) -> Result<Frame, ClientError> {
    let name = command.name();
    let wire = command.to_bytes()?;
    let sock = stream.get_mut();
    let written = async {
        sock.write_all(&wire).await?;
        sock.flush().await
    };
    written.await.map_err(|e| ClientError::ConnectionLost {
        command: name,
        reason: LossReason::Io {
            message: e.to_string(),
        },
    })?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = next_frame(stream, name, left).await.map_err(|e| match e {
            ClientError::Timeout { command, .. } => ClientError::Timeout {
                command,
                after: timeout,
            },
            other => other,
        })?;
        match frame.content_type {
            ContentType::CommandReply | ContentType::ApiResponse => return Ok(frame),
            ContentType::RudeRejection => return Err(ClientError::AccessDenied),
            ref other => {
                debug!(command = name, content_type = %other, "frame skipped during handshake")
            }
        }
    }
}

/// [`roundtrip`] that also turns `-ERR` into [`ClientError::Rejected`].
pub async fn roundtrip_ok(
    stream: &mut EslStream,
    command: &Command,
    timeout: Duration,
) -> Result<Reply, ClientError> {
    let frame = roundtrip(stream, command, timeout).await?;
    check_reply(command.name(), frame)
}
