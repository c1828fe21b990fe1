//! `GET /api/v1/events?session=ID | call=UUID | agent=UUID | agent_id=ID`: a Server-Sent Events
//! stream of session views (`event: session`, `data: <session JSON>`), one per state change.
//!
//! - `session`: the session's current view, then every change; the stream ends after `done`.
//! - `call` / `agent` / `agent_id`: follows the call: its latest ended session first (if any and no
//!   session is running), then every session started on it, change by change; when the call is gone
//!   an `event: gone` is sent and the stream ends.
//!
//! A producer task feeds each stream; it stops when the client goes away or the daemon shuts down.

use super::Shared;
use super::api::{find_session, may_touch_session};
use super::auth::Authority;
use super::error::ApiError;
use super::views::SessionJson;
use crate::pay::State;
use crate::pay::engine::{CallView, Engine};
use crate::pay::session::SessionView;
use axum::extract::{Extension, Query, State as AxState};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Which stream; exactly one must be given.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    pub session: Option<String>,
    pub call: Option<String>,
    pub agent: Option<String>,
    pub agent_id: Option<String>,
}

/// What a stream follows.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Subject {
    Session(String),
    Call(String),
    Agent(String),
    AgentId(String),
}

impl Subject {
    fn from_query(q: StreamQuery) -> Result<Subject, ApiError> {
        let given = [
            q.session.map(Subject::Session),
            q.call.map(Subject::Call),
            q.agent.map(Subject::Agent),
            q.agent_id.map(Subject::AgentId),
        ];
        let mut given = given.into_iter().flatten();
        match (given.next(), given.next()) {
            (Some(s), None) => Ok(s),
            _ => Err(ApiError::bad_request(
                "give exactly one of session, call, agent, agent_id",
            )),
        }
    }

    fn matches(&self, c: &CallView) -> bool {
        match self {
            Subject::Session(id) => {
                c.session.as_ref().is_some_and(|s| &s.id == id)
                    || c.history.iter().any(|s| &s.id == id)
            }
            Subject::Call(u) => &c.customer == u,
            Subject::Agent(u) => c.agent.as_deref() == Some(u.as_str()),
            Subject::AgentId(a) => c.agent_id.as_deref() == Some(a.as_str()),
        }
    }
}

type EventStream = futures_util::stream::BoxStream<'static, Result<Event, Infallible>>;
type Events = Sse<axum::response::sse::KeepAliveStream<EventStream>>;

/// The handler.
pub async fn stream(
    AxState(shared): AxState<Shared>,
    Extension(who): Extension<Authority>,
    Query(q): Query<StreamQuery>,
) -> Result<Events, ApiError> {
    let subject = Subject::from_query(q)?;
    let slot = Arc::clone(&shared.streams)
        .try_acquire_owned()
        .map_err(|_| ApiError::TooManyStreams)?;
    let engine = shared.app.engine.clone();
    let (tx, rx) = mpsc::channel::<Event>(16);
    match &subject {
        Subject::Session(id) => {
            let Some(start) = open_session(&engine, id).await else {
                return Err(ApiError::NotFound {
                    what: "session",
                    id: id.clone(),
                });
            };
            may_touch_session(&engine, &who, id).await?;
            tokio::spawn(follow_session(start, tx, shared.shutdown.clone(), slot));
        }
        Subject::Call(_) | Subject::Agent(_) | Subject::AgentId(_) => {
            let calls = engine.calls().await;
            let Some(call) = calls.iter().find(|c| subject.matches(c)) else {
                return Err(ApiError::NotFound {
                    what: "call",
                    id: format!("{subject:?}"),
                });
            };
            if !who.covers(call) {
                return Err(ApiError::forbidden("this is another agent's call"));
            }
            let first = call.history.last().cloned();
            let running = call.session.is_some();
            let customer = call.customer.clone();
            let stop = shared.shutdown.clone();
            tokio::spawn(follow_call(
                engine,
                customer,
                (!running).then_some(first).flatten(),
                tx,
                (stop, slot),
            ));
        }
    }
    Ok(Sse::new(into_stream(rx)).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn into_stream(rx: mpsc::Receiver<Event>) -> EventStream {
    Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    }))
}

/// Where a session stream starts: a live watch, or the final view of an ended session.
enum Start {
    Live(watch::Receiver<SessionView>),
    Ended(SessionView),
}

async fn open_session(engine: &Engine, id: &str) -> Option<Start> {
    if let Some(rx) = engine.watch(id).await {
        return Some(Start::Live(rx));
    }
    find_session(engine, id).await.map(Start::Ended)
}

fn session_event(v: &SessionView) -> Event {
    let json = serde_json::to_string(&SessionJson::from_view(v)).unwrap_or_else(|_| "{}".into());
    Event::default().event("session").data(json)
}

/// Sends every change of one session until it is done; false if the client went away.
async fn forward(
    mut rx: watch::Receiver<SessionView>,
    tx: &mpsc::Sender<Event>,
    stop: &CancellationToken,
) -> bool {
    let mut last = rx.borrow_and_update().clone();
    if tx.send(session_event(&last)).await.is_err() {
        return false;
    }
    while last.state != State::Done {
        tokio::select! {
            () = stop.cancelled() => return false,
            () = tx.closed() => return false,
            changed = rx.changed() => {
                if changed.is_err() {
                    // The actor ended: its final view is what the receiver holds.
                    let end = rx.borrow().clone();
                    if end != last && tx.send(session_event(&end)).await.is_err() {
                        return false;
                    }
                    return true;
                }
                let v = rx.borrow_and_update().clone();
                if v != last {
                    if tx.send(session_event(&v)).await.is_err() {
                        return false;
                    }
                    last = v;
                }
            }
        }
    }
    true
}

/// `_slot` is this stream's place under `http.max_streams`, given back when the stream ends.
async fn follow_session(
    start: Start,
    tx: mpsc::Sender<Event>,
    stop: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    match start {
        Start::Live(rx) => {
            forward(rx, &tx, &stop).await;
        }
        Start::Ended(v) => {
            let _ = tx.send(session_event(&v)).await;
        }
    }
}

/// Follows the call whose customer leg is `customer`: each session started on it, in turn.
async fn follow_call(
    engine: Engine,
    customer: String,
    first: Option<SessionView>,
    tx: mpsc::Sender<Event>,
    (stop, _slot): (CancellationToken, OwnedSemaphorePermit),
) {
    let mut seen: Option<String> = None;
    if let Some(v) = first {
        seen = Some(v.id.clone());
        if tx.send(session_event(&v)).await.is_err() {
            return;
        }
    }
    // Subscribed before the first look, so a change in between is not missed.
    let mut changes = engine.changes();
    loop {
        changes.borrow_and_update();
        let Some(call) = engine.call(&customer) else {
            let _ = tx
                .send(Event::default().event("gone").data(customer.clone()))
                .await;
            return;
        };
        let next = call
            .session
            .as_ref()
            .filter(|s| seen.as_deref() != Some(s.id.as_str()))
            .map(|s| s.id.clone());
        if let Some(id) = next {
            seen = Some(id.clone());
            let delivered = match open_session(&engine, &id).await {
                Some(Start::Live(rx)) => forward(rx, &tx, &stop).await,
                Some(Start::Ended(v)) => tx.send(session_event(&v)).await.is_ok(),
                None => true,
            };
            if !delivered {
                return;
            }
            continue;
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tx.closed() => return,
            changed = changes.changed() => if changed.is_err() { return },
        }
    }
}
