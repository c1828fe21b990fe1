//! Attach: an ordinary bridged call (the shipped `11_confpay_attach.xml`, 8501, which exports
//! `confpay_agent_id` to both legs) taken over by confpayd, by each target a client can name.

use super::parties::AGENT_ID;
use super::world::World;

async fn attach_and_pay(kind: &str) {
    let w = World::start(|_| {}).await;
    let (call, agent_uuid, agent) = w.bridged_call().await;
    w.talking(&call.phone, &agent).await;
    let named = match kind {
        "customer" => call.channel.clone(),
        "agent" => agent_uuid.clone(),
        _ => AGENT_ID.to_owned(),
    };
    // The agent's leg named as the customer's is refused.
    let wrong = w.api.start("customer", &agent_uuid, None).await;
    assert_eq!(wrong.status, 409, "{}", wrong.body);
    assert_eq!(wrong.error_code(), "wrong_leg", "{}", wrong.body);
    let id = w.api.pay(kind, &named).await;
    let s = w.api.session(&id).await;
    assert_eq!(s["customer"], call.channel.as_str(), "roles: {s}");
    assert_eq!(s["agent"], agent_uuid.as_str(), "roles: {s}");
    assert_eq!(s["agent_id"], AGENT_ID, "{s}");
    w.pays(&call, &agent, &id).await;
    // A second payment on the same (now conference) call.
    let id = w.api.pay(kind, &named).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn attach_by_customer_uuid() {
    attach_and_pay("customer").await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn attach_by_agent_uuid() {
    attach_and_pay("agent").await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn attach_by_agent_id() {
    attach_and_pay("agent_id").await;
}
