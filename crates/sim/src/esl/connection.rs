//! One ESL connection's loop (inbound, or an outbound socket session): the `listener_run` /
//! `read_packet` loop of mod_event_socket, reading commands and handing them to [`super::commands`].
//!
//! - Commands are handled one at a time; an `api` blocks the connection (no events, no further
//!   commands) until the core answers, like FreeSWITCH's synchronous `api_exec`.
//! - Whether an event goes to this connection is decided when it is fired (queued events are
//!   evaluated against the subscription before each command runs), then events are written in order.
//! - A controlled session (outbound socket, or inbound `myevents <live uuid>`) ends the connection when
//!   its channel hangs up: without linger a disconnect notice follows the last events at once; with
//!   linger a linger notice is sent and the socket stays (forever, or `linger N` seconds).

use super::commands;
use super::frames;
use super::request::{self, Request};
use crate::core::EventRx;
use bytes::BytesMut;
use confpay_esl::Event;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::Instant;
use tracing::{debug, info};

pub use super::conn::Conn;
pub use super::conn_state::{ConnState, Flow, OutboundMode, Password};

/// How long FreeSWITCH waits for the first outbound packet, and for every packet before auth.
const FIRST_PACKET_TIMEOUT: Duration = Duration::from_secs(25);

/// Whether the connection loop goes on.
enum Loop {
    Go,
    Stop,
}

/// Where reading commands stands.
struct Input {
    /// The outbound rule that the reply to the first command is not sent.
    discard_first_reply: bool,
    /// A packet is awaited under the first-packet timeout.
    waiting_first: bool,
    first_deadline: Instant,
}

impl<W: AsyncWrite + Unpin + Send> Conn<W> {
    /// Runs the connection until it ends. `first_reply_discarded`: the outbound rule that the reply to
    /// the first command is not sent (only `connect`, which writes CHANNEL_DATA itself, is answered).
    pub async fn run(&mut self, mut reader: OwnedReadHalf, first_reply_discarded: bool) {
        let mut rx = self.core.subscribe();
        let core_uuid = self.core.core_uuid();
        let mut drop_sig = self.faults.drop_signal();
        drop_sig.mark_unchanged();
        let mut buf = BytesMut::with_capacity(4096);
        let mut input = Input {
            discard_first_reply: first_reply_discarded,
            waiting_first: first_reply_discarded || !self.st.authed,
            first_deadline: Instant::now() + FIRST_PACKET_TIMEOUT,
        };
        loop {
            let linger = self.linger_deadline;
            let step = tokio::select! {
                biased;
                _ = drop_sig.changed() => {
                    info!(session = ?self.st.session, "esl connection dropped by fault injection");
                    Loop::Stop
                }
                _ = tokio::time::sleep_until(linger.unwrap_or_else(Instant::now)), if linger.is_some() => {
                    self.goodbye().await;
                    Loop::Stop
                }
                _ = tokio::time::sleep_until(input.first_deadline), if input.waiting_first => {
                    debug!("esl: no command within 25 s, closing");
                    self.out.shutdown().await;
                    Loop::Stop
                }
                ev = rx.recv() => {
                    // Like read_packet: nothing is written while part of a command has been read.
                    let between_commands = buf.is_empty();
                    self.on_event(ev, &core_uuid, between_commands).await
                }
                n = reader.read_buf(&mut buf) => {
                    self.on_read(n, &mut reader, &mut buf, &mut rx, &mut input).await
                }
            };
            if let Loop::Stop = step {
                return;
            }
        }
    }

    /// An event was fired (or the queue ended: the switch restarted, or dropped this listener).
    async fn on_event(
        &mut self,
        ev: Option<Arc<Event>>,
        core_uuid: &str,
        between_commands: bool,
    ) -> Loop {
        match ev {
            Some(ev) => self.accept(ev),
            None if self.core.core_uuid() != core_uuid => {
                info!("esl connection dropped: the switch restarted");
                return Loop::Stop;
            }
            None => {
                // The core dropped this listener (500 lost events in a row), as mod_event_socket's
                // kill_listener does.
                info!(session = ?self.st.session, "esl listener killed: lost events");
                let notice = frames::disconnect_notice(
                    self.st.session.as_deref(),
                    "killed listener because of lost events\n",
                );
                // Best effort: the peer may be the reason the queue overflowed.
                let _ = self.out.frame(&notice).await;
                self.out.shutdown().await;
                return Loop::Stop;
            }
        }
        if between_commands {
            self.write_accepted().await
        } else {
            Loop::Go
        }
    }

    /// Bytes arrived: every complete command is handled, then (with no partial command left) the
    /// accepted events are written.
    async fn on_read(
        &mut self,
        n: std::io::Result<usize>,
        reader: &mut OwnedReadHalf,
        buf: &mut BytesMut,
        rx: &mut EventRx,
        input: &mut Input,
    ) -> Loop {
        if matches!(n, Ok(0) | Err(_)) {
            // listener_run ends with a disconnect notice even when the peer went away.
            self.goodbye().await;
            return Loop::Stop;
        }
        loop {
            let req = match request::parse(buf) {
                Ok(Some(r)) => r,
                Ok(None) => {
                    // read_packet reads on while the client has sent more: queued events are
                    // written only once no command bytes are waiting.
                    match reader.try_read_buf(buf) {
                        Ok(0) => {
                            self.goodbye().await;
                            return Loop::Stop;
                        }
                        Ok(_) => continue,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            self.goodbye().await;
                            return Loop::Stop;
                        }
                    }
                }
                Err(e) => {
                    info!(error = %e, "esl: dropping connection");
                    self.goodbye().await;
                    return Loop::Stop;
                }
            };
            if let Loop::Stop = self.on_request(req, rx, input).await {
                return Loop::Stop;
            }
        }
        if buf.is_empty() {
            self.write_accepted().await
        } else {
            Loop::Go
        }
    }

    /// One complete command.
    async fn on_request(&mut self, req: Request, rx: &mut EventRx, input: &mut Input) -> Loop {
        input.waiting_first = false;
        self.drain(rx);
        let discard = std::mem::take(&mut input.discard_first_reply);
        // Every event while a command runs (it may widen the subscription); then only the
        // controlled channel's if nothing else could be written.
        rx.narrow(None);
        let flow = self.handle(req, discard, rx).await;
        rx.narrow(self.scope());
        match flow {
            Flow::Continue => {}
            Flow::Close => {
                self.goodbye().await;
                return Loop::Stop;
            }
            Flow::Drop => {
                info!(session = ?self.st.session, "esl connection dropped by fault injection");
                return Loop::Stop;
            }
        }
        if !self.st.authed {
            input.waiting_first = true;
            input.first_deadline = Instant::now() + FIRST_PACKET_TIMEOUT;
        }
        self.drain(rx);
        Loop::Go
    }

    /// Writes the accepted events; the controlled channel's end may close the connection.
    async fn write_accepted(&mut self) -> Loop {
        match self.flush().await {
            Ok(Flow::Continue) => Loop::Go,
            Ok(Flow::Close) => {
                self.goodbye().await;
                Loop::Stop
            }
            Ok(Flow::Drop) | Err(_) => Loop::Stop,
        }
    }

    /// Handles one command (mod_event_socket `parse_command`).
    async fn handle(&mut self, req: Request, discard: bool, rx: &mut EventRx) -> Flow {
        if let Some(gate) = self.faults.take_hold(&req.command) {
            info!(command = %gate.prefix(), "esl: command held by fault injection");
            let mut dropped = self.faults.drop_signal();
            dropped.mark_unchanged();
            if !gate.hold(dropped).await {
                return Flow::Drop;
            }
        }
        if let Some(rule) = self.faults.take_failure(&req.command) {
            info!(command = %rule.prefix, "esl: injected failure");
            return self.injected_failure(&req, &rule.reply, discard).await;
        }
        commands::dispatch(self, req, discard, rx).await
    }

    async fn injected_failure(&mut self, req: &Request, reply: &str, discard: bool) -> Flow {
        let lower = req.command.to_ascii_lowercase();
        if lower.starts_with("bgapi ") {
            // The job is accepted and its command fails: FreeSWITCH's `api_exec` fires the
            // failing command's text as the BACKGROUND_JOB body, as `api` would have answered it.
            return commands::bgapi_failed(self, req, &format!("{reply}\n"), discard).await;
        }
        if lower.starts_with("api ") {
            let body = format!("{reply}\n");
            match self.out.reply(&frames::api_response(&body)).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Close,
            }
        } else {
            self.reply(reply, discard).await
        }
    }
}
