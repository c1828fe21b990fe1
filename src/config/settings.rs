//! The configuration as a flat list of `section.key` settings, with secrets kept masked. Two uses:
//! [`diff`] (what a SIGHUP reload changed, and whether each change applies live or needs a restart) and
//! [`render`] (the effective configuration as TOML for `--check-config`).
//!
//! [`settings`] destructures every struct (one function per section) without `..`, so adding a field without listing it here does
//! not compile.

use super::schema::{
    ClusterConfig, Config, EslConfig, HttpConfig, LogConfig, OutboundConfig, PaymentConfig,
};
use super::webhooks::{WebhookEndpoint, WebhooksConfig};
use crate::secret::Secret;
use Apply::{Live, NeedsRestart};
use Value::Int;
use std::fmt;

/// When a changed key takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Components read it from the published config at the moment they use it (the next payment, the
    /// next accepted connection, the next HTTP request, the next log line).
    Live,
    /// Read once when a listener or connection is set up: logged as "needs restart" on reload.
    NeedsRestart,
}

/// One key's value. Only [`Value::Secret`] borrows, so the plaintext is never copied.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Str(String),
    Int(u64),
    List(Vec<String>),
    Secret(&'a Secret),
    /// An array of tables (`[[webhooks.endpoints]]`), rendered inline; each field a value.
    Tables(Vec<Vec<(&'static str, Value<'a>)>>),
}

impl Value<'_> {
    /// Same value? Secrets compare by plaintext, which never leaves this function.
    fn same(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Secret(a), Value::Secret(b)) => a.expose() == b.expose(),
            (Value::Tables(a), Value::Tables(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        x.len() == y.len()
                            && x.iter().zip(y).all(|((k, v), (l, w))| k == l && v.same(w))
                    })
            }
            (
                Value::Str(_)
                | Value::Int(_)
                | Value::List(_)
                | Value::Secret(_)
                | Value::Tables(_),
                _,
            ) => false,
        }
    }
}

/// TOML syntax; a non-empty secret shows as `"***"`, an empty one as `""` (so "no token set" is visible).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write_toml_string(f, s),
            Value::Int(n) => write!(f, "{n}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_toml_string(f, item)?;
                }
                f.write_str("]")
            }
            Value::Secret(s) if s.expose().is_empty() => f.write_str("\"\""),
            Value::Secret(_) => f.write_str("\"***\""),
            Value::Tables(tables) => {
                f.write_str("[")?;
                for (i, table) in tables.iter().enumerate() {
                    f.write_str(if i > 0 { ", { " } else { "{ " })?;
                    for (j, (key, value)) in table.iter().enumerate() {
                        if j > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "{key} = {value}")?;
                    }
                    f.write_str(" }")?;
                }
                f.write_str("]")
            }
        }
    }
}

fn write_toml_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c if c.is_control() => write!(f, "\\u{:04X}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// One `section.key` with its value and reload policy.
#[derive(Debug, Clone)]
pub struct Setting<'a> {
    pub key: &'static str,
    pub value: Value<'a>,
    pub apply: Apply,
}

/// One key that differs between two configurations. `old`/`new` are display strings (TOML syntax); a
/// secret shows as `"***"` on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub key: &'static str,
    pub old: String,
    pub new: String,
    pub apply: Apply,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.key, self.old, self.new)
    }
}

/// Every setting of `config`, in file order.
pub fn settings(config: &Config) -> Vec<Setting<'_>> {
    let Config {
        esl,
        outbound,
        http,
        payment,
        log,
        webhooks,
        cluster,
    } = config;
    [
        esl_settings(esl),
        outbound_settings(outbound),
        http_settings(http),
        payment_settings(payment),
        log_settings(log),
        webhooks_settings(webhooks),
        cluster_settings(cluster),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn set<'a>(key: &'static str, value: Value<'a>, apply: Apply) -> Setting<'a> {
    Setting { key, value, apply }
}

fn text(v: &str) -> Value<'static> {
    Value::Str(v.to_owned())
}

fn list(v: &[String]) -> Value<'static> {
    Value::List(v.to_vec())
}

fn count(v: usize) -> Value<'static> {
    Value::Int(u64::try_from(v).unwrap_or(u64::MAX))
}

fn esl_settings(esl: &EslConfig) -> Vec<Setting<'_>> {
    let EslConfig {
        address,
        password,
        connect_timeout_ms,
        command_timeout_ms,
        reconnect_initial_ms,
        reconnect_max_ms,
        max_frame_bytes,
    } = esl;
    vec![
        set("esl.address", text(address), NeedsRestart),
        set("esl.password", Value::Secret(password), NeedsRestart),
        set(
            "esl.connect_timeout_ms",
            Int(*connect_timeout_ms),
            NeedsRestart,
        ),
        set(
            "esl.command_timeout_ms",
            Int(*command_timeout_ms),
            NeedsRestart,
        ),
        set(
            "esl.reconnect_initial_ms",
            Int(*reconnect_initial_ms),
            NeedsRestart,
        ),
        set("esl.reconnect_max_ms", Int(*reconnect_max_ms), NeedsRestart),
        set("esl.max_frame_bytes", count(*max_frame_bytes), NeedsRestart),
    ]
}

fn outbound_settings(outbound: &OutboundConfig) -> Vec<Setting<'_>> {
    let OutboundConfig { listen, allow } = outbound;
    let allow = allow.iter().map(ToString::to_string).collect();
    vec![
        set("outbound.listen", text(&listen.to_string()), NeedsRestart),
        set("outbound.allow", Value::List(allow), NeedsRestart),
    ]
}

fn http_settings(http: &HttpConfig) -> Vec<Setting<'_>> {
    let HttpConfig {
        listen,
        token,
        agent_token_secret,
        agent_token_max_s,
        allowed_hosts,
        allowed_origins,
        header_timeout_ms,
        max_connections,
        max_streams,
    } = http;
    vec![
        set("http.listen", text(&listen.to_string()), NeedsRestart),
        set("http.token", Value::Secret(token), Live),
        set(
            "http.agent_token_secret",
            Value::Secret(agent_token_secret),
            Live,
        ),
        set("http.agent_token_max_s", Int(*agent_token_max_s), Live),
        set("http.allowed_hosts", list(allowed_hosts), Live),
        set("http.allowed_origins", list(allowed_origins), Live),
        set(
            "http.header_timeout_ms",
            Int(*header_timeout_ms),
            NeedsRestart,
        ),
        set(
            "http.max_connections",
            count(*max_connections),
            NeedsRestart,
        ),
        set("http.max_streams", count(*max_streams), NeedsRestart),
    ]
}

fn payment_settings(payment: &PaymentConfig) -> Vec<Setting<'_>> {
    let PaymentConfig {
        capture_dial,
        conference_profile,
        capture_answer_timeout_s,
        max_capture_s,
        agent_id_prefix,
        agent_id_suffix,
        agent_id_delay_ms,
        dtmf_duration_ms,
        agent_id_entry_timeout_s,
        start_event_subclass,
        hold_music,
        on_agent_hangup,
        agent_hangup_transfer,
        agent_dial_allow,
    } = payment;
    vec![
        set("payment.capture_dial", text(capture_dial), Live),
        set(
            "payment.conference_profile",
            text(conference_profile),
            NeedsRestart,
        ),
        set(
            "payment.capture_answer_timeout_s",
            Int(*capture_answer_timeout_s),
            Live,
        ),
        set("payment.max_capture_s", Int(*max_capture_s), Live),
        set("payment.agent_id_prefix", text(agent_id_prefix), Live),
        set("payment.agent_id_suffix", text(agent_id_suffix), Live),
        set("payment.agent_id_delay_ms", Int(*agent_id_delay_ms), Live),
        set("payment.dtmf_duration_ms", Int(*dtmf_duration_ms), Live),
        set(
            "payment.agent_id_entry_timeout_s",
            Int(*agent_id_entry_timeout_s),
            Live,
        ),
        set(
            "payment.start_event_subclass",
            text(start_event_subclass),
            NeedsRestart,
        ),
        set("payment.hold_music", text(hold_music), Live),
        set(
            "payment.on_agent_hangup",
            text(on_agent_hangup.as_str()),
            Live,
        ),
        set(
            "payment.agent_hangup_transfer",
            text(agent_hangup_transfer),
            Live,
        ),
        set(
            "payment.agent_dial_allow",
            list(agent_dial_allow),
            NeedsRestart,
        ),
    ]
}

fn log_settings(log: &LogConfig) -> Vec<Setting<'_>> {
    let LogConfig { level, format } = log;
    vec![
        set("log.level", text(level), Live),
        set("log.format", text(format.as_str()), NeedsRestart),
    ]
}

fn webhooks_settings(webhooks: &WebhooksConfig) -> Vec<Setting<'_>> {
    let WebhooksConfig {
        spool_dir,
        spool_max,
        timeout_ms,
        retry_initial_ms,
        retry_max_ms,
        endpoints,
    } = webhooks;
    vec![
        set("webhooks.spool_dir", text(spool_dir), NeedsRestart),
        set("webhooks.spool_max", count(*spool_max), NeedsRestart),
        set("webhooks.timeout_ms", Int(*timeout_ms), NeedsRestart),
        set(
            "webhooks.retry_initial_ms",
            Int(*retry_initial_ms),
            NeedsRestart,
        ),
        set("webhooks.retry_max_ms", Int(*retry_max_ms), NeedsRestart),
        set(
            "webhooks.endpoints",
            endpoint_tables(endpoints),
            NeedsRestart,
        ),
    ]
}

fn cluster_settings(cluster: &ClusterConfig) -> Vec<Setting<'_>> {
    let ClusterConfig {
        nats,
        node,
        credentials_file,
        token,
        tls_ca_file,
        tls_cert_file,
        tls_key_file,
        heartbeat_ms,
        unreachable_after_ms,
        request_timeout_ms,
    } = cluster;
    vec![
        set("cluster.nats", list(nats), NeedsRestart),
        set("cluster.node", text(node), NeedsRestart),
        set(
            "cluster.credentials_file",
            text(credentials_file),
            NeedsRestart,
        ),
        set("cluster.token", Value::Secret(token), NeedsRestart),
        set("cluster.tls_ca_file", text(tls_ca_file), NeedsRestart),
        set("cluster.tls_cert_file", text(tls_cert_file), NeedsRestart),
        set("cluster.tls_key_file", text(tls_key_file), NeedsRestart),
        set("cluster.heartbeat_ms", Int(*heartbeat_ms), NeedsRestart),
        set(
            "cluster.unreachable_after_ms",
            Int(*unreachable_after_ms),
            NeedsRestart,
        ),
        set(
            "cluster.request_timeout_ms",
            Int(*request_timeout_ms),
            NeedsRestart,
        ),
    ]
}

/// `[[webhooks.endpoints]]` as inline tables, the secret masked.
fn endpoint_tables(endpoints: &[WebhookEndpoint]) -> Value<'_> {
    Value::Tables(
        endpoints
            .iter()
            .map(|e| {
                let WebhookEndpoint {
                    url,
                    secret,
                    events,
                } = e;
                vec![
                    ("url", Value::Str(url.clone())),
                    ("secret", Value::Secret(secret)),
                    ("events", Value::List(events.clone())),
                ]
            })
            .collect(),
    )
}

/// The keys whose values differ between `old` and `new`, in file order.
pub fn diff(old: &Config, new: &Config) -> Vec<Change> {
    settings(old)
        .into_iter()
        .zip(settings(new))
        .filter(|(a, b)| !a.value.same(&b.value))
        .map(|(a, b)| Change {
            key: a.key,
            old: a.value.to_string(),
            new: b.value.to_string(),
            apply: a.apply,
        })
        .collect()
}

/// The effective configuration as a TOML document, secrets masked.
pub fn render(config: &Config) -> String {
    let mut out = String::new();
    let mut section = "";
    for setting in settings(config) {
        let (sec, key) = setting.key.split_once('.').unwrap_or(("", setting.key));
        if sec != section {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("{key} = {}\n", setting.value));
    }
    out
}
