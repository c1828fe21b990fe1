//! The engine's task loop, and the inbound client's events read by that task itself ([`Feed`]):
//! no pump task in between, so an event that makes a session act costs one task wake-up less
//! (the client's driver hands it to the engine's task, which routes it to the session's).
//!
//! What the daemon does besides the engine when the connection comes and goes (health, metrics,
//! the FreeSWITCH log-level check) and what sees every event around the engine (the load tool's
//! probe) is the feed's [`Link`] (`daemon::stack::pump`). Events already waiting are handled in
//! one wake-up, up to [`BATCH`], before the call table is published once for all of them.

use super::{Msg, Task};
use crate::esl::Event;
use crate::esl::client_error::LossReason;
use crate::esl::inbound::ClientEvent;
use crate::pay::types::Input;
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Events handled in one wake-up before the call table is published and the scope told: enough
/// to spare a publication per event in a burst, few enough that the sessions the first events
/// woke (and API requests) wait little. Measured with the load tool at 1,000 payments at once
/// (BENCHMARKS.md, "Issue 15 at the final merge"): 8 gave a lower p99 and less CPU per payment
/// than 64 or 1.
pub const BATCH: usize = 8;

/// Runs once the engine has handled an event.
pub type AfterEvent = Box<dyn FnOnce() + Send>;

/// What the daemon does around the engine as the feed's events and connection changes come.
pub trait Link: Send + 'static {
    /// Sees `event`, which the client handed on `at`, before the engine handles it; what it
    /// returns runs once the engine has.
    fn seen(&mut self, event: &Event, at: Instant) -> Option<AfterEvent>;
    /// The client connected (`again`: not the start-up connection but a reconnect), before the
    /// engine resynchronises its sessions.
    fn connected(&mut self, core_uuid: Option<&str>, again: bool);
    /// The connection was lost, before the engine's sessions are told.
    fn lost(&mut self, reason: &LossReason);
}

/// The inbound client's events for the engine's task, until `stop` (events keep flowing while
/// payments drain after a shutdown request: the daemon passes the drained token) or the client
/// is gone.
pub struct Feed {
    pub events: mpsc::Receiver<ClientEvent>,
    pub link: Box<dyn Link>,
    pub stop: CancellationToken,
}

/// A feed being read: the first `Connected` is the start-up connection, later ones reconnects.
struct Reading {
    feed: Feed,
    connected_before: bool,
}

impl Task {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        let mut feed: Option<Reading> = None;
        loop {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Feed(f)) => {
                        feed = Some(Reading { feed: *f, connected_before: false });
                    }
                    Some(msg) => self.handle(msg),
                    None => break,
                },
                item = next(&mut feed) => match item {
                    Some(item) => self.take_from_feed(&mut feed, item),
                    None => feed = None,
                },
            }
            // A burst: the events already waiting are handled now, then published once.
            for _ in 1..BATCH {
                let Some(r) = feed.as_mut() else { break };
                if r.feed.stop.is_cancelled() {
                    break;
                }
                let Ok(item) = r.feed.events.try_recv() else {
                    break;
                };
                self.take_from_feed(&mut feed, item);
            }
            self.publish();
            self.sync_scope();
        }
    }

    fn take_from_feed(&mut self, feed: &mut Option<Reading>, item: ClientEvent) {
        let Some(r) = feed.as_mut() else { return };
        match item {
            ClientEvent::Event(e, at) => {
                let after = r.feed.link.seen(&e, at);
                self.handle(Msg::Event(e, at));
                if let Some(after) = after {
                    after();
                }
            }
            ClientEvent::Connected { core_uuid } => {
                let again = std::mem::replace(&mut r.connected_before, true);
                r.feed.link.connected(core_uuid.as_deref(), again);
                if again {
                    self.resync_all();
                }
            }
            ClientEvent::Disconnected { reason } => {
                r.feed.link.lost(&reason);
                self.broadcast(Input::ConnectionLost);
            }
        }
    }
}

/// The feed's next item; `None` once it stopped or the client is gone; never with no feed.
async fn next(feed: &mut Option<Reading>) -> Option<ClientEvent> {
    let Some(r) = feed.as_mut() else {
        return std::future::pending().await;
    };
    tokio::select! {
        biased;
        _ = r.feed.stop.cancelled() => None,
        item = r.feed.events.recv() => item,
    }
}

#[cfg(test)]
#[path = "feed_tests.rs"]
mod tests;
