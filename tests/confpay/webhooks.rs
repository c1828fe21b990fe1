//! Signed webhooks against a real HTTP receiver (`flow_harness::receiver`) on 127.0.0.1: a dead or
//! silent endpoint costs a payment nothing; notifications spooled while the receiver is down survive
//! a daemon restart and arrive once each, in order, signed, with no card digit in any body.

use crate::flow_harness::receiver::{Received, Receiver, SECRET, free_addr};
use crate::flow_harness::*;
use confpay::config::{Config, WebhookEndpoint};
use confpay::daemon::stack::Stack;
use confpay::pay::engine::Target;
use confpay::pay::{Outcome, State};
use confpay::secret::Secret;
use confpay::sim::party::Party;
use confpay::sim::{SimConfig, Simulator};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a wait in these tests may take.
const LIMIT: Duration = Duration::from_secs(10);
/// A payment in the simulator takes well under this; a POST waiting on the endpoint takes longer.
const PAYMENT_BUDGET: Duration = Duration::from_secs(5);

fn spool_dir() -> PathBuf {
    std::env::temp_dir().join(format!("confpay-hooks-{}", uuid::Uuid::new_v4()))
}

/// One endpoint at `url`, quick retries, the spool in `dir`.
fn with_hook(c: &mut Config, url: String, dir: &Path) {
    c.webhooks.spool_dir = dir.display().to_string();
    c.webhooks.timeout_ms = 1000;
    c.webhooks.retry_initial_ms = 50;
    c.webhooks.retry_max_ms = 300;
    c.webhooks.endpoints = vec![WebhookEndpoint {
        url,
        secret: Secret::new(SECRET),
        events: Vec::new(),
    }];
}

/// The notification files waiting in `dir` (one endpoint directory below it).
pub fn spooled(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(sub.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.file_name().to_string_lossy().ends_with(".json") {
                out.push(f.path());
            }
        }
    }
    out
}

/// The idempotency keys waiting in `dir` (files `<seq>-<key>.json`).
pub fn spooled_keys(dir: &Path) -> HashSet<String> {
    spooled(dir)
        .iter()
        .filter_map(|f| {
            f.file_stem()?
                .to_str()?
                .split_once('-')
                .map(|(_, k)| k.to_owned())
        })
        .collect()
}

/// Whether the outcome (`session.done`) is among the files waiting in `dir`.
pub fn outcome_spooled(dir: &Path) -> bool {
    spooled(dir)
        .iter()
        .any(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("\"type\":\"session.done\"")))
}

pub async fn eventually(what: &str, limit: Duration, f: impl Fn() -> bool) {
    crate::flow_harness::poll_until(what, limit, || std::future::ready(f().then_some(()))).await
}

/// A Keyphone payment on call `cu` of `engine`, the customer keying [`CARD`]; checks it
/// completes within [`PAYMENT_BUDGET`]. Returns the session id.
async fn pay(engine: &confpay::pay::engine::Engine, sim: &Simulator, cu: &str) -> String {
    let begun = Instant::now();
    let s = engine
        .start_payment(Target::Customer(cu.to_owned()), None)
        .await
        .expect("payment starts");
    reach_on(engine, &s.id, State::Ready).await;
    sim.core().press(cu, "1").expect("start key");
    reach_on(engine, &s.id, State::Capturing).await;
    sim.core().press(cu, CARD).expect("card");
    let done = reach_on(engine, &s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    let took = begun.elapsed();
    assert!(took < PAYMENT_BUDGET, "the payment took {took:?}");
    s.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_endpoint_never_delays_a_payment() {
    // Accepts connections (the kernel's backlog) and never answers: every POST hangs to its timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = Receiver::url(silent.local_addr().expect("addr"));
    let dir = spool_dir();
    let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    let w = World::start_with(
        |c| {
            with_hook(c, url, &dir);
            c.webhooks.timeout_ms = 30_000;
        },
        capture,
    )
    .await;
    let cu = w.dialplan_call().await;
    pay(&w.stack.engine, &w.sim, &cu).await;
    // Every change is spooled, waiting behind the first POST.
    eventually("the outcome spooled", LIMIT, || outcome_spooled(&dir)).await;
    assert!(spooled(&dir).len() >= 5, "{:?}", spooled(&dir));
    let metrics = w.stack.metrics.render(&Default::default());
    assert!(
        metrics.contains("confpay_webhooks_delivered_total 0\n"),
        "{metrics}"
    );
    w.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_drops_the_oldest_and_counts_it() {
    let dead = Receiver::url(free_addr().await);
    let dir = spool_dir();
    let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    let w = World::start_with(
        |c| {
            with_hook(c, dead, &dir);
            c.webhooks.spool_max = 2;
        },
        capture,
    )
    .await;
    let cu = w.dialplan_call().await;
    pay(&w.stack.engine, &w.sim, &cu).await;
    // A new notification is on disk before the oldest is dropped: wait for both.
    eventually("the outcome spooled and the spool trimmed", LIMIT, || {
        outcome_spooled(&dir) && spooled(&dir).len() <= 2
    })
    .await;
    // The newest two are kept: the last change before the end, and the end.
    let kept: Vec<String> = spooled(&dir)
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("spooled file"))
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept.iter()
            .any(|t| t.contains("\"type\":\"session.unwinding\"")),
        "{kept:?}"
    );
    let metrics = w.stack.metrics.render(&Default::default());
    let dropped: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("confpay_webhooks_dropped_total "))
        .and_then(|n| n.parse().ok())
        .expect("the dropped counter");
    assert!(dropped >= 3, "{metrics}");
    w.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a daemon on `cfg`; (stack, tracker, shutdown).
async fn daemon(cfg: &Config) -> (Stack, TaskTracker, CancellationToken) {
    let tracker = TaskTracker::new();
    let shutdown = CancellationToken::new();
    let stack = Stack::start(cfg, &tracker, &shutdown)
        .await
        .expect("daemon parts start");
    (stack, tracker, shutdown)
}

/// What SIGTERM does, waited for.
async fn stop(stack: Stack, tracker: TaskTracker, shutdown: CancellationToken) {
    shutdown.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_secs(10), tracker.wait())
        .await
        .expect("the daemon's tasks stop");
    drop(stack);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spooled_while_down_survives_a_restart_and_arrives_once_each() {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    let (customer, _agent) = parties(&sim, &capture);
    let addr: SocketAddr = free_addr().await;
    let dir = spool_dir();
    let mut cfg = config(sim.esl_addr());
    with_hook(&mut cfg, Receiver::url(addr), &dir);

    // The receiver is down (connection refused) for the whole payment and the restart.
    let (first, tracker, shutdown) = daemon(&cfg).await;
    install_dialplan(&sim, first.outbound_addr);
    let cu = sim
        .core()
        .incoming_call(&customer, "confpay", "Customer", "1001")
        .expect("call");
    let session = loop {
        let ready =
            first.engine.calls().await.into_iter().any(|c| {
                c.customer == cu && c.customer_member.is_some() && c.agent_member.is_some()
            });
        if ready {
            break pay(&first.engine, &sim, &cu).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eventually("the outcome spooled", LIMIT, || outcome_spooled(&dir)).await;
    stop(first, tracker, shutdown).await;
    let pending = spooled_keys(&dir);
    assert!(pending.len() >= 5, "{pending:?} spooled");

    let (second, tracker, shutdown) = daemon(&cfg).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let receiver = Receiver::start_on(addr).await;
    eventually("every spooled notification delivered", LIMIT, || {
        let got: HashSet<String> = receiver.received().into_iter().map(|r| r.key).collect();
        got.is_superset(&pending) && spooled(&dir).is_empty()
    })
    .await;
    // The second daemon rebuilt a session for the call it found in FreeSWITCH; that call's payment
    // was over (no capture leg, nobody on hold, no isolation left): the rebuilt session ends
    // without announcing a second outcome.
    poll_until("the rebuilt session ended", LIMIT, || async {
        let calls = second.engine.calls().await;
        let call = calls.into_iter().find(|c| c.customer == cu)?;
        let rebuilt = call.history.last()?;
        (rebuilt.id != session && rebuilt.state == State::Done).then_some(())
    })
    .await;
    // Nothing arrives twice, even given time to.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = receiver.received();
    let others: Vec<String> = got
        .iter()
        .filter(|r| r.json()["session"]["id"] != session.as_str())
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        others.is_empty(),
        "the rebuilt session announced: {others:#?}"
    );
    let paid = Paid {
        session: &session,
        call: &cu,
        agent_id: AGENT_ID,
        card: CARD,
    };
    paid.check(&got, &pending);
    let metrics = second.metrics.render(&Default::default());
    assert!(
        metrics.contains(&format!("confpay_webhooks_delivered_total {}\n", got.len())),
        "{metrics}"
    );
    stop(second, tracker, shutdown).await;
    sim.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The payment whose notifications a receiver got.
pub struct Paid<'a> {
    pub session: &'a str,
    pub call: &'a str,
    pub agent_id: &'a str,
    /// The card the customer keyed.
    pub card: &'a str,
}

impl Paid<'_> {
    /// `got` (all a receiver got): no key twice, every signature good, no card digit in any body;
    /// the payment's notifications are exactly the `pending` keys, in order, ending completed.
    pub fn check(&self, got: &[Received], pending: &HashSet<String>) {
        let bodies: Vec<String> = got
            .iter()
            .map(|r| format!("{} {}", r.key, String::from_utf8_lossy(&r.body)))
            .collect();
        let keys: HashSet<&str> = got.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys.len(), got.len(), "a key arrived twice: {bodies:#?}");
        for r in got {
            assert!(r.signature_ok(), "bad signature {:?}", r.signature);
            self.assert_no_card(&r.body);
        }
        let paid: Vec<&Received> = got
            .iter()
            .filter(|r| r.json()["session"]["id"] == self.session)
            .collect();
        assert_eq!(paid.len(), pending.len(), "{bodies:#?}");
        assert!(paid.iter().all(|r| pending.contains(&r.key)), "{bodies:#?}");
        self.in_order(&paid);
    }

    /// Keyed as their body says, in order (each starts where the one before ended), about this
    /// session and call, ending `done`/`completed`.
    fn in_order(&self, got: &[&Received]) {
        let mut previous: Option<String> = None;
        for r in got {
            let v = r.json();
            assert_eq!(v["id"], r.key.as_str());
            let s = &v["session"];
            assert_eq!(s["call"], self.call);
            assert_eq!(s["agent_id"], self.agent_id);
            let state = s["state"].as_str().unwrap_or("");
            assert_eq!(v["type"], format!("session.{state}"));
            if let Some(p) = &previous {
                assert_eq!(s["previous_state"], p.as_str(), "a change is missing: {v}");
            }
            previous = Some(state.to_owned());
        }
        let last = got.last().expect("notifications").json();
        assert_eq!(last["type"], "session.done");
        assert_eq!(last["session"]["outcome"], "completed");
        assert_eq!(last["session"]["method"], "keyphone");
        assert!(
            last["session"]["ended"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }

    /// PCI: no 8-digit window of the card (long enough that UUIDs and times cannot match).
    fn assert_no_card(&self, body: &[u8]) {
        let body = String::from_utf8_lossy(body);
        for i in 0..=self.card.len() - 8 {
            let w = &self.card[i..i + 8];
            assert!(!body.contains(w), "card digits {w} in a webhook: {body}");
        }
    }
}
