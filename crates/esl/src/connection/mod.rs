//! The one ESL connection driver, shared by the inbound client and the outbound sessions.
//!
//! One task owns the socket. It writes requests in the order they arrive, and matches `command/reply` and
//! `api/response` frames to them in FIFO order (FreeSWITCH answers one command at a time, in order).
//! Event frames are decoded and routed: a `BACKGROUND_JOB` whose `Job-UUID` we are waiting for goes to
//! that `bgapi` caller, a `CHANNEL_EXECUTE_COMPLETE` whose `Application-UUID` we are waiting for goes to
//! that `execute` caller, everything else to the owner's bounded event channel.
//!
//! **Backpressure.** When the event channel is full the driver stops reading the socket (it keeps
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

mod driver;
mod handshake;

pub use driver::{spawn, start};
pub use handshake::{next_frame, roundtrip, roundtrip_ok};

use super::client_error::{ClientError, LossReason};
use super::codec::EslCodec;
use super::command::{CallCommand, Command, Execute};
use super::frame::{ContentType, Event, Frame};
use super::reply::{ApiReply, DisconnectNotice, Reply};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::FramedRead;
use uuid::Uuid;

/// A socket framed with the ESL codec, for reading: requests are written to the socket itself
/// (`get_mut`), so no write buffer is kept (tokio-util's `Framed` keeps 8 KiB per connection).
pub type EslStream = FramedRead<TcpStream, EslCodec>;

/// How the driver hands things to its owner. `None` = the owner does not want that kind.
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

/// Driver options.
#[derive(Clone, Debug)]
pub struct DriverOptions {
    pub timeouts: Timeouts,
    /// Deliver `BACKGROUND_JOB` events nobody here waits for (jobs of other clients) to the owner.
    pub forward_unmatched_jobs: bool,
    /// A name for logs: the peer address or the channel uuid.
    pub label: String,
    /// For connections that sit idle most of their life (outbound sessions): once every frame
    /// read has been handed on, the read buffer is given back (and the spare room of the request
    /// bookkeeping with it), and a buffer of this size is taken only once the socket is readable
    /// again. `None`: the buffer keeps what it grew to (the inbound client's busy event stream).
    pub idle_read_buffer: Option<usize>,
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
    /// Boxed: tokio allocates a channel's first block of 32 slots up front, and an idle outbound
    /// session should not carry 32 requests' worth of room.
    tx: mpsc::Sender<Box<Request>>,
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

    /// Whether the driver behind this handle has stopped.
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
        self.bgapi_within(command, self.timeouts.job).await
    }

    /// `bgapi <cmd>` whose result must arrive within `limit` of the `+OK Job-UUID` reply. Used to
    /// run what would be an `api` where FreeSWITCH runs it in parallel: `api` commands of one
    /// connection run one after another in its listener thread, each `bgapi` job on a thread of
    /// its own (mod_event_socket `api_exec`), and the job's output is the text `api` would have
    /// answered.
    pub async fn bgapi_within(
        &self,
        command: &str,
        limit: Duration,
    ) -> Result<String, ClientError> {
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
        match tokio::time::timeout(limit, rx).await {
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
                after: limit,
            }),
        }
    }

    /// `sendmsg [uuid]` with `call-command: execute`. Returns once FreeSWITCH accepted it (`+OK`); the
    /// returned [`Execution`] resolves when the application completes. An `event_uuid` is generated if
    /// `execute` has none. Dropping the [`Execution`] abandons the wait: its completion is then
    /// either discarded or, once the driver has swept the abandoned waiter (an idle outbound
    /// connection does so whenever it gives its buffer back), delivered as an ordinary event;
    /// use [`ConnectionHandle::execute_detached`] when nobody waits for the end.
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

    /// `sendmsg [uuid]` `execute` of an application whose end nobody waits for (one that runs for
    /// the call's whole length, such as `conference`): returns once FreeSWITCH accepted it, and
    /// keeps no waiter for its `CHANNEL_EXECUTE_COMPLETE` (which comes as an ordinary event).
    pub async fn execute_detached(
        &self,
        uuid: Option<String>,
        execute: Execute,
    ) -> Result<Reply, ClientError> {
        let command = Command::SendMsg {
            uuid,
            command: CallCommand::Execute(execute),
        };
        let frame = self.request(&command, None).await?;
        check_reply("sendmsg", frame)
    }

    async fn request(
        &self,
        command: &Command,
        watch: Option<(WatchKind, String, WaiterTx)>,
    ) -> Result<Frame, ClientError> {
        let name = command.name();
        let wire = command.to_bytes()?;
        let (tx, rx) = oneshot::channel();
        let request = Box::new(Request {
            command: name,
            wire,
            reply: tx,
            watch,
        });
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
