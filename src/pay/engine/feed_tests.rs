//! The engine's task reading the inbound client's events itself: each event seen by the link
//! before the engine and its after-hook run once the engine has it, in order, a burst included;
//! the start-up connection is not a reconnect, later ones are; reading ends at `stop`.

use super::{AfterEvent, Feed, Link};
use crate::esl::Event;
use crate::esl::client_error::LossReason;
use crate::esl::inbound::ClientEvent;
use crate::pay::caller::Caller;
use crate::pay::engine::register_tests::engine_on;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

struct Silent;

impl Switch for Silent {
    fn api(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("+OK\n".to_owned()) })
    }
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.api(cmd)
    }
}

/// Writes down what it is told, in order.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Link for Notes {
    fn seen(&mut self, event: &Event, _at: std::time::Instant) -> Option<AfterEvent> {
        let id = event.get("Seq").unwrap_or("").to_owned();
        self.0.lock().unwrap().push(format!("seen {id}"));
        let notes = self.0.clone();
        Some(Box::new(move || {
            notes.lock().unwrap().push(format!("after {id}"))
        }))
    }
    fn connected(&mut self, _core_uuid: Option<&str>, again: bool) {
        self.0
            .lock()
            .unwrap()
            .push(format!("connected again={again}"));
    }
    fn lost(&mut self, _reason: &LossReason) {
        self.0.lock().unwrap().push("lost".into());
    }
}

fn numbered(seq: usize) -> ClientEvent {
    let mut headers = crate::esl::Headers::new();
    headers.push("Event-Name", "HEARTBEAT");
    headers.push("Seq", &seq.to_string());
    ClientEvent::Event(
        Event {
            headers,
            body: None,
        },
        std::time::Instant::now(),
    )
}

#[tokio::test]
async fn the_engine_reads_events_and_connection_changes_itself() {
    let e = engine_on(Arc::new(Silent));
    let (tx, rx) = mpsc::channel(1024);
    let notes = Notes::default();
    let stop = CancellationToken::new();
    e.read_feed(Feed {
        events: rx,
        link: Box::new(notes.clone()),
        stop: stop.clone(),
    })
    .await;
    tx.send(ClientEvent::Connected { core_uuid: None })
        .await
        .unwrap();
    // A burst longer than one batch: every event, in order, each hook after its own event.
    for i in 0..(2 * super::BATCH + 3) {
        tx.send(numbered(i)).await.unwrap();
    }
    let lost = LossReason::Io {
        message: "reset".into(),
    };
    tx.send(ClientEvent::Disconnected { reason: lost })
        .await
        .unwrap();
    tx.send(ClientEvent::Connected { core_uuid: None })
        .await
        .unwrap();
    tx.send(numbered(999)).await.unwrap();
    while !notes.0.lock().unwrap().iter().any(|n| n == "after 999") {
        tokio::task::yield_now().await;
    }
    let mut want = vec!["connected again=false".to_owned()];
    for i in 0..(2 * super::BATCH + 3) {
        want.extend([format!("seen {i}"), format!("after {i}")]);
    }
    want.extend(["lost", "connected again=true", "seen 999", "after 999"].map(String::from));
    assert_eq!(notes.take(), want);
    // Stopped: nothing more is read; the engine itself goes on.
    stop.cancel();
    e.settled().await;
    let _ = tx.send(numbered(1000)).await;
    e.register_call("c".into(), "a".into(), None, Caller::default())
        .await
        .expect("engine still running");
    e.settled().await;
    assert!(notes.take().is_empty());
}
