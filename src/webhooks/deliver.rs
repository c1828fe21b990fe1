//! Delivery to one endpoint: its spool, oldest first, one POST at a time (so a receiver sees a
//! session's changes in order), each retried until a 2xx with exponential backoff and jitter,
//! capped at `retry_max`. Runs on its own task: nothing here is on a payment's path.

use super::sign;
use super::spool::{Entry, Spool};
use crate::metrics::Metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Uri;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::RootCertStore;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

/// The HTTP client every endpoint shares (HTTP/1.1, `http://` or `https://`, pooled connections).
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client whose connects give up after `timeout`; `https://` is checked against `roots`.
pub fn client(timeout: Duration, roots: RootCertStore) -> Result<HttpClient, rustls::Error> {
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(timeout));
    // The TLS layer above takes https:// URLs too.
    http.enforce_http(false);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// The system's trust store (`SSL_CERT_FILE`/`SSL_CERT_DIR`, else the distribution's bundle);
/// certificates that do not load are skipped. Empty on a host without one.
pub fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        debug!(error = %e, "a system trust store entry did not load");
    }
    let (added, skipped) = roots.add_parsable_certificates(found.certs);
    debug!(added, skipped, "system trust store read for https webhooks");
    roots
}

/// One endpoint's delivery task.
pub struct Delivery {
    pub uri: Uri,
    pub secret: Vec<u8>,
    pub spool: Arc<Spool>,
    /// Woken when a notification is spooled.
    pub spooled: Arc<Notify>,
    pub client: HttpClient,
    pub timeout: Duration,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub metrics: Arc<Metrics>,
}

impl Delivery {
    /// Delivers until `shutdown`; what is left stays spooled for the next start.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let Some(entry) = self.spool.front() else {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.spooled.notified() => continue,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.deliver(&entry) => {}
            }
        }
    }

    /// Tries `entry` until it is delivered or dropped from the spool meanwhile; then forgets it.
    async fn deliver(&self, entry: &Entry) {
        let body = match blocking(&self.spool, entry, |s, e| s.read(e)).await {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                // Dropped (spool full) between listing and reading, or unreadable: skip it.
                warn!(endpoint = %self.target(), key = %entry.key, error = %e, "spooled webhook unreadable; skipped");
                let _ = blocking(&self.spool, entry, |s, e| s.done(e)).await;
                return;
            }
        };
        let mut attempt: u32 = 0;
        while self.spool.holds(entry) {
            match self.post(entry, body.clone()).await {
                Ok(status) if status.is_success() => {
                    debug!(endpoint = %self.target(), key = %entry.key, status = status.as_u16(), "webhook delivered");
                    self.metrics.webhook_delivered();
                    break;
                }
                Ok(status) => self.failed(entry, attempt, &format!("HTTP {status}")),
                Err(why) => self.failed(entry, attempt, &why),
            }
            tokio::time::sleep(backoff(self.retry_initial, self.retry_max, attempt)).await;
            attempt = attempt.saturating_add(1);
        }
        if let Err(e) = blocking(&self.spool, entry, |s, e| s.done(e)).await {
            warn!(endpoint = %self.target(), key = %entry.key, error = %e, "cannot remove a delivered webhook from the spool; it may be sent again");
        }
    }

    fn failed(&self, entry: &Entry, attempt: u32, why: &str) {
        self.metrics.webhook_attempt_failed();
        warn!(endpoint = %self.target(), key = %entry.key, attempt = attempt + 1, error = %why, "webhook not delivered; will retry");
    }

    /// One signed POST; the response status, or why there is none.
    async fn post(&self, entry: &Entry, body: Bytes) -> Result<hyper::StatusCode, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let request = hyper::Request::post(self.uri.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, USER_AGENT)
            .header("Idempotency-Key", entry.key.as_str())
            .header(sign::HEADER, sign::signature(&self.secret, now, &body))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response.status()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    /// The endpoint as logged: no query string (it might hold a token).
    fn target(&self) -> String {
        let scheme = self.uri.scheme_str().unwrap_or("http");
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        format!("{scheme}://{authority}{}", self.uri.path())
    }
}

const USER_AGENT: &str = concat!("confpayd/", env!("CARGO_PKG_VERSION"));

/// Runs a spool operation off the async threads.
async fn blocking<T: Send + 'static>(
    spool: &Arc<Spool>,
    entry: &Entry,
    op: impl FnOnce(&Spool, &Entry) -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let (spool, entry) = (spool.clone(), entry.clone());
    tokio::task::spawn_blocking(move || op(&spool, &entry))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
}

/// The pause after failed attempt `attempt` (0-based): `initial * 2^attempt`, capped at `max`,
/// then a random part of it taken off (between none and half) so that many notifications failing
/// together do not retry together.
pub fn backoff(initial: Duration, max: Duration, attempt: u32) -> Duration {
    let full = initial
        .checked_mul(1u32 << attempt.min(20))
        .map_or(max, |d| d.min(max));
    // Random bits from the OS generator behind `uuid`'s v4.
    let random = uuid::Uuid::new_v4().as_u128() as u64;
    let fraction = (random % 1000) as u32;
    full - full / 2 * fraction / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_by_at_most_half() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for attempt in 0..40 {
            let full = (initial * 2u32.pow(attempt.min(5))).min(max);
            let d = backoff(initial, max, attempt);
            assert!(d <= full && d >= full / 2, "attempt {attempt}: {d:?}");
        }
        let spread: std::collections::HashSet<Duration> =
            (0..20).map(|_| backoff(initial, max, 3)).collect();
        assert!(spread.len() > 1, "no jitter: {spread:?}");
    }

    /// An `https://` endpoint is spoken to in TLS: the first bytes are a TLS handshake record.
    #[tokio::test]
    async fn https_endpoints_get_tls() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let client = client(Duration::from_secs(2), RootCertStore::empty()).expect("client");
        let post = tokio::spawn(async move {
            let request = hyper::Request::post(format!("https://{addr}/hook"))
                .body(Full::new(Bytes::from_static(b"{}")))
                .expect("request");
            client.request(request).await
        });
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut first = [0u8; 3];
        stream.read_exact(&mut first).await.expect("read");
        // ContentType::Handshake (22), then the record's protocol version 3.x.
        assert_eq!(first[..2], [0x16, 0x03], "{first:?}");
        drop(stream);
        assert!(post.await.expect("joined").is_err());
    }
}
