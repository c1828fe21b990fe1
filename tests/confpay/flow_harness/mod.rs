//! A world for flow tests: the simulator (a stand-in FreeSWITCH on 127.0.0.1:0) and the daemon's
//! working parts ([`confpay::daemon::stack::Stack`]) connected to it over real TCP, with the dialplan
//! of `freeswitch-dialplan/` (socket extension, attach bridge) and scripted parties.

pub mod cmd_case;
pub mod doomed;
pub mod hundred;
pub mod outcome;
pub mod panics;
pub mod receiver;

use confpay::config::Config;
use confpay::daemon::stack::Stack;
use confpay::pay::State;
use confpay::pay::engine::{CallView, Engine, Target};
use confpay::pay::session::SessionView;
use confpay::sim::PaymentDialplan;
use confpay::sim::party::Party;
use confpay::sim::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub const AGENT_ID: &str = "4711";
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
pub const AGENT_DIAL: &str = "user/agent";
pub const CARD: &str = "4111111111111111";

pub struct World {
    pub sim: Simulator,
    pub stack: Stack,
    pub customer: Party,
    pub agent: Party,
    pub capture: Party,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// Polls `f` every 20 ms until it gives something; fails the test after `limit`.
pub async fn poll_until<T, F, Fut>(what: &str, limit: Duration, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most 10 s) until session `id` of `engine` reaches `state`; a session that ends
/// elsewhere first fails the test at once. Returns its view.
pub async fn reach_on(engine: &Engine, id: &str, state: State) -> SessionView {
    reach_within(engine, id, state, Duration::from_secs(10)).await
}

/// [`reach_on`] with another limit: for a switch slowed down on purpose.
pub async fn reach_within(engine: &Engine, id: &str, state: State, limit: Duration) -> SessionView {
    let mut w = engine.watch(id).await.expect("session known");
    let seen = tokio::time::timeout(
        limit,
        w.wait_for(|v| v.state == state || v.state == State::Done),
    )
    .await
    .map(|r| r.map(|v| v.clone()));
    let v = match seen {
        Ok(v) => v.expect("session alive"),
        Err(_) => panic!("session {id} never reached {state:?}: {:?}", w.borrow()),
    };
    assert_eq!(v.state, state, "session ended early: {:?}", v.outcome);
    v
}

/// Quick timings for tests.
pub fn config(esl: SocketAddr) -> Config {
    let mut c = Config::default();
    c.esl.address = esl.to_string();
    c.outbound.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.payment.agent_id_delay_ms = 100;
    c.payment.capture_answer_timeout_s = 2;
    c.payment.max_capture_s = 20;
    c.payment.agent_id_entry_timeout_s = 3;
    c
}

/// The extensions of `freeswitch-dialplan/` with the test's addresses.
pub fn install_dialplan(sim: &Simulator, outbound: SocketAddr) {
    PaymentDialplan::new(outbound, AGENT_DIAL, Some(AGENT_ID)).install(sim.core());
}

/// The customer and agent parties; `capture` registered as the capture service.
pub fn parties(sim: &Simulator, capture: &Party) -> (Party, Party) {
    let customer = Party::customer("customer");
    let agent = Party::agent("agent");
    sim.core().register_party(AGENT_DIAL, agent.clone());
    sim.core().register_party(CAPTURE_DIAL, capture.clone());
    (customer, agent)
}

impl World {
    pub async fn start() -> World {
        World::start_with(
            |_| {},
            Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len()),
        )
        .await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config), capture: Party) -> World {
        let sim = Simulator::start(SimConfig::default())
            .await
            .expect("simulator");
        let mut cfg = config(sim.esl_addr());
        tweak(&mut cfg);
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let stack = Stack::start(&cfg, &tracker, &shutdown)
            .await
            .expect("daemon parts start");
        install_dialplan(&sim, stack.outbound_addr);
        let (customer, agent) = parties(&sim, &capture);
        World {
            sim,
            stack,
            customer,
            agent,
            capture,
            tracker,
            shutdown,
        }
    }

    /// The customer calls `destination`; returns the customer channel's uuid.
    pub fn call(&self, destination: &str) -> String {
        self.sim
            .core()
            .incoming_call(&self.customer, destination, "Customer", "1001")
            .expect("incoming call")
    }

    /// Waits until the engine knows the call and both legs are in its conference.
    pub async fn call_ready(&self, customer: &str) -> CallView {
        self.until("call in conference", || async {
            self.stack.engine.calls().await.into_iter().find(|c| {
                c.customer == customer && c.customer_member.is_some() && c.agent_member.is_some()
            })
        })
        .await
    }

    /// A dialplan-driven call with customer and agent talking in the conference.
    pub async fn dialplan_call(&self) -> String {
        let cu = self.call("confpay");
        self.call_ready(&cu).await;
        cu
    }

    pub async fn start_payment(&self, target: Target) -> SessionView {
        self.stack
            .engine
            .start_payment(target, None)
            .await
            .expect("payment starts")
    }

    /// Waits until session `id` reaches `state`; returns its view.
    pub async fn reach(&self, id: &str, state: State) -> SessionView {
        reach_on(&self.stack.engine, id, state).await
    }

    /// Waits for `f` to give something (polling), at most 10 s.
    pub async fn until<T, F, Fut>(&self, what: &str, f: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        poll_until(what, Duration::from_secs(10), f).await
    }

    pub fn channel_of(&self, party: &Party) -> String {
        party.channel().expect("party has a channel")
    }

    /// A dialplan-driven call with a Keyphone payment in `Capturing`: (customer uuid, session id).
    pub async fn capturing(&self) -> (String, String) {
        let cu = self.dialplan_call().await;
        let s = self.start_payment(Target::Customer(cu.clone())).await;
        self.reach(&s.id, State::Ready).await;
        self.sim.core().press(&cu, "1").expect("start key");
        self.reach(&s.id, State::Capturing).await;
        (cu, s.id)
    }

    /// What SIGTERM does to the daemon's parts: the shutdown token is cancelled.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.tracker.wait()).await;
        self.sim.shutdown();
    }
}
