//! The agent control API end to end: HTTP on 127.0.0.1, the engine, and the simulator's switch model
//! with scripted customer, agent and capture service.

use crate::http_harness::*;
use confpay::sim::party::{AnswerMode, Party};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

const TOKEN: &str = "t0ken-for-tests";
const LOCAL: &str = "127.0.0.1:0";

fn local() -> SocketAddr {
    LOCAL.parse().expect("addr")
}

fn capture_party() -> Party {
    Party::capture("capture", AGENT_ID, CARD.len())
}

async fn rig() -> Rig {
    Rig::start(TOKEN, local(), capture_party()).await
}

fn start_body(kind: &str, id: &str) -> String {
    format!(r#"{{"target": {{"type": "{kind}", "id": "{id}"}}}}"#)
}

/// Polls `GET /api/v1/sessions/{id}` until its state is `state` (5 s at most).
async fn wait_state(rig: &Rig, id: &str, state: &str) -> Value {
    for _ in 0..100 {
        let r = get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(TOKEN)).await;
        let v = r.json();
        if v["state"] == state {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("session {id} never reached {state}");
}

#[tokio::test]
async fn aca_payment_by_agent_uuid_streams_every_state_to_completed() {
    let rig = rig().await;
    let (customer, agent) = rig.call(1, Some(AGENT_ID)).await;
    call_is_listed_without_a_session(&rig, &customer, &agent).await;
    let id = start_by_agent_uuid(&rig, &customer, &agent).await;
    rig.customer_keys_card_when_capturing(&id, &customer, Duration::from_millis(300));

    let addr = rig.addr;
    let q = format!("session={id}");
    let stream =
        tokio::spawn(async move { sse(addr, &q, Some(TOKEN), Duration::from_secs(20)).await });

    let listed = get(rig.addr, "/api/v1/sessions", Some(TOKEN)).await.json();
    assert_eq!(listed["sessions"][0]["id"], id.as_str());

    capture_once_ready(&rig, &id).await;
    let (resp, events) = stream.await.expect("stream task");
    stream_saw_every_state_to_completed(&resp, &events);
    capture_got_everything_and_no_response_has_the_card(&rig, &id, &resp).await;
}

/// The call is listed with customer, agent and agent ID, and no session yet.
async fn call_is_listed_without_a_session(rig: &Rig, customer: &str, agent: &str) {
    let calls = get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.json();
    assert_eq!(calls["calls"][0]["customer"], customer);
    assert_eq!(calls["calls"][0]["agent"], agent);
    assert_eq!(calls["calls"][0]["agent_id"], AGENT_ID);
    assert_eq!(calls["calls"][0]["session"], Value::Null);
}

/// Starts a session by the agent's UUID; it names the customer and agent ID. Returns its ID.
async fn start_by_agent_uuid(rig: &Rig, customer: &str, agent: &str) -> String {
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some(TOKEN),
        &start_body("agent", agent),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let s = r.json();
    let id = s["id"].as_str().expect("id").to_owned();
    assert_eq!(s["customer"], customer);
    assert_eq!(s["agent_id"], AGENT_ID);
    id
}

/// Once the session is ready, capture is accepted (202).
async fn capture_once_ready(rig: &Rig, id: &str) {
    wait_state(rig, id, "ready").await;
    let r = post(
        rig.addr,
        &format!("/api/v1/sessions/{id}/capture"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

/// The event stream is SSE and carries every state up to done, completed by ACA.
fn stream_saw_every_state_to_completed(resp: &Resp, events: &[(String, String)]) {
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/event-stream"));
    let states: Vec<String> = events
        .iter()
        .map(|(name, data)| {
            assert_eq!(name, "session");
            let v: Value = serde_json::from_str(data).expect("json data");
            v["state"].as_str().expect("state").to_owned()
        })
        .collect();
    for want in ["ready", "arming", "capturing", "unwinding", "done"] {
        assert!(
            states.iter().any(|s| s == want),
            "{want} missing from {states:?}"
        );
    }
    assert_eq!(states.last().map(String::as_str), Some("done"));
    let last: Value = serde_json::from_str(&events.last().expect("an event").1).expect("json");
    assert_eq!(last["outcome"]["code"], "completed");
    assert_eq!(last["outcome"]["kind"], "completed");
    assert_eq!(last["method"], "aca");
    assert!(last["capture_elapsed_ms"].as_u64().is_some());
}

/// What the capture service got, and that no response, stream or scrape holds the card.
async fn capture_got_everything_and_no_response_has_the_card(rig: &Rig, id: &str, resp: &Resp) {
    // The capture service got the agent ID, '1' (sent by the daemon) and every card digit.
    assert_eq!(rig.capture.received(), format!("{AGENT_ID}1{CARD}"));
    // PCI: the card number is in no response or event.
    assert!(!resp.body.contains(CARD));
    let done = get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(TOKEN)).await;
    assert_eq!(done.json()["state"], "done");
    for body in [
        done.body,
        get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.body,
        get(rig.addr, "/api/v1/sessions", Some(TOKEN)).await.body,
        get(rig.addr, "/metrics", None).await.body,
    ] {
        assert!(!body.contains(CARD), "{body}");
        assert!(!body.contains(&CARD[..8]), "{body}");
    }
}

#[tokio::test]
async fn errors_have_stable_codes_and_statuses() {
    let rig = rig().await;
    let (customer, agent) = rig.call(2, Some(AGENT_ID)).await;
    unknown_calls_and_sessions_are_404(&rig).await;
    malformed_requests_are_400_and_unknown_streams_404(&rig, &customer).await;
    running_session_conflicts_and_cancel(&rig, &customer, &agent).await;
}

/// Starting on an unknown call, or touching an unknown session, is 404 with a message.
async fn unknown_calls_and_sessions_are_404(rig: &Rig) {
    let t = Some(TOKEN);
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        t,
        &start_body("customer", "no-such-call"),
    )
    .await;
    assert_eq!((r.status, r.error_code().as_str()), (404, "unknown_call"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        t,
        &start_body("agent_id", "999"),
    )
    .await;
    assert_eq!((r.status, r.error_code().as_str()), (404, "unknown_call"));

    for path in [
        "/api/v1/sessions/nope",
        "/api/v1/sessions/nope/capture",
        "/api/v1/sessions/nope/cancel",
    ] {
        let r = if path.ends_with("nope") {
            get(rig.addr, path, t).await
        } else {
            post(rig.addr, path, t, "").await
        };
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (404, "unknown_session"),
            "{path}"
        );
    }
}

/// Bad agent IDs, bad JSON, bad targets and bad stream filters are 400; unknown stream targets
/// and paths are 404.
async fn malformed_requests_are_400_and_unknown_streams_404(rig: &Rig, customer: &str) {
    let t = Some(TOKEN);
    let bad_id = r#"{"target": {"type": "customer", "id": "CUST"}, "agent_id": "12ab"}"#
        .replace("CUST", customer);
    let r = post(rig.addr, "/api/v1/sessions", t, &bad_id).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_agent_id"));
    let r = post(rig.addr, "/api/v1/sessions", t, "{not json").await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_request"));
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        t,
        r#"{"target": {"type": "phone", "id": "1"}}"#,
    )
    .await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_request"));
    let r = post(rig.addr, "/api/v1/sessions", t, &start_body("customer", "")).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_request"));
    let (r, _) = sse(rig.addr, "", t, Duration::from_secs(2)).await;
    assert_eq!((r.status, r.error_code().as_str()), (400, "bad_request"));
    let (r, _) = sse(rig.addr, "session=nope", t, Duration::from_secs(2)).await;
    assert_eq!(
        (r.status, r.error_code().as_str()),
        (404, "unknown_session")
    );
    let (r, _) = sse(rig.addr, "agent=nope", t, Duration::from_secs(2)).await;
    assert_eq!((r.status, r.error_code().as_str()), (404, "unknown_call"));
    let r = get(rig.addr, "/api/v1/nothing-here", t).await;
    assert_eq!((r.status, r.error_code().as_str()), (404, "not_found"));
}

/// A running session: capture before ready and a second start conflict; cancel ends it.
async fn running_session_conflicts_and_cancel(rig: &Rig, customer: &str, agent: &str) {
    let t = Some(TOKEN);
    // A running session: capture before ready is 409 wrong_state, a second start is 409 busy.
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        t,
        &start_body("customer", customer),
    )
    .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let r = post(rig.addr, &format!("/api/v1/sessions/{id}/capture"), t, "").await;
    assert_eq!((r.status, r.error_code().as_str()), (409, "wrong_state"));
    let r = post(rig.addr, "/api/v1/sessions", t, &start_body("agent", agent)).await;
    assert_eq!((r.status, r.error_code().as_str()), (409, "busy"));
    assert!(r.body.contains(&id));

    // Cancel: 202, the session ends `cancelled`; after that, capture and cancel are 409.
    wait_state(rig, &id, "ready").await;
    let r = post(rig.addr, &format!("/api/v1/sessions/{id}/cancel"), t, "").await;
    assert_eq!(r.status, 202);
    let done = wait_state(rig, &id, "done").await;
    assert_eq!(done["outcome"]["code"], "cancelled");
    assert_eq!(done["outcome"]["kind"], "cancelled");
    for op in ["capture", "cancel"] {
        let r = post(rig.addr, &format!("/api/v1/sessions/{id}/{op}"), t, "").await;
        assert_eq!(
            (r.status, r.error_code().as_str()),
            (409, "wrong_state"),
            "{op}"
        );
    }
}

#[tokio::test]
async fn capture_service_unavailable_is_the_sessions_outcome() {
    let busy = Party::capture("capture", AGENT_ID, 4).answering(AnswerMode::Busy);
    let rig = Rig::start(TOKEN, local(), busy).await;
    let (customer, _) = rig.call(3, Some(AGENT_ID)).await;
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some(TOKEN),
        &start_body("customer", &customer),
    )
    .await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let done = wait_state(&rig, &id, "done").await;
    assert_eq!(done["outcome"]["code"], "capture_unavailable");
    assert_eq!(done["outcome"]["kind"], "failed");
    assert!(
        done["outcome"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("USER_BUSY")),
        "{done}"
    );
}

#[tokio::test]
async fn streams_by_agent_and_by_agent_id_follow_the_calls_sessions() {
    let rig = rig().await;
    let (customer, agent) = rig.call(4, Some(AGENT_ID)).await;
    let addr = rig.addr;
    let by_agent = {
        let q = format!("agent={agent}");
        tokio::spawn(async move { sse(addr, &q, Some(TOKEN), Duration::from_secs(4)).await })
    };
    let by_agent_id = tokio::spawn(async move {
        sse(
            addr,
            &format!("agent_id={AGENT_ID}"),
            Some(TOKEN),
            Duration::from_secs(4),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some(TOKEN),
        &start_body("agent_id", AGENT_ID),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    wait_state(&rig, &id, "ready").await;
    assert_eq!(
        post(
            rig.addr,
            &format!("/api/v1/sessions/{id}/cancel"),
            Some(TOKEN),
            ""
        )
        .await
        .status,
        202
    );
    wait_state(&rig, &id, "done").await;
    for task in [by_agent, by_agent_id] {
        let (resp, events) = task.await.expect("stream");
        assert_eq!(resp.status, 200);
        let views: Vec<Value> = events
            .iter()
            .map(|(_, d)| serde_json::from_str(d).expect("json"))
            .collect();
        assert!(
            views
                .iter()
                .all(|v| v["id"] == id.as_str() && v["customer"] == customer.as_str())
        );
        assert!(views.iter().any(|v| v["state"] == "ready"));
        let last = views.last().expect("events");
        assert_eq!(last["state"], "done");
        assert_eq!(last["outcome"]["code"], "cancelled");
    }
}

#[tokio::test]
async fn customer_digits_never_reach_an_api_response_or_event() {
    let rig = rig().await;
    let (customer, _) = rig.call(5, Some(AGENT_ID)).await;
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some(TOKEN),
        &start_body("customer", &customer),
    )
    .await;
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let addr = rig.addr;
    let by_call = {
        let q = format!("call={customer}");
        tokio::spawn(async move { sse(addr, &q, Some(TOKEN), Duration::from_secs(6)).await })
    };
    wait_state(&rig, &id, "ready").await;
    // Keyphone: the customer presses '1' then keys the card.
    rig.core.press(&customer, "1").expect("press 1");
    wait_state(&rig, &id, "capturing").await;
    let mut bodies = vec![
        get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(TOKEN))
            .await
            .body,
    ];
    rig.core.press(&customer, CARD).expect("press card");
    let done = wait_state(&rig, &id, "done").await;
    assert_eq!(done["outcome"]["code"], "completed");
    assert_eq!(done["method"], "keyphone");
    assert_eq!(rig.capture.received(), format!("{AGENT_ID}1{CARD}"));
    let (_, events) = by_call.await.expect("stream");
    assert!(events.iter().any(|(_, d)| d.contains("\"capturing\"")));
    bodies.extend(events.into_iter().map(|(_, d)| d));
    bodies.push(done.to_string());
    bodies.push(get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.body);
    bodies.push(get(rig.addr, "/api/v1/sessions", Some(TOKEN)).await.body);
    bodies.push(get(rig.addr, "/metrics", None).await.body);
    for body in &bodies {
        // Card digits in order, whole or in part (6-digit runs), never appear.
        for w in CARD.as_bytes().windows(6) {
            let run = std::str::from_utf8(w).expect("ascii");
            assert!(!body.contains(run), "{run} found in {body}");
        }
    }
}

#[tokio::test]
async fn a_call_whose_agent_hung_up_is_409_no_agent() {
    let rig = rig().await;
    let (customer, agent) = rig.call(7, Some(AGENT_ID)).await;
    rig.core
        .hangup(&agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    let mut last = None;
    for _ in 0..50 {
        let calls = get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.json();
        if calls["calls"][0]["agent"].is_null() {
            let r = post(
                rig.addr,
                "/api/v1/sessions",
                Some(TOKEN),
                &start_body("customer", &customer),
            )
            .await;
            last = Some((r.status, r.error_code()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last, Some((409, "no_agent".to_owned())));
}

#[tokio::test]
async fn a_session_stays_readable_after_its_call_is_gone() {
    let rig = rig().await;
    let (customer, _) = rig.call(1, Some(AGENT_ID)).await;
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some(TOKEN),
        &start_body("customer", &customer),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    wait_state(&rig, &id, "ready").await;
    rig.core
        .hangup(&customer, "NORMAL_CLEARING")
        .expect("customer hangs up");
    let done = wait_state(&rig, &id, "done").await;
    assert_eq!(done["outcome"]["code"], "customer_hung_up", "{done}");
    // The call leaves the list; a platform asking for the outcome afterwards still gets it.
    let mut calls = Value::Null;
    for _ in 0..100 {
        calls = get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.json();
        if calls["calls"].as_array().is_some_and(|c| c.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(calls["calls"], serde_json::json!([]), "{calls}");
    let r = get(rig.addr, &format!("/api/v1/sessions/{id}"), Some(TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["outcome"]["code"], "customer_hung_up");
}
