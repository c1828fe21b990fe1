//! The HTTP middleware of cluster mode (inside the token check, so the caller's [`Authority`] is
//! known): a request for a call, session or agent ID this node's engine does not hold goes to the
//! node whose heartbeat says it holds it; one for a node not heard from lately fails with 503
//! `node_unreachable`; anything this node holds, or nobody claims, is served here as without a
//! cluster. Lists are merged ([`super::merge`]); status streams follow remote calls
//! ([`super::stream`]). A [`Forwarded`] request is always served here.

use super::Cluster;
use super::peers::Owner;
use super::wire::{CallSummary, ForwardRequest};
use crate::http::api::find_session;
use crate::http::sse::StreamQuery;
use crate::http::{ApiError, Authority, Shared};
use crate::pay::engine::CallView;
use axum::body::Body;
use axum::extract::{OriginalUri, Query, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Largest request body forwarded (API bodies are a few hundred bytes).
const MAX_BODY: usize = 64 * 1024;

/// Marks a request another node forwarded here, with the authority that node verified. Only ever
/// set in process (by [`super::serve`]); nothing from the network can set it.
#[derive(Clone, Debug)]
pub struct Forwarded {
    pub authority: Authority,
}

/// Where a request's call or session is.
enum Place {
    /// Here, or nowhere known: served by this node as without a cluster.
    Here,
    Remote(Owner),
}

/// What a request names.
enum Named {
    Session(String),
    Call(CallKey),
}

/// A call, by one of its IDs.
enum CallKey {
    Customer(String),
    Agent(String),
    AgentId(String),
}

impl CallKey {
    fn matches(&self, customer: &str, agent: Option<&str>, agent_id: Option<&str>) -> bool {
        match self {
            CallKey::Customer(u) => customer == u,
            CallKey::Agent(u) => agent == Some(u.as_str()),
            CallKey::AgentId(a) => agent_id == Some(a.as_str()),
        }
    }
}

/// The middleware.
pub async fn layer(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let (Some(cluster), None) = (
        shared.app.cluster.clone(),
        req.extensions().get::<Forwarded>(),
    ) else {
        return next.run(req).await;
    };
    let Some(who) = req.extensions().get::<Authority>().cloned() else {
        return next.run(req).await;
    };
    let uri = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let method = req.method().clone();
    match (method.clone(), uri.path()) {
        (Method::GET, "/api/v1/calls") => {
            let local = next.run(req).await;
            super::merge::calls(&cluster, &who, local).await
        }
        (Method::GET, "/api/v1/sessions") => {
            let local = next.run(req).await;
            super::merge::sessions(&cluster, &who, local).await
        }
        (Method::GET, "/api/v1/events") => {
            let Ok(Query(q)) = Query::<StreamQuery>::try_from_uri(&uri) else {
                return next.run(req).await;
            };
            let Some(named) = stream_names(&q) else {
                return next.run(req).await;
            };
            match locate(&shared, &cluster, &who, &named).await {
                Place::Here => next.run(req).await,
                Place::Remote(Owner::Unreachable(node)) => unreachable(node),
                Place::Remote(Owner::Reachable(node)) => {
                    super::stream::remote(&shared, &cluster, &who, &node, q).await
                }
            }
        }
        (Method::POST, "/api/v1/sessions") => {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
                return ApiError::bad_request("request body too large").into_response();
            };
            let named = start_target(&bytes);
            let req = Request::from_parts(parts, Body::from(bytes.clone()));
            let Some(named) = named else {
                return next.run(req).await;
            };
            let path = uri.path().to_owned();
            let body = String::from_utf8_lossy(&bytes).into_owned();
            dispatch(
                &shared,
                &cluster,
                &who,
                &named,
                (method, path, body),
                req,
                next,
            )
            .await
        }
        (_, p) if p.starts_with("/api/v1/sessions/") => {
            let id = p["/api/v1/sessions/".len()..]
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            let path = uri
                .path_and_query()
                .map_or_else(|| p.to_owned(), |pq| pq.as_str().to_owned());
            let named = Named::Session(id);
            dispatch(
                &shared,
                &cluster,
                &who,
                &named,
                (method, path, String::new()),
                req,
                next,
            )
            .await
        }
        _ => next.run(req).await,
    }
}

/// Serves here, forwards, or refuses (owner unreachable).
async fn dispatch(
    shared: &Shared,
    cluster: &Cluster,
    who: &Authority,
    named: &Named,
    (method, path, body): (Method, String, String),
    req: Request,
    next: Next,
) -> Response {
    let node = match locate(shared, cluster, who, named).await {
        Place::Here => return next.run(req).await,
        Place::Remote(Owner::Unreachable(node)) => return unreachable(node),
        Place::Remote(Owner::Reachable(node)) => node,
    };
    let fwd = ForwardRequest {
        method: method.to_string(),
        path,
        body,
        authority: who.into(),
    };
    match cluster.forward(&node, &fwd).await {
        Ok(reply) => {
            // A session started through this node is found here before the owner's next heartbeat.
            if method == Method::POST
                && let Some(id) = reply
                    .json()
                    .and_then(|j| j["id"].as_str().map(str::to_owned))
            {
                cluster.peers().learn(&id, &node);
            }
            reply.into_response()
        }
        Err(e) => e.into_response(),
    }
}

fn unreachable(node: String) -> Response {
    ApiError::NodeUnreachable { node }.into_response()
}

/// This node first (its engine is the truth for its own calls), then the presence table; a session
/// neither knows is searched for on every reachable node (an ended session of a call that is gone).
async fn locate(shared: &Shared, cluster: &Cluster, who: &Authority, named: &Named) -> Place {
    let engine = &shared.app.engine;
    let now = Instant::now();
    let remote = match named {
        Named::Session(id) => {
            if find_session(engine, id).await.is_some() {
                return Place::Here;
            }
            if let Some(owner) = cluster.peers().owner_of_session(now, id) {
                return Place::Remote(owner);
            }
            cluster.search_session(who, id).await.map(Owner::Reachable)
        }
        Named::Call(key) => {
            let m = |cu: &str, ag: Option<&str>, aid: Option<&str>| key.matches(cu, ag, aid);
            let here = |c: &CallView| m(&c.customer, c.agent.as_deref(), c.agent_id.as_deref());
            if engine.calls().await.iter().any(here) {
                return Place::Here;
            }
            let there = |c: &CallSummary| m(&c.customer, c.agent.as_deref(), c.agent_id.as_deref());
            cluster.peers().owner_of_call(now, there)
        }
    };
    remote.map_or(Place::Here, Place::Remote)
}

/// The call a `POST /api/v1/sessions` body targets; `None` for a body the handler will refuse.
fn start_target(body: &[u8]) -> Option<Named> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let kind = v["target"]["type"].as_str()?.to_owned();
    let id = v["target"]["id"].as_str()?.to_owned();
    call_named(&kind, id)
}

/// What a status stream's query names.
fn stream_names(q: &StreamQuery) -> Option<Named> {
    match (&q.session, &q.call, &q.agent, &q.agent_id) {
        (Some(s), None, None, None) => Some(Named::Session(s.clone())),
        (None, Some(c), None, None) => call_named("customer", c.clone()),
        (None, None, Some(a), None) => call_named("agent", a.clone()),
        (None, None, None, Some(a)) => call_named("agent_id", a.clone()),
        _ => None,
    }
}

fn call_named(kind: &str, id: String) -> Option<Named> {
    let key = match kind {
        "customer" => CallKey::Customer(id),
        "agent" => CallKey::Agent(id),
        "agent_id" => CallKey::AgentId(id),
        _ => return None,
    };
    Some(Named::Call(key))
}
