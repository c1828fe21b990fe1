//! Status streams pushed, not polled: the owner publishes every change of every session's view
//! (state, and changes within one) on `confpay.node.<node>.view.<customer>.<session>`, in the order
//! the session made them, for front nodes whose status streams follow it ([`super::stream`]).
//!
//! [`Feed`] is a [`SessionObserver`] (a `try_send`: a session never waits for NATS); one task
//! publishes the queue in order. While NATS is down nothing is queued for it: a front node
//! following a session reads the owner's view again once the link is back.

use super::Cluster;
use super::wire::{ViewPush, view_subject};
use crate::http::views::SessionJson;
use crate::pay::machine::State;
use crate::pay::observer::SessionObserver;
use crate::pay::session::SessionView;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// View changes waiting to be published; beyond it one is dropped (counted, logged once) rather
/// than making a session wait. A payment makes a few dozen.
const QUEUE: usize = 4096;

/// The observer the sessions are given in cluster mode.
pub struct Feed {
    tx: mpsc::Sender<SessionView>,
    dropped: AtomicU64,
}

/// The publishing end, handed to [`Cluster::start`].
pub struct FeedQueue(mpsc::Receiver<SessionView>);

/// A feed and its queue.
pub fn feed() -> (Arc<Feed>, FeedQueue) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let feed = Feed {
        tx,
        dropped: AtomicU64::new(0),
    };
    (Arc::new(feed), FeedQueue(rx))
}

impl SessionObserver for Feed {
    fn changed(&self, _from: &State, _view: &SessionView) {}

    fn updated(&self, view: &SessionView) {
        if let Err(mpsc::error::TrySendError::Full(_)) = self.tx.try_send(view.clone())
            && self.dropped.fetch_add(1, Ordering::Relaxed) == 0
        {
            warn!(
                "cluster: session view changes are not published fast enough; remote status streams re-read views"
            );
        }
    }
}

/// Publishes queued view changes, in order, until `stop`.
pub async fn publish(cluster: Cluster, queue: FeedQueue, stop: CancellationToken) {
    let FeedQueue(mut rx) = queue;
    loop {
        let view = tokio::select! {
            () = stop.cancelled() => return,
            v = rx.recv() => match v {
                Some(v) => v,
                None => return,
            },
        };
        // Not queued in the client while NATS is away (followers re-read the view when it is back).
        if !cluster.connected() {
            continue;
        }
        let push = ViewPush {
            instance: cluster.inner.instance.clone(),
            session: serde_json::to_value(SessionJson::from_view(&view)).unwrap_or_default(),
        };
        let subject = view_subject(cluster.node(), &view.customer, &view.id);
        match serde_json::to_vec(&push) {
            Ok(bytes) => {
                if let Err(e) = cluster.inner.client.publish(subject, bytes.into()).await {
                    debug!(error = %e, "cluster: session view not published");
                }
            }
            Err(e) => warn!(error = %e, "cluster: session view not encoded"),
        }
    }
}
