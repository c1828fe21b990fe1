//! Per-listener event queues, bounded like FreeSWITCH's (100000 events; a listener that loses 500 events
//! in a row is dropped, as mod_event_socket kills it).
//!
//! A listener may narrow its queue to some channels' events ([`EventRx::narrow`]: `Unique-ID` or
//! `Job-Owner-UUID` among them) when nothing else could be written to it (an outbound session
//! without `event`, with `myevents` on its channel, or with only `filter Unique-ID <uuid>`s):
//! like mod_event_socket's `event_handler`, which queues only what a listener wants, the other
//! events are not queued (nor counted as lost), so thousands of idle outbound sessions don't each
//! wake for every event.

use confpay_esl::Event;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The channel uuids a listener is narrowed to (`None`: every event).
type Scope = Arc<Mutex<Option<Vec<String>>>>;

fn lock(scope: &Scope) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
    scope.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether `ev` (its `Unique-ID` and `Job-Owner-UUID`) is about one of `only` (ASCII case ignored,
/// as filters compare).
fn about(only: &[String], uid: Option<&str>, owner: Option<&str>) -> bool {
    only.iter().any(|u| {
        uid.is_some_and(|v| v.eq_ignore_ascii_case(u))
            || owner.is_some_and(|v| v.eq_ignore_ascii_case(u))
    })
}

/// FreeSWITCH's per-listener queue length (`MAX_QUEUE_LEN` in mod_event_socket).
pub const QUEUE_LEN: usize = 100_000;
/// Consecutive failed enqueues after which FreeSWITCH kills the listener.
pub const MAX_MISSED: u32 = 500;

/// The receiving end of one listener's queue.
#[derive(Debug)]
pub struct EventRx {
    rx: mpsc::Receiver<Arc<Event>>,
    scope: Scope,
}

impl EventRx {
    /// From now on queue only events whose `Unique-ID` or `Job-Owner-UUID` is one of `uuids`
    /// (`None`: every event again).
    pub fn narrow(&self, uuids: Option<Vec<String>>) {
        let mut scope = lock(&self.scope);
        if *scope != uuids {
            *scope = uuids;
        }
    }

    /// The next event; `None` once the listener was dropped (too many lost events) or the core is gone.
    pub async fn recv(&mut self) -> Option<Arc<Event>> {
        self.rx.recv().await
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<Arc<Event>> {
        self.rx.try_recv().ok()
    }
}

/// The sending side, kept by the core.
#[derive(Debug)]
pub(crate) struct Listener {
    tx: mpsc::Sender<Arc<Event>>,
    missed: u32,
    scope: Scope,
}

/// Every live listener.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    list: Vec<Listener>,
}

impl Listeners {
    pub(crate) fn subscribe(&mut self, len: usize) -> EventRx {
        let (tx, rx) = mpsc::channel(len.max(1));
        let scope = Scope::default();
        self.list.push(Listener {
            tx,
            missed: 0,
            scope: scope.clone(),
        });
        EventRx { rx, scope }
    }

    /// Offers `ev` to every listener; drops closed listeners and those that missed too many.
    pub(crate) fn deliver(&mut self, ev: &Arc<Event>) {
        let (uid, owner) = (ev.unique_id(), ev.get("Job-Owner-UUID"));
        self.list.retain_mut(|l| {
            if let Some(only) = lock(&l.scope).as_deref()
                && !about(only, uid, owner)
            {
                return !l.tx.is_closed();
            }
            match l.tx.try_send(Arc::clone(ev)) {
                Ok(()) => {
                    l.missed = 0;
                    true
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    l.missed += 1;
                    if l.missed >= MAX_MISSED {
                        tracing::warn!("killed listener because of lost events");
                        false
                    } else {
                        true
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        });
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slow_listener_is_dropped_after_500_misses() {
        let mut ls = Listeners::default();
        let mut rx = ls.subscribe(1);
        let ev = Arc::new(Event::default());
        for _ in 0..(MAX_MISSED + 1) {
            ls.deliver(&ev);
        }
        assert!(ls.list.is_empty());
        assert!(rx.recv().await.is_some());
        assert!(rx.recv().await.is_none());
    }

    fn of(uuid: &str) -> Arc<Event> {
        let mut ev = Event::default();
        ev.headers.push("Unique-ID", uuid);
        Arc::new(ev)
    }

    #[tokio::test]
    async fn a_narrowed_listener_gets_only_its_channel() {
        let mut ls = Listeners::default();
        let mut rx = ls.subscribe(10);
        rx.narrow(Some(vec!["A".into()]));
        for _ in 0..(MAX_MISSED + 1) {
            ls.deliver(&of("b"));
        }
        ls.deliver(&of("a"));
        assert_eq!(ls.list.len(), 1, "others' events are not lost events");
        assert_eq!(
            rx.try_recv()
                .and_then(|e| e.unique_id().map(str::to_owned))
                .as_deref(),
            Some("a")
        );
        assert!(rx.try_recv().is_none());
        let mut job = Event::default();
        job.headers.push("Job-Owner-UUID", "a");
        ls.deliver(&Arc::new(job));
        assert!(rx.try_recv().is_some(), "a job of the channel");
        rx.narrow(None);
        ls.deliver(&of("b"));
        assert!(rx.try_recv().is_some());
    }
}
