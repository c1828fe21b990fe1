//! Many switches, one front door: each `confpayd` keeps controlling only its own FreeSWITCH, and
//! in cluster mode (`[cluster]`, NATS) every daemon's API and agent page serve every call in the
//! cluster. Off when `cluster.nats` is empty: then nothing here runs and no NATS connection is made.
//!
//! - Presence: each node publishes a heartbeat with a summary of its calls; a node not heard from
//!   for `cluster.unreachable_after_ms` is unreachable ([`peers`]).
//! - Forwarding: a request for a call, session or agent ID held by another node is sent to that
//!   node (NATS request/reply) with the caller's [`Authority`](crate::http::Authority), which this
//!   node already verified; the owner runs it through its own API and answers ([`route`],
//!   [`forward`], [`serve`]). A forwarded request is never forwarded again and never starts
//!   anything on the forwarding node: a payment is driven only by the daemon whose switch holds it.
//! - Lists merge the cluster's calls, each with its `node` ([`merge`]). Status streams for a call
//!   held elsewhere are pushed: the owner publishes every change of its sessions' views ([`feed`]),
//!   the front node relays them in order ([`stream`]).
//! - NATS down: each node serves its own calls; `/healthz` says `cluster: degraded`,
//!   `/metrics` has `confpay_cluster_connected 0`, the log says so once.
//!
//! | module | job |
//! |---|---|
//! | [`wire`] | the messages and subjects |
//! | [`connect`] | NATS options from `[cluster]`; the link state |
//! | [`peers`] | the presence table: who holds what, who is unreachable |
//! | [`heartbeat`] | publishing and hearing heartbeats |
//! | [`feed`] | publishing every change of this node's session views |
//! | [`forward`] | sending a request to its owner |
//! | [`serve`] | answering requests other nodes forward here |
//! | [`route`] | the HTTP middleware: here, there or unreachable |
//! | [`merge`] | `GET /calls` and `GET /sessions` across the cluster |
//! | [`subscribe`] | the one subscribe loop (heartbeats, forwarded requests) |
//! | [`stream`] | `/api/v1/events` for a call or session held elsewhere |

pub mod connect;
pub mod feed;
pub mod forward;
pub mod heartbeat;
pub mod merge;
pub mod peers;
pub mod route;
pub mod serve;
pub mod stream;
pub mod subscribe;
pub mod wire;

pub use connect::ConnectError;
pub use route::Forwarded;

use crate::config::ClusterConfig;
use crate::pay::engine::Engine;
use connect::Link;
use peers::Peers;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// This node's membership of the cluster. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Cluster {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    node: String,
    instance: String,
    client: async_nats::Client,
    peers: Peers,
    link: Arc<Link>,
    heartbeat: Duration,
    request_timeout: Duration,
    forwarded_ok: AtomicU64,
    forwarded_failed: AtomicU64,
}

impl Cluster {
    /// Connects to NATS (in the background), starts the heartbeat and publishes `views` (the
    /// queue of the [`feed::Feed`] the engine's sessions report to); tasks stop on `shutdown`.
    /// Forwarded requests are served once the HTTP router exists ([`serve::run`]).
    pub async fn start(
        config: &ClusterConfig,
        engine: &Engine,
        views: feed::FeedQueue,
        (tracker, shutdown): (&TaskTracker, &CancellationToken),
    ) -> Result<Cluster, ConnectError> {
        let link = Arc::new(Link::default());
        let client = connect::connect(config, link.clone()).await?;
        let instance = uuid::Uuid::new_v4().to_string();
        let cluster = Cluster {
            inner: Arc::new(Inner {
                peers: Peers::new(&config.node, &instance, config.unreachable_after()),
                node: config.node.clone(),
                instance,
                client,
                link,
                heartbeat: config.heartbeat(),
                request_timeout: config.request_timeout(),
                forwarded_ok: AtomicU64::new(0),
                forwarded_failed: AtomicU64::new(0),
            }),
        };
        tracker.spawn(heartbeat::listen(cluster.clone(), shutdown.clone()));
        tracker.spawn(feed::publish(cluster.clone(), views, shutdown.clone()));
        tracker.spawn(heartbeat::publish(
            cluster.clone(),
            engine.clone(),
            shutdown.clone(),
        ));
        tracing::info!(node = %config.node, servers = ?config.nats, "cluster mode: joining over NATS");
        Ok(cluster)
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// The presence table.
    pub fn peers(&self) -> &Peers {
        &self.inner.peers
    }

    /// Whether NATS is reachable now (the client's own state, not the last logged one).
    pub fn connected(&self) -> bool {
        self.inner.client.connection_state() == async_nats::connection::State::Connected
    }

    /// `/metrics` lines of the cluster.
    pub fn render_metrics(&self) -> String {
        let (up, down) = self.inner.peers.counts(Instant::now());
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP confpay_cluster_connected Whether this node reaches NATS (0: cluster degraded, own calls only).\n# TYPE confpay_cluster_connected gauge\nconfpay_cluster_connected {}",
            u8::from(self.connected())
        );
        let _ = writeln!(
            out,
            "# HELP confpay_cluster_nodes Other cluster nodes by whether they were heard from recently.\n# TYPE confpay_cluster_nodes gauge\nconfpay_cluster_nodes{{state=\"reachable\"}} {up}\nconfpay_cluster_nodes{{state=\"unreachable\"}} {down}"
        );
        let _ = writeln!(
            out,
            "# HELP confpay_cluster_forwarded_total API requests forwarded to the node holding the call, by result.\n# TYPE confpay_cluster_forwarded_total counter\nconfpay_cluster_forwarded_total{{result=\"answered\"}} {}\nconfpay_cluster_forwarded_total{{result=\"unreachable\"}} {}",
            self.inner.forwarded_ok.load(Ordering::Relaxed),
            self.inner.forwarded_failed.load(Ordering::Relaxed)
        );
        out
    }
}
