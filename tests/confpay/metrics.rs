//! `/metrics` after a simulated payment: the outcome is counted, gauges follow the engine, the
//! session's latencies are observed, and every scrape passes the exposition-format checker.

use crate::http_harness::*;
use confpay::sim::party::Party;
use std::time::Duration;

/// The checker the unit tests use (`src/metrics/tests/exposition.rs`), here on real scrapes.
#[path = "../../src/metrics/tests/exposition.rs"]
mod exposition;

fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn a_completed_payment_is_counted_by_outcome() {
    let capture = Party::capture("capture", AGENT_ID, CARD.len());
    let rig = Rig::start("", "127.0.0.1:0".parse().expect("addr"), capture).await;
    let (customer, _agent) = rig.call(1, Some(AGENT_ID)).await;
    before_a_payment_one_call_and_no_outcome(&rig).await;
    let text = payment_completes_and_is_counted(&rig, &customer).await;
    assert_eq!(sample(&text, "confpay_esl_reconnects_total"), Some(0.0));
    esl_reconnects_and_command_durations_are_exported(&rig).await;
}

/// Before any payment: the exposition format, one active call, no completed outcome.
async fn before_a_payment_one_call_and_no_outcome(rig: &Rig) {
    let before = get(rig.addr, "/metrics", None).await;
    assert_eq!(before.status, 200);
    assert_eq!(
        before.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(sample(&before.body, "confpay_active_calls"), Some(1.0));
    assert_eq!(
        sample(
            &before.body,
            "confpay_session_outcomes_total{outcome=\"completed\"}"
        ),
        None
    );
}

/// A payment: the ready gauge counts it while ready; once done the completed outcome is counted
/// and the gauge is back to 0. Returns the last scrape.
async fn payment_completes_and_is_counted(rig: &Rig, customer: &str) -> String {
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{customer}"}}}}"#);
    let r = post(rig.addr, "/api/v1/sessions", None, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    rig.customer_keys_card_when_capturing(&id, customer, Duration::from_millis(100));
    let mut watch = rig.engine.watch(&id).await.expect("running");
    tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|v| v.state == confpay::pay::State::Ready),
    )
    .await
    .expect("ready in time")
    .expect("session alive");
    let mid = get(rig.addr, "/metrics", None).await.body;
    assert_eq!(sample(&mid, "confpay_sessions{state=\"ready\"}"), Some(1.0));
    assert!(
        post(
            rig.addr,
            &format!("/api/v1/sessions/{id}/capture"),
            None,
            ""
        )
        .await
        .status
            == 202
    );
    let _ = tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|v| v.state == confpay::pay::State::Done),
    )
    .await;
    // The outcome is counted when the actor writes its audit record (right after `done`).
    let mut text = String::new();
    for _ in 0..50 {
        text = get(rig.addr, "/metrics", None).await.body;
        if sample(
            &text,
            "confpay_session_outcomes_total{outcome=\"completed\"}",
        )
        .is_some()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        sample(
            &text,
            "confpay_session_outcomes_total{outcome=\"completed\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(rig.metrics.outcome_count("completed"), 1);
    assert_eq!(
        sample(&text, "confpay_sessions{state=\"ready\"}"),
        Some(0.0)
    );
    // One payment: one request→Ready, one capture; the session reacted to events (member joins,
    // the capture leg answering) with commands.
    assert_eq!(
        sample(&text, "confpay_request_to_ready_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "confpay_capture_duration_seconds_count"),
        Some(1.0)
    );
    let reactions = sample(&text, "confpay_event_to_command_seconds_count");
    assert!(reactions.is_some_and(|n| n >= 1.0), "{text}");
    exposition::check(&text).expect("a valid exposition");
    text
}

/// A reconnect and a command's duration show up in the next scrape, which holds no card digit.
async fn esl_reconnects_and_command_durations_are_exported(rig: &Rig) {
    rig.metrics.esl_reconnected();
    rig.metrics.observe_command(Duration::from_millis(20));
    let text = get(rig.addr, "/metrics", None).await.body;
    assert_eq!(sample(&text, "confpay_esl_reconnects_total"), Some(1.0));
    assert_eq!(
        sample(
            &text,
            "confpay_esl_command_duration_seconds_bucket{le=\"0.025\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "confpay_esl_command_duration_seconds_count"),
        Some(1.0)
    );
    assert!(!text.contains(CARD));
    exposition::check(&text).expect("a valid exposition");
}
