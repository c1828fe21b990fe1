//! Readers of the API never wait for FreeSWITCH: while a payment start waits for it (here a member
//! list the simulator holds unanswered), `GET /api/v1/calls` and `/metrics` still answer over the
//! wire, from the published call table.

use crate::flow_harness::*;
use crate::http_harness::client::get;
use confpay::pay::engine::Target;
use std::time::Duration;

#[tokio::test]
async fn the_api_answers_while_the_engine_waits_for_the_switch() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    let faults = w.sim.faults();
    let gate = faults.hold_next(&format!("bgapi conference confpay-{cu} json_list"));
    let engine = w.stack.engine.clone();
    let target = Target::Customer(cu.clone());
    let start = tokio::spawn(async move { engine.start_payment(target, None).await });
    tokio::time::timeout(Duration::from_secs(10), gate.reached())
        .await
        .expect("the engine asked for the member list");

    let addr = w.stack.http_addr;
    let calls = tokio::time::timeout(Duration::from_secs(2), get(addr, "/api/v1/calls", None))
        .await
        .expect("the call list is answered while the engine waits");
    assert_eq!(calls.status, 200, "{}", calls.body);
    assert!(calls.body.contains(&cu), "{}", calls.body);
    let metrics = tokio::time::timeout(Duration::from_secs(2), get(addr, "/metrics", None))
        .await
        .expect("/metrics is answered while the engine waits");
    assert_eq!(metrics.status, 200);

    gate.release();
    let started = start
        .await
        .expect("task")
        .expect("payment starts once answered");
    w.reach(&started.id, confpay::pay::State::Ready).await;
    w.stop().await;
}
