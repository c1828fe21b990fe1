//! The NATS connection: options from `[cluster]` (credentials file, token, TLS), and the link
//! state other parts read (`/healthz`, `/metrics`). The client reconnects by itself, forever, with
//! a short capped backoff; the daemon never waits for NATS to start or to come back.

use crate::config::ClusterConfig;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// Connects (in the background: returns at once even while NATS is down); why an attempt failed
/// goes to `link` (logged once per cause).
pub async fn connect(
    c: &ClusterConfig,
    link: Arc<Link>,
) -> Result<async_nats::Client, ConnectError> {
    let tls = !c.tls_ca_file.is_empty() || c.nats.iter().any(|u| u.starts_with("tls://"));
    link.tls.store(tls, Ordering::Relaxed);
    let mut opts = async_nats::ConnectOptions::new()
        .event_callback(move |event| {
            let link = link.clone();
            async move { link.event(event) }
        })
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
    /// Why the last connection attempt failed, once logged (cleared on connecting).
    refused: Mutex<Option<String>>,
    /// Whether TLS is configured (for the hint a failure gets).
    tls: AtomicBool,
}

/// What the operator should look at when a connection attempt fails this way (the client says
/// only the kind of failure, e.g. `authorization violation`, `TLS error`, `IO error`).
fn hint(cause: &str, tls: bool) -> &'static str {
    let cause = cause.to_ascii_lowercase();
    if cause.contains("authorization") || cause.contains("nonce") {
        "NATS refused this node's credentials: check cluster.token or cluster.credentials_file against the server's authorization"
    } else if cause.contains("tls") {
        "TLS with the NATS server failed: check cluster.tls_ca_file (the server's CA) and that the URL names a host in the server's certificate"
    } else if tls {
        "the connection failed or was closed: check that nats-server runs at cluster.nats, that cluster.tls_ca_file is the CA that signed the server's certificate and, if the server verifies clients, that cluster.tls_cert_file/tls_key_file hold a certificate its CA signed (log level async_nats=debug shows the exact error)"
    } else {
        "NATS not reachable: check cluster.nats and that nats-server runs (and whether it requires TLS: cluster.tls_ca_file)"
    }
}

impl Link {
    /// The client's report of a connection attempt (the event callback).
    fn event(&self, event: async_nats::Event) {
        let mut refused = self.refused.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            async_nats::Event::Connected => *refused = None,
            async_nats::Event::ClientError(async_nats::ClientError::Other(cause))
                if refused.as_deref() != Some(cause.as_str()) =>
            {
                let tls = self.tls.load(Ordering::Relaxed);
                warn!(cause = %cause, "cluster: cannot connect to NATS: {}", hint(&cause, tls));
                *refused = Some(cause);
            }
            _ => {}
        }
    }

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
