//! The HTTP side of the daemon: agent control API, agent page, status stream, metrics, health.
//!
//! | module | job |
//! |---|---|
//! | [`api`] | JSON operations under `/api/v1` |
//! | [`sse`] | `/api/v1/events`: live session status as Server-Sent Events |
//! | [`auth`] | who asks: the admin token or a per-agent token ([`Authority`]) |
//! | [`agent_token`] | per-agent tokens (JWT HS256 signed by the call-centre platform) |
//! | [`browser`] | `Host` allow-list, `Origin` check, JSON-only writes |
//! | [`listener`] | accept loop: connection cap, header-read and idle timeout, graceful stop |
//! | [`error`] | `{"error": {"code", "message"}}` and HTTP statuses |
//! | [`views`] | the JSON shapes of sessions, calls, outcomes |
//! | [`page`] | the agent page (`/`, `/assets/agent.js`, `/assets/agent.css`) |
//! | [`openapi`] | `/api/v1/openapi.json` |
//! | [`health`] | `/healthz` and the [`Health`] flags the daemon sets |
//!
//! Auth: every `/api/v1/*` route except `openapi.json` needs a bearer token when `http.token` or
//! `http.agent_token_secret` is set; an agent token reaches only its own agent's calls. The page and
//! its assets, `/healthz` and `/metrics` are open: they carry no call data (metrics are counts by
//! fixed labels). Every route checks `Host`; the API checks `Origin`. Default bind
//! `127.0.0.1:8085` (config `http.listen`).
//!
//! Integration: `let l = http::bind(addr).await?;` then spawn
//! `http::serve(l, AppState { engine, config, metrics, health, cluster }, shutdown_token)`.

pub mod agent_token;
pub mod api;
pub mod auth;
pub mod browser;
pub mod error;
pub mod health;
pub mod listener;
pub mod openapi;
pub mod page;
pub mod sse;
pub mod views;

pub use auth::Authority;
pub use error::ApiError;
pub use health::Health;

use crate::cluster::Cluster;
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
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tracing::info;

/// Every route the router serves, `(method, path)` in OpenAPI path syntax.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/assets/agent.js"),
    ("get", "/assets/agent.css"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/whoami"),
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
    /// Cluster mode (`[cluster]`): other nodes' calls are served through this API too.
    pub cluster: Option<Cluster>,
}

/// The handlers' state: the app, the shutdown token (status streams end on shutdown) and the
/// status-stream slots (`http.max_streams`).
#[derive(Clone)]
pub struct Shared {
    pub app: AppState,
    pub shutdown: CancellationToken,
    pub streams: Arc<Semaphore>,
    /// The address the listener is bound to (the port may have been 0): what `Host` must name.
    pub bound: SocketAddr,
}

/// Binds the HTTP listener (`http.listen`, default `127.0.0.1:8085`).
pub async fn bind(listen: SocketAddr) -> io::Result<TcpListener> {
    TcpListener::bind(listen).await
}

/// The whole router, with its state.
pub fn router(app: AppState, shutdown: CancellationToken, bound: SocketAddr) -> Router {
    let streams = Arc::new(Semaphore::new(app.config.borrow().http.max_streams));
    let shared = Shared {
        app,
        shutdown,
        streams,
        bound,
    };
    let protected = Router::new()
        .route("/whoami", get(api::whoami))
        .route("/calls", get(api::list_calls))
        .route(
            "/sessions",
            get(api::list_sessions).post(api::start_payment),
        )
        .route("/sessions/{id}", get(api::get_session))
        .route("/sessions/{id}/capture", post(api::start_capture))
        .route("/sessions/{id}/cancel", post(api::cancel))
        .route("/events", get(sse::stream))
        // Inside the token check: the cluster layer forwards with the caller's authority.
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::cluster::route::layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            auth::require_token,
        ))
        .route_layer(axum::middleware::from_fn(browser::json_only));
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
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            browser::guard,
        ))
        .with_state(shared)
}

/// Serves until `shutdown` is cancelled, then finishes the requests in flight (status streams end).
pub async fn serve(listener: TcpListener, app: AppState, shutdown: CancellationToken) {
    let bound = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "HTTP listener has no local address; not serving");
            return;
        }
    };
    let limits = {
        let http = &app.config.borrow().http;
        listener::Limits {
            header_timeout: std::time::Duration::from_millis(http.header_timeout_ms),
            max_connections: http.max_connections,
        }
    };
    info!(listen = %bound, "HTTP API listening");
    let cluster = app.cluster.clone();
    let router = router(app, shutdown.clone(), bound);
    if let Some(cluster) = cluster {
        tokio::spawn(crate::cluster::serve::run(
            cluster,
            router.clone(),
            shutdown.clone(),
        ));
    }
    listener::accept_loop(listener, router, limits, shutdown).await;
    info!("HTTP API stopped");
}

async fn metrics(State(shared): State<Shared>) -> Response {
    let gauges = shared.app.engine.gauges().await;
    let mut text = shared.app.metrics.render(&gauges);
    if let Some(cluster) = &shared.app.cluster {
        text.push_str(&cluster.render_metrics());
    }
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
