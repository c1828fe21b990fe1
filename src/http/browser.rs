//! What keeps a web page the agent happens to visit from using the API: a `Host` allow-list
//! (against DNS rebinding), an `Origin` check (against cross-site requests) and JSON-only bodies
//! (a cross-site form or `text/plain` fetch cannot send `application/json` without a preflight,
//! which this server never approves).
//!
//! Allowed `Host` values: `localhost`, `127.0.0.1`, `[::1]` and the address the listener is bound
//! to, each with or without its port, plus `http.allowed_hosts` (`"*"` turns the check off). A request with no
//! `Host` (HTTP/1.0, not a browser) passes. Allowed `Origin`: the request's own (`http://` or
//! `https://` + its `Host`), or one of `http.allowed_origins`. `Origin: null` is refused. Requests
//! without `Origin` (curl, a call-centre platform's server) pass: the token check still applies.
//!
//! The checks are pure functions of the headers and the live configuration; [`guard`] applies them
//! to every request and [`json_only`] to the API's writes.

use super::Shared;
use super::error::ApiError;
use crate::config::schema::HttpConfig;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use tracing::info;

/// Middleware on every route: `Host` allow-list, then (on `/api/v1`) the `Origin` check.
pub async fn guard(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    let verdict = {
        let config = shared.app.config.borrow();
        check(&config.http, shared.bound, req.headers(), req.uri().path())
    };
    match verdict {
        Ok(()) => next.run(req).await,
        Err(e) => {
            info!(path = %req.uri().path(), code = e.code(), "HTTP request refused");
            e.into_response()
        }
    }
}

/// Middleware on the API's `POST`s: a body must be `application/json`.
pub async fn json_only(req: Request, next: Next) -> Response {
    if req.method() == Method::POST
        && let Err(e) = content_type_ok(req.headers())
    {
        return e.into_response();
    }
    next.run(req).await
}

/// The `Host` and `Origin` checks for one request.
pub fn check(
    http: &HttpConfig,
    bound: SocketAddr,
    headers: &HeaderMap,
    path: &str,
) -> Result<(), ApiError> {
    let host = match headers.get(HOST) {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| ApiError::HostNotAllowed)?),
    };
    if let Some(host) = host
        && !host_allowed(http, bound, host)
    {
        return Err(ApiError::HostNotAllowed);
    }
    if !path.starts_with("/api/") {
        return Ok(());
    }
    match headers.get(ORIGIN) {
        None => Ok(()),
        Some(v) => {
            let origin = v.to_str().map_err(|_| ApiError::OriginNotAllowed)?;
            if origin_allowed(http, origin, host) {
                Ok(())
            } else {
                Err(ApiError::OriginNotAllowed)
            }
        }
    }
}

/// Whether `host` (a `Host` header value) names this server, listening on `bound`.
pub fn host_allowed(http: &HttpConfig, bound: SocketAddr, host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    if http.allowed_hosts.iter().any(|h| h == "*") {
        return true;
    }
    let port = bound.port().to_string();
    let (name, given_port) = split_host_port(&host);
    if given_port.is_some_and(|p| p != port) {
        return http
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(&host));
    }
    let listen_ip = match bound.ip() {
        ip if ip.is_unspecified() => String::new(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    let builtin = ["localhost", "127.0.0.1", "[::1]", listen_ip.as_str()];
    (!name.is_empty() && builtin.contains(&name))
        || http.allowed_hosts.iter().any(|h| {
            h.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(&format!("{name}:{port}"))
        })
}

/// Whether a browser page at `origin` may call the API reached as `host`.
pub fn origin_allowed(http: &HttpConfig, origin: &str, host: Option<&str>) -> bool {
    let origin = origin.trim();
    if http
        .allowed_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let Some(host) = host else { return false };
    let same = |scheme: &str| {
        origin
            .strip_prefix(scheme)
            .is_some_and(|rest| rest.eq_ignore_ascii_case(host.trim()))
    };
    same("http://") || same("https://")
}

/// `application/json` (any parameters) when a body or a `Content-Type` is sent.
fn content_type_ok(headers: &HeaderMap) -> Result<(), ApiError> {
    let declared_len = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = headers.contains_key(axum::http::header::TRANSFER_ENCODING);
    match headers.get(CONTENT_TYPE) {
        None if declared_len.unwrap_or(0) == 0 && !chunked => Ok(()),
        None => Err(ApiError::UnsupportedMediaType),
        Some(v) => {
            let essence = v
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            if essence.eq_ignore_ascii_case("application/json") {
                Ok(())
            } else {
                Err(ApiError::UnsupportedMediaType)
            }
        }
    }
}

/// `name` and `port` of a `Host` value (`[v6]:port`, `name:port`, `name`).
fn split_host_port(host: &str) -> (&str, Option<&str>) {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => {
                let port = host[end + 1..].strip_prefix(':');
                (&host[..=end], port)
            }
            None => (host, None),
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host, None),
    }
}

#[cfg(test)]
#[path = "browser_tests.rs"]
mod tests;
