//! The one ESL connection engine, shared by the inbound client and the outbound sessions.
//!
//! One task owns the socket. It writes requests in the order they arrive, and matches `command/reply` and
//! `api/response` frames to them in FIFO order (FreeSWITCH answers one command at a time, in order).
//! Event frames are decoded and routed: a `BACKGROUND_JOB` whose `Job-UUID` we are waiting for goes to
//! that `bgapi` caller, a `CHANNEL_EXECUTE_COMPLETE` whose `Application-UUID` we are waiting for goes to
//! that `execute` caller, everything else to the owner's bounded event channel.
//!
//! **Backpressure.** When the event channel is full the engine stops reading the socket (it keeps
//! writing requests). Nothing is queued without bound and nothing is dropped. FreeSWITCH then queues
//! events for this listener itself: up to 100000, and after 500 consecutive failed enqueues it kills the
//! listener ("killed listener because of lost events", mod_event_socket). A consumer that stays stuck
//! therefore ends in a lost connection (which the inbound client reconnects), never in silent loss inside
//! the daemon. Replies travel in the same stream, so while the consumer is stuck, replies wait too; the
//! command timeout bounds that wait.
//!
//! **Timeouts.** A caller that times out leaves its slot in the FIFO; the late reply is read and discarded,
//! so later replies still match. When the connection ends, every pending and queued request fails with
//! [`ClientError::ConnectionLost`], and every `bgapi`/`execute` waiter with the same reason.

use super::client_error::{ClientError, LossReason};
use super::codec::EslCodec;
use super::command::{CallCommand, Command, Execute};
use super::frame::{ContentType, Event, Frame};
use super::reply::{ApiReply, DisconnectNotice, Reply};
use futures_util::StreamExt;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};
use uuid::Uuid;

/// A socket framed with the ESL codec.
pub type EslStream = Framed<TcpStream, EslCodec>;

/// How the engine hands things to its owner. `None` = the owner does not want that kind.
pub trait Delivery: Send + Sized + 'static {
    fn event(event: Event) -> Self;
    fn notice(notice: DisconnectNotice) -> Option<Self>;
    fn closed(reason: LossReason) -> Option<Self>;
}

/// Per-request time limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// For a `command/reply` or `api/response` to arrive.
    pub command: Duration,
    /// For a `bgapi` job's `BACKGROUND_JOB` to arrive after its reply.
    pub job: Duration,
}

/// Engine options.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    pub timeouts: Timeouts,
    /// Deliver `BACKGROUND_JOB` events nobody here waits for (jobs of other clients) to the owner.
    pub forward_unmatched_jobs: bool,
    /// A name for logs: the peer address or the channel uuid.
    pub label: String,
}

type WaiterTx = oneshot::Sender<Result<Event, LossReason>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum WatchKind {
    Job,
    App,
}

struct Request {
    command: &'static str,
    wire: bytes::Bytes,
    reply: oneshot::Sender<Result<Frame, ClientError>>,
    watch: Option<(WatchKind, String, WaiterTx)>,
}

struct Pending {
    command: &'static str,
    reply: oneshot::Sender<Result<Frame, ClientError>>,
    watch: Option<(WatchKind, String)>,
}

/// A cheap, cloneable handle for issuing requests on one connection.
#[derive(Clone, Debug)]
pub struct ConnectionHandle {
    tx: mpsc::Sender<Request>,
    timeouts: Timeouts,
}

/// A running `sendmsg execute`; [`Execution::wait`] resolves on its `CHANNEL_EXECUTE_COMPLETE`.
#[derive(Debug)]
pub struct Execution {
    /// The `Event-UUID` we sent = the `Application-UUID` of the completion event.
    pub app_uuid: Uuid,
    rx: oneshot::Receiver<Result<Event, LossReason>>,
}

/// A finished application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppCompletion {
    /// `Application-Response` (`_none_`, `FILE PLAYED`, ...).
    pub response: String,
    pub event: Event,
}

impl Execution {
    /// Waits for the application to finish (no time limit: apps such as `conference` run for the whole
    /// call; wrap in `tokio::time::timeout` if needed). Fails if the connection ends first.
    pub async fn wait(self) -> Result<AppCompletion, ClientError> {
        match self.rx.await {
            Ok(Ok(event)) => Ok(AppCompletion {
                response: event.get("Application-Response").unwrap_or("").to_owned(),
                event,
            }),
            Ok(Err(reason)) => Err(ClientError::ConnectionLost {
                command: "sendmsg",
                reason,
            }),
            Err(_) => Err(ClientError::ConnectionLost {
                command: "sendmsg",
                reason: LossReason::Local,
            }),
        }
    }
}

impl ConnectionHandle {
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Whether the engine behind this handle has stopped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Sends any command and waits for its `command/reply` (or `api/response` for `api`).
    /// A `-ERR` reply becomes [`ClientError::Rejected`].
    pub async fn command(&self, command: &Command) -> Result<Reply, ClientError> {
        let frame = self.request(command, None).await?;
        check_reply(command.name(), frame)
    }

    /// `api <cmd>`: the response body as text (FreeSWITCH's error texts are not judged here).
    pub async fn api(&self, command: &str) -> Result<ApiReply, ClientError> {
        let frame = self.request(&Command::api(command), None).await?;
        match frame.content_type {
            ContentType::ApiResponse => Ok(ApiReply::from_frame(&frame)),
            other => Err(ClientError::Unexpected {
                command: "api",
                what: format!("a {other} frame"),
            }),
        }
    }

    /// `bgapi <cmd>` with our own `Job-UUID`; resolves with the `BACKGROUND_JOB` body (the job's output).
    /// The connection must be subscribed to BACKGROUND_JOB (the inbound client and outbound sessions are).
    pub async fn bgapi(&self, command: &str) -> Result<String, ClientError> {
        let job = Uuid::new_v4();
        let key = job.to_string();
        let (tx, rx) = oneshot::channel();
        let frame = self
            .request(
                &Command::bgapi(command, Some(job)),
                Some((WatchKind::Job, key.clone(), tx)),
            )
            .await?;
        check_reply("bgapi", frame)?;
        match tokio::time::timeout(self.timeouts.job, rx).await {
            Ok(Ok(Ok(event))) => Ok(event
                .body_text()
                .map(|b| b.into_owned())
                .unwrap_or_default()),
            Ok(Ok(Err(reason))) => Err(ClientError::ConnectionLost {
                command: "bgapi",
                reason,
            }),
            Ok(Err(_)) => Err(ClientError::ConnectionLost {
                command: "bgapi",
                reason: LossReason::Local,
            }),
            Err(_) => Err(ClientError::JobTimeout {
                job_uuid: key,
                after: self.timeouts.job,
            }),
        }
    }

    /// `sendmsg [uuid]` with `call-command: execute`. Returns once FreeSWITCH accepted it (`+OK`); the
    /// returned [`Execution`] resolves when the application completes. An `event_uuid` is generated if
    /// `execute` has none.
    pub async fn execute(
        &self,
        uuid: Option<String>,
        mut execute: Execute,
    ) -> Result<Execution, ClientError> {
        let app_uuid = *execute.event_uuid.get_or_insert_with(Uuid::new_v4);
        let (tx, rx) = oneshot::channel();
        let command = Command::SendMsg {
            uuid,
            command: CallCommand::Execute(execute),
        };
        let frame = self
            .request(&command, Some((WatchKind::App, app_uuid.to_string(), tx)))
            .await?;
        check_reply("sendmsg", frame)?;
        Ok(Execution { app_uuid, rx })
    }

    async fn request(
        &self,
        command: &Command,
        watch: Option<(WatchKind, String, WaiterTx)>,
    ) -> Result<Frame, ClientError> {
        let name = command.name();
        let wire = command.to_bytes()?;
        let (tx, rx) = oneshot::channel();
        let request = Request {
            command: name,
            wire,
            reply: tx,
            watch,
        };
        let exchange = async {
            self.tx
                .send(request)
                .await
                .map_err(|_| ClientError::NotConnected)?;
            match rx.await {
                Ok(result) => result,
                Err(_) => Err(ClientError::ConnectionLost {
                    command: name,
                    reason: LossReason::Local,
                }),
            }
        };
        match tokio::time::timeout(self.timeouts.command, exchange).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                command: name,
                after: self.timeouts.command,
            }),
        }
    }
}

/// `command/reply` with `+OK` → `Reply`; `-ERR` → `Rejected`; an `api/response` is accepted as is.
fn check_reply(command: &'static str, frame: Frame) -> Result<Reply, ClientError> {
    match &frame.content_type {
        ContentType::CommandReply => {
            let reply = Reply { frame };
            if reply.text().starts_with("-ERR") {
                Err(ClientError::Rejected {
                    command,
                    reply: reply.text().to_owned(),
                })
            } else {
                Ok(reply)
            }
        }
        ContentType::ApiResponse => Ok(Reply { frame }),
        other => Err(ClientError::Unexpected {
            command,
            what: format!("a {other} frame"),
        }),
    }
}

/// Starts the engine on a socket whose handshake is done. Events go to `events`; the task ends when the
/// peer closes, on a socket/protocol error, on `shutdown`, or when every handle is dropped, and returns
/// why.
pub fn spawn<T: Delivery>(
    stream: EslStream,
    events: mpsc::Sender<T>,
    options: EngineOptions,
    shutdown: CancellationToken,
) -> (ConnectionHandle, JoinHandle<LossReason>) {
    let (tx, rx) = mpsc::channel(64);
    let handle = ConnectionHandle {
        tx,
        timeouts: options.timeouts,
    };
    let engine = Engine {
        stream,
        rx,
        events,
        options,
        pending: VecDeque::new(),
        waiters: HashMap::new(),
        stalled: None,
        consumer_gone: false,
        last_notice: None,
    };
    (handle, tokio::spawn(engine.run(shutdown)))
}

/// What one turn of the engine loop got.
enum Step<T> {
    Stop(LossReason),
    Request(Option<Request>),
    Permit(Option<mpsc::OwnedPermit<T>>),
    Frame(Option<Result<Frame, super::error::WireError>>),
}

struct Engine<T> {
    stream: EslStream,
    rx: mpsc::Receiver<Request>,
    events: mpsc::Sender<T>,
    options: EngineOptions,
    pending: VecDeque<Pending>,
    waiters: HashMap<(WatchKind, String), WaiterTx>,
    /// An item the owner's full channel could not take yet: while set, the socket is not read.
    stalled: Option<T>,
    consumer_gone: bool,
    last_notice: Option<String>,
}

impl<T: Delivery> Engine<T> {
    async fn run(mut self, shutdown: CancellationToken) -> LossReason {
        let reason = loop {
            let step = tokio::select! {
                biased;
                _ = shutdown.cancelled() => Step::Stop(LossReason::Local),
                request = self.rx.recv() => Step::Request(request),
                permit = self.events.clone().reserve_owned(), if self.stalled.is_some() => {
                    Step::Permit(permit.ok())
                }
                frame = self.stream.next(), if self.stalled.is_none() => Step::Frame(frame),
            };
            match step {
                Step::Stop(reason) => break reason,
                Step::Request(Some(request)) => {
                    if let Err(e) = self.write(request).await {
                        break LossReason::Io {
                            message: e.to_string(),
                        };
                    }
                }
                Step::Request(None) => break LossReason::Local,
                Step::Permit(Some(permit)) => {
                    if let Some(item) = self.stalled.take() {
                        permit.send(item);
                    }
                }
                Step::Permit(None) => {
                    self.consumer_gone = true;
                    self.stalled = None;
                }
                Step::Frame(Some(Ok(frame))) => self.on_frame(frame),
                Step::Frame(Some(Err(e))) => break LossReason::from(&e),
                Step::Frame(None) => {
                    break LossReason::PeerClosed {
                        notice: self.last_notice.clone(),
                    };
                }
            }
        };
        debug!(conn = %self.options.label, reason = %reason, "ESL connection ended");
        self.fail_all(&reason);
        if let Some(item) = self.stalled.take() {
            let _ = self.events.send(item).await;
        }
        if let Some(item) = T::closed(reason.clone()) {
            let _ = self.events.send(item).await;
        }
        reason
    }

    async fn write(&mut self, request: Request) -> std::io::Result<()> {
        let watch = request.watch.map(|(kind, key, tx)| {
            self.waiters.retain(|_, w| !w.is_closed());
            self.waiters.insert((kind, key.clone()), tx);
            (kind, key)
        });
        self.pending.push_back(Pending {
            command: request.command,
            reply: request.reply,
            watch,
        });
        let sock = self.stream.get_mut();
        sock.write_all(&request.wire).await?;
        sock.flush().await
    }

    fn on_frame(&mut self, frame: Frame) {
        match &frame.content_type {
            ContentType::CommandReply | ContentType::ApiResponse => self.on_reply(frame),
            ContentType::EventPlain | ContentType::EventJson | ContentType::EventXml => {
                match frame.event() {
                    Ok(Some(event)) => self.on_event(event),
                    Ok(None) => {}
                    Err(e) => {
                        warn!(conn = %self.options.label, error = %e, "undecodable event skipped")
                    }
                }
            }
            ContentType::DisconnectNotice => {
                let notice = DisconnectNotice::from_frame(&frame);
                debug!(conn = %self.options.label, disposition = notice.disposition.as_str(), "disconnect-notice");
                self.last_notice = Some(notice.disposition.as_str().to_owned());
                if let Some(item) = T::notice(notice) {
                    self.deliver(item);
                }
            }
            ContentType::RudeRejection => {
                warn!(conn = %self.options.label, "FreeSWITCH sent rude-rejection");
                self.last_notice = Some("rude-rejection".to_owned());
            }
            ContentType::AuthRequest | ContentType::LogData | ContentType::Other(_) => {
                debug!(conn = %self.options.label, content_type = %frame.content_type, "frame ignored");
            }
        }
    }

    fn on_reply(&mut self, frame: Frame) {
        let Some(pending) = self.pending.pop_front() else {
            warn!(conn = %self.options.label, "reply with no pending command ignored");
            return;
        };
        let accepted = match frame.content_type {
            ContentType::CommandReply => frame.reply_text().is_some_and(|t| t.starts_with("+OK")),
            _ => true,
        };
        if let Some(key) = pending.watch
            && !accepted
        {
            self.waiters.remove(&key);
        }
        // The caller may have timed out; its late reply is dropped here and the FIFO stays aligned.
        let _ = pending.reply.send(Ok(frame));
    }

    fn on_event(&mut self, event: Event) {
        let watched = match event.name() {
            Some("BACKGROUND_JOB") => event.get("Job-UUID").map(|j| (WatchKind::Job, j)),
            Some("CHANNEL_EXECUTE_COMPLETE") => {
                event.get("Application-UUID").map(|a| (WatchKind::App, a))
            }
            _ => None,
        };
        if let Some((kind, key)) = watched {
            if let Some(waiter) = self.waiters.remove(&(kind, key.to_owned())) {
                let _ = waiter.send(Ok(event));
                return;
            }
            if kind == WatchKind::Job && !self.options.forward_unmatched_jobs {
                return;
            }
        }
        self.deliver(T::event(event));
    }

    fn deliver(&mut self, item: T) {
        if self.consumer_gone {
            return;
        }
        match self.events.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(item)) => {
                debug!(conn = %self.options.label, "event consumer is slow: pausing socket reads");
                self.stalled = Some(item);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.consumer_gone = true,
        }
    }

    fn fail_all(&mut self, reason: &LossReason) {
        for pending in self.pending.drain(..) {
            let _ = pending.reply.send(Err(ClientError::ConnectionLost {
                command: pending.command,
                reason: reason.clone(),
            }));
        }
        self.rx.close();
        while let Ok(request) = self.rx.try_recv() {
            let _ = request.reply.send(Err(ClientError::ConnectionLost {
                command: request.command,
                reason: reason.clone(),
            }));
            if let Some((_, _, waiter)) = request.watch {
                let _ = waiter.send(Err(reason.clone()));
            }
        }
        for (_, waiter) in self.waiters.drain() {
            let _ = waiter.send(Err(reason.clone()));
        }
    }
}

/// Reads the next frame during a handshake (before the engine runs).
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
