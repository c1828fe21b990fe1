//! The HTTP side of the daemon: agent control API, agent page, status stream, metrics, health.
//!
//! | module | job |
//! |---|---|
//! | [`api`] | JSON operations under `/api/v1` |
//! | [`sse`] | `/api/v1/events`: live session status as Server-Sent Events |
//! | [`auth`] | bearer token from the live `http.token` |
//! | [`error`] | `{"error": {"code", "message"}}` and HTTP statuses |
//! | [`views`] | the JSON shapes of sessions, calls, outcomes |
//! | [`page`] | the agent page (`/`, `/assets/agent.js`, `/assets/agent.css`) |
//! | [`openapi`] | `/api/v1/openapi.json` |
//! | [`health`] | `/healthz` and the [`Health`] flags the daemon sets |
//!
//! Auth: every `/api/v1/*` route except `openapi.json` needs the bearer token when `http.token` is
//! set. The page and its assets, `/healthz` and `/metrics` are open: they carry no call data
//! (metrics are counts by fixed labels). Default bind `127.0.0.1:8085` (config `http.listen`).
//!
//! Integration: `let l = http::bind(addr).await?;` then spawn
//! `http::serve(l, AppState { engine, config, metrics, health }, shutdown_token)`.

pub mod api;
pub mod auth;
pub mod error;
pub mod health;
pub mod openapi;
pub mod page;
pub mod sse;
pub mod views;

pub use error::ApiError;
pub use health::Health;

use crate::config::Config;
use crate::metrics::Metrics;
use crate::pay::engine::Engine;
use axum::Router;
use axum::extract::State;
use axum::http::Uri;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Every route the router serves, `(method, path)` in OpenAPI path syntax.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/assets/agent.js"),
    ("get", "/assets/agent.css"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/calls"),
    ("get", "/api/v1/sessions"),
    ("post", "/api/v1/sessions"),
    ("get", "/api/v1/sessions/{id}"),
    ("post", "/api/v1/sessions/{id}/capture"),
    ("post", "/api/v1/sessions/{id}/cancel"),
    ("get", "/api/v1/events"),
];

/// What the HTTP server needs from the daemon.
#[derive(Clone)]
pub struct AppState {
    pub engine: Engine,
    /// The live configuration (`http.token` is read from it on every request).
    pub config: watch::Receiver<Arc<Config>>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
}

/// The handlers' state: the app plus the shutdown token (status streams end on shutdown).
#[derive(Clone)]
pub struct Shared {
    pub app: AppState,
    pub shutdown: CancellationToken,
}

/// Binds the HTTP listener (`http.listen`, default `127.0.0.1:8085`).
pub async fn bind(listen: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// The whole router, with its state.
pub fn router(app: AppState, shutdown: CancellationToken) -> Router {
    let shared = Shared { app, shutdown };
    let protected = Router::new()
        .route("/calls", get(api::list_calls))
        .route(
            "/sessions",
            get(api::list_sessions).post(api::start_payment),
        )
        .route("/sessions/{id}", get(api::get_session))
        .route("/sessions/{id}/capture", post(api::start_capture))
        .route("/sessions/{id}/cancel", post(api::cancel))
        .route("/events", get(sse::stream))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            auth::require_token,
        ));
    let v1 = Router::new()
        .route("/openapi.json", get(openapi::document))
        .merge(protected);
    Router::new()
        .route("/", get(page::index))
        .route("/assets/agent.js", get(page::script))
        .route("/assets/agent.css", get(page::style))
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", v1)
        .fallback(no_route)
        .with_state(shared)
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight (status streams end).
pub async fn serve(listener: TcpListener, app: AppState, shutdown: CancellationToken) {
    let addr = listener.local_addr().ok();
    info!(listen = ?addr, "HTTP API listening");
    let router = router(app, shutdown.clone());
    let done = shutdown.clone();
    if let Err(e) = axum::serve(listener, router)
        .with_graceful_shutdown(async move { done.cancelled().await })
        .await
    {
        warn!(error = %e, "HTTP server stopped with an error");
    }
    info!("HTTP API stopped");
}

async fn metrics(State(shared): State<Shared>) -> Response {
    let gauges = shared.app.engine.gauges().await;
    let text = shared.app.metrics.render(&gauges);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn no_route(uri: Uri) -> ApiError {
    ApiError::NoRoute {
        path: uri.path().to_owned(),
    }
}
