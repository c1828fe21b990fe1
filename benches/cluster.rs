//! Cluster mode measured: the added latency of a forwarded request, and payments per second taken
//! through one front door with 2 and 4 simulated nodes (BENCHMARKS.md, "Cluster").
//!
//! `cargo bench --bench cluster` (needs Debian's `nats-server`; without it, one line and nothing).
//! Knobs: `CONFPAY_BENCH_REQUESTS` (latency samples, default 2000), `CONFPAY_BENCH_CALLS` (calls per
//! node, default 20), `CONFPAY_BENCH_ROUNDS` (payments per call, default 3).
//!
//! Every node is a simulator and the daemon's parts (`Stack`, as `confpayd` runs them) in this
//! process, all on one NATS server on loopback. Node 0 is the front door; the calls are on the
//! other nodes, so every request about them is forwarded. A payment is what the agent page does:
//! `POST /sessions` (by customer UUID), poll until `ready`, `POST /sessions/{id}/capture` (ACA),
//! poll until `capturing`; the simulated customer keys the card; poll until `done`.

#[path = "../tests/confpay/http_harness/client.rs"]
#[allow(dead_code)]
mod client;

use client::{get, post};
use confpay::config::Config;
use confpay::daemon::stack::Stack;
use confpay::sim::party::Party;
use confpay::sim::{PaymentDialplan, SimConfig, Simulator};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const AGENT_ID: &str = "4711";
const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
const CARD: &str = "4111111111111111";
/// Where Debian installs it (`/usr/sbin`), or elsewhere on a hand-made machine.
const NATS: [&str; 3] = [
    "/usr/sbin/nats-server",
    "/usr/bin/nats-server",
    "/usr/local/bin/nats-server",
];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Node {
    sim: Simulator,
    stack: Stack,
}

async fn start_node(
    name: &str,
    nats: &str,
    tracker: &TaskTracker,
    stop: &CancellationToken,
) -> Node {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let mut c = Config::default();
    c.esl.address = sim.esl_addr().to_string();
    c.outbound.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.max_connections = 4096;
    c.payment.agent_id_delay_ms = 100;
    c.payment.capture_answer_timeout_s = 10;
    c.payment.max_capture_s = 120;
    c.cluster.nats = vec![nats.to_owned()];
    c.cluster.node = name.to_owned();
    let stack = Stack::start(&c, tracker, stop).await.expect("daemon parts");
    let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    sim.core().register_party(CAPTURE_DIAL, capture);
    Node { sim, stack }
}

/// `n` dialplan calls on `node`, each with its own customer and agent; their customer UUIDs.
async fn calls(node: &Node, n: usize) -> Vec<String> {
    let core = node.sim.core();
    let mut out = Vec::new();
    for i in 0..n {
        let dial = format!("user/agent{i}");
        core.register_party(&dial, Party::agent(&format!("agent{i}")));
        PaymentDialplan::new(node.stack.outbound_addr, &dial, Some(AGENT_ID))
            .socket_only(&format!("confpay{i}"))
            .install(core);
        let customer = Party::customer(&format!("customer{i}"));
        let cu = core
            .incoming_call(&customer, &format!("confpay{i}"), "Customer", "1001")
            .expect("call");
        out.push(cu);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let known = node.stack.engine.calls().await;
        let ready = out.iter().all(|cu| {
            known.iter().any(|c| {
                &c.customer == cu && c.customer_member.is_some() && c.agent_member.is_some()
            })
        });
        if ready {
            return out;
        }
        assert!(Instant::now() < deadline, "calls never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every front-door listing shows all `want` calls reachable.
async fn listed(front: SocketAddr, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let r = get(front, "/api/v1/calls", None).await.json();
        let n = r["calls"]
            .as_array()
            .map_or(0, |c| c.iter().filter(|c| c["reachable"] == true).count());
        if n >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the front door never listed {want} calls");
}

async fn until_state(front: SocketAddr, id: &str, state: &str) {
    let path = format!("/api/v1/sessions/{id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = get(front, &path, None).await;
        let v = r.json();
        if v["state"] == state {
            return;
        }
        assert!(v["state"] != "done", "session ended early: {}", r.body);
        assert!(Instant::now() < deadline, "{id} never {state}: {}", r.body);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `GET /api/v1/sessions/{id}` `n` times, one at a time: p50 and p99.
async fn latency(addr: SocketAddr, id: &str, n: usize) -> (Duration, Duration) {
    let path = format!("/api/v1/sessions/{id}");
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let r = get(addr, &path, None).await;
        samples.push(t0.elapsed());
        assert_eq!(r.status, 200, "{}", r.body);
    }
    samples.sort();
    (pct(&samples, 0.5), pct(&samples, 0.99))
}

async fn run_cluster(size: usize, nats: &str) {
    let (tracker, stop) = (TaskTracker::new(), CancellationToken::new());
    let mut nodes = Vec::new();
    for i in 0..size {
        nodes.push(start_node(&format!("n{i}"), nats, &tracker, &stop).await);
    }
    let per_node = knob("CONFPAY_BENCH_CALLS", 20);
    let rounds = knob("CONFPAY_BENCH_ROUNDS", 3);
    let mut work = Vec::new();
    for node in &nodes[1..] {
        for cu in calls(node, per_node).await {
            work.push((node.sim.core().clone(), cu));
        }
    }
    let front = nodes[0].stack.http_addr;
    listed(front, work.len()).await;

    if size == 2 {
        // One session on node 1, read through the front door (forwarded) and on node 1 (local).
        let owner = &nodes[1];
        let cu = &work[0].1;
        let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
        let r = post(owner.stack.http_addr, "/api/v1/sessions", None, &body).await;
        let id = r.json()["id"].as_str().expect("id").to_owned();
        until_state(front, &id, "ready").await;
        let n = knob("CONFPAY_BENCH_REQUESTS", 2000);
        latency(front, &id, 200).await;
        let (l50, l99) = latency(owner.stack.http_addr, &id, n).await;
        let (f50, f99) = latency(front, &id, n).await;
        println!("GET /api/v1/sessions/{{id}}, {n} sequential requests, new connection each:");
        println!(
            "  on the owner (local):        p50 {}  p99 {}",
            ms(l50),
            ms(l99)
        );
        println!(
            "  through the front (forwarded): p50 {}  p99 {}",
            ms(f50),
            ms(f99)
        );
        println!(
            "  added by forwarding:         p50 {}  p99 {}",
            ms(f50.saturating_sub(l50)),
            ms(f99.saturating_sub(l99))
        );
        let r = post(front, &format!("/api/v1/sessions/{id}/cancel"), None, "{}").await;
        assert_eq!(r.status, 202, "{}", r.body);
        until_state(front, &id, "done").await;
    }

    let t0 = Instant::now();
    let tasks: Vec<_> = work
        .into_iter()
        .map(|(core, cu)| {
            tokio::spawn(async move {
                let mut took = Vec::new();
                for _ in 0..rounds {
                    took.push(payment_on(front, &core, &cu).await);
                }
                took
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("payments"));
    }
    let wall = t0.elapsed();
    all.sort();
    let metrics = get(front, "/metrics", None).await.body;
    let forwarded = metrics
        .lines()
        .find(|l| l.starts_with("confpay_cluster_forwarded_total{result=\"answered\"}"))
        .unwrap_or("");
    println!(
        "{size} nodes: {} payments ({} calls on {} nodes behind the front door, {rounds} each, all at once) in {:.1} s = {:.1} payments/s; one payment p50 {} p99 {}; {forwarded}",
        all.len(),
        all.len() / rounds.max(1),
        size - 1,
        wall.as_secs_f64(),
        all.len() as f64 / wall.as_secs_f64(),
        ms(pct(&all, 0.5)),
        ms(pct(&all, 0.99)),
    );
    stop.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(10), tracker.wait()).await;
    for n in nodes {
        n.sim.shutdown();
    }
}

/// One ACA payment through the front door on call `cu`, whose switch is `core`; its duration.
async fn payment_on(front: SocketAddr, core: &confpay::sim::core::Core, cu: &str) -> Duration {
    let t0 = Instant::now();
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
    let r = post(front, "/api/v1/sessions", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    until_state(front, &id, "ready").await;
    let r = post(front, &format!("/api/v1/sessions/{id}/capture"), None, "{}").await;
    assert_eq!(r.status, 202, "{}", r.body);
    until_state(front, &id, "capturing").await;
    core.press(cu, CARD).expect("card");
    until_state(front, &id, "done").await;
    let done = get(front, &format!("/api/v1/sessions/{id}"), None)
        .await
        .json();
    assert_eq!(done["outcome"]["code"], "completed", "{done}");
    t0.elapsed()
}

struct NatsServer(Child);

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let Some(bin) = NATS.into_iter().find(|p| std::path::Path::new(p).exists()) else {
        println!("cluster bench: skipped: nats-server not installed (apt-get install nats-server)");
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let _nats = NatsServer(
        Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server"),
    );
    std::thread::sleep(Duration::from_millis(500));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let url = format!("nats://127.0.0.1:{port}");
    for size in [2, 4] {
        rt.block_on(run_cluster(size, &url));
    }
}
