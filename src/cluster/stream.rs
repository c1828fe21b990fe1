//! `/api/v1/events` for a session or call held by another node: the owner's views are fetched by
//! forwarded requests every [`POLL`] and sent as the same `session` events a local stream sends
//! (with the session's `node` added), so the agent page works the same on any node. The owner
//! checks the caller's authority on every fetch. Unlike a local stream, a state that lasts less
//! than [`POLL`] may be skipped; the final `done` view is always sent.
//!
//! While the owner is unreachable the stream stays open and says so once (`event:
//! node_unreachable`, data: the node); it goes on when the node is back. A followed call that is
//! gone ends the stream with `event: gone`, as locally.

use super::Cluster;
use super::wire::ForwardRequest;
use crate::http::sse::StreamQuery;
use crate::http::{ApiError, Authority, Shared};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

/// How often a remote stream asks the owner for news.
pub const POLL: Duration = Duration::from_millis(250);

/// What is followed, on which node, for whom.
struct Follow {
    cluster: Cluster,
    node: String,
    who: Authority,
    /// `Some(id)`: a session; `None`: the call matching `call`.
    session: Option<String>,
    call: StreamQuery,
}

/// The handler's remote half.
pub async fn remote(
    shared: &Shared,
    cluster: &Cluster,
    who: &Authority,
    node: &str,
    q: StreamQuery,
) -> Response {
    let Ok(slot) = Arc::clone(&shared.streams).try_acquire_owned() else {
        return ApiError::TooManyStreams.into_response();
    };
    let follow = Follow {
        cluster: cluster.clone(),
        node: node.to_owned(),
        who: who.clone(),
        session: q.session.clone(),
        call: q,
    };
    // The first fetch decides the answer: the owner's refusal (403, 404) is the caller's.
    let first = match follow.fetch().await {
        Ok(Fetched::Found(v)) => v,
        Ok(Fetched::Refused(resp)) => return resp,
        Ok(Fetched::Gone) => {
            return ApiError::NotFound {
                what: "call",
                id: format!("{:?}", follow.call),
            }
            .into_response();
        }
        Err(e) => return e.into_response(),
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    tokio::spawn(follow.run(first, tx, shared.shutdown.clone(), slot));
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

enum Fetched {
    /// The session view, or the call view.
    Found(Value),
    Refused(Response),
    Gone,
}

impl Follow {
    async fn fetch(&self) -> Result<Fetched, ApiError> {
        let path = match &self.session {
            Some(id) => format!("/api/v1/sessions/{id}"),
            None => "/api/v1/calls".to_owned(),
        };
        let req = ForwardRequest {
            method: "GET".to_owned(),
            path,
            body: String::new(),
            authority: (&self.who).into(),
        };
        let reply = self.cluster.forward(&self.node, &req).await?;
        if reply.status != 200 {
            return Ok(Fetched::Refused(reply.into_response()));
        }
        let Some(mut body) = reply.json() else {
            return Ok(Fetched::Gone);
        };
        if self.session.is_some() {
            return Ok(Fetched::Found(body));
        }
        let calls = match body.get_mut("calls").map(Value::take) {
            Some(Value::Array(c)) => c,
            _ => Vec::new(),
        };
        Ok(calls
            .into_iter()
            .find(|c| self.matches(c))
            .map_or(Fetched::Gone, Fetched::Found))
    }

    fn matches(&self, c: &Value) -> bool {
        let q = &self.call;
        let is = |key: &str, want: &Option<String>| {
            want.as_deref().is_some_and(|w| c[key].as_str() == Some(w))
        };
        is("customer", &q.call) || is("agent", &q.agent) || is("agent_id", &q.agent_id)
    }

    /// Sends changes until the session is done, the call is gone, the client leaves or shutdown.
    async fn run(
        self,
        first: Value,
        tx: mpsc::Sender<Event>,
        stop: CancellationToken,
        _slot: OwnedSemaphorePermit,
    ) {
        let mut sender = Sender {
            tx,
            node: self.node.clone(),
            last: None,
            told_unreachable: false,
        };
        let mut current = Some(first);
        loop {
            let done = match current.take() {
                Some(v) => match &self.session {
                    Some(_) => sender.session(&v).await,
                    None => sender.call(&v).await,
                },
                None => false,
            };
            if done || sender.tx.is_closed() {
                return;
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = sender.tx.closed() => return,
                () = tokio::time::sleep(POLL) => {}
            }
            match self.fetch().await {
                Ok(Fetched::Found(v)) => {
                    sender.told_unreachable = false;
                    current = Some(v);
                }
                Ok(Fetched::Gone) | Ok(Fetched::Refused(_)) => {
                    let _ = sender.event("gone", self.node.clone()).await;
                    return;
                }
                Err(_) => {
                    if !sender.told_unreachable {
                        sender.told_unreachable = true;
                        let _ = sender.event("node_unreachable", self.node.clone()).await;
                    }
                }
            }
        }
    }
}

/// Sends session views, each only when it changed.
struct Sender {
    tx: mpsc::Sender<Event>,
    node: String,
    /// The last session sent: (id, view without its ever-growing elapsed time).
    last: Option<(String, Value)>,
    told_unreachable: bool,
}

impl Sender {
    /// A followed session's view; true once it is done.
    async fn session(&mut self, v: &Value) -> bool {
        self.send_if_new(v).await;
        v["state"] == "done"
    }

    /// A followed call: the running session, after the final view of the one it replaced; with
    /// none running at the start, the latest ended one (as a local stream does). Never done.
    async fn call(&mut self, call: &Value) -> bool {
        let running = call.get("session").filter(|s| !s.is_null());
        let history = call["history"].as_array().cloned().unwrap_or_default();
        let followed = self.last.as_ref().map(|(id, _)| id.clone());
        if let Some(id) = followed
            && running.is_none_or(|r| r["id"].as_str() != Some(id.as_str()))
            && let Some(end) = history
                .iter()
                .find(|h| h["id"].as_str() == Some(id.as_str()))
        {
            self.send_if_new(end).await;
        }
        match running {
            Some(r) => self.send_if_new(r).await,
            None if self.last.is_none() => {
                if let Some(latest) = history.last() {
                    self.send_if_new(latest).await;
                }
            }
            None => {}
        }
        false
    }

    async fn send_if_new(&mut self, v: &Value) {
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        let mut key = v.clone();
        if let Value::Object(m) = &mut key {
            m.remove("capture_elapsed_ms");
        }
        if self
            .last
            .as_ref()
            .is_some_and(|(i, k)| *i == id && *k == key)
        {
            return;
        }
        let mut tagged = v.clone();
        if let Value::Object(m) = &mut tagged {
            m.insert("node".to_owned(), Value::String(self.node.clone()));
        }
        let _ = self.event("session", tagged.to_string()).await;
        self.last = Some((id, key));
    }

    async fn event(&self, name: &str, data: String) -> Result<(), mpsc::error::SendError<Event>> {
        self.tx.send(Event::default().event(name).data(data)).await
    }
}
