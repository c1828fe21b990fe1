//! The outbound socket server: FreeSWITCH's dialplan `socket` application connects to the daemon
//! (default `127.0.0.1:8084`), one TCP connection per call.
//!
//! Each accepted peer is checked against the [`AllowList`] (refused: closed at once, one log line), then
//! the [`session`] handshake runs (`connect`, `Control: full` check, filters, `linger`, `event plain`),
//! and the handler receives an [`OutboundSession`]. The socket is closed when the handler returns (or on
//! shutdown). With `socket_resume` unset FreeSWITCH then leaves the call as it is (see the facts doc);
//! the handler should hang up or hand the call on before returning.

pub mod allow;
pub mod session;

pub use allow::AllowList;
pub use session::{OutboundSession, SessionEvent, SessionHandle};

use super::codec::EslCodec;
use super::command::EventSet;
use super::connection::{self, DriverOptions, Timeouts};
use session::Refusal;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

/// A session's read buffer while idle. What a controlled channel's socket carries after the
/// handshake is a handful of its own events (1–3 KiB each) over the call's whole length: a buffer
/// this size reads an event's head, the codec then reserves the rest. The `connect` reply (the
/// channel data, several KiB) grows it once; it is given back when the call goes quiet.
const IDLE_READ_BUFFER: usize = 1024;

/// Outbound server settings.
#[derive(Clone, Debug)]
pub struct OutboundConfig {
    pub listen: SocketAddr,
    pub allow: AllowList,
    pub command_timeout: Duration,
    pub job_timeout: Duration,
    pub max_frame_bytes: usize,
    /// Capacity of each session's event channel.
    pub event_buffer: usize,
    /// Events of the controlled channel to receive (CHANNEL_EXECUTE_COMPLETE and BACKGROUND_JOB are
    /// always added). DTMF is not in the default: card digits must not reach the daemon.
    pub events: EventSet,
}

impl Default for OutboundConfig {
    fn default() -> OutboundConfig {
        OutboundConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8084)),
            allow: AllowList::loopback(),
            command_timeout: Duration::from_secs(5),
            job_timeout: Duration::from_secs(120),
            max_frame_bytes: super::codec::DEFAULT_MAX_FRAME_BYTES,
            event_buffer: 256,
            events: EventSet::new()
                .events([
                    "CHANNEL_ANSWER",
                    "CHANNEL_BRIDGE",
                    "CHANNEL_UNBRIDGE",
                    "CHANNEL_HOLD",
                    "CHANNEL_UNHOLD",
                    "CHANNEL_EXECUTE",
                    "CHANNEL_EXECUTE_COMPLETE",
                    "CHANNEL_HANGUP",
                    "CHANNEL_HANGUP_COMPLETE",
                    "BACKGROUND_JOB",
                ])
                .custom("conference::maintenance"),
        }
    }
}

/// The bound listener.
#[derive(Debug)]
pub struct OutboundServer {
    listener: TcpListener,
    config: Arc<OutboundConfig>,
}

impl OutboundServer {
    pub async fn bind(config: OutboundConfig) -> std::io::Result<OutboundServer> {
        let listener = TcpListener::bind(config.listen).await?;
        info!(addr = %listener.local_addr()?, "outbound socket server listening");
        Ok(OutboundServer {
            listener,
            config: Arc::new(config),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts calls until `shutdown`, giving each controlled call to `handler`. On shutdown it stops
    /// accepting, closes every session socket, and returns once all session tasks have ended.
    pub async fn run<H, F>(self, handler: H, shutdown: CancellationToken)
    where
        H: Fn(OutboundSession) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let tracker = TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    warn!(error = %e, "outbound accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !self.config.allow.allows(peer.ip()) {
                warn!(peer = %peer, "outbound connection refused: peer not in the allow-list");
                drop(tcp);
                continue;
            }
            let config = Arc::clone(&self.config);
            let handler = Arc::clone(&handler);
            let cancel = shutdown.child_token();
            tracker.spawn(serve(tcp, peer, config, handler, cancel));
        }
        tracker.close();
        tracker.wait().await;
    }
}

async fn serve<H, F>(
    tcp: TcpStream,
    peer: SocketAddr,
    config: Arc<OutboundConfig>,
    handler: Arc<H>,
    cancel: CancellationToken,
) where
    H: Fn(OutboundSession) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let peer_label = peer.to_string();
    let mut stream =
        FramedRead::with_capacity(tcp, EslCodec::new(config.max_frame_bytes), IDLE_READ_BUFFER);
    let handshake = session::handshake(
        &mut stream,
        &config.events,
        config.command_timeout,
        &peer_label,
    );
    let (channel, uuid) = tokio::select! {
        _ = cancel.cancelled() => return,
        result = handshake => match result {
            Ok(pair) => pair,
            Err(Refusal::NotFull) => return,
            Err(Refusal::Failed(e)) => {
                warn!(peer = %peer_label, error = %e, "outbound handshake failed");
                return;
            }
        },
    };
    // The `connect` reply grew the buffer to the channel data's size: give that back now.
    let buffer = stream.read_buffer_mut();
    if buffer.is_empty() && buffer.capacity() > IDLE_READ_BUFFER {
        *buffer = bytes::BytesMut::with_capacity(IDLE_READ_BUFFER);
    }
    let (events_tx, events_rx) = mpsc::channel(config.event_buffer.max(1));
    let options = DriverOptions {
        timeouts: Timeouts {
            command: config.command_timeout,
            job: config.job_timeout,
        },
        forward_unmatched_jobs: config.events.contains("BACKGROUND_JOB"),
        label: uuid.clone(),
        idle_read_buffer: Some(IDLE_READ_BUFFER),
    };
    let (conn, driver) = connection::spawn(stream, events_tx, options, cancel.clone());
    let session = OutboundSession {
        channel,
        uuid: uuid.clone(),
        handle: SessionHandle {
            conn,
            uuid: uuid.clone(),
        },
        events: events_rx,
    };
    handler(session).await;
    cancel.cancel();
    let reason = driver.await.ok();
    debug!(call = %uuid, reason = ?reason, "outbound session closed");
}
