//! Cluster mode, what only the owner does: a payment on node B's call, started through node A, is
//! notified (webhooks) and audited by B alone, once; A's status stream of the call shows every
//! state B's session went through, short-lived ones included, in order; once the customer hung up
//! (the call gone from every list), the ended session is still answered through a node that never
//! saw it.

use crate::cluster_harness::*;
use crate::flow_harness::receiver::{Received, Receiver, free_addr};
use crate::flow_harness::{AGENT_ID, CARD};
use crate::http_harness::{get, post, sse, sse_opened};
use serde_json::Value;
use std::time::Duration;

/// B's notifications of session `id`, in the order sent: (previous state, state, idempotency key).
fn notified(got: &[Received], id: &str) -> Vec<(String, String, String)> {
    got.iter()
        .filter(|r| r.json()["session"]["id"] == id)
        .map(|r| {
            let s = &r.json()["session"];
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (text("previous_state"), text("state"), r.key.clone())
        })
        .collect()
}

/// The states of session `id` a status stream sent, in order.
fn streamed(events: &[(String, String)], id: &str) -> Vec<String> {
    events
        .iter()
        .filter(|(e, _)| e == "session")
        .map(|(_, d)| serde_json::from_str::<Value>(d).expect("session JSON"))
        .filter(|v| v["id"] == id)
        .map(|v| v["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Lines of `logs` that are the audit record of session `id`.
fn audit_lines(logs: &Logs, id: &str) -> usize {
    logs.text()
        .lines()
        .filter(|l| l.contains("payment session ended") && l.contains(id))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_alone_notifies_audits_and_streams_every_state() {
    let Some(nats) = Nats::start("the_owner_alone_notifies_audits_and_streams_every_state").await
    else {
        return;
    };
    let (hooks_a, hooks_b) = (
        Receiver::start_on(free_addr().await).await,
        Receiver::start_on(free_addr().await).await,
    );
    let (logs_a, logs_b) = (Logs::default(), Logs::default());
    let extras = |hooks: &Receiver, logs: &Logs| Extras {
        webhook: Some(Receiver::url(hooks.addr)),
        logs: Some(logs.clone()),
        tweak: None,
    };
    let mut a = Node::start_with("a", &nats, extras(&hooks_a, &logs_a)).await;
    let b = Node::start_with("b", &nats, extras(&hooks_b, &logs_b)).await;
    let cu = b.call().await;
    let front = a.http();
    until("A lists B's call", || async {
        listed(front, &cu).await.filter(|c| c["reachable"] == true)
    })
    .await;
    let agent = agent_token(AGENT_ID);

    // A's stream of the call is open before the payment starts: it must show all of it.
    let call_stream = sse_opened(
        front,
        &format!("call={cu}"),
        Some(&agent),
        Duration::from_secs(30),
    )
    .await;
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
    let started = post(front, "/api/v1/sessions", Some(&agent), &body).await;
    assert_eq!(started.status, 201, "{}", started.body);
    let id = started.json()["id"].as_str().expect("id").to_owned();
    session_reaches(front, &id, &agent, "ready").await;
    b.sim.core().press(&cu, "1").expect("start key");
    session_reaches(front, &id, &agent, "capturing").await;
    b.sim.core().press(&cu, CARD).expect("card");
    let done = session_reaches(front, &id, &agent, "done").await;
    assert_eq!(done.json()["outcome"]["code"], "completed", "{}", done.body);
    until("B notified the outcome", || async {
        let got = notified(&hooks_b.received(), &id);
        got.iter()
            .any(|(_, state, _)| state == "done")
            .then_some(())
    })
    .await;
    until("B audited the payment", || async {
        (audit_lines(&logs_b, &id) > 0).then_some(())
    })
    .await;

    // The customer hangs up: the call is gone everywhere, and A's call stream ends with `gone`.
    b.sim.core().hangup(&cu, "NORMAL_CLEARING").expect("hangup");
    until("the call gone from A's list", || async {
        listed(front, &cu).await.is_none().then_some(())
    })
    .await;
    let (_, events) = call_stream.await.expect("stream");
    assert_eq!(
        events.last().map(|(e, _)| e.as_str()),
        Some("gone"),
        "{events:?}"
    );
    // Late duplicates would have arrived by now (retries are 50-300 ms apart).
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Webhooks: B sent one notification per state change, each once; A sent none.
    let changes = notified(&hooks_b.received(), &id);
    let mut keys: Vec<&str> = changes.iter().map(|(_, _, k)| k.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(
        keys.len(),
        changes.len(),
        "a change notified twice: {changes:?}"
    );
    for pair in changes.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].0,
            "notifications out of order: {changes:?}"
        );
    }
    assert_eq!(changes.last().map(|c| c.1.as_str()), Some("done"));
    assert!(
        hooks_a.received().is_empty(),
        "A notified: {:?}",
        hooks_a.received()
    );
    // Audit: one line, in B's log only.
    assert_eq!(audit_lines(&logs_b, &id), 1, "{}", logs_b.text());
    assert_eq!(audit_lines(&logs_a, &id), 0, "{}", logs_a.text());

    // A's stream showed every state B's session went through (short-lived ones included), in
    // order: the states B notified, after the one it started in.
    let states = streamed(&events, &id);
    let mut want: Vec<String> = changes.iter().map(|(_, to, _)| to.clone()).collect();
    want.insert(0, changes[0].0.clone());
    let mut got = states.clone();
    got.dedup();
    if got.first() != want.first() {
        // The stream may begin with the first change (the session's first view is not pushed).
        want.remove(0);
    }
    assert_eq!(got, want, "stream {states:?} vs webhooks {changes:?}");
    assert!(
        want.len() >= 8,
        "a payment goes through many states: {want:?}"
    );

    // A node that never saw the session (A restarted: nothing learned) finds it on B, which keeps
    // ended sessions answerable, though no heartbeat lists it any more.
    a.restart();
    let front = a.http();
    until("A hears B again", || async {
        let h = get(front, "/metrics", None).await.body;
        h.contains("confpay_cluster_nodes{state=\"reachable\"} 1")
            .then_some(())
    })
    .await;
    let on_b = get(b.http(), &format!("/api/v1/sessions/{id}"), Some(&agent)).await;
    assert_eq!(on_b.status, 200, "B itself: {}", on_b.body);
    let ended = get(front, &format!("/api/v1/sessions/{id}"), Some(&agent)).await;
    assert_eq!(ended.status, 200, "{}", ended.body);
    assert_eq!(ended.json()["state"], "done");
    assert_eq!(ended.json()["outcome"]["code"], "completed");
    let other = get(
        front,
        &format!("/api/v1/sessions/{id}"),
        Some(&agent_token("9999")),
    )
    .await;
    assert_eq!(other.status, 403, "{}", other.body);
    let unknown = get(front, "/api/v1/sessions/no-such-session", Some(&agent)).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    let (_, end) = sse(
        front,
        &format!("session={id}"),
        Some(&agent),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(streamed(&end, &id), ["done"], "{end:?}");
    for text in [&started.body, &done.body, &ended.body] {
        assert!(!text.contains(CARD));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_stream_outlives_a_nats_blip_and_ends_done() {
    let Some(mut nats) = Nats::start("a_remote_stream_outlives_a_nats_blip_and_ends_done").await
    else {
        return;
    };
    let a = Node::start("a", &nats).await;
    let b = Node::start("b", &nats).await;
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
    let stream = sse_opened(
        front,
        &format!("session={id}"),
        Some(ADMIN),
        Duration::from_secs(20),
    )
    .await;
    b.sim.core().press(&cu, "1").expect("start key");
    session_reaches(b.http(), &id, ADMIN, "capturing").await;
    // NATS goes away while the payment ends on B: the pushes of its last states are lost.
    nats.down();
    b.sim.core().press(&cu, CARD).expect("card");
    session_reaches(b.http(), &id, ADMIN, "done").await;
    nats.up().await;
    // A reads B's view again once it hears B (newer revision, or B back from unreachable).
    let (_, events) = stream.await.expect("stream");
    let states = streamed(&events, &id);
    assert_eq!(
        states.last().map(String::as_str),
        Some("done"),
        "{events:?}"
    );
    assert!(states.contains(&"capturing".to_owned()), "{states:?}");
}
