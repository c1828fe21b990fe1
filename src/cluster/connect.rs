//! The NATS connection: options from `[cluster]` (credentials file, token, TLS), and the link
//! state other parts read (`/healthz`, `/metrics`). The client reconnects by itself, forever, with
//! a short capped backoff; the daemon never waits for NATS to start or to come back.

use crate::config::ClusterConfig;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing::{info, warn};

/// Longest pause between two reconnection attempts: a NATS restart is noticed within this.
const RECONNECT_MAX: Duration = Duration::from_secs(1);

/// Why the cluster could not be set up (the daemon does not start: the operator asked for it).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cluster.credentials_file {path}: {source}")]
    Credentials {
        path: String,
        source: std::io::Error,
    },
    #[error("NATS: {0}")]
    Nats(#[from] async_nats::ConnectError),
}

/// Connects (in the background: returns at once even while NATS is down).
pub async fn connect(c: &ClusterConfig) -> Result<async_nats::Client, ConnectError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name(format!("confpayd {}", c.node))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(c.request_timeout())
        .request_timeout(Some(c.request_timeout()))
        .ping_interval(c.unreachable_after())
        .reconnect_delay_callback(|attempts| {
            let step = Duration::from_millis(100).saturating_mul(attempts.min(20) as u32);
            step.min(RECONNECT_MAX)
        });
    if !c.credentials_file.is_empty() {
        opts = opts
            .credentials_file(&c.credentials_file)
            .await
            .map_err(|source| ConnectError::Credentials {
                path: c.credentials_file.clone(),
                source,
            })?;
    }
    if !c.token.expose().is_empty() {
        opts = opts.token(c.token.expose().to_owned());
    }
    if !c.tls_ca_file.is_empty() {
        opts = opts
            .add_root_certificates(PathBuf::from(&c.tls_ca_file))
            .require_tls(true);
    }
    if !c.tls_cert_file.is_empty() {
        opts = opts.add_client_certificate(
            PathBuf::from(&c.tls_cert_file),
            PathBuf::from(&c.tls_key_file),
        );
    }
    Ok(opts.connect(&c.nats).await?)
}

/// Whether NATS is reachable right now, with each change logged once.
#[derive(Debug, Default)]
pub struct Link {
    up: AtomicBool,
    /// Set once the first look was logged (so a NATS down at start is reported).
    told: AtomicBool,
}

impl Link {
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records the client's state; logs a change (and the first state seen).
    pub fn update(&self, client: &async_nats::Client) {
        let now = client.connection_state() == async_nats::connection::State::Connected;
        let was = self.up.swap(now, Ordering::Relaxed);
        let first = !self.told.swap(true, Ordering::Relaxed);
        if now && (!was || first) {
            info!("cluster connected to NATS");
        } else if !now && (was || first) {
            warn!("cluster degraded: NATS unreachable; serving this node's own calls only");
        }
    }
}
