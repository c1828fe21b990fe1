//! Presence: this node's heartbeat (published each `cluster.heartbeat_ms` and soon after its call
//! table changes), the other nodes' heartbeats into [`super::peers::Peers`], and the periodic look
//! at the NATS link and at silent nodes.

use super::Cluster;
use super::subscribe::each_message;
use super::wire::{ALIVE_ALL, CallSummary, Heartbeat, alive_subject};
use crate::pay::engine::Engine;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Least time between two heartbeats sent because the call table changed (a burst of changes is
/// one heartbeat).
const MIN_GAP: Duration = Duration::from_millis(50);

/// What this node says about its calls.
pub async fn summary(engine: &Engine) -> Vec<CallSummary> {
    engine
        .calls()
        .await
        .into_iter()
        .map(|c| CallSummary {
            sessions: c
                .session
                .iter()
                .chain(c.history.iter().rev())
                .map(|s| s.id.clone())
                .collect(),
            revisions: c
                .session
                .iter()
                .chain(c.history.iter().rev())
                .map(|s| s.revision)
                .collect(),
            customer: c.customer,
            agent: c.agent,
            agent_id: c.agent_id,
            room: c.room,
        })
        .collect()
}

/// Publishes heartbeats until `stop`.
pub async fn publish(cluster: Cluster, engine: Engine, stop: CancellationToken) {
    let every = cluster.inner.heartbeat;
    let mut changes = engine.changes();
    let subject = alive_subject(cluster.node());
    loop {
        cluster.inner.link.update(&cluster.inner.client);
        cluster.inner.peers.sweep(Instant::now());
        if cluster.inner.link.up() {
            let hb = Heartbeat {
                node: cluster.node().to_owned(),
                instance: cluster.inner.instance.clone(),
                calls: summary(&engine).await,
            };
            match serde_json::to_vec(&hb) {
                Ok(bytes) => {
                    if let Err(e) = cluster
                        .inner
                        .client
                        .publish(subject.clone(), bytes.into())
                        .await
                    {
                        warn!(error = %e, "cluster heartbeat not sent");
                    }
                }
                Err(e) => warn!(error = %e, "cluster heartbeat not encoded"),
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                changes.borrow_and_update();
                tokio::time::sleep(MIN_GAP).await;
            }
        }
    }
}

/// Feeds every node's heartbeats into the presence table until `stop`.
pub async fn listen(cluster: Cluster, stop: CancellationToken) {
    let client = cluster.inner.client.clone();
    let consequence = "other nodes stay unknown";
    each_message(&client, ALIVE_ALL.to_owned(), &stop, consequence, |msg| {
        match serde_json::from_slice::<Heartbeat>(&msg.payload) {
            Ok(hb) => cluster.inner.peers.observe(hb, Instant::now()),
            Err(e) => {
                warn!(subject = %msg.subject, error = %e, "cluster: unreadable heartbeat ignored")
            }
        }
    })
    .await;
}
