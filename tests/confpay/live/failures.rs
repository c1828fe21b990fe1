//! What goes wrong on a real switch, and what each party notices afterwards: the capture service
//! busy or never answering, either party hanging up (both agent-hangup policies), the agent
//! cancelling mid-capture, and two payments in a row on one call.

use super::parties::{self, CAPTURE_DIAL};
use super::world::World;
use std::time::Duration;

const SETUP: Duration = Duration::from_secs(20);

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn capture_service_busy() {
    let w = World::start(|s| s.capture_dial = format!("{CAPTURE_DIAL}_busy")).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "capture_unavailable", "{s}");
    assert!(
        s["outcome"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("USER_BUSY"),
        "{s}"
    );
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn capture_service_never_answers() {
    let w = World::start(|s| {
        s.capture_dial = format!("{CAPTURE_DIAL}_noanswer");
        s.capture_answer_timeout_s = 3;
    })
    .await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "dialling", SETUP).await;
    // On hold while the service rings: the customer hears music, not the agent.
    parties::does_not_hear(&w.sw, &agent, &call.phone, '3').await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "capture_unavailable", "{s}");
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn customer_hangs_up_mid_capture() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    call.phone.key(&w.sw, "4929").await;
    w.sw.ok(&format!("uuid_kill {}", call.phone.uuid)).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "customer_hung_up", "{s}");
    // The agent's and the capture service's legs go with the customer.
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn agent_hangs_up_before_capture_and_the_customer_is_hung_up() {
    let w = World::start(|s| s.on_agent_hangup = "hangup").await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    w.sw.ok(&format!("uuid_kill {}", agent.uuid)).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "agent_hung_up", "{s}");
    w.sw.until_idle(Duration::from_secs(10)).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn agent_hangs_up_mid_capture_the_customer_finishes_then_is_transferred() {
    let w = World::start(|s| {
        s.on_agent_hangup = "transfer";
        s.agent_hangup_transfer = "park XML default".into();
    })
    .await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    w.sw.ok(&format!("uuid_kill {}", agent.uuid)).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    w.check_capture(mark, &report, &agent);
    parties::until_some(SETUP, "the customer transferred to park", || async {
        (w.sw
            .var(&call.channel, "current_application")
            .await
            .as_deref()
            == Some("park"))
        .then_some(())
    })
    .await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn agent_cancels_mid_capture() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    let s = w.api.reach(&id, "capturing", SETUP).await;
    let capture = s["capture"].as_str().expect("capture leg").to_owned();
    call.phone.key(&w.sw, "4929").await;
    let r = w.api.cancel(&id).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "cancelled", "{s}");
    assert!(!w.sw.exists(&capture).await, "the capture leg is still up");
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn two_payments_in_a_row_on_a_socket_call() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    for _ in 0..2 {
        let id = w.api.pay("customer", &call.channel).await;
        w.pays(&call, &agent, &id).await;
    }
    w.finish(&call).await;
}
