//! Signed webhooks: every session state change, and the outcome, POSTed as JSON to the endpoints of
//! `[webhooks]`, signed (HMAC-SHA256, [`sign`]), each with an idempotency key, retried with backoff
//! until a 2xx, and kept in a spool on disk so none is lost across a restart.
//!
//! The path of a notification: the session calls [`Intake::changed`] (a `try_send`: never waits)
//! → the intake task builds the body ([`payload`]) and writes it to each endpoint's spool
//! ([`spool`], off the async threads) → each endpoint's delivery task ([`deliver`]) sends its
//! spool oldest first. A slow or dead endpoint fills its spool (bounded), never a payment's path.
//!
//! Delivery is at least once: a POST cut off by a restart is sent again with the same
//! `Idempotency-Key`, which the receiver uses to drop the repeat.

pub mod deliver;
pub mod payload;
pub mod sign;
pub mod spool;

use crate::config::{WebhookEndpoint, WebhooksConfig};
use crate::metrics::{Metrics, state_label};
use crate::pay::machine::State;
use crate::pay::observer::SessionObserver;
use crate::pay::session::SessionView;
use deliver::Delivery;
use sha2::{Digest, Sha256};
use spool::Spool;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// State changes waiting for the intake task; beyond it a change is dropped (and counted) rather
/// than making a session wait. A payment makes about a dozen.
const INTAKE_CAPACITY: usize = 4096;

/// Webhooks cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("spool directory {}: {source}", dir.display())]
    Spool {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("endpoint url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(
        "https endpoints configured but no trusted certificate found (system trust store empty; set SSL_CERT_FILE)"
    )]
    NoTrustRoots,
    #[error("TLS settings: {0}")]
    Tls(#[from] rustls::Error),
}

/// One state change, as the session reported it.
struct Change {
    from: State,
    view: SessionView,
    at: SystemTime,
}

/// The [`SessionObserver`] the sessions are given: enqueues, never waits.
pub struct Intake {
    tx: mpsc::Sender<Change>,
    metrics: Arc<Metrics>,
}

impl SessionObserver for Intake {
    fn changed(&self, from: &State, view: &SessionView) {
        let change = Change {
            from: from.clone(),
            view: view.clone(),
            at: SystemTime::now(),
        };
        let why = match self.tx.try_send(change) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => "webhook queue full",
            Err(mpsc::error::TrySendError::Closed(_)) => "webhooks stopped (shutting down)",
        };
        self.metrics.webhook_dropped();
        warn!(session = %view.id, state = state_label(&view.state), "{why}: state change not sent");
    }
}

/// One endpoint as the intake task sees it.
struct Target {
    events: Vec<String>,
    spool: Arc<Spool>,
    spooled: Arc<Notify>,
}

/// Starts the intake and one delivery task per endpoint, spools under `spool_dir`; `None` when no
/// endpoint is configured. Delivery stops on `shutdown`; the intake spools what is queued once
/// `drained` (running payments ended) and stops.
pub fn start(
    cfg: &WebhooksConfig,
    spool_dir: &Path,
    metrics: &Arc<Metrics>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    drained: &CancellationToken,
) -> Result<Option<Arc<dyn SessionObserver>>, WebhookError> {
    if cfg.endpoints.is_empty() {
        return Ok(None);
    }
    let roots = deliver::system_roots();
    let https = cfg.endpoints.iter().any(|e| e.url.starts_with("https://"));
    if https && roots.is_empty() {
        return Err(WebhookError::NoTrustRoots);
    }
    let client = deliver::client(cfg.timeout(), roots)?;
    let mut targets = Vec::new();
    for endpoint in &cfg.endpoints {
        let dir = spool_dir.join(endpoint_dir(&endpoint.url));
        let spool = Spool::open(&dir, cfg.spool_max).map_err(|source| WebhookError::Spool {
            dir: dir.clone(),
            source,
        })?;
        let spool = Arc::new(spool);
        if !spool.is_empty() {
            info!(endpoint = %dir.display(), pending = spool.len(), "webhooks from before the restart will be sent");
        }
        let spooled = Arc::new(Notify::new());
        let delivery = delivery(cfg, endpoint, &spool, &spooled, &client, metrics)?;
        tracker.spawn(delivery.run(shutdown.clone()));
        targets.push(Target {
            events: endpoint.events.clone(),
            spool,
            spooled,
        });
    }
    let (tx, rx) = mpsc::channel(INTAKE_CAPACITY);
    tracker.spawn(intake(rx, targets, metrics.clone(), drained.clone()));
    Ok(Some(Arc::new(Intake {
        tx,
        metrics: metrics.clone(),
    })))
}

fn delivery(
    cfg: &WebhooksConfig,
    endpoint: &WebhookEndpoint,
    spool: &Arc<Spool>,
    spooled: &Arc<Notify>,
    client: &deliver::HttpClient,
    metrics: &Arc<Metrics>,
) -> Result<Delivery, WebhookError> {
    let uri = endpoint
        .url
        .parse()
        .map_err(|e: hyper::http::uri::InvalidUri| WebhookError::Url {
            url: endpoint.url.clone(),
            reason: e.to_string(),
        })?;
    Ok(Delivery {
        uri,
        secret: endpoint.secret.expose().as_bytes().to_vec(),
        spool: spool.clone(),
        spooled: spooled.clone(),
        client: client.clone(),
        timeout: cfg.timeout(),
        retry_initial: cfg.retry_initial(),
        retry_max: cfg.retry_max(),
        metrics: metrics.clone(),
    })
}

/// An endpoint's spool directory name: from its URL, so it finds its spool again after a restart
/// whatever the order of the endpoints in the file.
fn endpoint_dir(url: &str) -> String {
    let digest = Sha256::digest(url.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Spools every change for the endpoints that want it, until `drained`; then what is still queued.
async fn intake(
    mut rx: mpsc::Receiver<Change>,
    targets: Vec<Target>,
    metrics: Arc<Metrics>,
    drained: CancellationToken,
) {
    let targets = Arc::new(targets);
    loop {
        let change = tokio::select! {
            Some(change) = rx.recv() => change,
            _ = drained.cancelled() => break,
        };
        spool_change(change, &targets, &metrics).await;
    }
    while let Ok(change) = rx.try_recv() {
        spool_change(change, &targets, &metrics).await;
    }
}

/// Writes one change to the spools that want it (off the async threads), then wakes their delivery.
async fn spool_change(change: Change, targets: &Arc<Vec<Target>>, metrics: &Arc<Metrics>) {
    let key = uuid::Uuid::new_v4().to_string();
    let body = payload::body(&key, &change.from, &change.view, change.at);
    let state = state_label(&change.view.state);
    let session = change.view.id;
    let (targets, metrics) = (targets.clone(), metrics.clone());
    let written = tokio::task::spawn_blocking(move || {
        for t in targets.iter() {
            if !t.events.is_empty() && !t.events.iter().any(|e| e == state) {
                continue;
            }
            match t.spool.put(&key, &body) {
                Ok(dropped) => {
                    for d in dropped {
                        metrics.webhook_dropped();
                        warn!(key = %d.key, max = t.spool.len(), "webhook spool full: the oldest notification was dropped");
                    }
                }
                Err(e) => {
                    metrics.webhook_dropped();
                    warn!(session = %session, key = %key, error = %e, "cannot spool a webhook: it is not sent");
                }
            }
            t.spooled.notify_one();
        }
    });
    let _ = written.await;
}
