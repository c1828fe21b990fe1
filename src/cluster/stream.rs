//! `/api/v1/events` for a session or call held by another node, pushed: the owner publishes every
//! change of its sessions' views ([`super::feed`]); this node subscribes to the ones followed,
//! reads the owner's current view once (a forwarded request, so the owner checks the caller's
//! authority and its refusal is the caller's), and relays every newer view in order as the same
//! `session` events a local stream sends, each with the session's `node`. Views carry a
//! `revision`, so one read before a change arrives is never sent after it, and none is sent twice.
//!
//! This node only relays: a forwarded request never drives anything here. While the owner is
//! unreachable the stream stays open and says so once (`event: node_unreachable`, data: the node);
//! when it is back its view is read again (it may have restarted) and the stream goes on. A
//! followed call that its owner no longer lists ends the stream with `event: gone`, as locally
//! (after the followed session's final view, if it had not come yet).

use super::Cluster;
use super::wire::{ForwardRequest, ViewPush, call_views, session_views};
use crate::http::sse::StreamQuery;
use crate::http::{ApiError, Authority, Shared};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::sync::CancellationToken;

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
    // The first read decides the answer, and names the call's customer leg.
    let first = match follow.read().await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let subject = match (&follow.session, first.view["customer"].as_str()) {
        (Some(id), _) if token_ok(id) => session_views(node, id),
        (None, Some(customer)) if token_ok(customer) => call_views(node, customer),
        _ => return ApiError::bad_request("not a session or call ID").into_response(),
    };
    let views = match cluster.inner.client.subscribe(subject).await {
        Ok(s) => s,
        Err(_) => {
            return ApiError::NodeUnreachable {
                node: node.to_owned(),
            }
            .into_response();
        }
    };
    // Read again once subscribed: no change falls between the view sent first and the pushes.
    let start = match follow.read().await {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    let (tx, rx) = mpsc::channel::<Event>(16);
    tokio::spawn(follow.run(start, views, tx, (shared.shutdown.clone(), slot)));
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Whether an ID can be a NATS subject token (no wildcard, no separator): session IDs and
/// channel UUIDs always can; anything else is no ID the owner could hold.
fn token_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The owner's current view of what is followed, and the instance that answered.
struct Read {
    /// The session view, or the call view.
    view: Value,
    instance: String,
}

impl Follow {
    /// The owner's view; `Err` is the answer to give the caller (refused, gone, unreachable).
    async fn read(&self) -> Result<Read, Response> {
        let path = match &self.session {
            Some(id) => format!("/api/v1/sessions/{id}"),
            None => "/api/v1/calls".to_owned(),
        };
        let reply = self.ask(path).await.map_err(IntoResponse::into_response)?;
        if reply.status != 200 {
            return Err(reply.into_response());
        }
        let instance = reply.instance.clone();
        let gone = || {
            ApiError::NotFound {
                what: "call",
                id: format!("{:?}", self.call),
            }
            .into_response()
        };
        let mut body = reply.json().ok_or_else(gone)?;
        if self.session.is_some() {
            return Ok(Read {
                view: body,
                instance,
            });
        }
        let calls = match body.get_mut("calls").map(Value::take) {
            Some(Value::Array(c)) => c,
            _ => Vec::new(),
        };
        let view = calls
            .into_iter()
            .find(|c| self.matches(c))
            .ok_or_else(gone)?;
        Ok(Read { view, instance })
    }

    async fn ask(&self, path: String) -> Result<super::wire::ForwardReply, ApiError> {
        let req = ForwardRequest {
            method: "GET".to_owned(),
            path,
            body: String::new(),
            authority: (&self.who).into(),
        };
        self.cluster.forward(&self.node, &req).await
    }

    fn matches(&self, c: &Value) -> bool {
        let q = &self.call;
        let is = |key: &str, want: &Option<String>| {
            want.as_deref().is_some_and(|w| c[key].as_str() == Some(w))
        };
        is("customer", &q.call) || is("agent", &q.agent) || is("agent_id", &q.agent_id)
    }

    /// Relays changes until the session is done, the call is gone, the client leaves or shutdown.
    async fn run(
        self,
        start: Read,
        mut views: async_nats::Subscriber,
        tx: mpsc::Sender<Event>,
        (stop, _slot): (CancellationToken, OwnedSemaphorePermit),
    ) {
        let customer = start.view["customer"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut sender = Sender {
            tx,
            node: self.node.clone(),
            last: None,
            sent: HashMap::new(),
        };
        let mut presence = self.cluster.peers().changes();
        let mut told_unreachable = false;
        if self.apply(&mut sender, start).await {
            return;
        }
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = sender.tx.closed() => return,
                msg = views.next() => {
                    let Some(msg) = msg else { return };
                    let Ok(push) = serde_json::from_slice::<ViewPush>(&msg.payload) else {
                        continue;
                    };
                    if sender.offer(&push.session, &push.instance).await && self.session.is_some() {
                        return;
                    }
                }
                changed = presence.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    match self.cluster.peers().reachable(now, &self.node) {
                        Some(true) if told_unreachable => {
                            // Back (perhaps restarted): what changed meanwhile was not pushed here.
                            told_unreachable = false;
                            if let Ok(read) = self.read().await
                                && self.apply(&mut sender, read).await
                            {
                                return;
                            }
                        }
                        Some(true) => {
                            if self.missed(&sender)
                                && let Ok(read) = self.read_followed(&sender).await
                                && self.apply(&mut sender, read).await
                            {
                                return;
                            }
                        }
                        _ if told_unreachable => {}
                        _ => {
                            told_unreachable = true;
                            let _ = sender.event("node_unreachable", self.node.clone()).await;
                        }
                    }
                    if self.session.is_none()
                        && !told_unreachable
                        && !self.cluster.peers().lists_call(&self.node, &customer)
                    {
                        self.end_call(&mut sender, &customer).await;
                        return;
                    }
                }
            }
        }
    }

    /// Whether the owner's heartbeat shows the followed session newer than what was relayed (a
    /// push lost in a NATS blip too short to make the owner unreachable), or no longer lists a
    /// session that is not done yet.
    fn missed(&self, sender: &Sender) -> bool {
        let Some(last) = sender.last.as_ref().filter(|l| l.state != "done") else {
            return false;
        };
        let sent = sender.sent.get(&last.id).map_or(0, |(_, r)| *r);
        self.cluster
            .peers()
            .session_revision(&self.node, &last.id)
            .is_none_or(|r| r > sent)
    }

    /// The owner's view of the followed session (a call stream: the call, which holds it).
    async fn read_followed(&self, sender: &Sender) -> Result<Read, Response> {
        let (Some(last), None) = (&sender.last, &self.session) else {
            return self.read().await;
        };
        let reply = self
            .ask(format!("/api/v1/sessions/{}", last.id))
            .await
            .map_err(IntoResponse::into_response)?;
        let view = reply
            .json()
            .filter(|_| reply.status == 200)
            .ok_or_else(|| reply.clone().into_response())?;
        // Shaped as a call running it, so `Sender::call` offers it like any other view.
        Ok(Read {
            view: serde_json::json!({ "session": view, "history": [] }),
            instance: reply.instance,
        })
    }

    /// Sends what a read of the owner shows; true once a followed session is done.
    async fn apply(&self, sender: &mut Sender, read: Read) -> bool {
        match &self.session {
            Some(_) => sender.offer(&read.view, &read.instance).await,
            None => {
                sender.call(&read.view, &read.instance).await;
                false
            }
        }
    }

    /// The call is gone: the followed session's final view (if it was not pushed yet), then `gone`.
    async fn end_call(&self, sender: &mut Sender, customer: &str) {
        let pending = sender
            .last
            .as_ref()
            .filter(|l| l.state != "done")
            .map(|l| l.id.clone());
        if let Some(id) = pending
            && let Ok(reply) = self.ask(format!("/api/v1/sessions/{id}")).await
            && reply.status == 200
            && let Some(view) = reply.json()
        {
            sender.offer(&view, &reply.instance).await;
        }
        let _ = sender.event("gone", customer.to_owned()).await;
    }
}

/// The session view sent last.
struct Last {
    id: String,
    started_ms: u64,
    state: String,
}

/// Sends session views, each only if newer than what was sent of that session.
struct Sender {
    tx: mpsc::Sender<Event>,
    node: String,
    last: Option<Last>,
    /// Per session sent: the owner instance and the revision sent last.
    sent: HashMap<String, (String, u64)>,
}

impl Sender {
    /// Sends `v` (from `instance`) unless it is not newer than what was sent of its session, or
    /// its session started before the one followed now; true if the followed session is done.
    async fn offer(&mut self, v: &Value, instance: &str) -> bool {
        let id = v["id"].as_str().unwrap_or_default();
        let revision = v["revision"].as_u64().unwrap_or_default();
        let started_ms = v["started_ms"].as_u64().unwrap_or_default();
        let stale = self
            .sent
            .get(id)
            .is_some_and(|(i, r)| i == instance && revision <= *r)
            || self
                .last
                .as_ref()
                .is_some_and(|l| l.id != id && started_ms < l.started_ms);
        if !stale {
            let mut tagged = v.clone();
            if let Value::Object(m) = &mut tagged {
                m.insert("node".to_owned(), Value::String(self.node.clone()));
            }
            let _ = self.event("session", tagged.to_string()).await;
            self.sent
                .insert(id.to_owned(), (instance.to_owned(), revision));
            self.last = Some(Last {
                id: id.to_owned(),
                started_ms,
                state: v["state"].as_str().unwrap_or_default().to_owned(),
            });
        }
        self.last.as_ref().is_some_and(|l| l.state == "done")
    }

    /// A followed call's view: the followed session's end if it ended meanwhile, then the running
    /// session, or with none running at the start, the latest ended one (as a local stream does).
    async fn call(&mut self, call: &Value, instance: &str) {
        let running = call.get("session").filter(|s| !s.is_null());
        let history = call["history"].as_array().cloned().unwrap_or_default();
        let followed = self.last.as_ref().map(|l| l.id.clone());
        if let Some(id) = &followed
            && running.is_none_or(|r| r["id"].as_str() != Some(id.as_str()))
            && let Some(end) = history.iter().find(|h| h["id"].as_str() == Some(id))
        {
            self.offer(end, instance).await;
        }
        match running {
            Some(r) => {
                self.offer(r, instance).await;
            }
            None if followed.is_none() => {
                if let Some(latest) = history.last() {
                    self.offer(latest, instance).await;
                }
            }
            None => {}
        }
    }

    async fn event(&self, name: &str, data: String) -> Result<(), mpsc::error::SendError<Event>> {
        self.tx.send(Event::default().event(name).data(data)).await
    }
}
