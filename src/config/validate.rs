//! Checks that need more than a type: ranges, cross-key rules and the loopback-by-default security
//! rules. Runs after deserialising; every error names the offending key.

use super::schema::{ClusterConfig, Config, HttpConfig, OnAgentHangup};
use std::fmt;
use std::net::SocketAddr;

/// One invalid key: `payment.capture_answer_timeout_s: must be > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// `section.key`.
    pub key: &'static str,
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Largest accepted `esl.max_frame_bytes` (1 GiB) and smallest (64 KiB: a `CHANNEL_*` event with all
/// its variables is routinely tens of kilobytes).
const MAX_FRAME_BYTES: (usize, usize) = (64 * 1024, 1 << 30);
/// `uuid_send_dtmf` durations must exceed 50 ms (FreeSWITCH `switch_core_session_send_dtmf_string`);
/// the upper bound is ours: a longer tone is no keypress.
const DTMF_DURATION_MS: (u64, u64) = (51, 5000);

/// All problems in `config`, in schema order; empty means valid.
pub fn validate(config: &Config) -> Vec<Invalid> {
    let mut out = Vec::new();
    let mut bad = |key: &'static str, reason: String| out.push(Invalid { key, reason });
    check_esl(config, &mut bad);
    check_outbound(config, &mut bad);
    check_http(config, &mut bad);
    check_http_browsers(&config.http, &mut bad);
    check_payment(config, &mut bad);
    super::webhooks::check(&config.webhooks, &mut bad);
    check_cluster(&config.cluster, &mut bad);
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&config.log.level) {
        bad("log.level", format!("not a valid filter directive: {e}"));
    }
    out
}

/// `[esl]`: the address, the password, timeouts and the frame cap.
fn check_esl(config: &Config, bad: &mut impl FnMut(&'static str, String)) {
    let esl = &config.esl;
    if let Err(reason) = host_port(&esl.address) {
        bad("esl.address", reason);
    }
    if esl.password.expose().is_empty() {
        bad("esl.password", "must not be empty".to_owned());
    }
    for (key, value) in [
        ("esl.connect_timeout_ms", esl.connect_timeout_ms),
        ("esl.command_timeout_ms", esl.command_timeout_ms),
        ("esl.reconnect_initial_ms", esl.reconnect_initial_ms),
    ] {
        if value == 0 {
            bad(key, "must be > 0".to_owned());
        }
    }
    if esl.reconnect_max_ms < esl.reconnect_initial_ms {
        bad(
            "esl.reconnect_max_ms",
            format!(
                "must be >= esl.reconnect_initial_ms ({})",
                esl.reconnect_initial_ms
            ),
        );
    }
    let (lo, hi) = MAX_FRAME_BYTES;
    if !(lo..=hi).contains(&esl.max_frame_bytes) {
        bad(
            "esl.max_frame_bytes",
            format!("must be between {lo} and {hi}"),
        );
    }
}

/// `[cluster]`: NATS URLs, a node name usable as a subject token, sane timings; no keys without
/// `nats` (a half-configured cluster would silently run single).
fn check_cluster(c: &ClusterConfig, bad: &mut impl FnMut(&'static str, String)) {
    if !c.enabled() {
        if !c.node.is_empty() || !c.credentials_file.is_empty() || !c.tls_ca_file.is_empty() {
            bad(
                "cluster.nats",
                "must list the NATS servers when [cluster] is configured".to_owned(),
            );
        }
        return;
    }
    for url in &c.nats {
        // Credentials in a URL would be shown wherever the URL is (logs, --check-config).
        let (_, rest) = url.split_once("://").unwrap_or(("", url));
        if let Some((_, host)) = rest.split_once('@') {
            bad(
                "cluster.nats",
                format!(
                    "`{}://***@{host}` has credentials in the URL; give them as cluster.token or cluster.credentials_file (kept secret)",
                    url.split("://").next().unwrap_or_default()
                ),
            );
            continue;
        }
        let scheme_ok = ["nats://", "tls://"].iter().any(|p| url.starts_with(p));
        if !scheme_ok || url.parse::<async_nats::ServerAddr>().is_err() {
            bad(
                "cluster.nats",
                format!("`{url}` is not a nats:// or tls:// URL"),
            );
        }
    }
    let name_ok = |n: &str| {
        (1..=64).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if !name_ok(&c.node) {
        bad(
            "cluster.node",
            "required: 1 to 64 letters, digits, '-' or '_', unique in the cluster".to_owned(),
        );
    }
    if c.tls_cert_file.is_empty() != c.tls_key_file.is_empty() {
        bad(
            "cluster.tls_key_file",
            "give both tls_cert_file and tls_key_file, or neither".to_owned(),
        );
    }
    if c.heartbeat_ms == 0 || c.request_timeout_ms == 0 {
        bad(
            "cluster.heartbeat_ms",
            "heartbeat_ms and request_timeout_ms must be > 0".to_owned(),
        );
    }
    if c.unreachable_after_ms < 2 * c.heartbeat_ms {
        bad(
            "cluster.unreachable_after_ms",
            format!(
                "must be at least twice cluster.heartbeat_ms ({})",
                c.heartbeat_ms
            ),
        );
    }
}

/// `[outbound]`: a port, and an allow-list when listening beyond loopback.
fn check_outbound(config: &Config, bad: &mut impl FnMut(&'static str, String)) {
    let outbound = &config.outbound;
    if outbound.listen.port() == 0 {
        bad("outbound.listen", "port must not be 0".to_owned());
    }
    if !is_loopback(outbound.listen) && outbound.allow.is_empty() {
        bad(
            "outbound.allow",
            format!(
                "must list the FreeSWITCH hosts allowed to connect when outbound.listen ({}) is not a loopback address",
                outbound.listen
            ),
        );
    }
}

/// `[http]`: a port of its own, and a token when listening beyond loopback.
fn check_http(config: &Config, bad: &mut impl FnMut(&'static str, String)) {
    let http = &config.http;
    let outbound = &config.outbound;
    if http.listen.port() == 0 {
        bad("http.listen", "port must not be 0".to_owned());
    }
    if http.listen == outbound.listen {
        bad(
            "http.listen",
            format!("must differ from outbound.listen ({})", outbound.listen),
        );
    }
    if !is_loopback(http.listen) && http.token.expose().is_empty() {
        bad(
            "http.token",
            format!(
                "required (non-empty) when http.listen ({}) is not a loopback address",
                http.listen
            ),
        );
    }
}

/// `[payment]`: names FreeSWITCH accepts, positive timeouts, DTMF symbols, the hang-up policy.
fn check_payment(config: &Config, bad: &mut impl FnMut(&'static str, String)) {
    let p = &config.payment;
    for (key, value) in [
        ("payment.capture_dial", &p.capture_dial),
        ("payment.conference_profile", &p.conference_profile),
        ("payment.start_event_subclass", &p.start_event_subclass),
        ("payment.hold_music", &p.hold_music),
    ] {
        if value.trim().is_empty() {
            bad(key, "must not be empty".to_owned());
        }
    }
    for (key, value) in [
        ("payment.conference_profile", &p.conference_profile),
        ("payment.start_event_subclass", &p.start_event_subclass),
    ] {
        if value.chars().any(|c| c.is_whitespace() || c == '@') {
            bad(key, "must not contain whitespace or '@'".to_owned());
        }
    }
    for (key, value) in [
        (
            "payment.capture_answer_timeout_s",
            p.capture_answer_timeout_s,
        ),
        ("payment.max_capture_s", p.max_capture_s),
        (
            "payment.agent_id_entry_timeout_s",
            p.agent_id_entry_timeout_s,
        ),
    ] {
        if value == 0 {
            bad(key, "must be > 0".to_owned());
        }
    }
    let (lo, hi) = DTMF_DURATION_MS;
    if !(lo..=hi).contains(&p.dtmf_duration_ms) {
        bad(
            "payment.dtmf_duration_ms",
            format!("must be between {lo} and {hi}"),
        );
    }
    for (key, value) in [
        ("payment.agent_id_prefix", &p.agent_id_prefix),
        ("payment.agent_id_suffix", &p.agent_id_suffix),
    ] {
        if let Some(c) = value.chars().find(|&c| !is_dtmf_symbol(c)) {
            bad(key, format!("{c:?} is not a DTMF symbol (0-9 A-D * # w W)"));
        }
    }
    match p.on_agent_hangup {
        OnAgentHangup::Transfer if p.agent_hangup_transfer.trim().is_empty() => bad(
            "payment.agent_hangup_transfer",
            "required when payment.on_agent_hangup = \"transfer\"".to_owned(),
        ),
        OnAgentHangup::Transfer | OnAgentHangup::Hangup => {}
    }
    if let Err(reason) = dial_prefixes(&p.agent_dial_allow) {
        bad("payment.agent_dial_allow", reason);
    }
}

/// `payment.agent_dial_allow`: at least one prefix, none empty or with spaces.
fn dial_prefixes(prefixes: &[String]) -> Result<(), String> {
    if prefixes.is_empty() {
        return Err("must name at least one prefix (e.g. \"user/\")".to_owned());
    }
    match prefixes
        .iter()
        .find(|p| p.trim().is_empty() || p.contains(char::is_whitespace))
    {
        Some(p) => Err(format!("{p:?}: a prefix must not be empty or hold spaces")),
        None => Ok(()),
    }
}

/// Whether a listener on `addr` is reachable only from this host.
pub fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().to_canonical().is_loopback()
}

/// The settings that keep browsers and slow clients in bounds.
fn check_http_browsers(http: &HttpConfig, bad: &mut impl FnMut(&'static str, String)) {
    if http.listen.ip().is_unspecified() && http.allowed_hosts.is_empty() {
        bad(
            "http.allowed_hosts",
            format!(
                "must list the names browsers use to reach the API when http.listen ({}) is a wildcard address (or [\"*\"])",
                http.listen
            ),
        );
    }
    for o in &http.allowed_origins {
        let ok = ["http://", "https://"].iter().any(|scheme| {
            o.strip_prefix(scheme)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/') && !rest.contains('*'))
        });
        if !ok {
            bad(
                "http.allowed_origins",
                format!("{o:?} is not an origin (scheme://host[:port], no path)"),
            );
        }
    }
    let secret = http.agent_token_secret.expose();
    if !secret.is_empty() && secret.len() < 32 {
        bad(
            "http.agent_token_secret",
            "must be at least 32 bytes (or empty: no agent tokens)".to_owned(),
        );
    }
    if !(60..=7 * 24 * 3600).contains(&http.agent_token_max_s) {
        bad(
            "http.agent_token_max_s",
            "must be between 60 and 604800".to_owned(),
        );
    }
    if !(500..=300_000).contains(&http.header_timeout_ms) {
        bad(
            "http.header_timeout_ms",
            "must be between 500 and 300000".to_owned(),
        );
    }
    if http.max_connections < 8 {
        bad("http.max_connections", "must be at least 8".to_owned());
    }
    if http.max_streams == 0 || http.max_streams >= http.max_connections {
        bad(
            "http.max_streams",
            "must be at least 1 and below http.max_connections".to_owned(),
        );
    }
}

/// Symbols `uuid_send_dtmf` sends (`w`/`W` pause); `+`, `@` and `F` (flash) are refused.
fn is_dtmf_symbol(c: char) -> bool {
    matches!(c, '0'..='9' | 'A'..='D' | 'a'..='d' | '*' | '#' | 'w' | 'W')
}

/// `host:port` or `[v6]:port` with a non-zero port.
fn host_port(address: &str) -> Result<(), String> {
    let Some((host, port)) = address.rsplit_once(':') else {
        return Err(format!("`{address}` is not host:port"));
    };
    let host_ok = match host.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok()),
        None => !host.is_empty() && !host.contains(':') && !host.contains(char::is_whitespace),
    };
    match (host_ok, port.parse::<u16>()) {
        (true, Ok(p)) if p != 0 => Ok(()),
        (true, Ok(_)) | (true, Err(_)) | (false, Ok(_)) | (false, Err(_)) => {
            Err(format!("`{address}` is not host:port"))
        }
    }
}
