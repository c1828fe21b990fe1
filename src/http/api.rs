//! The JSON operations of `/api/v1`: list calls and sessions, start a payment, start capture
//! (ACA), cancel, get one session. Status streams are in [`super::sse`].

use super::Shared;
use super::auth::Authority;
use super::error::ApiError;
use super::views::{CallJson, SessionJson};
use crate::pay::audit::Initiator;
use crate::pay::engine::{CallView, Engine, Target};
use crate::pay::session::SessionView;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::info;

/// `POST /api/v1/sessions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Which call: by the customer's or the agent's channel UUID, or by the agent's ID.
    pub target: TargetRequest,
    /// The agent ID to send to the capture service (overrides the one known for the call).
    #[serde(default)]
    pub agent_id: Option<String>,
}

/// `{"type": "customer" | "agent" | "agent_id", "id": "..."}`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum TargetRequest {
    Customer(String),
    Agent(String),
    AgentId(String),
}

impl TargetRequest {
    fn into_target(self) -> Result<Target, ApiError> {
        let (target, id) = match self {
            TargetRequest::Customer(u) => (Target::Customer(u.clone()), u),
            TargetRequest::Agent(u) => (Target::Agent(u.clone()), u),
            TargetRequest::AgentId(a) => (Target::AgentId(a.clone()), a),
        };
        if id.trim().is_empty() {
            return Err(ApiError::bad_request("target.id must not be empty"));
        }
        if id.len() > 128 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ApiError::bad_request(
                "target.id must be a channel UUID or an agent ID (letters, digits, '-')",
            ));
        }
        Ok(target)
    }
}

/// `GET /api/v1/whoami`: what the token is — the admin, or one agent — so the agent page shows an
/// agent only their own call.
pub async fn whoami(Extension(who): Extension<Authority>) -> Json<Value> {
    Json(match who {
        Authority::Admin => json!({ "role": "admin", "agent_id": null }),
        Authority::Agent { agent_id } => json!({ "role": "agent", "agent_id": agent_id }),
    })
}

/// `GET /api/v1/calls`: every call the engine knows (an agent: their own), with its running
/// session and past ones.
pub async fn list_calls(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
) -> Json<Value> {
    let calls: Vec<CallJson> = shared
        .app
        .engine
        .calls()
        .await
        .iter()
        .filter(|c| who.covers(c))
        .map(CallJson::from_view)
        .collect();
    Json(json!({ "calls": calls }))
}

/// `GET /api/v1/sessions`: running sessions, then ended ones still known (of calls still up).
pub async fn list_sessions(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
) -> Json<Value> {
    let calls: Vec<CallView> = shared
        .app
        .engine
        .calls()
        .await
        .into_iter()
        .filter(|c| who.covers(c))
        .collect();
    let running: Vec<SessionJson> = calls
        .iter()
        .filter_map(|c| c.session.as_ref())
        .map(SessionJson::from_view)
        .collect();
    let ended: Vec<SessionJson> = calls
        .iter()
        .flat_map(|c| c.history.iter())
        .map(SessionJson::from_view)
        .collect();
    Json(json!({ "sessions": running, "ended": ended }))
}

/// `POST /api/v1/sessions`: take a payment on a call. 201 with the new session.
pub async fn start_payment(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
    body: Bytes,
) -> Result<(StatusCode, Json<SessionJson>), ApiError> {
    let req: StartRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let target = req.target.into_target()?;
    may_start(&shared.app.engine, &who, &target, req.agent_id.as_deref()).await?;
    let initiator = Initiator::Api {
        subject: who.subject(),
    };
    let view = shared
        .app
        .engine
        .start_payment_by(target, req.agent_id, initiator)
        .await?;
    info!(session = %view.id, call = %view.customer, "payment started through the API");
    Ok((StatusCode::CREATED, Json(SessionJson::from_view(&view))))
}

/// An agent starts payments only on calls known to carry their agent ID, under that ID.
async fn may_start(
    engine: &Engine,
    who: &Authority,
    target: &Target,
    agent_id: Option<&str>,
) -> Result<(), ApiError> {
    let Authority::Agent { .. } = who else {
        return Ok(());
    };
    if let Some(id) = agent_id {
        who.may_use_agent_id(id)?;
    }
    let uuid = match target {
        Target::AgentId(id) => return who.may_use_agent_id(id),
        Target::Customer(u) | Target::Agent(u) => u,
    };
    let calls = engine.calls().await;
    let call = calls
        .iter()
        .find(|c| &c.customer == uuid || c.agent.as_ref() == Some(uuid));
    match call {
        Some(c) if who.covers(c) => Ok(()),
        _ => Err(ApiError::forbidden(
            "an agent token reaches only calls carrying its agent ID (target it by agent_id)",
        )),
    }
}

/// `GET /api/v1/sessions/{id}`.
pub async fn get_session(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
    Path(id): Path<String>,
) -> Result<Json<SessionJson>, ApiError> {
    let view = find_session(&shared.app.engine, &id)
        .await
        .ok_or(ApiError::NotFound {
            what: "session",
            id: id.clone(),
        })?;
    may_touch_session(&shared.app.engine, &who, &id).await?;
    Ok(Json(SessionJson::from_view(&view)))
}

/// `POST /api/v1/sessions/{id}/capture`: ACA start (the daemon sends '1'). 202.
pub async fn start_capture(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SessionJson>), ApiError> {
    may_touch_session(&shared.app.engine, &who, &id).await?;
    let view = shared.app.engine.start_capture(&id).await?;
    info!(session = %id, "capture started through the API");
    Ok((StatusCode::ACCEPTED, Json(SessionJson::from_view(&view))))
}

/// `POST /api/v1/sessions/{id}/cancel`. 202; the session unwinds and ends `cancelled`.
pub async fn cancel(
    State(shared): State<Shared>,
    Extension(who): Extension<Authority>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SessionJson>), ApiError> {
    may_touch_session(&shared.app.engine, &who, &id).await?;
    let view = shared.app.engine.cancel(&id).await?;
    info!(session = %id, "cancel requested through the API");
    Ok((StatusCode::ACCEPTED, Json(SessionJson::from_view(&view))))
}

/// An agent acts only on sessions of calls carrying their agent ID (403 for another agent's).
pub async fn may_touch_session(engine: &Engine, who: &Authority, id: &str) -> Result<(), ApiError> {
    if *who == Authority::Admin {
        return Ok(());
    }
    let calls = engine.calls().await;
    let call = calls.iter().find(|c| {
        c.session.as_ref().is_some_and(|s| s.id == id) || c.history.iter().any(|s| s.id == id)
    });
    match call {
        Some(c) if who.covers(c) => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "this session is on another agent's call",
        )),
        // An ended session of a call that is gone: the session's own agent ID decides.
        None => match engine
            .watch(id)
            .await
            .map(|rx| rx.borrow().agent_id.clone())
        {
            Some(agent) if agent.is_some() && agent == who.agent_id() => Ok(()),
            Some(_) => Err(ApiError::forbidden(
                "this session is on another agent's call",
            )),
            None => Err(ApiError::NotFound {
                what: "session",
                id: id.to_owned(),
            }),
        },
    }
}

/// A session by id: running (live view) or ended (history of a call still known).
pub async fn find_session(engine: &Engine, id: &str) -> Option<SessionView> {
    if let Some(rx) = engine.watch(id).await {
        return Some(rx.borrow().clone());
    }
    engine
        .calls()
        .await
        .into_iter()
        .flat_map(|c| c.session.into_iter().chain(c.history))
        .find(|s| s.id == id)
}
