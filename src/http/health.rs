//! `/healthz`: 200 when the inbound ESL connection is up and the outbound listener is bound, else
//! 503; the JSON body says which part is down (and, in cluster mode, `cluster: ok | degraded`). The daemon sets the flags as things change.

use super::Shared;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

/// What the daemon's components report about themselves. Share as `Arc<Health>`.
#[derive(Debug, Default)]
pub struct Health {
    esl_connected: AtomicBool,
    outbound_listening: AtomicBool,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    /// The inbound ESL connection is authenticated and subscribed (true) or lost (false).
    pub fn set_esl_connected(&self, up: bool) {
        self.esl_connected.store(up, Ordering::Relaxed);
    }

    /// The outbound socket server is listening (true) or stopped (false).
    pub fn set_outbound_listening(&self, up: bool) {
        self.outbound_listening.store(up, Ordering::Relaxed);
    }

    pub fn esl_connected(&self) -> bool {
        self.esl_connected.load(Ordering::Relaxed)
    }

    pub fn outbound_listening(&self) -> bool {
        self.outbound_listening.load(Ordering::Relaxed)
    }

    pub fn ok(&self) -> bool {
        self.esl_connected() && self.outbound_listening()
    }
}

/// The handler.
pub async fn healthz(State(shared): State<Shared>) -> (StatusCode, Json<Value>) {
    let h = &shared.app.health;
    let (status, text) = if h.ok() {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    };
    let mut body = json!({
        "status": text,
        "esl_connected": h.esl_connected(),
        "outbound_listening": h.outbound_listening(),
    });
    // Cluster mode only; NATS down does not make this node unhealthy (it serves its own calls).
    if let Some(c) = &shared.app.cluster {
        body["cluster"] = json!(if c.connected() { "ok" } else { "degraded" });
        body["node"] = json!(c.node());
    }
    (status, Json(body))
}
