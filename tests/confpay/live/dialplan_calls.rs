//! Calls handed to confpayd by the shipped socket extension (`10_confpay_socket.xml`, 8500): each
//! start method, the phone feature code, and the agent keying the agent ID.

use super::parties::{self, AGENT_DIAL, AGENT_ID};
use super::world::World;
use std::time::Duration;

const SETUP: Duration = Duration::from_secs(20);

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn keyphone_payment_on_a_socket_call() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    w.talking(&call.phone, &agent).await;

    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    w.talking(&call.phone, &agent).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    w.isolated(&call.phone, &agent).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    assert_eq!(s["method"], "keyphone", "{s}");
    w.check_capture(mark, &report, &agent);
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn aca_payment_on_a_socket_call() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    let mark = w.sw.mark();
    let r = w.api.capture(&id).await;
    assert_eq!(r.status, 202, "{}", r.body);
    w.api.reach(&id, "capturing", SETUP).await;
    w.isolated(&call.phone, &agent).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    assert_eq!(s["method"], "aca", "{s}");
    w.check_capture(mark, &report, &agent);
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn the_agent_starts_a_payment_with_the_phone_feature_code() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (agent_uuid, agent) = w.agent_of(&call).await;
    w.talking(&call.phone, &agent).await;
    agent.key(&w.sw, "*9").await;
    let id = parties::until_some(SETUP, "a payment started by *9", || async {
        let c = w.api.call(&call.channel, SETUP).await;
        c["session"]["id"].as_str().map(str::to_owned)
    })
    .await;
    let s = w.api.session(&id).await;
    assert_eq!(s["agent"], agent_uuid.as_str(), "{s}");
    assert_eq!(s["agent_id"], AGENT_ID, "{s}");
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn the_agent_keys_the_agent_id_on_the_phone() {
    let w = World::start(|_| {}).await;
    // Routed without an agent ID: the agent keys it when the payment starts.
    let call = parties::call(&w.sw, "8500", &[("confpay_agent_dial", AGENT_DIAL)]).await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "awaiting_agent_id", SETUP).await;
    agent.key(&w.sw, &format!("{AGENT_ID}#")).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}
