//! Fault matrix: the daemon is killed (SIGKILL: its runtime dropped) in each state a
//! payment can be in — pinned there with a held command or a slow party — and a new daemon starts
//! against the same FreeSWITCH. It finds the call's conference by name and `confpay_role`, and
//! restores or resumes: agent and customer are never left apart (or the customer on hold) once no
//! capture leg is present, the agent never hears the customer while a capture leg is present, and
//! the customer is never hung up.
//!
//! A rebuilt session cannot know whether capture had started: with a capture leg present it isolates
//! and resumes as `Capturing` (the customer may finish; otherwise `payment.max_capture_s` ends it),
//! without one it restores and ends (`connection_lost`).

use crate::flow_harness::doomed::Doomed;
use crate::flow_harness::*;
use confpay::config::Config;
use confpay::daemon::stack::Stack;
use confpay::pay::engine::{Engine, Target};
use confpay::pay::session::SessionView;
use confpay::pay::{FailReason, Outcome, State};
use confpay::sim::esl::faults::Gate;
use confpay::sim::party::{AnswerMode, Party};
use confpay::sim::{SimConfig, Simulator};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A simulator with one dialplan call in its conference, and the first daemon.
struct Scene {
    sim: Simulator,
    customer: Party,
    agent: Party,
    capture: Party,
    cu: String,
    room: String,
    config: Config,
}

fn capture_party() -> Party {
    Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len())
}

async fn scene(capture: Party, tweak: impl FnOnce(&mut Config)) -> (Scene, Doomed) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let (customer, agent) = parties(&sim, &capture);
    let mut config = crate::flow_harness::config(sim.esl_addr());
    config.payment.max_capture_s = 3;
    tweak(&mut config);
    let first = Doomed::start(config.clone());
    install_dialplan(&sim, first.outbound);
    let cu = sim
        .core()
        .incoming_call(&customer, "confpay", "Customer", "1001")
        .expect("call");
    let room = poll("call in conference", || async {
        first.engine.calls().await.into_iter().find_map(|c| {
            (c.customer == cu && c.customer_member.is_some() && c.agent_member.is_some())
                .then_some(c.room)
        })
    })
    .await;
    let scene = Scene {
        sim,
        customer,
        agent,
        capture,
        cu,
        room,
        config,
    };
    (scene, first)
}

/// Polls `f` every 20 ms until it gives something, at most 10 s.
async fn poll<T, F, Fut>(what: &str, f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    crate::flow_harness::poll_until(what, Duration::from_secs(10), f).await
}

async fn start(engine: &Engine, cu: &str) -> SessionView {
    engine
        .start_payment(Target::Customer(cu.to_owned()), None)
        .await
        .expect("payment starts")
}

/// Waits until the held command arrived, kills the first daemon, then lets the command run (late:
/// FreeSWITCH carries it out though nobody is there for the reply).
async fn kill_while_held(first: Doomed, gate: &Gate) {
    tokio::time::timeout(Duration::from_secs(10), gate.reached())
        .await
        .expect("held command sent");
    first.kill();
    gate.release();
}

struct Second {
    stack: Stack,
    shutdown: CancellationToken,
}

impl Second {
    /// The second daemon; returns it with the session it rebuilt for the call.
    async fn start(s: &Scene) -> (Second, String) {
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let stack = Stack::start(&s.config, &tracker, &shutdown)
            .await
            .expect("second daemon starts");
        let call = stack
            .engine
            .calls()
            .await
            .into_iter()
            .find(|c| c.customer == s.cu)
            .expect("call recovered");
        let id = call
            .session
            .or_else(|| call.history.last().cloned())
            .expect("a session was rebuilt")
            .id;
        (Second { stack, shutdown }, id)
    }

    async fn done(&self, id: &str) -> SessionView {
        reach_on(&self.stack.engine, id, State::Done).await
    }

    fn stop(self) {
        self.shutdown.cancel();
    }
}

fn isolated(s: &Scene) -> bool {
    let h = s.sim.core().hearing();
    !h.hears("agent", "customer") && !h.hears("customer", "agent")
}

/// Agent and customer talk, the customer is off hold, no capture leg is left, nobody was hung up.
async fn restored(s: &Scene) {
    poll("agent and customer talking, capture leg gone", || async {
        let h = s.sim.core().hearing();
        let talking = h.hears("agent", "customer") && h.hears("customer", "agent");
        let gone = s.capture.channel().is_none() || s.capture.is_hung_up();
        (talking && gone && !h.hears_music("customer")).then_some(())
    })
    .await;
    assert!(!s.customer.is_hung_up(), "the customer was hung up");
    assert!(!s.agent.is_hung_up(), "the agent was hung up");
}

/// After the restart a capture leg is present: the rebuilt session isolates and resumes.
async fn resumed_isolated(s: &Scene, second: &Second, id: &str) {
    reach_on(&second.stack.engine, id, State::Capturing).await;
    // Apart, and off hold: on hold the customer would hear music instead of the capture service.
    poll("agent and customer apart, customer off hold", || async {
        (isolated(s) && !s.sim.core().hearing().hears_music("customer")).then_some(())
    })
    .await;
    assert!(!s.capture.is_hung_up());
}

/// The customer presses '1' and keys the card on the resumed session: it completes, all put back.
async fn customer_pays(s: &Scene, second: &Second, id: &str) {
    s.sim.core().press(&s.cu, "1").expect("start key");
    s.sim.core().press(&s.cu, CARD).expect("card");
    let done = second.done(id).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    restored(s).await;
}

fn lost() -> Option<Outcome> {
    Some(Outcome::Failed(FailReason::ConnectionLost))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_holding_the_customer() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let gate = s
        .sim
        .faults()
        .hold_next(&format!("bgapi conference {} hold ", s.room));
    start(&first.engine, &s.cu).await;
    kill_while_held(first, &gate).await;
    // The late hold went through: the customer hears music, nobody is there to lift it.
    poll("customer on hold", || async {
        s.sim.core().hearing().hears_music("customer").then_some(())
    })
    .await;
    let (second, id) = Second::start(&s).await;
    assert_eq!(second.done(&id).await.outcome, lost());
    restored(&s).await;
    assert!(s.capture.channel().is_none(), "nothing was dialled");
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_dialling_the_capture_service() {
    // The capture service answers after the restart: the originate outlives the daemon.
    let capture = capture_party().answering(AnswerMode::After(Duration::from_millis(1500)));
    let (s, first) = scene(capture, |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Dialling).await;
    // The originate reached FreeSWITCH (the capture leg rings) before the daemon dies.
    poll("capture leg ringing", || async {
        s.capture.channel().map(|_| ())
    })
    .await;
    first.kill();
    let (second, id) = Second::start(&s).await;
    assert_eq!(second.done(&id).await.outcome, lost());
    // The late capture leg joins a conference without a payment: it is hung up.
    poll("capture leg answered", || async {
        s.capture.is_answered().then_some(())
    })
    .await;
    restored(&s).await;
    assert!(s.capture.is_hung_up());
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_capture_service_answered() {
    let (s, first) = scene(capture_party(), |c| c.payment.agent_id_delay_ms = 2000).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Answered).await;
    // The answered leg joins the conference just after the originate returns: killed once it has.
    poll("capture leg in the conference", || async {
        let leg = s.capture.channel()?;
        let list = s
            .sim
            .core()
            .api("conference", &format!("{} list", s.room))
            .await;
        list.contains(&leg).then_some(())
    })
    .await;
    first.kill();
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    // Nobody sends the agent ID now: the capture limit ends it, then everything is put back.
    assert_eq!(
        second.done(&id).await.outcome,
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
    restored(&s).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_sending_the_agent_id() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let gate = s.sim.faults().hold_next("bgapi uuid_send_dtmf ");
    start(&first.engine, &s.cu).await;
    kill_while_held(first, &gate).await;
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    assert_eq!(
        second.done(&id).await.outcome,
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
    assert_eq!(
        s.capture.received(),
        format!("{AGENT_ID}#"),
        "late agent ID"
    );
    restored(&s).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_unholding_then_the_customer_pays() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let gate = s
        .sim
        .faults()
        .hold_next(&format!("bgapi conference {} unhold ", s.room));
    start(&first.engine, &s.cu).await;
    kill_while_held(first, &gate).await;
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    customer_pays(&s, &second, &id).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_ready_then_the_customer_pays() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Ready).await;
    first.kill();
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    customer_pays(&s, &second, &id).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_ready_and_nobody_pays() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Ready).await;
    first.kill();
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    assert_eq!(
        second.done(&id).await.outcome,
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
    restored(&s).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_arming() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Ready).await;
    let gate = s
        .sim
        .faults()
        .hold_next(&format!("bgapi conference {} relate ", s.room));
    s.sim.core().press(&s.cu, "1").expect("start key");
    reach_on(&first.engine, &v.id, State::Arming).await;
    kill_while_held(first, &gate).await;
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    s.sim.core().press(&s.cu, CARD).expect("card");
    let done = second.done(&id).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    restored(&s).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_capturing() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Ready).await;
    s.sim.core().press(&s.cu, "1").expect("start key");
    reach_on(&first.engine, &v.id, State::Capturing).await;
    first.kill();
    assert!(isolated(&s), "isolation outlives the daemon");
    let (second, id) = Second::start(&s).await;
    resumed_isolated(&s, &second, &id).await;
    s.sim.core().press(&s.cu, CARD).expect("card");
    let done = second.done(&id).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    restored(&s).await;
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_unwinding() {
    let (s, first) = scene(capture_party(), |_| {}).await;
    let v = start(&first.engine, &s.cu).await;
    reach_on(&first.engine, &v.id, State::Ready).await;
    s.sim.core().press(&s.cu, "1").expect("start key");
    let capturing = reach_on(&first.engine, &v.id, State::Capturing).await;
    let leg = capturing.capture.expect("capture leg");
    let gate = s.sim.faults().hold_next(&format!("bgapi uuid_kill {leg}"));
    first.engine.cancel(&v.id).await.expect("cancel");
    reach_on(&first.engine, &v.id, State::Unwinding).await;
    kill_while_held(first, &gate).await;
    // The late kill went through: the capture leg is gone, agent and customer still apart.
    poll("capture leg gone", || async {
        s.capture.is_hung_up().then_some(())
    })
    .await;
    assert!(isolated(&s));
    let (second, id) = Second::start(&s).await;
    assert_eq!(second.done(&id).await.outcome, lost());
    restored(&s).await;
    second.stop();
}
