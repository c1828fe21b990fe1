//! API errors: `{"error": {"code": "...", "message": "..."}}` with a stable code and the right
//! HTTP status. Engine refusals map by [`EngineError::code`].

use crate::pay::attach::AttachError;
use crate::pay::engine::EngineError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Why an API request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Missing or wrong bearer token. The message never repeats what was sent.
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("bad request: {reason}")]
    BadRequest { reason: String },
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("no such route: {path}")]
    NoRoute { path: String },
    /// The token is valid but does not cover what was asked.
    #[error("forbidden: {reason}")]
    Forbidden { reason: &'static str },
    /// `Host` names no address of this server (DNS rebinding).
    #[error("Host not allowed; add it to http.allowed_hosts")]
    HostNotAllowed,
    /// A page from another origin (cross-site request).
    #[error("Origin not allowed; add it to http.allowed_origins")]
    OriginNotAllowed,
    #[error("request bodies must be application/json")]
    UnsupportedMediaType,
    #[error("too many status streams open (http.max_streams)")]
    TooManyStreams,
    /// The call is held by a cluster node that is not answering; no other node touches it.
    #[error("cluster node {node} holds this call and is unreachable; it is not taken over")]
    NodeUnreachable { node: String },
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Engine(e) => e.code(),
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::NotFound { what, .. } => match *what {
                "session" => "unknown_session",
                "call" => "unknown_call",
                _ => "not_found",
            },
            ApiError::NoRoute { .. } => "not_found",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::HostNotAllowed => "host_not_allowed",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::TooManyStreams => "too_many_streams",
            ApiError::NodeUnreachable { .. } => "node_unreachable",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Engine(e) => match e {
                EngineError::UnknownCall { .. } | EngineError::UnknownSession { .. } => {
                    StatusCode::NOT_FOUND
                }
                EngineError::WrongState { .. }
                | EngineError::Busy { .. }
                | EngineError::NoAgent { .. }
                | EngineError::NotInConference { .. } => StatusCode::CONFLICT,
                EngineError::BadAgentId => StatusCode::BAD_REQUEST,
                EngineError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                EngineError::Attach(a) => match a {
                    AttachError::NoSuchChannel { .. }
                    | AttachError::NotBridged { .. }
                    | AttachError::NoCallForAgentId { .. } => StatusCode::NOT_FOUND,
                    AttachError::WrongLeg { .. }
                    | AttachError::Ambiguous { .. }
                    | AttachError::NotAttachable { .. }
                    | AttachError::AgentIdOnSeveralCalls { .. } => StatusCode::CONFLICT,
                    AttachError::Switch { .. } => StatusCode::SERVICE_UNAVAILABLE,
                },
            },
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } | ApiError::NoRoute { .. } => StatusCode::NOT_FOUND,
            ApiError::Forbidden { .. } | ApiError::HostNotAllowed | ApiError::OriginNotAllowed => {
                StatusCode::FORBIDDEN
            }
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyStreams | ApiError::NodeUnreachable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    pub fn forbidden(reason: &'static str) -> ApiError {
        ApiError::Forbidden { reason }
    }

    pub fn bad_request(reason: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            reason: reason.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut resp = (self.status(), Json(body)).into_response();
        if let ApiError::Unauthorized = self {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"confpay\""),
            );
        }
        resp
    }
}
