//! Per-agent tokens: a token the call-centre platform signed for one agent reaches that agent's
//! calls and sessions only; the admin token reaches all.

use crate::http_harness::*;
use confpay::config::Config;
use confpay::http::agent_token::{AgentClaims, mint};
use confpay::secret::Secret;
use confpay::sim::party::Party;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ADMIN: &str = "admin-token-for-tests";
const PLATFORM_SECRET: &str = "the-platform-and-confpayd-share-this-secret";
const OTHER_AGENT: &str = "42";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn token_for(agent_id: &str, exp: u64) -> String {
    mint(
        &AgentClaims {
            agent_id: agent_id.to_owned(),
            exp,
            iat: Some(now()),
        },
        &Secret::new(PLATFORM_SECRET),
    )
}

async fn rig() -> Rig {
    let mut config = Config::default();
    config.http.token = Secret::new(ADMIN);
    config.http.agent_token_secret = Secret::new(PLATFORM_SECRET);
    let capture = Party::capture("capture", AGENT_ID, CARD.len());
    Rig::start_with(config, "127.0.0.1:0".parse().expect("addr"), capture).await
}

fn target(kind: &str, id: &str) -> String {
    format!(r#"{{"target": {{"type": "{kind}", "id": "{id}"}}}}"#)
}

#[tokio::test]
async fn an_agent_sees_and_starts_only_on_their_own_calls() {
    let rig = rig().await;
    let (mine, _) = rig.call(1, Some(AGENT_ID)).await;
    let (theirs, theirs_agent) = rig.call(2, Some(OTHER_AGENT)).await;
    let me = token_for(AGENT_ID, now() + 600);

    let calls = get(rig.addr, "/api/v1/calls", Some(&me)).await;
    assert_eq!(calls.status, 200);
    let listed: Vec<String> = calls.json()["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| c["customer"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(listed, vec![mine.clone()]);
    assert_eq!(
        get(rig.addr, "/api/v1/calls", Some(ADMIN)).await.json()["calls"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    for body in [
        target("customer", &theirs),
        target("agent", &theirs_agent),
        target("agent_id", OTHER_AGENT),
        format!(
            r#"{{"target": {{"type": "customer", "id": "{mine}"}}, "agent_id": "{OTHER_AGENT}"}}"#
        ),
    ] {
        let r = post(rig.addr, "/api/v1/sessions", Some(&me), &body).await;
        assert_eq!(r.status, 403, "{body}: {}", r.body);
        assert_eq!(r.error_code(), "forbidden");
    }
    let started = post(
        rig.addr,
        "/api/v1/sessions",
        Some(&me),
        &target("agent_id", AGENT_ID),
    )
    .await;
    assert_eq!(started.status, 201, "{}", started.body);
    assert_eq!(started.json()["customer"], mine.as_str());
}

#[tokio::test]
async fn an_agent_cannot_touch_another_agents_session() {
    let rig = rig().await;
    rig.call(1, Some(AGENT_ID)).await;
    let (theirs, _) = rig.call(2, Some(OTHER_AGENT)).await;
    let other = post(
        rig.addr,
        "/api/v1/sessions",
        Some(ADMIN),
        &target("customer", &theirs),
    )
    .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let id = other.json()["id"].as_str().expect("id").to_owned();
    let me = token_for(AGENT_ID, now() + 600);
    for path in [
        format!("/api/v1/sessions/{id}/cancel"),
        format!("/api/v1/sessions/{id}/capture"),
    ] {
        let r = post(rig.addr, &path, Some(&me), "").await;
        assert_eq!(r.status, 403, "{path}: {}", r.body);
    }
    let r = get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(&me)).await;
    assert_eq!(r.status, 403);
    let (r, events) = sse(
        rig.addr,
        &format!("session={id}"),
        Some(&me),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(events.is_empty());
    let (r, _) = sse(
        rig.addr,
        &format!("agent_id={OTHER_AGENT}"),
        Some(&me),
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(r.status, 403);
    let listed = get(rig.addr, "/api/v1/sessions", Some(&me)).await.json();
    assert_eq!(listed["sessions"], serde_json::json!([]));
    // The session went on untouched.
    let still = get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(ADMIN)).await;
    assert_ne!(still.json()["state"], "done");
}

#[tokio::test]
async fn expired_forged_or_long_lived_agent_tokens_are_401() {
    let rig = rig().await;
    rig.call(1, Some(AGENT_ID)).await;
    let forged = mint(
        &AgentClaims {
            agent_id: AGENT_ID.to_owned(),
            exp: now() + 600,
            iat: None,
        },
        &Secret::new("not-the-platform-secret-not-the-platform-secret"),
    );
    for token in [
        token_for(AGENT_ID, now() - 3600),
        token_for(AGENT_ID, now() + 30 * 24 * 3600),
        forged,
        String::new(),
    ] {
        let r = get(rig.addr, "/api/v1/calls", Some(&token)).await;
        assert_eq!(r.status, 401, "{token}");
        assert!(!r.body.contains(&token) || token.is_empty());
    }
    // Agent tokens on: a request with no token at all is no longer admin, even on loopback.
    assert_eq!(get(rig.addr, "/api/v1/calls", None).await.status, 401);
}

#[tokio::test]
async fn whoami_names_the_token() {
    let rig = rig().await;
    let admin = get(rig.addr, "/api/v1/whoami", Some(ADMIN)).await;
    assert_eq!(admin.status, 200);
    assert_eq!(
        admin.json(),
        serde_json::json!({"role": "admin", "agent_id": null})
    );
    let me = get(
        rig.addr,
        "/api/v1/whoami",
        Some(&token_for(AGENT_ID, now() + 600)),
    )
    .await;
    assert_eq!(
        me.json(),
        serde_json::json!({"role": "agent", "agent_id": AGENT_ID})
    );
    assert_eq!(get(rig.addr, "/api/v1/whoami", None).await.status, 401);
}

/// What the agent page shows instead of channel UUIDs: the caller as the switch knows them and
/// the talking time — for the agent's own call only.
#[tokio::test]
async fn an_agent_sees_their_callers_number_name_and_talking_time_and_no_one_elses() {
    let rig = rig().await;
    let (mine, _) = rig.call(1, Some(AGENT_ID)).await;
    rig.call(2, Some(OTHER_AGENT)).await;
    let me = token_for(AGENT_ID, now() + 600);
    let first = get(rig.addr, "/api/v1/calls", Some(&me)).await;
    assert_eq!(first.status, 200);
    let calls = first.json()["calls"].clone();
    assert_eq!(calls.as_array().map(Vec::len), Some(1), "{calls}");
    let call = &calls[0];
    assert_eq!(call["customer"], mine.as_str());
    assert_eq!(call["caller_number"], "+4930000001");
    assert_eq!(call["caller_name"], "Customer 1");
    let answered = call["answered_ms"].as_u64().expect("answered_ms");
    let now_ms = u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    assert!(answered <= now_ms && now_ms - answered < 60_000);
    let talking = call["talking_ms"].as_u64().expect("talking_ms");
    // The other agent's caller is not in what this agent was sent.
    assert!(!first.body.contains("Customer 2") && !first.body.contains("+4930000002"));

    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = get(rig.addr, "/api/v1/calls", Some(&me)).await.json();
    let talking_later = later["calls"][0]["talking_ms"]
        .as_u64()
        .expect("talking_ms");
    assert!(
        talking_later >= talking + 250,
        "talking time did not advance: {talking} -> {talking_later}"
    );
    assert_eq!(later["calls"][0]["answered_ms"].as_u64(), Some(answered));

    // The admin's list has both callers.
    let all = get(rig.addr, "/api/v1/calls", Some(ADMIN)).await.json();
    let mut names: Vec<&str> = all["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["caller_name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Customer 1", "Customer 2"]);
}
