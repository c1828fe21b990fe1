//! The inbound client: the daemon's own connection to FreeSWITCH's event socket (default
//! `127.0.0.1:8021`), with password auth, subscriptions, and automatic reconnect.
//!
//! [`InboundClient::connect`] does the first connect + auth before it returns, so a wrong password is
//! [`ClientError::AuthFailed`] at start-up (the daemon exits 78) instead of a retry loop. After that a
//! supervisor task reconnects with capped exponential backoff whenever the connection drops,
//! re-authenticates and re-subscribes (filters first, then `event ...` last so no event arrives before
//! the subscription is complete), and tells the user through the event stream:
//! `Disconnected { reason }` when it is lost, `Connected { core_uuid }` when it is back. A changed
//! `core_uuid` means FreeSWITCH restarted (every call it knew is gone).
//!
//! Filters can also change while the client runs ([`InboundClient::add_filter`],
//! [`InboundClient::delete_filter`]): FreeSWITCH forgets a connection's filters with it, so the
//! current set is applied on every reconnect with the fixed ones, before `event ...`.
//!
//! The client subscribes to `BACKGROUND_JOB` (and, when filters are set, adds a filter that lets it
//! through) because `bgapi` results arrive only as that event; unless told it runs no jobs
//! ([`InboundConfig::jobs`]), when a `bgapi` on it gets no result. Job events nobody here waits for are passed
//! on only if the user's own subscription asked for BACKGROUND_JOB (or ALL).
//!
//! Events reach the user through a bounded channel; see [`super::connection`] for the backpressure rule.

use super::client_error::{ClientError, LossReason};
use super::codec::EslCodec;
use super::command::{Command, EventFormat, EventSet, Execute};
use super::connection::{
    self, ConnectionHandle, Delivery, DriverOptions, EslStream, Execution, Timeouts, next_frame,
    roundtrip, roundtrip_ok,
};
use super::filter_set::{self, Filter, FilterSet};
use super::frame::{ContentType, Event};
use super::reply::{ApiReply, DisconnectNotice, Reply};
use crate::secret::Secret;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::FramedRead;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{info, warn};

/// What the client subscribes to on every (re)connect.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    pub format: EventFormat,
    pub events: EventSet,
    /// `filter <header> <value>` pairs. Note: once any filter exists FreeSWITCH passes only events
    /// matching a positive filter.
    pub filters: Vec<(String, String)>,
}

/// Inbound client settings.
#[derive(Clone, Debug)]
pub struct InboundConfig {
    /// `host:port` of FreeSWITCH's event socket.
    pub addr: String,
    pub password: Secret,
    /// Limit for connect, each handshake step, and each command's reply.
    pub command_timeout: Duration,
    /// Limit for a `bgapi` job's result after its reply.
    pub job_timeout: Duration,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    pub max_frame_bytes: usize,
    /// Capacity of the event channel handed to the user.
    pub event_buffer: usize,
    pub subscription: Subscription,
    /// Whether this connection runs `bgapi` jobs: it then subscribes to BACKGROUND_JOB (and lets it
    /// through its filters). Off for a connection that only consumes events while another one
    /// runs the commands: every job result of the switch would otherwise travel over it too.
    pub jobs: bool,
}

impl Default for InboundConfig {
    fn default() -> InboundConfig {
        InboundConfig {
            addr: "127.0.0.1:8021".to_owned(),
            password: Secret::new("ClueCon"),
            command_timeout: Duration::from_secs(5),
            job_timeout: Duration::from_secs(120),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            max_frame_bytes: super::codec::DEFAULT_MAX_FRAME_BYTES,
            event_buffer: 1024,
            subscription: Subscription::default(),
            jobs: true,
        }
    }
}

/// What the user receives from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent {
    /// Connected, authenticated and subscribed (first time and after every reconnect).
    Connected { core_uuid: Option<String> },
    /// The connection was lost; the client is reconnecting (unless shut down).
    Disconnected { reason: LossReason },
    /// An event, and when the client handed it on: decoded, before any wait for room in the
    /// consumer's channel (the start of a reaction time: what the event waited there counts).
    Event(Event, Instant),
}

impl Delivery for ClientEvent {
    fn event(event: Event) -> ClientEvent {
        ClientEvent::Event(event, Instant::now())
    }

    fn notice(_notice: DisconnectNotice) -> Option<ClientEvent> {
        None
    }

    fn closed(reason: LossReason) -> Option<ClientEvent> {
        Some(ClientEvent::Disconnected { reason })
    }
}

/// A cheap, cloneable handle to the inbound connection. Dropping the last clone shuts the client down.
#[derive(Clone, Debug)]
pub struct InboundClient {
    current: watch::Receiver<Option<ConnectionHandle>>,
    filters: Arc<FilterSet>,
    shutdown: CancellationToken,
    _guard: Arc<DropGuard>,
}

impl InboundClient {
    /// Connects, authenticates and subscribes, then keeps the connection up in the background.
    /// Errors of this first attempt are returned as they are (`AuthFailed`, `Connect`, ...).
    pub async fn connect(
        config: InboundConfig,
    ) -> Result<(InboundClient, mpsc::Receiver<ClientEvent>), ClientError> {
        let (stream, core_uuid) = establish(&config, &[]).await?;
        let filters = Arc::new(FilterSet::default());
        let (events_tx, events_rx) = mpsc::channel(config.event_buffer.max(1));
        let shutdown = CancellationToken::new();
        let _ = events_tx.try_send(ClientEvent::Connected { core_uuid });
        let (handle, join) = start_driver(&config, stream, events_tx.clone(), &shutdown);
        let (current_tx, current_rx) = watch::channel(Some(handle));
        tokio::spawn(supervise(
            config,
            join,
            events_tx,
            current_tx,
            filters.clone(),
            shutdown.clone(),
        ));
        let client = InboundClient {
            current: current_rx,
            filters,
            _guard: Arc::new(shutdown.clone().drop_guard()),
            shutdown,
        };
        Ok((client, events_rx))
    }

    /// Whether a connection is up right now.
    pub fn is_connected(&self) -> bool {
        self.current
            .borrow()
            .as_ref()
            .is_some_and(|h| !h.is_closed())
    }

    /// Any command; `-ERR` replies become [`ClientError::Rejected`].
    pub async fn command(&self, command: &Command) -> Result<Reply, ClientError> {
        self.handle()?.command(command).await
    }

    /// `api <cmd>`, returning the response body.
    pub async fn api(&self, command: &str) -> Result<ApiReply, ClientError> {
        self.handle()?.api(command).await
    }

    /// `bgapi <cmd>` correlated by our own Job-UUID; returns the job's output.
    pub async fn bgapi(&self, command: &str) -> Result<String, ClientError> {
        self.handle()?.bgapi(command).await
    }

    /// `bgapi <cmd>` whose result must arrive within the command timeout: an `api` that does not
    /// wait behind the connection's other `api`s (see [`ConnectionHandle::bgapi_within`]).
    pub async fn api_in_parallel(&self, command: &str) -> Result<String, ClientError> {
        let handle = self.handle()?;
        let limit = handle.timeouts().command;
        handle.bgapi_within(command, limit).await
    }

    /// `sendmsg <uuid>` execute on any channel; the [`Execution`] resolves on the matching
    /// `CHANNEL_EXECUTE_COMPLETE`, so the subscription must include that event (and its filters, if
    /// any, must let it through).
    pub async fn execute(&self, uuid: &str, execute: Execute) -> Result<Execution, ClientError> {
        self.handle()?.execute(Some(uuid.to_owned()), execute).await
    }

    /// `filter <header> <value>` now and on every reconnect until [`InboundClient::delete_filter`].
    /// Kept even when sending it fails (no connection now: the reconnect applies it). Meant for a
    /// subscription with fixed filters: they bring the `BACKGROUND_JOB` filter `bgapi` needs.
    pub async fn add_filter(&self, header: &str, value: &str) -> Result<(), ClientError> {
        if !self.filters.add(header, value) {
            return Ok(());
        }
        self.send_if_connected(&Command::filter(header, value))
            .await
    }

    /// `filter delete <header> <value>` now, and no longer applied on reconnect.
    pub async fn delete_filter(&self, header: &str, value: &str) -> Result<(), ClientError> {
        if !self.filters.remove(header, value) {
            return Ok(());
        }
        self.send_if_connected(&filter_delete(header, value)).await
    }

    /// Sends `command` if a connection is up; without one there is nothing to change.
    async fn send_if_connected(&self, command: &Command) -> Result<(), ClientError> {
        match self.handle() {
            Ok(handle) => handle.command(command).await.map(drop),
            Err(ClientError::NotConnected) => Ok(()),
            Err(other) => Err(other),
        }
    }

    /// Stops reconnecting and closes the connection; the event stream then ends.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    fn handle(&self) -> Result<ConnectionHandle, ClientError> {
        match self.current.borrow().as_ref() {
            Some(handle) if !handle.is_closed() => Ok(handle.clone()),
            Some(_) | None => Err(ClientError::NotConnected),
        }
    }
}

fn start_driver(
    config: &InboundConfig,
    stream: EslStream,
    events: mpsc::Sender<ClientEvent>,
    shutdown: &CancellationToken,
) -> (ConnectionHandle, JoinHandle<LossReason>) {
    let events_set = &config.subscription.events;
    let options = DriverOptions {
        timeouts: Timeouts {
            command: config.command_timeout,
            job: config.job_timeout,
        },
        forward_unmatched_jobs: events_set.contains("BACKGROUND_JOB") || events_set.contains("ALL"),
        label: config.addr.clone(),
        idle_read_buffer: None,
    };
    connection::spawn(stream, events, options, shutdown.child_token())
}

async fn supervise(
    config: InboundConfig,
    mut join: JoinHandle<LossReason>,
    events: mpsc::Sender<ClientEvent>,
    current: watch::Sender<Option<ConnectionHandle>>,
    filters: Arc<FilterSet>,
    shutdown: CancellationToken,
) {
    loop {
        let reason = join.await.unwrap_or(LossReason::Local);
        current.send_replace(None);
        if shutdown.is_cancelled() {
            info!(addr = %config.addr, "ESL client shut down");
            return;
        }
        warn!(addr = %config.addr, reason = %reason, "ESL connection lost; reconnecting");
        let mut delay = config.reconnect_initial;
        join = loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            let applied = filters.snapshot();
            match establish(&config, &applied).await {
                Ok((stream, core_uuid)) => {
                    info!(addr = %config.addr, core_uuid = ?core_uuid, "ESL connection back");
                    // The new connection is usable before anyone hears it is back: a consumer
                    // answering `Connected` with commands (a resync) must not find it missing
                    // (seen on the live lane: every read-back failed "not connected" and a capture
                    // was taken as finished).
                    let (handle, join) = start_driver(&config, stream, events.clone(), &shutdown);
                    current.send_replace(Some(handle.clone()));
                    catch_up(&handle, &applied, &filters.snapshot()).await;
                    if events
                        .send(ClientEvent::Connected { core_uuid })
                        .await
                        .is_err()
                    {
                        warn!(addr = %config.addr, "ESL event consumer is gone");
                    }
                    break join;
                }
                Err(e) => {
                    warn!(addr = %config.addr, error = %e, retry_in = ?delay, "ESL reconnect failed");
                    delay = next_delay(delay, config.reconnect_max);
                }
            }
        };
    }
}

/// Filters changed while the connection was being established (their own sends found no
/// connection): applied now that it is up.
async fn catch_up(handle: &ConnectionHandle, applied: &[Filter], now: &[Filter]) {
    let (add, delete) = filter_set::diff(applied, now);
    let commands = add
        .iter()
        .map(|(h, v)| Command::filter(h, v))
        .chain(delete.iter().map(|(h, v)| filter_delete(h, v)));
    for command in commands {
        if let Err(e) = handle.command(&command).await {
            warn!(error = %e, "could not bring the event filters up to date");
        }
    }
}

fn filter_delete(header: &str, value: &str) -> Command {
    Command::FilterDelete {
        header: header.to_owned(),
        value: Some(value.to_owned()),
    }
}

/// Capped exponential backoff: double, never above `max`.
fn next_delay(delay: Duration, max: Duration) -> Duration {
    delay.saturating_mul(2).min(max)
}

/// Bytes one socket read may bring (the read buffer's size, and the size of every buffer it is
/// replaced with once the frames cut from it are handed on). The daemon's one inbound connection
/// carries every event of the switch: tokio-util's default of 8 KiB is ~3 events of ~2.3 KB per
/// read, so a system call, an allocation and a partial frame copied per 3 events; 64 KiB is ~28.
/// An event keeps the buffer it was cut from alive until it is dropped; the events queued for a
/// stalled consumer (1024 ≈ 2.3 MB) lie back to back in ~37 such buffers, so memory stays bounded
/// by the event channel plus one buffer, as before.
const READ_BUFFER: usize = 64 * 1024;

/// One connect: TCP, `auth/request`, `auth`, filters (the fixed ones, then `dynamic`), core uuid,
/// `event ...` (last).
async fn establish(
    config: &InboundConfig,
    dynamic: &[Filter],
) -> Result<(EslStream, Option<String>), ClientError> {
    let timeout = config.command_timeout;
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&config.addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => {
            return Err(ClientError::Connect {
                addr: config.addr.clone(),
                message: e.to_string(),
            });
        }
        Err(_) => {
            return Err(ClientError::Connect {
                addr: config.addr.clone(),
                message: format!("no TCP connection within {timeout:?}"),
            });
        }
    };
    let codec = EslCodec::new(config.max_frame_bytes);
    let mut stream = FramedRead::with_capacity(tcp, codec, READ_BUFFER);
    let greeting = next_frame(&mut stream, "auth", timeout).await?;
    match greeting.content_type {
        ContentType::AuthRequest => {}
        ContentType::RudeRejection => return Err(ClientError::AccessDenied),
        other => {
            return Err(ClientError::Unexpected {
                command: "auth",
                what: format!("a {other} frame instead of auth/request"),
            });
        }
    }
    let reply = roundtrip(
        &mut stream,
        &Command::auth(config.password.clone()),
        timeout,
    )
    .await?;
    match reply.reply_text() {
        Some(text) if text.starts_with("+OK") => {}
        Some(text) if text.starts_with("-ERR") => return Err(ClientError::AuthFailed),
        _ => {
            return Err(ClientError::Unexpected {
                command: "auth",
                what: "a reply without +OK/-ERR".to_owned(),
            });
        }
    }
    let sub = &config.subscription;
    for (header, value) in sub.filters.iter().chain(dynamic) {
        roundtrip_ok(&mut stream, &Command::filter(header, value), timeout).await?;
    }
    let has_jobs = sub.events.contains("BACKGROUND_JOB") || sub.events.contains("ALL");
    let job_filter = sub.filters.iter().any(|(h, v)| {
        h.eq_ignore_ascii_case("Event-Name") && v.eq_ignore_ascii_case("BACKGROUND_JOB")
    });
    let filtered = !(sub.filters.is_empty() && dynamic.is_empty());
    if config.jobs && filtered && !job_filter {
        let cmd = Command::filter("Event-Name", "BACKGROUND_JOB");
        roundtrip_ok(&mut stream, &cmd, timeout).await?;
    }
    let core = roundtrip(
        &mut stream,
        &Command::api("global_getvar core_uuid"),
        timeout,
    )
    .await?;
    let core_uuid = core
        .body_text()
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty() && !b.starts_with('-'));
    let events = if has_jobs || !config.jobs {
        sub.events.clone()
    } else {
        sub.events.clone().event("BACKGROUND_JOB")
    };
    roundtrip_ok(&mut stream, &Command::event(sub.format, events), timeout).await?;
    info!(addr = %config.addr, "ESL connected, authenticated and subscribed");
    Ok((stream, core_uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(30);
        let mut d = Duration::from_millis(500);
        let mut seen = Vec::new();
        for _ in 0..8 {
            seen.push(d.as_millis());
            d = next_delay(d, max);
        }
        assert_eq!(seen, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(next_delay(Duration::MAX, max), max);
    }

    #[test]
    fn config_debug_masks_the_password() {
        let cfg = InboundConfig {
            password: Secret::new("s3cr3t-pw"),
            ..InboundConfig::default()
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains("s3cr3t-pw"), "{text}");
        assert!(text.contains("password: ***"), "{text}");
    }
}
