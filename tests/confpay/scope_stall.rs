//! The engine never waits for a `filter` reply: the replies travel on the event connection, whose
//! events only the engine's task reads, so waiting there could wait behind those very events (in a
//! 5,000-call load run: 22 stalls of the whole engine, 5 s each). Here FreeSWITCH holds the filter
//! that follows a new call's legs unanswered (and, like FreeSWITCH's listener, writes nothing else
//! on that connection meanwhile); a payment on another call is still started at once, and every
//! payment reaches `Ready` once the switch answers, the new call's only after its legs are followed.

use crate::flow_harness::*;
use confpay::pay::State;
use confpay::pay::engine::Target;
use std::time::Duration;

#[tokio::test]
async fn a_held_filter_reply_stalls_no_other_call() {
    let w = World::start().await;
    let first = w.dialplan_call().await;
    // The next `filter Unique-ID`s: the new call's outbound session asks for its own channel's
    // events (let through), then the engine follows the new customer leg on the event connection.
    let faults = w.sim.faults();
    let (session, gate) = (
        faults.hold_next("filter Unique-ID"),
        faults.hold_next("filter Unique-ID"),
    );
    let second = w.call("confpay");
    tokio::time::timeout(Duration::from_secs(10), session.reached())
        .await
        .expect("the outbound session filters on its channel");
    session.release();
    tokio::time::timeout(Duration::from_secs(10), gate.reached())
        .await
        .expect("the new call's legs are asked for");

    let started = tokio::time::timeout(
        Duration::from_secs(2),
        w.stack
            .engine
            .start_payment(Target::Customer(first.clone()), None),
    )
    .await
    .expect("a payment on another call starts while the filter reply is held")
    .expect("payment accepted");
    let calls = tokio::time::timeout(Duration::from_secs(1), w.stack.engine.settled()).await;
    assert!(calls.is_ok(), "the engine handles its messages meanwhile");

    gate.release();
    w.reach(&started.id, State::Ready).await;
    w.call_ready(&second).await;
    let next = w.start_payment(Target::Customer(second.clone())).await;
    w.reach(&next.id, State::Ready).await;
    // The start key is DTMF of its customer leg: it arrives only if that leg is followed.
    w.sim.core().press(&second, "1").expect("start key");
    w.reach(&next.id, State::Capturing).await;
    w.stop().await;
}
