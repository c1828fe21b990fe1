//! `GET /api/v1/calls` and `GET /api/v1/sessions` across the cluster: this node's answer plus every
//! reachable node's (asked at once, with the caller's authority, so each owner filters its own),
//! each item with its `node`. Calls of a node that is unreachable (or did not answer) are listed
//! from its last heartbeat with `reachable: false`; `GET /sessions` names such nodes in
//! `unreachable_nodes`.

use super::Cluster;
use super::wire::{CallSummary, ForwardRequest};
use crate::http::Authority;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;
use serde_json::{Value, json};
use std::time::Instant;

/// Largest local answer read back for merging.
const MAX_LOCAL: usize = 16 * 1024 * 1024;

/// `{"calls": [...]}` of the whole cluster.
pub async fn calls(cluster: &Cluster, who: &Authority, local: Response) -> Response {
    let Some(mut own) = local_json(local).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut all = tag(take(&mut own, "calls"), cluster.node(), true);
    for (node, answer, summary) in ask_all(cluster, who, "/api/v1/calls").await {
        match answer {
            Some(mut j) => all.extend(tag(take(&mut j, "calls"), &node, true)),
            None => all.extend(
                summary
                    .iter()
                    .filter(|c| covers(who, c))
                    .map(|c| unreachable_call(c, &node)),
            ),
        }
    }
    Json(json!({ "calls": all })).into_response()
}

/// `{"sessions": [...], "ended": [...], "unreachable_nodes": [...]}` of the whole cluster.
pub async fn sessions(cluster: &Cluster, who: &Authority, local: Response) -> Response {
    let Some(mut own) = local_json(local).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let mut running = tag(take(&mut own, "sessions"), cluster.node(), true);
    let mut ended = tag(take(&mut own, "ended"), cluster.node(), true);
    let mut unreachable = Vec::new();
    for (node, answer, _) in ask_all(cluster, who, "/api/v1/sessions").await {
        match answer {
            Some(mut j) => {
                running.extend(tag(take(&mut j, "sessions"), &node, true));
                ended.extend(tag(take(&mut j, "ended"), &node, true));
            }
            None => unreachable.push(node),
        }
    }
    Json(json!({ "sessions": running, "ended": ended, "unreachable_nodes": unreachable }))
        .into_response()
}

/// Every other node's answer to `GET path` (None: unreachable or failed), with its last summary.
async fn ask_all(
    cluster: &Cluster,
    who: &Authority,
    path: &str,
) -> Vec<(String, Option<Value>, Vec<CallSummary>)> {
    let req = ForwardRequest {
        method: "GET".to_owned(),
        path: path.to_owned(),
        body: String::new(),
        authority: who.into(),
    };
    let asks =
        cluster
            .peers()
            .snapshot(Instant::now())
            .into_iter()
            .map(|(node, reachable, calls)| {
                let req = &req;
                async move {
                    let answer = if reachable {
                        cluster
                            .forward(&node, req)
                            .await
                            .ok()
                            .filter(|r| r.status == 200)
                            .and_then(|r| r.json())
                    } else {
                        None
                    };
                    (node, answer, calls)
                }
            });
    join_all(asks).await
}

async fn local_json(local: Response) -> Option<Value> {
    let bytes = axum::body::to_bytes(local.into_body(), MAX_LOCAL)
        .await
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn take(v: &mut Value, key: &str) -> Vec<Value> {
    match v.get_mut(key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

fn tag(items: Vec<Value>, node: &str, reachable: bool) -> Vec<Value> {
    items
        .into_iter()
        .map(|mut item| {
            if let Value::Object(m) = &mut item {
                m.insert("node".to_owned(), json!(node));
                m.insert("reachable".to_owned(), json!(reachable));
            }
            item
        })
        .collect()
}

fn covers(who: &Authority, c: &CallSummary) -> bool {
    match who {
        Authority::Admin => true,
        Authority::Agent { agent_id } => c.agent_id.as_deref() == Some(agent_id.as_str()),
    }
}

/// A call known only from an unreachable node's last heartbeat.
fn unreachable_call(c: &CallSummary, node: &str) -> Value {
    json!({
        "customer": c.customer,
        "agent": c.agent,
        "agent_id": c.agent_id,
        "room": c.room,
        "session": null,
        "history": [],
        "session_ids": c.sessions,
        "node": node,
        "reachable": false,
    })
}
