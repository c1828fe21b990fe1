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
mod together;

pub use allow::AllowList;
pub use session::{OutboundSession, SessionEvent, SessionHandle};

use super::codec::EslCodec;
use super::command::EventSet;
use super::connection::{self, DriverOptions, EslStream, Timeouts};
use super::frame::Event;
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

/// The read buffer a session takes when its socket is readable, and gives back once every frame
/// in it has been handed on (see [`DriverOptions::idle_read_buffer`]): what a controlled channel's
/// socket carries after the handshake is a handful of its own events (1–3 KiB each) over the
/// call's whole length, so an idle call holds none. A buffer this size reads one event or a few;
/// the codec reserves the rest of a larger frame once it knows its length.
const READ_BUFFER: usize = 4096;

/// The read buffer of the handshake; the `connect` reply (the channel data, several KiB) grows it.
const HANDSHAKE_BUFFER: usize = 1024;

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

/// One accepted connection, in one task: the handshake (boxed: its futures are freed once it is
/// done), then the connection's driver and the handler side by side until the handler returns.
/// Not an `async fn`, whose state would keep the accepted socket and the peer's address for the
/// call's whole length.
fn serve<H, F>(
    tcp: TcpStream,
    peer: SocketAddr,
    config: Arc<OutboundConfig>,
    handler: Arc<H>,
    cancel: CancellationToken,
) -> impl Future<Output = ()> + Send
where
    H: Fn(OutboundSession) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let accepting = Box::pin(accept(tcp, peer, config, cancel.clone()));
    async move {
        let Some(accepted) = accepting.await else {
            return;
        };
        let Accepted {
            stream,
            channel,
            uuid,
            options,
            event_buffer,
        } = accepted;
        let (events_tx, events_rx) = mpsc::channel(event_buffer);
        let (conn, driver) = connection::start(stream, events_tx, options, cancel.clone());
        let session = OutboundSession {
            channel,
            uuid: uuid.clone(),
            handle: SessionHandle {
                conn,
                uuid: uuid.clone(),
            },
            events: events_rx,
        };
        let reason = together::run(driver, handler(session), &cancel).await;
        debug!(call = %uuid, reason = %reason, "outbound session closed");
    }
}

/// A connection that became a session: what [`serve`] needs to run it.
struct Accepted {
    stream: EslStream,
    channel: Event,
    uuid: String,
    options: DriverOptions,
    event_buffer: usize,
}

/// The handshake of one accepted connection; `None` when it did not become a session.
async fn accept(
    tcp: TcpStream,
    peer: SocketAddr,
    config: Arc<OutboundConfig>,
    cancel: CancellationToken,
) -> Option<Accepted> {
    let peer_label = peer.to_string();
    let mut stream =
        FramedRead::with_capacity(tcp, EslCodec::new(config.max_frame_bytes), HANDSHAKE_BUFFER);
    let handshake = session::handshake(
        &mut stream,
        &config.events,
        config.command_timeout,
        &peer_label,
    );
    let (channel, uuid) = tokio::select! {
        _ = cancel.cancelled() => return None,
        result = handshake => match result {
            Ok(pair) => pair,
            Err(Refusal::NotFull) => return None,
            Err(Refusal::Failed(e)) => {
                warn!(peer = %peer_label, error = %e, "outbound handshake failed");
                return None;
            }
        },
    };
    // The `connect` reply grew the buffer to the channel data's size: give it back now (the
    // driver takes one again when the socket is readable).
    if stream.read_buffer().is_empty() {
        *stream.read_buffer_mut() = bytes::BytesMut::new();
    }
    let options = DriverOptions {
        timeouts: Timeouts {
            command: config.command_timeout,
            job: config.job_timeout,
        },
        forward_unmatched_jobs: config.events.contains("BACKGROUND_JOB"),
        label: uuid.clone(),
        idle_read_buffer: Some(READ_BUFFER),
    };
    Some(Accepted {
        stream,
        channel,
        uuid,
        options,
        event_buffer: config.event_buffer.max(1),
    })
}
