//! Sending an API request to the node that holds what it is about (NATS request/reply on
//! `confpay.node.<owner>.api`), turning the owner's answer back into an HTTP response, and finding
//! the owner of a session no heartbeat lists (an ended session of a call that is gone: its owner
//! keeps it answerable, but no longer announces it).

use super::Cluster;
use super::wire::{ForwardReply, ForwardRequest, api_subject};
use crate::http::{ApiError, Authority};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use futures_util::future::join_all;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tracing::warn;

impl Cluster {
    /// Asks `node` to handle `req`; any failure (NATS down, no answer in
    /// `cluster.request_timeout_ms`, nobody serving that node) is [`ApiError::NodeUnreachable`].
    pub async fn forward(
        &self,
        node: &str,
        req: &ForwardRequest,
    ) -> Result<ForwardReply, ApiError> {
        let answer = self.ask(node, req).await;
        let counter = match answer {
            Ok(_) => &self.inner.forwarded_ok,
            Err(_) => &self.inner.forwarded_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        answer.map_err(|why| {
            warn!(node, method = %req.method, path = %req.path, why, "forwarded request failed: node unreachable");
            ApiError::NodeUnreachable {
                node: node.to_owned(),
            }
        })
    }

    async fn ask(&self, node: &str, req: &ForwardRequest) -> Result<ForwardReply, &'static str> {
        if !self.connected() {
            return Err("NATS unreachable");
        }
        let payload = serde_json::to_vec(req).map_err(|_| "request not encodable")?;
        let asked = self.inner.client.request(api_subject(node), payload.into());
        let msg = match tokio::time::timeout(self.inner.request_timeout, asked).await {
            Err(_) => return Err("no answer in time"),
            Ok(Err(e)) => {
                return Err(match e.kind() {
                    async_nats::RequestErrorKind::NoResponders => "no daemon serves that node",
                    async_nats::RequestErrorKind::TimedOut => "no answer in time",
                    async_nats::RequestErrorKind::Other => "NATS error",
                });
            }
            Ok(Ok(m)) => m,
        };
        serde_json::from_slice(&msg.payload).map_err(|_| "unreadable answer")
    }
}

impl Cluster {
    /// Asks every reachable node at once for session `id` (as `who`); the node that knows it (any
    /// answer but 404) is its owner, remembered for the next request. `None`: nobody knows it.
    pub async fn search_session(&self, who: &Authority, id: &str) -> Option<String> {
        let req = ForwardRequest {
            method: "GET".to_owned(),
            path: format!("/api/v1/sessions/{id}"),
            body: String::new(),
            authority: who.into(),
        };
        let asks = self
            .peers()
            .snapshot(Instant::now())
            .into_iter()
            .filter(|(_, reachable, _)| *reachable)
            .map(|(node, _, _)| {
                let req = &req;
                async move {
                    let known = self.ask(&node, req).await.is_ok_and(|r| r.status != 404);
                    known.then_some(node)
                }
            });
        let owner = join_all(asks).await.into_iter().flatten().next()?;
        self.peers().learn(id, &owner);
        Some(owner)
    }
}

impl ForwardReply {
    /// The owner's answer as this node's HTTP response.
    pub fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_GATEWAY);
        (status, [(CONTENT_TYPE, "application/json")], self.body).into_response()
    }

    /// The body as JSON (lists, a new session's id).
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }
}
