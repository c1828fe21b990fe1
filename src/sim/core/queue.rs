//! Per-listener event queues, bounded like FreeSWITCH's (100000 events; a listener that loses 500 events
//! in a row is dropped, as mod_event_socket kills it).

use crate::esl::Event;
use std::sync::Arc;
use tokio::sync::mpsc;

/// FreeSWITCH's per-listener queue length (`MAX_QUEUE_LEN` in mod_event_socket).
pub const QUEUE_LEN: usize = 100_000;
/// Consecutive failed enqueues after which FreeSWITCH kills the listener.
pub const MAX_MISSED: u32 = 500;

/// The receiving end of one listener's queue.
#[derive(Debug)]
pub struct EventRx {
    rx: mpsc::Receiver<Arc<Event>>,
}

impl EventRx {
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
}

/// Every live listener.
#[derive(Debug, Default)]
pub(crate) struct Listeners {
    list: Vec<Listener>,
}

impl Listeners {
    pub(crate) fn subscribe(&mut self, len: usize) -> EventRx {
        let (tx, rx) = mpsc::channel(len.max(1));
        self.list.push(Listener { tx, missed: 0 });
        EventRx { rx }
    }

    /// Offers `ev` to every listener; drops closed listeners and those that missed too many.
    pub(crate) fn deliver(&mut self, ev: &Arc<Event>) {
        self.list
            .retain_mut(|l| match l.tx.try_send(Arc::clone(ev)) {
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
}
