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
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Which listeners are narrowed to which channels, shared by the core (which reads it for every
/// event) and the listeners' receiving ends (which change their own scope): an event is offered
/// to the listeners that are not narrowed and to those narrowed to its channels, found by uuid,
/// instead of every listener being asked (with thousands of outbound sessions each event would
/// cost thousands of checks).
#[derive(Debug, Default)]
struct Index {
    /// Lower-cased channel uuid → listeners narrowed to it (among others).
    by_channel: HashMap<String, Vec<u64>>,
    /// Each narrowed listener's channels (lower-cased).
    scopes: HashMap<u64, Vec<String>>,
    /// Listeners not narrowed: offered every event.
    unscoped: HashSet<u64>,
    /// Listeners whose receiving end is gone, to drop at the next delivery.
    closed: Vec<u64>,
}

impl Index {
    fn set(&mut self, id: u64, uuids: Option<Vec<String>>) {
        if let Some(old) = self.scopes.remove(&id) {
            for u in old {
                if let Some(ids) = self.by_channel.get_mut(&u) {
                    ids.retain(|i| *i != id);
                    if ids.is_empty() {
                        self.by_channel.remove(&u);
                    }
                }
            }
        }
        self.unscoped.insert(id);
        if let Some(uuids) = uuids {
            self.unscoped.remove(&id);
            let lower: Vec<String> = uuids.iter().map(|u| u.to_ascii_lowercase()).collect();
            for u in &lower {
                let ids = self.by_channel.entry(u.clone()).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            self.scopes.insert(id, lower);
        }
    }

    fn lock(index: &Mutex<Index>) -> std::sync::MutexGuard<'_, Index> {
        index.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// FreeSWITCH's per-listener queue length (`MAX_QUEUE_LEN` in mod_event_socket).
pub const QUEUE_LEN: usize = 100_000;
/// Consecutive failed enqueues after which FreeSWITCH kills the listener.
pub const MAX_MISSED: u32 = 500;

/// The receiving end of one listener's queue.
#[derive(Debug)]
pub struct EventRx {
    rx: mpsc::Receiver<Arc<Event>>,
    id: u64,
    /// The channels this listener is narrowed to, as last set (`None`: every event).
    scope: Option<Vec<String>>,
    index: Arc<Mutex<Index>>,
}

impl EventRx {
    /// From now on queue only events whose `Unique-ID` or `Job-Owner-UUID` is one of `uuids`
    /// (`None`: every event again).
    pub fn narrow(&mut self, uuids: Option<Vec<String>>) {
        if self.scope == uuids {
            return;
        }
        Index::lock(&self.index).set(self.id, uuids.clone());
        self.scope = uuids;
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

impl Drop for EventRx {
    fn drop(&mut self) {
        let mut index = Index::lock(&self.index);
        index.set(self.id, None);
        index.unscoped.remove(&self.id);
        index.closed.push(self.id);
    }
}

/// The sending side, kept by the core.
#[derive(Debug)]
pub(crate) struct Listener {
    tx: mpsc::Sender<Arc<Event>>,
    missed: u32,
}

/// Every live listener.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    list: HashMap<u64, Listener>,
    /// The next listener's id.
    next: u64,
    index: Arc<Mutex<Index>>,
}

impl Listeners {
    pub(crate) fn subscribe(&mut self, len: usize) -> EventRx {
        let (tx, rx) = mpsc::channel(len.max(1));
        let id = self.next;
        self.next += 1;
        self.list.insert(id, Listener { tx, missed: 0 });
        Index::lock(&self.index).unscoped.insert(id);
        EventRx {
            rx,
            id,
            scope: None,
            index: self.index.clone(),
        }
    }

    /// Offers `ev` to every listener that may take it; drops closed listeners and those that
    /// missed too many.
    pub(crate) fn deliver(&mut self, ev: &Arc<Event>) {
        let targets = self.targets(ev);
        for id in targets {
            let Some(l) = self.list.get_mut(&id) else {
                continue;
            };
            let keep = match l.tx.try_send(Arc::clone(ev)) {
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
            };
            if !keep {
                self.list.remove(&id);
            }
        }
    }

    /// The listeners `ev` is offered to: every one not narrowed, and those narrowed to its
    /// `Unique-ID` or `Job-Owner-UUID` (ASCII case ignored, as filters compare).
    fn targets(&mut self, ev: &Event) -> Vec<u64> {
        let mut index = Index::lock(&self.index);
        for id in std::mem::take(&mut index.closed) {
            self.list.remove(&id);
        }
        let mut out: Vec<u64> = index.unscoped.iter().copied().collect();
        let mut narrowed = HashSet::new();
        for uuid in [ev.unique_id(), ev.get("Job-Owner-UUID")]
            .into_iter()
            .flatten()
        {
            if let Some(ids) = index.by_channel.get(&uuid.to_ascii_lowercase()) {
                narrowed.extend(ids.iter().copied());
            }
        }
        out.extend(narrowed);
        out
    }

    pub(crate) fn clear(&mut self) {
        self.list.clear();
        let mut index = Index::lock(&self.index);
        index.unscoped.clear();
        index.scopes.clear();
        index.by_channel.clear();
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
