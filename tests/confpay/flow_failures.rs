//! Every failure path of a payment against the simulator, each with its asserted outcome: the
//! customer's call is never dropped by the daemon's own fault, agent↔customer audio is restored whenever
//! no capture leg is present, and no capture leg is left behind.

use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::{FailReason, Outcome, State};
use confpay::sim::party::{AnswerMode, Party};
use std::time::Duration;

fn capture_party() -> Party {
    Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len())
}

fn assert_talking(w: &World) {
    let h = w.sim.core().hearing();
    assert!(
        h.hears("agent", "customer") && h.hears("customer", "agent"),
        "agent and customer cannot hear each other: {h:?}"
    );
    assert!(!h.hears_music("customer"), "customer still on hold: {h:?}");
}

fn no_capture_leg(w: &World) {
    assert!(
        w.capture.channel().is_none() || w.capture.is_hung_up(),
        "a capture leg was left up"
    );
}

async fn failed_at_setup(answer: AnswerMode, cause: &str) {
    let w = World::start_with(|_| {}, capture_party().answering(answer)).await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu)).await;
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CaptureUnavailable {
            cause: cause.into()
        }))
    );
    assert_talking(&w);
    no_capture_leg(&w);
    w.stop().await;
}

#[tokio::test]
async fn capture_service_busy() {
    failed_at_setup(AnswerMode::Busy, "USER_BUSY").await;
}

#[tokio::test]
async fn capture_service_rejects() {
    failed_at_setup(AnswerMode::Reject, "CALL_REJECTED").await;
}

#[tokio::test]
async fn capture_service_never_answers() {
    failed_at_setup(AnswerMode::Never, "NO_ANSWER").await;
}

#[tokio::test]
async fn capture_service_hangs_up_before_start() {
    let w = World::start_with(
        |_| {},
        capture_party().hanging_up_after(Duration::from_millis(600)),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu)).await;
    w.reach(&s.id, State::Ready).await;
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CaptureLeftEarly))
    );
    assert_talking(&w);
    w.stop().await;
}

#[tokio::test]
async fn cancel_while_ready_and_while_capturing() {
    for capturing in [false, true] {
        let w = World::start().await;
        let cu = w.dialplan_call().await;
        let s = w.start_payment(Target::Customer(cu.clone())).await;
        w.reach(&s.id, State::Ready).await;
        if capturing {
            w.sim.core().press(&cu, "1").expect("1");
            w.reach(&s.id, State::Capturing).await;
            w.sim.core().press(&cu, "4111").expect("some digits");
        }
        w.stack.engine.cancel(&s.id).await.expect("cancel");
        let done = w.reach(&s.id, State::Done).await;
        assert_eq!(done.outcome, Some(Outcome::Cancelled));
        assert!(w.capture.is_hung_up());
        assert_talking(&w);
        w.stop().await;
    }
}

#[tokio::test]
async fn customer_hangs_up_while_capturing() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    w.sim
        .core()
        .hangup(&cu, "NORMAL_CLEARING")
        .expect("customer hangs up");
    let done = w.reach(&id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CustomerHungUp))
    );
    w.until("capture leg torn down", || async {
        w.capture.is_hung_up().then_some(())
    })
    .await;
    w.stop().await;
}

#[tokio::test]
async fn customer_hangs_up_while_the_capture_service_is_dialled() {
    let w = World::start_with(
        |_| {},
        capture_party().answering(AnswerMode::After(Duration::from_millis(800))),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Dialling).await;
    w.sim
        .core()
        .hangup(&cu, "NORMAL_CLEARING")
        .expect("customer hangs up");
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CustomerHungUp))
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    no_capture_leg(&w);
    w.stop().await;
}

#[tokio::test]
async fn agent_hangs_up_during_capture_customer_finishes_then_is_hung_up() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    let agent = w.channel_of(&w.agent);
    w.sim
        .core()
        .hangup(&agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !w.customer.is_hung_up(),
        "the customer must be able to finish keying"
    );
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    w.until("customer hung up by policy", || async {
        w.customer.is_hung_up().then_some(())
    })
    .await;
    w.stop().await;
}

#[tokio::test]
async fn agent_hangs_up_before_capture_customer_is_transferred() {
    let w = World::start_with(
        |c| {
            c.payment.on_agent_hangup = confpay::config::OnAgentHangup::Transfer;
            c.payment.agent_hangup_transfer = "park XML default".into();
        },
        capture_party(),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    let agent = w.channel_of(&w.agent);
    w.sim
        .core()
        .hangup(&agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(done.outcome, Some(Outcome::Failed(FailReason::AgentHungUp)));
    assert!(w.capture.is_hung_up());
    w.until("customer parked", || async {
        (w.sim.core().current_app(&cu).as_deref() == Some("park")).then_some(())
    })
    .await;
    assert!(!w.customer.is_hung_up());
    w.stop().await;
}

#[tokio::test]
async fn capture_runs_past_its_maximum() {
    let w = World::start_with(|c| c.payment.max_capture_s = 1, capture_party()).await;
    let (_cu, id) = w.capturing().await;
    let done = w.reach(&id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CaptureTimeout))
    );
    assert!(w.capture.is_hung_up());
    assert_talking(&w);
    w.stop().await;
}

#[tokio::test]
async fn refused_isolation_never_starts_capture() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    w.sim.faults().fail_next(
        &format!("bgapi conference confpay-{cu} relate"),
        "-ERR relationship not found.\n",
    );
    w.stack.engine.start_capture(&s.id).await.expect("start");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(
            done.outcome,
            Some(Outcome::Failed(FailReason::CommandFailed { .. }))
        ),
        "{done:?}"
    );
    // '1' was never sent: the capture service is still waiting for it.
    assert_eq!(w.capture.received(), format!("{AGENT_ID}#"));
    assert!(w.capture.is_hung_up());
    assert_talking(&w);
    w.stop().await;
}

#[tokio::test]
async fn esl_connection_drops_mid_capture_and_the_session_goes_on() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    w.sim.faults().drop_connections();
    w.reach(&id, State::Suspended).await;
    // Back: FreeSWITCH still has the capture leg, so the session resumes (re-isolated).
    w.reach(&id, State::Capturing).await;
    let h = w.sim.core().hearing();
    assert!(
        !h.hears("agent", "customer") && !h.hears("customer", "agent"),
        "{h:?}"
    );
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert_talking(&w);
    w.stop().await;
}

#[tokio::test]
async fn esl_connection_drops_and_the_capture_leg_left_meanwhile() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    w.sim.faults().drop_connections();
    // The capture service finishes while the daemon is disconnected.
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert_talking(&w);
    w.stop().await;
}
