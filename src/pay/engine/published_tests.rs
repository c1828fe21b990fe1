//! Readers of the call table do not wait for the engine: the published table answers while the
//! engine task is busy, and shows every change once the engine has handled it.

use super::Target;
use super::register_tests::engine_on;
use crate::pay::caller::Caller;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use std::sync::Arc;
use std::time::Duration;

/// A switch that never answers: the engine task blocks in whatever command it sends.
struct Stalled;

impl Switch for Stalled {
    fn api(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(std::future::pending())
    }
    fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test]
async fn readers_are_answered_while_the_engine_waits_for_the_switch() {
    let e = engine_on(Arc::new(Stalled));
    e.register_call("cust-1".into(), "agent-1".into(), None, Caller::default())
        .await
        .expect("registered");
    // Attaching to an unknown call asks the switch, which never answers: the engine task is stuck.
    let stuck = e.clone();
    tokio::spawn(async move {
        let _ = stuck
            .start_payment(Target::Customer("unknown".into()), None)
            .await;
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let calls = tokio::time::timeout(Duration::from_secs(1), e.calls())
        .await
        .expect("the list is read without the engine");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].customer, "cust-1");
    assert!(e.call("cust-1").is_some());
    assert!(e.call("unknown").is_none());
    let gauges = tokio::time::timeout(Duration::from_secs(1), e.gauges())
        .await
        .expect("the gauges too");
    assert_eq!(gauges.active_calls, 1);
    assert!(e.watch("no-such-session").await.is_none());
}

#[tokio::test]
async fn every_change_is_published_and_announced() {
    let e = engine_on(Arc::new(Stalled));
    let mut changes = e.changes();
    e.register_call("cust-1".into(), "agent-1".into(), None, Caller::default())
        .await
        .expect("registered");
    assert!(changes.has_changed().expect("engine running"));
    changes.borrow_and_update();
    e.channel_gone("cust-1".into()).await;
    e.settled().await;
    assert!(changes.has_changed().expect("engine running"));
    assert!(e.calls().await.is_empty());
    assert!(e.call("cust-1").is_none());
}

fn event(pairs: &[(&str, &str)]) -> crate::esl::Event {
    let mut headers = crate::esl::Headers::new();
    for (k, v) in pairs {
        headers.push(k, v);
    }
    crate::esl::Event {
        headers,
        body: None,
    }
}

/// A key pressed on a leg, or a member the call does not keep, changes nothing in the call: it is
/// not published again (a reaction is not delayed by copying the call); the agent joining is.
#[tokio::test]
async fn events_that_change_nothing_are_not_published() {
    let e = engine_on(Arc::new(Stalled));
    e.register_call("cust-1".into(), "agent-1".into(), None, Caller::default())
        .await
        .expect("registered");
    let mut changes = e.changes();
    changes.borrow_and_update();
    let dtmf = [
        ("Event-Name", "DTMF"),
        ("Unique-ID", "cust-1"),
        ("DTMF-Digit", "1"),
    ];
    e.event(event(&dtmf)).await;
    let other = [
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", "conference::maintenance"),
        ("Conference-Name", "confpay-cust-1"),
        ("Action", "add-member"),
        ("Unique-ID", "someone-else"),
        ("Member-ID", "9"),
    ];
    e.event(event(&other)).await;
    e.settled().await;
    assert!(!changes.has_changed().expect("engine running"));
    let agent = [
        ("Event-Name", "CUSTOM"),
        ("Event-Subclass", "conference::maintenance"),
        ("Conference-Name", "confpay-cust-1"),
        ("Action", "add-member"),
        ("Unique-ID", "agent-1"),
        ("Member-ID", "4"),
    ];
    e.event(event(&agent)).await;
    e.settled().await;
    assert!(changes.has_changed().expect("engine running"));
    assert_eq!(e.call("cust-1").and_then(|c| c.agent_member), Some(4));
}
