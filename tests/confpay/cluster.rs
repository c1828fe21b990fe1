//! Cluster mode for real: a `nats-server`, two simulated switches, two daemons. A payment on a call
//! held by node B is taken through node A's API (both start methods, with an agent token); B's
//! daemon is killed mid-call and started again; NATS is stopped and started again.

use crate::cluster_harness::*;
use crate::flow_harness::{AGENT_ID, CARD};
use crate::http_harness::{get, post, sse};
use std::time::Duration;

/// Asserts no response carried a card digit sequence.
fn no_card(texts: &[&str]) {
    for t in texts {
        assert!(!t.contains(CARD), "card number in {t}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_on_node_b_through_node_a_both_methods() {
    let Some(nats) = Nats::start("payments_on_node_b_through_node_a_both_methods").await else {
        return;
    };
    let a = Node::start("a", &nats).await;
    let mut b = Node::start("b", &nats).await;
    let cu = b.call().await;
    let front = a.http();
    let listed_b = until("A lists B's call", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == true)
    })
    .await;
    assert_eq!(listed_b["node"], "b");
    let agent = agent_token(AGENT_ID);

    // Keyphone, started by the agent (agent token) on node A, for a call on node B.
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
    let started = post(front, "/api/v1/sessions", Some(&agent), &body).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id = started.json()["id"].as_str().expect("id").to_owned();
    session_reaches(front, &id, &agent, "ready").await;
    // The status stream through A follows B's session to the end.
    let stream = {
        let (query, token) = (format!("session={id}"), agent.clone());
        tokio::spawn(async move { sse(front, &query, Some(&token), Duration::from_secs(10)).await })
    };
    b.sim.core().press(&cu, "1").expect("start key");
    session_reaches(front, &id, &agent, "capturing").await;
    b.sim.core().press(&cu, CARD).expect("card");
    let done = session_reaches(front, &id, &agent, "done").await;
    assert_eq!(done.json()["outcome"]["code"], "completed", "{}", done.body);
    assert_eq!(done.json()["method"], "keyphone");
    let (_, events) = stream.await.expect("stream");
    let states: Vec<String> = events
        .iter()
        .filter(|(e, _)| e == "session")
        .map(|(_, d)| {
            serde_json::from_str::<serde_json::Value>(d).expect("json")["state"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    // Remote streams poll the owner: a state shorter than the poll may be skipped, the end never.
    assert!(states.len() >= 2, "{states:?}");
    assert_eq!(
        states.last().map(String::as_str),
        Some("done"),
        "{states:?}"
    );
    assert!(
        events
            .iter()
            .all(|(e, d)| e != "session" || d.contains("\"node\":\"b\""))
    );

    // ACA, targeted by agent ID, capture started by the agent through A.
    b.fresh_capture();
    let body = format!(r#"{{"target": {{"type": "agent_id", "id": "{AGENT_ID}"}}}}"#);
    let started = post(front, "/api/v1/sessions", Some(&agent), &body).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id2 = started.json()["id"].as_str().expect("id").to_owned();
    session_reaches(front, &id2, &agent, "ready").await;
    let cap = post(
        front,
        &format!("/api/v1/sessions/{id2}/capture"),
        Some(&agent),
        "{}",
    )
    .await;
    assert_eq!(cap.status, 202, "{}", cap.body);
    session_reaches(front, &id2, &agent, "capturing").await;
    b.sim.core().press(&cu, CARD).expect("card");
    let done2 = session_reaches(front, &id2, &agent, "done").await;
    assert_eq!(
        done2.json()["outcome"]["code"],
        "completed",
        "{}",
        done2.body
    );
    assert_eq!(done2.json()["method"], "aca");

    // Only B's daemon drove them: A's engine never held the call.
    assert!(
        a.daemon
            .as_ref()
            .expect("a")
            .engine
            .calls()
            .await
            .is_empty()
    );
    let b_calls = b.daemon.as_ref().expect("b").engine.calls().await;
    assert_eq!(b_calls[0].history.len(), 2);
    // Another agent's token reaches nothing of it, through A either.
    let other = agent_token("9999");
    let refused = get(front, &format!("/api/v1/sessions/{id}"), Some(&other)).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let theirs = get(front, "/api/v1/calls", Some(&other)).await;
    assert_eq!(theirs.json()["calls"], serde_json::json!([]));
    let sessions = get(front, "/api/v1/sessions", Some(ADMIN)).await;
    assert_eq!(
        sessions.json()["ended"].as_array().map(Vec::len),
        Some(2),
        "{}",
        sessions.body
    );
    no_card(&[
        &started.body,
        &done.body,
        &done2.body,
        &sessions.body,
        &listed_b.to_string(),
    ]);
    for (_, d) in &events {
        no_card(&[d]);
    }
}

/// `/healthz` of `node`'s API as JSON.
async fn health(front: std::net::SocketAddr) -> serde_json::Value {
    get(front, "/healthz", None).await.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_killed_and_restarted_then_nats_restarted() {
    let Some(mut nats) = Nats::start("owner_killed_and_restarted_then_nats_restarted").await else {
        return;
    };
    let a = Node::start("a", &nats).await;
    let mut b = Node::start("b", &nats).await;
    let cu = b.call().await;
    let front = a.http();
    until("A lists B's call", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == true)
    })
    .await;
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
    let started = post(front, "/api/v1/sessions", Some(ADMIN), &body).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id = started.json()["id"].as_str().expect("id").to_owned();
    session_reaches(front, &id, ADMIN, "ready").await;
    b.sim.core().press(&cu, "1").expect("start key");
    session_reaches(front, &id, ADMIN, "capturing").await;

    // B's daemon dies mid-capture: within a few seconds A lists the call as unreachable and
    // refuses to act on it; A itself stays healthy.
    b.kill();
    let gone = until("A reports B's call unreachable", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == false)
    })
    .await;
    assert_eq!(gone["node"], "b");
    let cancel = post(
        front,
        &format!("/api/v1/sessions/{id}/cancel"),
        Some(ADMIN),
        "{}",
    )
    .await;
    assert_eq!(cancel.status, 503, "{}", cancel.body);
    assert_eq!(cancel.error_code(), "node_unreachable");
    let again = post(front, "/api/v1/sessions", Some(ADMIN), &body).await;
    assert_eq!(again.error_code(), "node_unreachable", "{}", again.body);
    assert!(
        a.daemon
            .as_ref()
            .expect("a")
            .engine
            .calls()
            .await
            .is_empty()
    );
    let h = health(front).await;
    assert_eq!(
        (h["status"].as_str(), h["cluster"].as_str()),
        (Some("ok"), Some("ok")),
        "{h}"
    );
    until("A's metrics count B unreachable", || async {
        let metrics = get(front, "/metrics", None).await.body;
        metrics
            .contains("confpay_cluster_nodes{state=\"unreachable\"} 1")
            .then_some(())
    })
    .await;
    // Still refused once B is silent for good (presence, not only a failed request).
    let cancel = post(
        front,
        &format!("/api/v1/sessions/{id}/cancel"),
        Some(ADMIN),
        "{}",
    )
    .await;
    assert_eq!(cancel.error_code(), "node_unreachable", "{}", cancel.body);

    // B comes back: it rebuilds the call from its switch, and A lists it again.
    b.restart();
    let back = until("B's call reachable again", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == true)
    })
    .await;
    assert_eq!(back["node"], "b");
    // Its payment is B's again to finish: the customer keys the card, B's daemon completes it.
    b.sim.core().press(&cu, CARD).expect("card");
    until("the payment ends on B", || async {
        let c = listed(front, &cu).await?;
        let ended = c["session"].is_null() && !c["history"].as_array()?.is_empty();
        ended.then_some(())
    })
    .await;

    // NATS goes away: each node keeps serving its own calls and says the cluster is degraded.
    nats.down();
    until("A degraded", || async {
        (health(front).await["cluster"] == "degraded").then_some(())
    })
    .await;
    let metrics = get(front, "/metrics", None).await.body;
    assert!(metrics.contains("confpay_cluster_connected 0"), "{metrics}");
    let own = a.call().await;
    let mine = listed(front, &own).await.expect("A lists its own call");
    assert_eq!(
        (mine["node"].as_str(), mine["reachable"].as_bool()),
        (Some("a"), Some(true))
    );
    let on_b = b.http();
    let b_own = listed(on_b, &cu).await.expect("B lists its own call");
    assert_eq!(b_own["node"], "b");
    until("B's call listed unreachable on A", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == false)
    })
    .await;

    // NATS is back: both recover without a restart.
    nats.up().await;
    until("A connected again", || async {
        (health(front).await["cluster"] == "ok").then_some(())
    })
    .await;
    until("B's call reachable through A again", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == true)
    })
    .await;
    until("A's call reachable through B", || async {
        listed(on_b, &own)
            .await
            .filter(|c| c["reachable"] == true && c["node"] == "a")
    })
    .await;
}
