//! One outbound call: the `connect` handshake, and [`OutboundSession`] / [`SessionHandle`] for the
//! handler that controls the channel.
//!
//! **Subscription choice.** In `full` mode the socket is an ordinary event listener: `event plain X`
//! would deliver X for *every* channel of the switch. `myevents` would narrow it to this channel, but it
//! also turns off everything that is not about this channel's `Unique-ID` (and has the ignored-format
//! and silent-ALL quirks; see the facts doc). So a session sends, before subscribing:
//! - `filter Unique-ID <uuid>`: this channel's events, including its `CHANNEL_EXECUTE_COMPLETE`s and the
//!   conference `maintenance` events about this member;
//! - `filter Job-Owner-UUID <uuid>`: the `BACKGROUND_JOB`s of `bgapi`s sent on this socket (FreeSWITCH
//!   sets the owner to the socket's channel; a `Unique-ID` filter alone would hide them).
//!
//! Positive filters are OR-ed, so [`SessionHandle::follow`] can add other legs (agent, capture) later.
//! Then `linger` (so the final events after hangup are not lost) and `event plain ...` last.
//!
//! **Not `full`.** Without `full`, `api`/`event`/`linger` are refused by FreeSWITCH. The session is not
//! taken: one log line says how to fix the dialplan, then `resume` (allowed without `full`; it sets
//! `socket_resume`) so that the dialplan continues with its next action when we close, instead of the
//! call being left parked with nobody controlling it.

use super::super::client_error::{ClientError, LossReason};
use super::super::command::{Command, EventFormat, EventSet, Execute};
use super::super::connection::{
    AppCompletion, ConnectionHandle, Delivery, EslStream, Execution, roundtrip, roundtrip_ok,
};
use super::super::frame::{ContentType, Event};
use super::super::reply::{ApiReply, DisconnectNotice, Reply};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// What a session's handler receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// Every variant is boxed: a session's channel allocates its first block of 32 slots up
    /// front, and a slot is as large as the largest variant (an idle call would carry ~4.7 KiB of
    /// empty slots with the event inline, 2 KiB with the notice inline, 0.5 KiB so).
    Event(Box<Event>),
    /// `text/disconnect-notice`: `linger` = the channel is gone and FreeSWITCH is flushing its last events
    /// (the socket stays open until we close it); `disconnect` = FreeSWITCH is closing the socket.
    Disconnect(Box<DisconnectNotice>),
    /// The socket is closed; nothing follows.
    Closed { reason: Box<LossReason> },
}

impl Delivery for SessionEvent {
    fn event(event: Event) -> SessionEvent {
        SessionEvent::Event(Box::new(event))
    }

    fn notice(notice: DisconnectNotice) -> Option<SessionEvent> {
        Some(SessionEvent::Disconnect(Box::new(notice)))
    }

    fn closed(reason: LossReason) -> Option<SessionEvent> {
        Some(SessionEvent::Closed {
            reason: Box::new(reason),
        })
    }
}

/// Requests on one outbound socket. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub(super) conn: ConnectionHandle,
    pub(super) uuid: String,
}

impl SessionHandle {
    /// The controlled channel's uuid.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Runs an application on this channel; the [`Execution`] resolves on its completion.
    pub async fn execute(&self, execute: Execute) -> Result<Execution, ClientError> {
        self.conn.execute(None, execute).await
    }

    /// Runs an application whose end is not waited for (e.g. `conference`, which runs for the
    /// call's whole length): nothing is kept for its completion, which comes as an ordinary
    /// [`SessionEvent::Event`]. Returns FreeSWITCH's `+OK`.
    pub async fn execute_detached(&self, execute: Execute) -> Result<Reply, ClientError> {
        self.conn.execute_detached(None, execute).await
    }

    /// Runs an application and waits for its `Application-Response`.
    pub async fn execute_and_wait(&self, execute: Execute) -> Result<AppCompletion, ClientError> {
        self.execute(execute).await?.wait().await
    }

    /// `sendmsg` hangup of this channel with a cause (`NORMAL_CLEARING`, ...).
    pub async fn hangup(&self, cause: &str) -> Result<Reply, ClientError> {
        self.conn
            .command(&Command::hangup(None, Some(cause.to_owned())))
            .await
    }

    pub async fn api(&self, command: &str) -> Result<ApiReply, ClientError> {
        self.conn.api(command).await
    }

    pub async fn bgapi(&self, command: &str) -> Result<String, ClientError> {
        self.conn.bgapi(command).await
    }

    pub async fn command(&self, command: &Command) -> Result<Reply, ClientError> {
        self.conn.command(command).await
    }

    /// Also receive the events of another channel (e.g. the agent or capture leg).
    pub async fn follow(&self, uuid: &str) -> Result<Reply, ClientError> {
        self.conn.command(&Command::filter("Unique-ID", uuid)).await
    }
}

/// One accepted, `full`-controlled call.
#[derive(Debug)]
pub struct OutboundSession {
    /// The channel data from the `connect` reply (percent-decoded).
    pub channel: Event,
    /// `Unique-ID` of the controlled channel.
    pub uuid: String,
    pub handle: SessionHandle,
    pub events: mpsc::Receiver<SessionEvent>,
}

/// Why a connection did not become a session.
#[derive(Debug)]
pub(super) enum Refusal {
    NotFull,
    Failed(ClientError),
}

impl From<ClientError> for Refusal {
    fn from(e: ClientError) -> Refusal {
        Refusal::Failed(e)
    }
}

/// The handshake: `connect`, the `Control: full` check, filters, `linger`, `event plain ...`.
/// Returns the channel data and the channel uuid.
pub(super) async fn handshake(
    stream: &mut EslStream,
    events: &EventSet,
    timeout: Duration,
    peer: &str,
) -> Result<(Event, String), Refusal> {
    let reply = roundtrip(stream, &Command::Connect, timeout).await?;
    if reply.content_type != ContentType::CommandReply {
        return Err(Refusal::Failed(ClientError::Unexpected {
            command: "connect",
            what: format!("a {} frame", reply.content_type),
        }));
    }
    let channel = match reply.event() {
        Ok(Some(channel)) => channel,
        Ok(None) => {
            return Err(Refusal::Failed(ClientError::Unexpected {
                command: "connect",
                what: "a reply without channel data".to_owned(),
            }));
        }
        Err(e) => {
            return Err(Refusal::Failed(ClientError::Unexpected {
                command: "connect",
                what: e.to_string(),
            }));
        }
    };
    let uuid = channel.unique_id().unwrap_or("").to_owned();
    let control = reply.headers.get("Control").unwrap_or("");
    if !control.eq_ignore_ascii_case("full") {
        warn!(
            peer,
            call = %uuid,
            control,
            "outbound socket refused: not in full mode; fix the dialplan to \
             <action application=\"socket\" data=\"127.0.0.1:8084 async full\"/>; \
             sending resume so the dialplan continues"
        );
        if let Err(e) = roundtrip(stream, &Command::Resume, timeout).await {
            warn!(peer, call = %uuid, error = %e, "resume failed");
        }
        return Err(Refusal::NotFull);
    }
    if uuid.is_empty() {
        return Err(Refusal::Failed(ClientError::Unexpected {
            command: "connect",
            what: "channel data without Unique-ID".to_owned(),
        }));
    }
    roundtrip_ok(stream, &Command::filter("Unique-ID", &uuid), timeout).await?;
    roundtrip_ok(stream, &Command::filter("Job-Owner-UUID", &uuid), timeout).await?;
    roundtrip_ok(stream, &Command::Linger { seconds: None }, timeout).await?;
    let events = events
        .clone()
        .event("CHANNEL_EXECUTE_COMPLETE")
        .event("BACKGROUND_JOB");
    roundtrip_ok(stream, &Command::event(EventFormat::Plain, events), timeout).await?;
    info!(
        peer,
        call = %uuid,
        socket_mode = reply.headers.get("Socket-Mode").unwrap_or(""),
        "outbound session under control"
    );
    Ok((channel, uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_slot_stays_small() {
        // Every idle call's session channel holds its first block of slots: keep them small.
        let slot = std::mem::size_of::<SessionEvent>();
        assert!(slot <= 16, "SessionEvent is {slot} bytes");
        assert!(
            std::mem::size_of::<Event>() > slot
                && std::mem::size_of::<DisconnectNotice>() > slot
                && std::mem::size_of::<LossReason>() > slot,
            "what each variant carries is boxed"
        );
    }
}
