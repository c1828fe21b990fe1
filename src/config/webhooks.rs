//! `[webhooks]`: where session state changes are POSTed (signed), and the spool that keeps them
//! across restarts. The struct, its defaults and its checks live together here; [`super::settings`]
//! lists the keys and [`super::validate`] calls [`check`].

use crate::metrics::STATES;
use crate::metrics::state_label;
use crate::secret::Secret;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// The spool's place when `spool_dir` is empty and systemd gave no `$STATE_DIRECTORY`.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/confpay";

/// `[webhooks]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Where undelivered notifications are kept; empty: `$STATE_DIRECTORY/webhooks` under systemd
    /// (`StateDirectory=confpay`), else `/var/lib/confpay/webhooks`.
    pub spool_dir: String,
    /// Undelivered notifications kept per endpoint; beyond it the oldest is dropped (and counted).
    pub spool_max: usize,
    /// Time one POST may take, connecting included.
    pub timeout_ms: u64,
    /// First pause before a retry; it doubles per failed attempt ...
    pub retry_initial_ms: u64,
    /// ... up to this.
    pub retry_max_ms: u64,
    /// The receivers (`[[webhooks.endpoints]]`); none: webhooks are off.
    pub endpoints: Vec<WebhookEndpoint>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            spool_dir: String::new(),
            spool_max: 10_000,
            timeout_ms: 5000,
            retry_initial_ms: 1000,
            retry_max_ms: 300_000,
            endpoints: Vec::new(),
        }
    }
}

/// One receiver.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpoint {
    /// `https://host[:port]/path` (or `http://`, e.g. to a receiver on this host).
    pub url: String,
    /// HMAC-SHA256 key of the `Confpay-Signature` header (at least 32 bytes).
    pub secret: Secret,
    /// Session states to send (`ready`, `capturing`, `done`, ...); empty: every state change.
    #[serde(default)]
    pub events: Vec<String>,
}

impl WebhooksConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
    pub fn retry_initial(&self) -> Duration {
        Duration::from_millis(self.retry_initial_ms)
    }
    pub fn retry_max(&self) -> Duration {
        Duration::from_millis(self.retry_max_ms)
    }

    /// The spool directory: `spool_dir`, else under `state_directory` (systemd's
    /// `$STATE_DIRECTORY`, the first path if it lists several), else under [`DEFAULT_STATE_DIR`].
    pub fn spool_path(&self, state_directory: Option<&str>) -> PathBuf {
        if !self.spool_dir.is_empty() {
            return PathBuf::from(&self.spool_dir);
        }
        let state = state_directory
            .and_then(|s| s.split(':').find(|p| !p.is_empty()))
            .unwrap_or(DEFAULT_STATE_DIR);
        PathBuf::from(state).join("webhooks")
    }
}

/// The checks of `[webhooks]`; every error names its key.
pub fn check(w: &WebhooksConfig, bad: &mut impl FnMut(&'static str, String)) {
    if w.spool_max == 0 {
        bad("webhooks.spool_max", "must be > 0".to_owned());
    }
    if !(100..=120_000).contains(&w.timeout_ms) {
        bad(
            "webhooks.timeout_ms",
            "must be between 100 and 120000".to_owned(),
        );
    }
    if w.retry_initial_ms == 0 {
        bad("webhooks.retry_initial_ms", "must be > 0".to_owned());
    }
    if w.retry_max_ms < w.retry_initial_ms {
        bad(
            "webhooks.retry_max_ms",
            format!(
                "must be >= webhooks.retry_initial_ms ({})",
                w.retry_initial_ms
            ),
        );
    }
    if !w.spool_dir.is_empty() && !w.spool_dir.starts_with('/') {
        bad(
            "webhooks.spool_dir",
            "must be an absolute path (or empty)".to_owned(),
        );
    }
    for (i, e) in w.endpoints.iter().enumerate() {
        if let Err(reason) = endpoint(e) {
            bad("webhooks.endpoints", format!("[{i}] {reason}"));
        }
    }
}

/// One endpoint: an `http://` URL hyper can parse, a long enough secret, known state names.
fn endpoint(e: &WebhookEndpoint) -> Result<(), String> {
    let uri: hyper::Uri = e
        .url
        .parse()
        .map_err(|err| format!("url {:?} is not a URL: {err}", e.url))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none() {
        return Err(format!(
            "url {:?} must be https://host[:port]/path or http://...",
            e.url
        ));
    }
    if e.secret.expose().len() < 32 {
        return Err("secret must be at least 32 bytes".to_owned());
    }
    let known: Vec<&str> = STATES.iter().map(state_label).collect();
    match e.events.iter().find(|s| !known.contains(&s.as_str())) {
        Some(s) => Err(format!(
            "events: {s:?} is not a session state ({})",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spool_path_prefers_the_key_then_systemd_then_the_default() {
        let mut w = WebhooksConfig::default();
        assert_eq!(
            w.spool_path(None),
            PathBuf::from("/var/lib/confpay/webhooks")
        );
        assert_eq!(
            w.spool_path(Some("/var/lib/confpay:/var/lib/other")),
            PathBuf::from("/var/lib/confpay/webhooks")
        );
        w.spool_dir = "/srv/spool".to_owned();
        assert_eq!(w.spool_path(Some("/x")), PathBuf::from("/srv/spool"));
    }

    #[test]
    fn endpoint_checks_name_the_problem() {
        let ok = WebhookEndpoint {
            url: "http://127.0.0.1:9000/hook".to_owned(),
            secret: Secret::new("k".repeat(32)),
            events: vec!["done".to_owned()],
        };
        assert_eq!(endpoint(&ok), Ok(()));
        let short = WebhookEndpoint {
            secret: Secret::new("short"),
            ..ok.clone()
        };
        assert!(endpoint(&short).unwrap_err().contains("32 bytes"));
        let ftp = WebhookEndpoint {
            url: "ftp://x/".to_owned(),
            ..ok.clone()
        };
        assert!(endpoint(&ftp).unwrap_err().contains("https://"));
        let https = WebhookEndpoint {
            url: "https://crm.example.com/confpay".to_owned(),
            ..ok.clone()
        };
        assert_eq!(endpoint(&https), Ok(()));
        let typo = WebhookEndpoint {
            events: vec!["captured".to_owned()],
            ..ok
        };
        assert!(endpoint(&typo).unwrap_err().contains("\"captured\""));
    }
}
