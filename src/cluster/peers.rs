//! The presence table: every other node last heard from, with the calls it said it holds. A node
//! not heard from for `cluster.unreachable_after_ms` is unreachable: its calls are still listed
//! (`reachable: false`) and requests for them fail with `node_unreachable`; no other node takes
//! them over (its switch still holds them, and its daemon rebuilds them when it comes back).

use super::wire::{CallSummary, Heartbeat};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{error, info, warn};

/// A node unheard of this long is dropped from the table (decommissioned), with a log line.
const FORGET_AFTER: Duration = Duration::from_secs(600);
/// Session IDs learned from forwarded replies, kept until the owner's heartbeat lists them.
const MAX_LEARNED: usize = 4096;

/// One other node.
#[derive(Clone, Debug)]
pub struct Peer {
    pub instance: String,
    pub last_seen: Instant,
    pub calls: Vec<CallSummary>,
    /// Whether the last look found it reachable (to log each change once).
    was_reachable: bool,
}

/// Where something is held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// On a node heard from recently.
    Reachable(String),
    /// On a node not heard from for too long.
    Unreachable(String),
}

/// The table. Shared as `Arc<Peers>`.
#[derive(Debug)]
pub struct Peers {
    me: String,
    instance: String,
    unreachable_after: Duration,
    nodes: Mutex<BTreeMap<String, Peer>>,
    /// Session ID → node, from forwarded replies (a session started through this node is found
    /// before the owner's next heartbeat lists it).
    learned: Mutex<HashMap<String, String>>,
    /// Bumped on every heartbeat heard and every node turning unreachable: remote status streams
    /// wait on it.
    changes: watch::Sender<u64>,
}

impl Peers {
    pub fn new(me: &str, instance: &str, unreachable_after: Duration) -> Peers {
        Peers {
            me: me.to_owned(),
            instance: instance.to_owned(),
            unreachable_after,
            nodes: Mutex::default(),
            learned: Mutex::default(),
            changes: watch::channel(0).0,
        }
    }

    /// Changes on every heartbeat heard and every node turning unreachable.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Whether `node` is reachable now; `None` if it is not known (never heard, or forgotten).
    pub fn reachable(&self, now: Instant, node: &str) -> Option<bool> {
        self.lock().get(node).map(|p| self.fresh(p, now))
    }

    /// Whether `node`'s last heartbeat lists the call whose customer leg is `customer`.
    pub fn lists_call(&self, node: &str, customer: &str) -> bool {
        self.lock()
            .get(node)
            .is_some_and(|p| p.calls.iter().any(|c| c.customer == customer))
    }

    /// Session `id`'s view revision as `node`'s last heartbeat gave it (`None`: not listed).
    pub fn session_revision(&self, node: &str, id: &str) -> Option<u64> {
        let nodes = self.lock();
        let calls = &nodes.get(node)?.calls;
        calls.iter().find_map(|c| {
            let at = c.sessions.iter().position(|s| s == id)?;
            c.revisions.get(at).copied()
        })
    }

    fn bump(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A heartbeat arrived (at `now`). Our own are ignored, except one from another daemon
    /// under our name: a configuration error worth shouting about.
    pub fn observe(&self, hb: Heartbeat, now: Instant) {
        if hb.node == self.me {
            if hb.instance != self.instance {
                error!(node = %hb.node, "another confpayd uses this node's cluster.node name; node names must be unique");
            }
            return;
        }
        let mut nodes = self.lock();
        let back = nodes.get(&hb.node).is_none_or(|p| !p.was_reachable);
        if back {
            info!(node = %hb.node, calls = hb.calls.len(), "cluster node reachable");
        } else if nodes
            .get(&hb.node)
            .is_some_and(|p| p.instance != hb.instance)
        {
            info!(node = %hb.node, "cluster node restarted");
        }
        nodes.insert(
            hb.node,
            Peer {
                instance: hb.instance,
                last_seen: now,
                calls: hb.calls,
                was_reachable: true,
            },
        );
        drop(nodes);
        self.bump();
    }

    /// Marks nodes unreachable (logging each change) and forgets long-gone ones.
    pub fn sweep(&self, now: Instant) {
        let mut changed = false;
        let mut nodes = self.lock();
        nodes.retain(|name, p| {
            let silent = now.saturating_duration_since(p.last_seen);
            if silent >= FORGET_AFTER {
                warn!(node = %name, "cluster node silent for 10 minutes; no longer listed");
                changed = true;
                return false;
            }
            if silent >= self.unreachable_after && p.was_reachable {
                warn!(node = %name, calls = p.calls.len(), "cluster node unreachable; its calls are listed as unreachable");
                p.was_reachable = false;
                changed = true;
            }
            true
        });
        drop(nodes);
        if changed {
            self.bump();
        }
    }

    /// Every known node: (name, reachable, its calls).
    pub fn snapshot(&self, now: Instant) -> Vec<(String, bool, Vec<CallSummary>)> {
        self.lock()
            .iter()
            .map(|(n, p)| (n.clone(), self.fresh(p, now), p.calls.clone()))
            .collect()
    }

    /// The node holding the call matching `pred`.
    pub fn owner_of_call(
        &self,
        now: Instant,
        pred: impl Fn(&CallSummary) -> bool,
    ) -> Option<Owner> {
        let nodes = self.lock();
        nodes
            .iter()
            .find(|(_, p)| p.calls.iter().any(&pred))
            .map(|(n, p)| self.owner(n, p, now))
    }

    /// The node holding session `id` (heartbeats first, then what forwarded replies taught).
    pub fn owner_of_session(&self, now: Instant, id: &str) -> Option<Owner> {
        if let Some(o) = self.owner_of_call(now, |c| c.sessions.iter().any(|s| s == id)) {
            return Some(o);
        }
        let node = self.learned_lock().get(id).cloned()?;
        let nodes = self.lock();
        let fresh = nodes.get(&node).is_some_and(|p| self.fresh(p, now));
        Some(if fresh {
            Owner::Reachable(node)
        } else {
            Owner::Unreachable(node)
        })
    }

    /// Remembers that `node` holds session `id` (its API just said so).
    pub fn learn(&self, id: &str, node: &str) {
        let mut learned = self.learned_lock();
        if learned.len() >= MAX_LEARNED {
            learned.clear();
        }
        learned.insert(id.to_owned(), node.to_owned());
    }

    /// (reachable, unreachable) node counts.
    pub fn counts(&self, now: Instant) -> (usize, usize) {
        let nodes = self.lock();
        let up = nodes.values().filter(|p| self.fresh(p, now)).count();
        (up, nodes.len() - up)
    }

    fn owner(&self, name: &str, p: &Peer, now: Instant) -> Owner {
        if self.fresh(p, now) {
            Owner::Reachable(name.to_owned())
        } else {
            Owner::Unreachable(name.to_owned())
        }
    }

    fn fresh(&self, p: &Peer, now: Instant) -> bool {
        now.saturating_duration_since(p.last_seen) < self.unreachable_after
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Peer>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn learned_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.learned.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(node: &str, customer: &str, session: &str) -> Heartbeat {
        Heartbeat {
            node: node.to_owned(),
            instance: "i1".to_owned(),
            calls: vec![CallSummary {
                customer: customer.to_owned(),
                agent: None,
                agent_id: Some("4711".to_owned()),
                room: format!("confpay-{customer}"),
                sessions: vec![session.to_owned()],
                revisions: vec![3],
            }],
        }
    }

    #[test]
    fn owners_turn_unreachable_when_silent_and_come_back() {
        let peers = Peers::new("a", "me", Duration::from_secs(3));
        let t0 = Instant::now();
        peers.observe(hb("b", "cu-1", "s-1"), t0);
        peers.observe(hb("a", "cu-9", "s-9"), t0);
        let by_customer = |c: &CallSummary| c.customer == "cu-1";
        assert_eq!(
            peers.owner_of_call(t0, by_customer),
            Some(Owner::Reachable("b".into()))
        );
        // Our own heartbeat is not a peer.
        assert_eq!(peers.owner_of_call(t0, |c| c.customer == "cu-9"), None);
        let later = t0 + Duration::from_secs(4);
        peers.sweep(later);
        assert_eq!(
            peers.owner_of_session(later, "s-1"),
            Some(Owner::Unreachable("b".into()))
        );
        assert_eq!(peers.counts(later), (0, 1));
        assert_eq!(peers.session_revision("b", "s-1"), Some(3));
        assert_eq!(peers.session_revision("b", "s-x"), None);
        peers.observe(hb("b", "cu-1", "s-2"), later);
        assert_eq!(
            peers.owner_of_session(later, "s-2"),
            Some(Owner::Reachable("b".into()))
        );
        assert_eq!(peers.owner_of_session(later, "s-x"), None);
        peers.learn("s-x", "b");
        assert_eq!(
            peers.owner_of_session(later, "s-x"),
            Some(Owner::Reachable("b".into()))
        );
        peers.sweep(later + FORGET_AFTER);
        assert_eq!(peers.counts(later + FORGET_AFTER), (0, 0));
    }
}
