//! The agent page (`/`) and its script and style sheet: plain HTML/JS/CSS compiled into the binary
//! with `include_str!`, no build step. The page holds no data of its own: it calls the API.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const HTML: &str = include_str!("assets/agent.html");
const JS: &str = include_str!("assets/agent.js");
const CSS: &str = include_str!("assets/agent.css");

/// Only our own script, style and API: no inline script, nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset(HTML, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}
