//! Bearer-token auth for `/api/v1/*` (except `openapi.json`).
//!
//! The token is `http.token`, read from the live configuration on every request (SIGHUP may change
//! it). A non-empty token must be sent as `Authorization: Bearer <token>`; a missing or wrong one is
//! a 401 JSON error. An empty token means no auth: configuration validation accepts that only on a
//! loopback `http.listen`, so only local processes can reach the API then.
//!
//! The token is never logged: the log line for a refusal says only whether a header was present.
//! The page does not put it in a URL either (it keeps it in `sessionStorage` and sends the header).

use super::Shared;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::info;

/// Middleware: passes the request on if its bearer token matches (or none is configured).
pub async fn require_token(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let expected = shared.app.config.borrow().http.token.clone();
    if expected.is_empty() {
        return next.run(req).await;
    }
    let sent = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match sent {
        Some(token) if constant_time_eq(token.as_bytes(), expected.expose().as_bytes()) => {
            next.run(req).await
        }
        other => {
            info!(
                path = %req.uri().path(),
                header = other.is_some(),
                "API request refused: missing or wrong bearer token"
            );
            ApiError::Unauthorized.into_response()
        }
    }
}

/// Compares without stopping at the first difference (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
