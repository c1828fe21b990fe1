//! DTMF reaches the daemon only for channels it controls: the inbound connection's event filters
//! (FreeSWITCH's `filter`, as the simulator implements it over the wire) pass DTMF of the legs of
//! the engine's calls alone, and are back after the connection is lost and re-established. An
//! unrelated call on the same switch (an IVR taking a PIN) pressing digits must never show up at
//! the daemon's event handler, while the controlled call's start key and agent ID still work.

use crate::flow_harness::{
    AGENT_DIAL, AGENT_ID, CARD, config, install_dialplan, parties, reach_on,
};
use confpay::daemon::stack::{AfterEngine, EventTap, StackBuilder};
use confpay::esl::Event;
use confpay::pay::State;
use confpay::pay::engine::Target;
use confpay::sim::core::Extension;
use confpay::sim::party::Party;
use confpay::sim::{PaymentDialplan, SimConfig, Simulator};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The channels of the DTMF events the engine was handed, in order (digits are not kept).
#[derive(Default)]
struct DtmfChannels(Mutex<Vec<String>>);

impl DtmfChannels {
    fn seen(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl EventTap for DtmfChannels {
    fn seen(&self, event: &Event, _at: std::time::Instant) -> Option<AfterEngine> {
        if event.name() == Some("DTMF") {
            let uuid = event.unique_id().unwrap_or("").to_owned();
            self.0.lock().unwrap().push(uuid);
        }
        None
    }
}

struct Scene {
    sim: Simulator,
    stack: confpay::daemon::stack::Stack,
    dtmf: Arc<DtmfChannels>,
    agent: Party,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

impl Scene {
    async fn start(capture_expects: &str) -> Scene {
        let sim = Simulator::start(SimConfig::default())
            .await
            .expect("simulator");
        let dtmf = Arc::new(DtmfChannels::default());
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let stack = StackBuilder::fixed(&config(sim.esl_addr()))
            .event_tap(dtmf.clone())
            .start(&tracker, &shutdown)
            .await
            .expect("daemon parts start");
        install_dialplan(&sim, stack.outbound_addr);
        // An unrelated service on the same switch: answers and waits for a PIN.
        sim.core()
            .set_extension(Extension::new("ivr", &[("answer", ""), ("park", "")]));
        let capture = Party::capture("capture", capture_expects, CARD.len());
        let (_customer, agent) = parties(&sim, &capture);
        Scene {
            sim,
            stack,
            dtmf,
            agent,
            tracker,
            shutdown,
        }
    }

    /// A caller of the IVR, answered and parked; returns its channel.
    async fn stranger(&self) -> String {
        let uuid = self
            .sim
            .core()
            .incoming_call(&Party::customer("stranger"), "ivr", "Stranger", "1999")
            .expect("ivr call");
        self.until("ivr answered", || {
            (self.sim.core().current_app(&uuid).as_deref() == Some("park")).then_some(())
        })
        .await;
        uuid
    }

    async fn until<T>(&self, what: &str, f: impl Fn() -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(t) = f() {
                return t;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn until_async<T, F, Fut>(&self, what: &str, f: F) -> T
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        crate::flow_harness::poll_until(what, Duration::from_secs(10), f).await
    }

    /// An attach-mode call (plain bridge, no outbound socket) with a payment `Ready`; returns the
    /// customer's channel and the session id.
    async fn attached_and_ready(&self) -> (String, String) {
        let customer = Party::customer("customer");
        let cu = self
            .sim
            .core()
            .incoming_call(&customer, "attach", "Customer", "1001")
            .expect("customer call");
        self.until("bridge", || {
            let h = self.sim.core().hearing();
            (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
        })
        .await;
        let s = self
            .stack
            .engine
            .start_payment(Target::Customer(cu.clone()), None)
            .await
            .expect("attach");
        reach_on(&self.stack.engine, &s.id, State::Ready).await;
        (cu, s.id)
    }

    /// Presses `digits` on `stranger`, then the start key on the controlled `customer`; once the
    /// engine has the customer's key (FreeSWITCH delivers in order) no stranger digit may have come.
    async fn stranger_then_start_key(&self, stranger: &str, customer: &str, session: &str) {
        let before = self.dtmf.seen().len();
        self.sim.core().press(stranger, "2468").expect("pin");
        self.sim.core().press(customer, "1").expect("start key");
        reach_on(&self.stack.engine, session, State::Capturing).await;
        let seen = self.dtmf.seen()[before..].to_vec();
        assert!(
            seen.iter().any(|u| u == customer),
            "the controlled customer's key reached the engine: {seen:?}"
        );
        assert!(
            !seen.iter().any(|u| u == stranger),
            "DTMF of a channel the daemon does not control reached it: {seen:?}"
        );
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.tracker.wait()).await;
        self.sim.shutdown();
    }
}

#[tokio::test]
async fn an_unrelated_calls_digits_never_reach_the_daemon() {
    let s = Scene::start(&format!("{AGENT_ID}#")).await;
    let stranger = s.stranger().await;
    // Before the daemon controls any call: nothing at all.
    s.sim.core().press(&stranger, "1357").expect("pin");
    let (cu, id) = s.attached_and_ready().await;
    s.stranger_then_start_key(&stranger, &cu, &id).await;
    s.sim.core().press(&cu, CARD).expect("card");
    reach_on(&s.stack.engine, &id, State::Done).await;
    let seen = s.dtmf.seen();
    assert!(!seen.contains(&stranger), "{seen:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_agent_keys_the_agent_id_on_a_controlled_call() {
    let s = Scene::start("99#").await;
    PaymentDialplan::new(s.stack.outbound_addr, AGENT_DIAL, None)
        .socket_only("confpay-noid")
        .install(s.sim.core());
    let stranger = s.stranger().await;
    let cu = s
        .sim
        .core()
        .incoming_call(&Party::customer("customer"), "confpay-noid", "C", "1001")
        .expect("customer call");
    let call = s.until("agent dialled", || s.agent.channel()).await;
    s.until_async("both legs in the conference", || async {
        s.stack
            .engine
            .calls()
            .await
            .into_iter()
            .find(|c| c.customer == cu && c.customer_member.is_some() && c.agent_member.is_some())
    })
    .await;
    let session = s
        .until_async("a payment accepted", || async {
            s.stack
                .engine
                .start_payment(Target::Customer(cu.clone()), None)
                .await
                .ok()
        })
        .await;
    reach_on(&s.stack.engine, &session.id, State::AwaitingAgentId).await;
    s.sim.core().press(&stranger, "0000").expect("pin");
    s.sim.core().press(&call, "99#").expect("agent keys");
    let ready = reach_on(&s.stack.engine, &session.id, State::Ready).await;
    assert_eq!(ready.agent_id.as_deref(), Some("99"));
    let seen = s.dtmf.seen();
    assert!(seen.contains(&call), "the agent's keys came: {seen:?}");
    assert!(!seen.contains(&stranger), "{seen:?}");
    s.stop().await;
}

#[tokio::test]
async fn the_filters_are_back_after_a_reconnect() {
    let s = Scene::start(&format!("{AGENT_ID}#")).await;
    let stranger = s.stranger().await;
    let (cu, id) = s.attached_and_ready().await;
    let reconnects = s.stack.metrics.clone();
    let before = reconnects.render(&confpay::metrics::Gauges::default());
    s.sim.faults().drop_connections();
    s.until("the daemon reconnected", || {
        (s.stack.client.is_connected()
            && reconnects.render(&confpay::metrics::Gauges::default()) != before)
            .then_some(())
    })
    .await;
    // A payment waiting for the start key does not survive a lost connection; the call stays
    // known, so its legs' filters must be back for the next payment.
    reach_on(&s.stack.engine, &id, State::Done).await;
    let again = s
        .until_async("a payment on the same call", || async {
            s.stack
                .engine
                .start_payment(Target::Customer(cu.clone()), None)
                .await
                .ok()
        })
        .await;
    reach_on(&s.stack.engine, &again.id, State::Ready).await;
    let id = again.id;
    s.stranger_then_start_key(&stranger, &cu, &id).await;
    s.stop().await;
}
