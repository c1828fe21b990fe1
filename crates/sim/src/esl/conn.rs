//! One ESL connection's side of the wire: the writer, the events accepted for it (decided when they
//! are fired), writing them, the controlled channel's end (linger or disconnect), and replies.

use super::conn_state::{ConnState, Flow};
use super::faults::Faults;
use super::frames;
use super::writer::FrameWriter;
use crate::core::{Core, EventRx};
use confpay_esl::Event;
use futures_util::FutureExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWrite;
use tokio::time::Instant;
use tracing::info;

/// One connection: the core, the writer, and the state.
pub struct Conn<W> {
    pub core: Core,
    pub faults: Faults,
    pub out: FrameWriter<W>,
    pub st: ConnState,
    pending: VecDeque<Arc<Event>>,
    session_down: bool,
    disco_handled: bool,
    pub(super) linger_deadline: Option<Instant>,
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
    pub(super) fn accept(&mut self, ev: Arc<Event>) {
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
    pub(super) fn scope(&self) -> Option<Vec<String>> {
        let mut only = self.st.sub.only_channels()?;
        if let Some(s) = &self.st.session {
            only.push(s.clone());
        }
        Some(only)
    }

    /// Takes every event already fired off the queue (without waiting).
    pub(super) fn drain(&mut self, rx: &mut EventRx) {
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
    pub(super) async fn flush(&mut self) -> std::io::Result<Flow> {
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
}
