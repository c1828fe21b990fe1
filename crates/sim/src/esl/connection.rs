//! One ESL connection of the simulated FreeSWITCH (inbound, or an outbound socket session): the
//! `listener_run` / `read_packet` loop of mod_event_socket.
//!
//! - Commands are handled one at a time; an `api` blocks the connection (no events, no further
//!   commands) until the core answers, like FreeSWITCH's synchronous `api_exec`.
//! - Whether an event goes to this connection is decided when it is fired (queued events are
//!   evaluated against the subscription before each command runs), then events are written in order.
//! - A controlled session (outbound socket, or inbound `myevents <live uuid>`) ends the connection when
//!   its channel hangs up: without linger a disconnect notice follows the last events at once; with
//!   linger a linger notice is sent and the socket stays (forever, or `linger N` seconds).

use super::faults::Faults;
use super::frames;
use super::request::{self, Request};
use super::subscription::Subscription;
use super::writer::FrameWriter;
use crate::core::{Core, EventRx};
use bytes::BytesMut;
use confpay_esl::Event;
use futures_util::FutureExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite};
use tokio::net::tcp::OwnedReadHalf;
use tokio::time::Instant;
use tracing::{debug, info};

/// How the outbound `socket` application was invoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundMode {
    pub async_mode: bool,
    pub full: bool,
}

/// Whether the loop goes on after a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    /// End the connection with the disconnect notice.
    Close,
    /// End the connection abruptly (fault injection: no notice).
    Drop,
}

/// The inbound password; never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"********\"")
    }
}

/// The state `parse_command` works on.
#[derive(Debug)]
pub struct ConnState {
    pub sub: Subscription,
    pub authed: bool,
    pub password: Password,
    /// The controlled channel (outbound session, or inbound `myevents <uuid>`).
    pub session: Option<String>,
    pub outbound: Option<OutboundMode>,
    /// `connect` was received (outbound).
    pub connected: bool,
    /// `None` = no linger; `Some(-1)` = forever; `Some(n)` = n seconds.
    pub linger: Option<i64>,
    /// `resume` was sent.
    pub resume: bool,
    /// `log <level>` in force.
    pub log_level: Option<u8>,
    /// The controlled channel's name (for the linger notice).
    pub channel_name: String,
}

/// One connection: the core, the writer, and the state.
pub struct Conn<W> {
    pub core: Core,
    pub faults: Faults,
    pub out: FrameWriter<W>,
    pub st: ConnState,
    pending: VecDeque<Arc<Event>>,
    session_down: bool,
    disco_handled: bool,
    linger_deadline: Option<Instant>,
}

impl<W: AsyncWrite + Unpin + Send> Conn<W> {
    pub fn new(core: Core, faults: Faults, out: W, st: ConnState) -> Self {
        Conn {
            core,
            out: FrameWriter::new(out, faults.clone()),
            faults,
            st,
            pending: VecDeque::new(),
            session_down: false,
            disco_handled: false,
            linger_deadline: None,
        }
    }

    /// Decides (at "fire time") whether `ev` goes to this connection, and notes the controlled
    /// channel's end.
    fn accept(&mut self, ev: Arc<Event>) {
        if let Some(s) = self.st.session.as_deref()
            && ev.unique_id() == Some(s)
        {
            if self.session_down {
                // FreeSWITCH holds the session until the socket is gone: nothing of it (CHANNEL_DESTROY,
                // the last CHANNEL_STATE) reaches this socket after CHANNEL_HANGUP_COMPLETE.
                return;
            }
            if let Some(name) = ev.get("Channel-Name") {
                self.st.channel_name = name.to_owned();
            }
            if ev.name() == Some("CHANNEL_HANGUP_COMPLETE") {
                self.session_down = true;
            }
        }
        if self.st.sub.wants(&ev) {
            self.pending.push_back(ev);
        }
    }

    /// The channels whose events are all this connection can be written (and must see: its own
    /// channel's end), when the subscription allows narrowing its queue to them.
    fn scope(&self) -> Option<Vec<String>> {
        let mut only = self.st.sub.only_channels()?;
        if let Some(s) = &self.st.session {
            only.push(s.clone());
        }
        Some(only)
    }

    /// Takes every event already fired off the queue (without waiting).
    fn drain(&mut self, rx: &mut EventRx) {
        while let Some(Some(ev)) = rx.recv().now_or_never() {
            self.accept(ev);
        }
    }

    /// `noevents` flushes the listener's queue: events not yet written are dropped.
    pub fn discard_pending(&mut self) {
        self.pending.clear();
    }

    /// Sync (static) outbound `sendmsg`: blocks this connection (no commands, no event writes) until the
    /// application with `app_uuid` completed on `uuid`, or the channel is gone.
    pub async fn wait_app(&mut self, rx: &mut EventRx, uuid: &str, app_uuid: &str) {
        while let Some(ev) = rx.recv().await {
            let mine = ev.unique_id() == Some(uuid);
            let done = mine
                && ev.name() == Some("CHANNEL_EXECUTE_COMPLETE")
                && ev.get("Application-UUID") == Some(app_uuid);
            let gone = mine && ev.name() == Some("CHANNEL_HANGUP_COMPLETE");
            self.accept(ev);
            if done || gone {
                return;
            }
        }
    }

    /// Writes the accepted events, then handles the controlled channel's end.
    async fn flush(&mut self) -> std::io::Result<Flow> {
        while let Some(ev) = self.pending.pop_front() {
            let f = frames::event_frame(&ev, self.st.sub.format);
            self.out.frame(&f).await?;
        }
        if self.session_down && !self.disco_handled {
            self.disco_handled = true;
            let uuid = self.st.session.clone().unwrap_or_default();
            match self.st.linger {
                Some(secs) => {
                    info!(call = %uuid, linger = secs, "esl session lingering");
                    let notice = frames::linger_notice(&uuid, &self.st.channel_name, secs);
                    self.out.frame(&notice).await?;
                    if secs != -1 {
                        // A negative time other than -1 has already expired; a huge one never does.
                        let wait = Duration::from_secs(u64::try_from(secs).unwrap_or(0));
                        self.linger_deadline = Instant::now().checked_add(wait);
                    }
                }
                None => {
                    info!(call = %uuid, "esl session channel gone, disconnecting");
                    return Ok(Flow::Close);
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// Writes the disconnect notice and closes the write side.
    pub async fn goodbye(&mut self) {
        let notice = frames::disconnect_notice(self.st.session.as_deref(), frames::GOODBYE);
        // The peer may already have gone; the notice is best effort.
        let _ = self.out.frame(&notice).await;
        self.out.shutdown().await;
    }

    /// Runs the connection until it ends. `first_reply_discarded`: the outbound rule that the reply to
    /// the first command is not sent (only `connect`, which writes CHANNEL_DATA itself, is answered).
    pub async fn run(&mut self, mut reader: OwnedReadHalf, first_reply_discarded: bool) {
        let mut rx = self.core.subscribe();
        let core_uuid = self.core.core_uuid();
        let mut drop_sig = self.faults.drop_signal();
        drop_sig.mark_unchanged();
        let mut buf = BytesMut::with_capacity(4096);
        let mut first = first_reply_discarded;
        // FreeSWITCH reads the first outbound packet, and every packet before auth, with a 25 s timeout.
        let mut first_deadline = Instant::now() + Duration::from_secs(25);
        let mut waiting_first = first_reply_discarded || !self.st.authed;
        loop {
            let linger = self.linger_deadline;
            tokio::select! {
                biased;
                _ = drop_sig.changed() => {
                    info!(session = ?self.st.session, "esl connection dropped by fault injection");
                    return;
                }
                _ = tokio::time::sleep_until(linger.unwrap_or_else(Instant::now)), if linger.is_some() => {
                    self.goodbye().await;
                    return;
                }
                _ = tokio::time::sleep_until(first_deadline), if waiting_first => {
                    debug!("esl: no command within 25 s, closing");
                    self.out.shutdown().await;
                    return;
                }
                ev = rx.recv() => {
                    match ev {
                        Some(ev) => self.accept(ev),
                        None if self.core.core_uuid() != core_uuid => {
                            info!("esl connection dropped: the switch restarted");
                            return;
                        }
                        None => {
                            // The core dropped this listener (500 lost events in a row), as
                            // mod_event_socket's kill_listener does.
                            info!(session = ?self.st.session, "esl listener killed: lost events");
                            let notice = frames::disconnect_notice(
                                self.st.session.as_deref(),
                                "killed listener because of lost events\n",
                            );
                            // Best effort: the peer may be the reason the queue overflowed.
                            let _ = self.out.frame(&notice).await;
                            self.out.shutdown().await;
                            return;
                        }
                    }
                    // Like read_packet: nothing is written while part of a command has been read.
                    if buf.is_empty() {
                        match self.flush().await {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::Close) => { self.goodbye().await; return; }
                            Ok(Flow::Drop) | Err(_) => return,
                        }
                    }
                }
                n = reader.read_buf(&mut buf) => {
                    match n {
                        // listener_run ends with a disconnect notice even when the peer went away.
                        Ok(0) | Err(_) => { self.goodbye().await; return; }
                        Ok(_) => {}
                    }
                    loop {
                        let req = match request::parse(&mut buf) {
                            Ok(Some(r)) => r,
                            Ok(None) => {
                                // read_packet reads on while the client has sent more: queued events
                                // are written only once no command bytes are waiting.
                                match reader.try_read_buf(&mut buf) {
                                    Ok(0) => { self.goodbye().await; return; }
                                    Ok(_) => continue,
                                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                                    Err(_) => { self.goodbye().await; return; }
                                }
                            }
                            Err(e) => {
                                info!(error = %e, "esl: dropping connection");
                                self.goodbye().await;
                                return;
                            }
                        };
                        waiting_first = false;
                        self.drain(&mut rx);
                        let discard = std::mem::take(&mut first);
                        // Every event while a command runs (it may widen the subscription); then
                        // only the controlled channel's if nothing else could be written.
                        rx.narrow(None);
                        let flow = self.handle(req, discard, &mut rx).await;
                        rx.narrow(self.scope());
                        match flow {
                            Flow::Continue => {}
                            Flow::Close => { self.goodbye().await; return; }
                            Flow::Drop => {
                                info!(session = ?self.st.session, "esl connection dropped by fault injection");
                                return;
                            }
                        }
                        if !self.st.authed {
                            waiting_first = true;
                            first_deadline = Instant::now() + Duration::from_secs(25);
                        }
                        self.drain(&mut rx);
                    }
                    if buf.is_empty() {
                        match self.flush().await {
                            Ok(Flow::Continue) => {}
                            Ok(Flow::Close) => { self.goodbye().await; return; }
                            Ok(Flow::Drop) | Err(_) => return,
                        }
                    }
                }
            }
        }
    }

    /// Writes a `command/reply` unless it is the discarded first outbound reply.
    pub async fn reply(&mut self, text: &str, discard: bool) -> Flow {
        if discard {
            return Flow::Continue;
        }
        match self.out.reply(&frames::command_reply(text)).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Close,
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
        super::commands::dispatch(self, req, discard, rx).await
    }

    async fn injected_failure(&mut self, req: &Request, reply: &str, discard: bool) -> Flow {
        let lower = req.command.to_ascii_lowercase();
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
