//! The configuration as a flat list of `section.key` settings, with secrets kept masked. Two uses:
//! [`diff`] (what a SIGHUP reload changed, and whether each change applies live or needs a restart) and
//! [`render`] (the effective configuration as TOML for `--check-config`).
//!
//! [`settings`] destructures every struct without `..`, so adding a field without listing it here does
//! not compile.

use super::schema::{
    ClusterConfig, Config, EslConfig, HttpConfig, LogConfig, OutboundConfig, PaymentConfig,
};
use super::webhooks::{WebhookEndpoint, WebhooksConfig};
use crate::secret::Secret;
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
    use Apply::{Live, NeedsRestart};
    let Config {
        esl,
        outbound,
        http,
        payment,
        log,
        webhooks,
        cluster,
    } = config;
    let EslConfig {
        address,
        password,
        connect_timeout_ms,
        command_timeout_ms,
        reconnect_initial_ms,
        reconnect_max_ms,
        max_frame_bytes,
    } = esl;
    let OutboundConfig { listen, allow } = outbound;
    let HttpConfig {
        listen: http_listen,
        token,
        agent_token_secret,
        agent_token_max_s,
        allowed_hosts,
        allowed_origins,
        header_timeout_ms,
        max_connections,
        max_streams,
    } = http;
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
    let LogConfig { level, format } = log;
    let WebhooksConfig {
        spool_dir,
        spool_max,
        timeout_ms,
        retry_initial_ms,
        retry_max_ms,
        endpoints,
    } = webhooks;
    let ClusterConfig {
        nats,
        node,
        credentials_file,
        token: nats_token,
        tls_ca_file,
        tls_cert_file,
        tls_key_file,
        heartbeat_ms,
        unreachable_after_ms,
        request_timeout_ms,
    } = cluster;
    let set = |key, value, apply| Setting { key, value, apply };
    let s = |v: &str| Value::Str(v.to_owned());
    let n = Value::Int;
    let count = |v: usize| n(u64::try_from(v).unwrap_or(u64::MAX));
    let bytes = count(*max_frame_bytes);
    vec![
        set("esl.address", s(address), NeedsRestart),
        set("esl.password", Value::Secret(password), NeedsRestart),
        set(
            "esl.connect_timeout_ms",
            n(*connect_timeout_ms),
            NeedsRestart,
        ),
        set(
            "esl.command_timeout_ms",
            n(*command_timeout_ms),
            NeedsRestart,
        ),
        set(
            "esl.reconnect_initial_ms",
            n(*reconnect_initial_ms),
            NeedsRestart,
        ),
        set("esl.reconnect_max_ms", n(*reconnect_max_ms), NeedsRestart),
        set("esl.max_frame_bytes", bytes, NeedsRestart),
        set("outbound.listen", s(&listen.to_string()), NeedsRestart),
        set(
            "outbound.allow",
            Value::List(allow.iter().map(ToString::to_string).collect()),
            NeedsRestart,
        ),
        set("http.listen", s(&http_listen.to_string()), NeedsRestart),
        set("http.token", Value::Secret(token), Live),
        set(
            "http.agent_token_secret",
            Value::Secret(agent_token_secret),
            Live,
        ),
        set("http.agent_token_max_s", n(*agent_token_max_s), Live),
        set(
            "http.allowed_hosts",
            Value::List(allowed_hosts.clone()),
            Live,
        ),
        set(
            "http.allowed_origins",
            Value::List(allowed_origins.clone()),
            Live,
        ),
        set(
            "http.header_timeout_ms",
            n(*header_timeout_ms),
            NeedsRestart,
        ),
        set(
            "http.max_connections",
            count(*max_connections),
            NeedsRestart,
        ),
        set("http.max_streams", count(*max_streams), NeedsRestart),
        set("payment.capture_dial", s(capture_dial), Live),
        set(
            "payment.conference_profile",
            s(conference_profile),
            NeedsRestart,
        ),
        set(
            "payment.capture_answer_timeout_s",
            n(*capture_answer_timeout_s),
            Live,
        ),
        set("payment.max_capture_s", n(*max_capture_s), Live),
        set("payment.agent_id_prefix", s(agent_id_prefix), Live),
        set("payment.agent_id_suffix", s(agent_id_suffix), Live),
        set("payment.agent_id_delay_ms", n(*agent_id_delay_ms), Live),
        set("payment.dtmf_duration_ms", n(*dtmf_duration_ms), Live),
        set(
            "payment.agent_id_entry_timeout_s",
            n(*agent_id_entry_timeout_s),
            Live,
        ),
        set(
            "payment.start_event_subclass",
            s(start_event_subclass),
            NeedsRestart,
        ),
        set("payment.hold_music", s(hold_music), Live),
        set("payment.on_agent_hangup", s(on_agent_hangup.as_str()), Live),
        set(
            "payment.agent_hangup_transfer",
            s(agent_hangup_transfer),
            Live,
        ),
        set(
            "payment.agent_dial_allow",
            Value::List(agent_dial_allow.clone()),
            NeedsRestart,
        ),
        set("log.level", s(level), Live),
        set("log.format", s(format.as_str()), NeedsRestart),
        set("webhooks.spool_dir", s(spool_dir), NeedsRestart),
        set("webhooks.spool_max", count(*spool_max), NeedsRestart),
        set("webhooks.timeout_ms", n(*timeout_ms), NeedsRestart),
        set(
            "webhooks.retry_initial_ms",
            n(*retry_initial_ms),
            NeedsRestart,
        ),
        set("webhooks.retry_max_ms", n(*retry_max_ms), NeedsRestart),
        set(
            "webhooks.endpoints",
            endpoint_tables(endpoints),
            NeedsRestart,
        ),
        set("cluster.nats", Value::List(nats.clone()), NeedsRestart),
        set("cluster.node", s(node), NeedsRestart),
        set(
            "cluster.credentials_file",
            s(credentials_file),
            NeedsRestart,
        ),
        set("cluster.token", Value::Secret(nats_token), NeedsRestart),
        set("cluster.tls_ca_file", s(tls_ca_file), NeedsRestart),
        set("cluster.tls_cert_file", s(tls_cert_file), NeedsRestart),
        set("cluster.tls_key_file", s(tls_key_file), NeedsRestart),
        set("cluster.heartbeat_ms", n(*heartbeat_ms), NeedsRestart),
        set(
            "cluster.unreachable_after_ms",
            n(*unreachable_after_ms),
            NeedsRestart,
        ),
        set(
            "cluster.request_timeout_ms",
            n(*request_timeout_ms),
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
