//! Faults around a running payment: graceful shutdown (SIGTERM) mid-capture, FreeSWITCH restarting
//! mid-capture, and a whole payment over a connection that delivers frames in pieces.

use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::{FailReason, Outcome, State};
use std::time::Duration;

fn talking(w: &World) -> bool {
    let h = w.sim.core().hearing();
    h.hears("agent", "customer") && h.hears("customer", "agent")
}

#[tokio::test]
async fn sigterm_during_capture_lets_it_finish() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    w.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!talking(&w), "isolation must hold while the customer keys");
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert!(talking(&w));
    assert!(
        !w.customer.is_hung_up() && !w.agent.is_hung_up(),
        "shutdown drops no call"
    );
    w.stop().await;
}

#[tokio::test]
async fn sigterm_during_capture_restores_when_the_drain_limit_passes() {
    let w = World::start().await;
    let (_cu, id) = w.capturing().await;
    w.begin_shutdown();
    let done = w.reach(&id, State::Done).await;
    assert_eq!(done.outcome, Some(Outcome::Cancelled));
    assert!(w.capture.is_hung_up());
    assert!(talking(&w));
    assert!(
        !w.customer.is_hung_up() && !w.agent.is_hung_up(),
        "shutdown drops no call"
    );
    w.stop().await;
}

#[tokio::test]
async fn freeswitch_restarts_mid_capture() {
    let w = World::start().await;
    let (_cu, id) = w.capturing().await;
    // All calls are gone with the old FreeSWITCH; the session must end, not hang.
    w.sim.restart();
    let done = w.reach(&id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CustomerHungUp)),
        "{done:?}"
    );
    // The daemon is connected to the new FreeSWITCH and takes calls again.
    let cu = w.call("confpay");
    w.call_ready(&cu).await;
    w.stop().await;
}

/// A stopped FreeSWITCH hangs every channel up (SYSTEM_SHUTDOWN) before it goes, in no fixed order:
/// the capture leg's going must not read as the capture service finishing the payment.
#[tokio::test]
async fn freeswitch_stopped_mid_capture_is_no_completed_payment() {
    let w = World::start().await;
    let (_cu, id) = w.capturing().await;
    w.sim.restart_gracefully().await;
    let done = w.reach(&id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CustomerHungUp)),
        "{done:?}"
    );
    let cu = w.call("confpay");
    w.call_ready(&cu).await;
    w.stop().await;
}

/// A customer call reaching the socket while the daemon's inbound connection is not back yet (its
/// authentication held): the agent is dialled over the call's own socket, and the two talk.
#[tokio::test]
async fn a_call_arriving_while_the_inbound_connection_is_down_reaches_the_agent() {
    let w = World::start().await;
    let gate = w.sim.faults().hold_next("auth ");
    w.sim.faults().drop_connections();
    tokio::time::timeout(Duration::from_secs(10), gate.reached())
        .await
        .expect("the daemon reconnects (its auth held)");
    let cu = w.call("confpay");
    w.until("customer and agent talking", || async {
        talking(&w).then_some(())
    })
    .await;
    gate.release();
    // The member ids went by while the daemon was away: a payment reads them from the switch.
    let s = w
        .until("a payment accepted", || async {
            w.stack
                .engine
                .start_payment(Target::Customer(cu.clone()), None)
                .await
                .ok()
        })
        .await;
    w.reach(&s.id, State::Ready).await;
    w.sim.core().press(&cu, "1").expect("1");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    w.stop().await;
}

#[tokio::test]
async fn a_whole_payment_over_split_and_dripped_frames() {
    let w = World::start().await;
    w.sim.faults().split_frames(Some(Duration::from_millis(1)));
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    w.sim.faults().split_frames(None);
    w.sim.faults().slow_drip(Some(Duration::ZERO));
    w.sim.core().press(&cu, "1").expect("1");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    // Every frame of the unwinding arrives a byte at a time: slow on a loaded machine.
    let done = reach_within(&w.stack.engine, &s.id, State::Done, Duration::from_secs(40)).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    w.sim.faults().slow_drip(None);
    assert!(talking(&w));
    w.stop().await;
}
