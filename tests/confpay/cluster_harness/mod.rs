//! A cluster for tests: a real `nats-server` (Debian's package; a test without it says so in one
//! line and returns) on a free loopback port, and nodes made of a simulated switch and the
//! daemon's parts in their own runtime ([`Doomed`], so a node can be killed as with SIGKILL and
//! started again against the same switch).

use crate::flow_harness::doomed::Doomed;
use crate::flow_harness::{self, AGENT_ID, CAPTURE_DIAL, CARD};
use crate::http_harness::{Resp, get};
pub use crate::log_capture::Logs;
use confpay::config::{Config, WebhookEndpoint};
use confpay::pay::engine::CallView;
use confpay::secret::Secret;
use confpay::sim::party::Party;
use confpay::sim::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The admin token every node's API takes.
pub const ADMIN: &str = "cluster-admin-token";
/// The key the call-centre platform signs agent tokens with (the same on every node).
pub const AGENT_KEY: &str = "cluster-agent-key-cluster-agent-key-0123";

/// A running `nats-server`, stopped on drop.
pub struct Nats {
    bin: PathBuf,
    pub port: u16,
    child: Option<Child>,
    /// Extra `nats-server` arguments (authorization, TLS).
    args: Vec<String>,
}

impl Nats {
    /// Starts one, or `None` (after one line saying why) when the binary is not installed.
    pub async fn start(test: &str) -> Option<Nats> {
        Nats::start_with(test, Vec::new()).await
    }

    /// As [`Nats::start`], with extra `nats-server` arguments (e.g. `--auth TOKEN`, `--tls ...`).
    pub async fn start_with(test: &str, args: Vec<String>) -> Option<Nats> {
        let bin = [
            "/usr/bin/nats-server",
            "/usr/sbin/nats-server",
            "/usr/local/bin/nats-server",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
        let Some(bin) = bin else {
            println!("{test}: skipped: nats-server not installed (apt-get install nats-server)");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut nats = Nats {
            bin,
            port,
            child: None,
            args,
        };
        nats.up().await;
        Some(nats)
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port; returns once it accepts connections.
    pub async fn up(&mut self) {
        let child = Command::new(&self.bin)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nats-server never listened on {}", self.port);
    }

    /// Stops the server (SIGKILL: as if its host died).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.down();
    }
}

/// One node: its switch and its daemon.
pub struct Node {
    pub sim: Simulator,
    pub customer: Party,
    pub capture: Party,
    pub config: Config,
    pub daemon: Option<Doomed>,
    logs: Option<tracing::Dispatch>,
}

/// What a node has besides the defaults.
#[derive(Default)]
pub struct Extras {
    /// A webhook endpoint (spool in a fresh temporary directory, quick retries).
    pub webhook: Option<String>,
    /// Where the daemon logs (across restarts).
    pub logs: Option<Logs>,
    /// Any other change to the node's configuration.
    pub tweak: Option<Tweak>,
}

/// A change to a node's configuration.
pub type Tweak = Box<dyn FnOnce(&mut Config)>;

impl Node {
    /// A switch with the payment dialplan, and a daemon in cluster mode as `name`.
    pub async fn start(name: &str, nats: &Nats) -> Node {
        Node::start_with(name, nats, Extras::default()).await
    }

    /// As [`Node::start`], with `extras`.
    pub async fn start_with(name: &str, nats: &Nats, extras: Extras) -> Node {
        let sim = Simulator::start(SimConfig::default()).await.expect("sim");
        let mut config = flow_harness::config(sim.esl_addr());
        config.http.token = Secret::new(ADMIN);
        config.http.agent_token_secret = Secret::new(AGENT_KEY);
        config.cluster.nats = vec![nats.url()];
        config.cluster.node = name.to_owned();
        config.cluster.heartbeat_ms = 200;
        config.cluster.unreachable_after_ms = 1000;
        config.cluster.request_timeout_ms = 1000;
        // Ports 0 are the tests' own; the [cluster] keys must be valid as a daemon sees them.
        let invalid = confpay::config::validate(&config);
        assert!(
            !invalid.iter().any(|i| i.key.starts_with("cluster.")),
            "{invalid:?}"
        );
        if let Some(url) = extras.webhook {
            let dir =
                std::env::temp_dir().join(format!("confpay-cluster-{}", uuid::Uuid::new_v4()));
            config.webhooks.spool_dir = dir.display().to_string();
            config.webhooks.retry_initial_ms = 50;
            config.webhooks.retry_max_ms = 300;
            config.webhooks.endpoints = vec![WebhookEndpoint {
                url,
                secret: Secret::new(crate::flow_harness::receiver::SECRET),
                events: Vec::new(),
            }];
        }
        if let Some(tweak) = extras.tweak {
            tweak(&mut config);
        }
        let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
        let (customer, _agent) = flow_harness::parties(&sim, &capture);
        let logs = extras
            .logs
            .as_ref()
            .map(|l| l.dispatch_at(tracing::Level::DEBUG));
        let daemon = Doomed::start_traced(config.clone(), logs.clone());
        flow_harness::install_dialplan(&sim, daemon.outbound);
        Node {
            sim,
            customer,
            capture,
            config,
            daemon: Some(daemon),
            logs,
        }
    }

    pub fn http(&self) -> SocketAddr {
        self.daemon.as_ref().expect("daemon running").http
    }

    /// The customer calls in through the dialplan; returns once both legs are in the conference.
    pub async fn call(&self) -> String {
        let cu = self
            .sim
            .core()
            .incoming_call(&self.customer, "confpay", "Customer", "1001")
            .expect("incoming call");
        let engine = &self.daemon.as_ref().expect("daemon").engine;
        until("call in conference", || async {
            engine
                .calls()
                .await
                .into_iter()
                .find(|c: &CallView| {
                    c.customer == cu && c.customer_member.is_some() && c.agent_member.is_some()
                })
                .map(|_| ())
        })
        .await;
        cu
    }

    /// A fresh capture service for the next payment (each capture is a new call to it).
    pub fn fresh_capture(&mut self) {
        self.capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
        self.sim
            .core()
            .register_party(CAPTURE_DIAL, self.capture.clone());
    }

    pub fn kill(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.kill();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.daemon = Some(Doomed::start_traced(self.config.clone(), self.logs.clone()));
    }
}

/// An agent token for the rig's agent ID (or another), as a platform mints it today: the agent in
/// the standard `sub` claim only (no `agent_id`), signed with the key every node shares.
pub fn agent_token(agent_id: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = serde_json::json!({"sub": agent_id, "exp": now + 600, "iat": now});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(AGENT_KEY.as_bytes()).expect("HMAC key"),
    )
    .expect("HS256 signing")
}

/// Waits (at most 15 s) for `f` to give something, polling.
pub async fn until<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    crate::flow_harness::poll_until(what, Duration::from_secs(15), f).await
}

/// The call `customer` as `GET /api/v1/calls` on `front` lists it.
pub async fn listed(front: SocketAddr, customer: &str) -> Option<serde_json::Value> {
    let r = get(front, "/api/v1/calls", Some(ADMIN)).await;
    r.json()["calls"]
        .as_array()?
        .iter()
        .find(|c| c["customer"] == customer)
        .cloned()
}

/// Polls `GET /api/v1/sessions/{id}` on `front` until its state is `state`.
pub async fn session_reaches(front: SocketAddr, id: &str, token: &str, state: &str) -> Resp {
    let path = format!("/api/v1/sessions/{id}");
    until(&format!("session {id} {state}"), || async {
        let r = get(front, &path, Some(token)).await;
        (r.status == 200 && r.json()["state"] == state).then_some(r)
    })
    .await
}

/// A node whose daemon runs in the caller's runtime (so a test's log capture sees it): its switch,
/// its daemon's parts and its customer. Stops with `stop`.
pub struct InProcess {
    pub sim: Simulator,
    pub stack: confpay::daemon::stack::Stack,
    pub customer: Party,
}

impl InProcess {
    pub async fn start(
        name: &str,
        nats: &Nats,
        tracker: &tokio_util::task::TaskTracker,
        stop: &tokio_util::sync::CancellationToken,
    ) -> InProcess {
        let sim = Simulator::start(SimConfig::default()).await.expect("sim");
        let mut config = flow_harness::config(sim.esl_addr());
        config.cluster.nats = vec![nats.url()];
        config.cluster.node = name.to_owned();
        config.cluster.heartbeat_ms = 200;
        config.cluster.unreachable_after_ms = 1000;
        let stack = confpay::daemon::stack::Stack::start(&config, tracker, stop)
            .await
            .expect("daemon parts");
        let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
        let (customer, _agent) = flow_harness::parties(&sim, &capture);
        flow_harness::install_dialplan(&sim, stack.outbound_addr);
        InProcess {
            sim,
            stack,
            customer,
        }
    }
}
