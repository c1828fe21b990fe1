//! Per-agent tokens on the real switch: with an admin token and a platform secret configured, a
//! token the platform signed for one agent lists and starts payments only on calls FreeSWITCH says
//! carry that agent's ID; the other agent's call is 403 and left as it is; the agent's own payment
//! runs to the end. The agent's call carries the caller's name and number as the switch lists them.

use super::api::Api;
use super::parties::AGENT_ID;
use super::world::World;
use crate::http_harness::client::{get, post};
use confpay::http::agent_token::{AgentClaims, mint};
use confpay::secret::Secret;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SETUP: Duration = Duration::from_secs(20);
const ADMIN: &str = "live-admin-token";
const PLATFORM_SECRET: &str = "live-platform-secret-shared-with-confpayd";
const OTHER_AGENT: &str = "42";

fn agent_token(agent_id: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let claims = AgentClaims {
        agent_id: agent_id.to_owned(),
        exp: now + 300,
        iat: Some(now),
    };
    mint(&claims, &Secret::new(PLATFORM_SECRET))
}

fn start_body(kind: &str, id: &str) -> String {
    format!(r#"{{"target": {{"type": "{kind}", "id": "{id}"}}}}"#)
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn an_agent_token_reaches_only_that_agents_call() {
    let w = World::start(|s| {
        s.admin_token = Some(ADMIN.to_owned());
        s.agent_token_secret = Some(PLATFORM_SECRET.to_owned());
    })
    .await;
    let mine = w.socket_call().await;
    let theirs = w.socket_call_for(OTHER_AGENT).await;
    let (_, agent) = w.agent_of(&mine).await;
    w.api.call(&theirs.channel, SETUP).await;
    let token = agent_token(AGENT_ID);
    let me = Api::new(w.api.addr, Some(&token));

    let listed: Vec<String> = me.calls().await["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["customer"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(listed, vec![mine.channel.clone()]);
    // The agent page's caller: name and number as the switch lists the customer's channel
    // (`show channels`: cid_name / cid_num), and the talking time since the agent answered.
    // (The talking time appears once the agent's originate has answered: its job result may come
    // after the agent joined the conference.)
    let mut call = me.calls().await["calls"][0].clone();
    for _ in 0..50 {
        if call["talking_ms"].is_u64() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        call = me.calls().await["calls"][0].clone();
    }
    let channels: serde_json::Value =
        serde_json::from_str(w.sw.api("show channels as json").await.trim()).expect("json");
    let row = channels["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["uuid"] == mine.channel.as_str())
        .expect("customer channel listed")
        .clone();
    let listed = |k: &str| row[k].as_str().filter(|v| !v.is_empty()).map(str::to_owned);
    assert_eq!(
        call["caller_number"].as_str().map(str::to_owned),
        listed("cid_num"),
        "{call} vs {row}"
    );
    // An empty caller name is no name (null).
    assert_eq!(
        call["caller_name"].as_str().map(str::to_owned),
        listed("cid_name"),
        "{call} vs {row}"
    );
    assert!(call["talking_ms"].as_u64().is_some(), "{call}");
    let no_token = get(w.api.addr, "/api/v1/calls", None).await;
    assert_eq!(no_token.status, 401, "{}", no_token.body);

    for body in [
        start_body("customer", &theirs.channel),
        start_body("agent_id", OTHER_AGENT),
    ] {
        let r = post(me.addr, "/api/v1/sessions", Some(&token), &body).await;
        assert_eq!(r.status, 403, "{body}: {}", r.body);
    }
    let untouched = w.api.call(&theirs.channel, SETUP).await;
    assert!(untouched["session"].is_null(), "{untouched}");

    // The agent's own payment, started and followed with the agent's token.
    let id = me.pay("customer", &mine.channel).await;
    let session = me.session(&id).await;
    assert_eq!(session["agent_id"], AGENT_ID, "{session}");
    w.pays(&mine, &agent, &id).await;
    w.sw.api(&format!("uuid_kill {} NORMAL_CLEARING", theirs.phone.uuid))
        .await;
    w.finish(&mine).await;
}
