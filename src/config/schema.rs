//! The configuration structs and their defaults. Every key has a default, so an empty file (or no file)
//! is a valid configuration; unknown keys are rejected (`deny_unknown_fields`) so a typo never silently
//! falls back to a default. Values are checked afterwards by [`super::validate`].

use crate::esl::cidr::Cidr;
use crate::secret::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The whole configuration file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub esl: EslConfig,
    pub outbound: OutboundConfig,
    pub http: HttpConfig,
    pub payment: PaymentConfig,
    pub log: LogConfig,
    pub webhooks: super::webhooks::WebhooksConfig,
    pub cluster: ClusterConfig,
}

/// `[esl]`: the inbound ESL connection, daemon → FreeSWITCH.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EslConfig {
    /// `host:port` of FreeSWITCH's event socket (a host name is allowed).
    pub address: String,
    pub password: Secret,
    pub connect_timeout_ms: u64,
    pub command_timeout_ms: u64,
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
    pub max_frame_bytes: usize,
}

impl Default for EslConfig {
    fn default() -> Self {
        EslConfig {
            address: "127.0.0.1:8021".to_owned(),
            password: Secret::new("ClueCon".to_owned()),
            connect_timeout_ms: 3000,
            command_timeout_ms: 5000,
            reconnect_initial_ms: 200,
            reconnect_max_ms: 10_000,
            max_frame_bytes: 16 * 1024 * 1024,
        }
    }
}

impl EslConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
    pub fn reconnect_initial(&self) -> Duration {
        Duration::from_millis(self.reconnect_initial_ms)
    }
    pub fn reconnect_max(&self) -> Duration {
        Duration::from_millis(self.reconnect_max_ms)
    }
}

/// `[outbound]`: FreeSWITCH's dialplan `socket` application connects here.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    pub listen: SocketAddr,
    /// Peers allowed to connect (FreeSWITCH's hosts). An empty list lets no peer in; validation
    /// refuses it beyond loopback, where it would only be a listener nobody may use.
    pub allow: Vec<Cidr>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8084)),
            allow: Cidr::LOOPBACK.to_vec(),
        }
    }
}

/// `[http]`: the agent control API and page.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Admin bearer token; empty means none, which validation only accepts on a loopback `listen`.
    pub token: Secret,
    /// HS256 key the call-centre platform signs per-agent tokens with; empty: no agent tokens.
    pub agent_token_secret: Secret,
    /// Longest an agent token may still live when presented.
    pub agent_token_max_s: u64,
    /// `Host` values browsers may use besides localhost and the listen address (`"*"`: any).
    pub allowed_hosts: Vec<String>,
    /// Origins (`https://crm.example.com`) whose pages may call the API besides its own.
    pub allowed_origins: Vec<String>,
    /// Time a client has to send a request's headers, also the keep-alive idle limit.
    pub header_timeout_ms: u64,
    /// Open connections at most; more are closed at once.
    pub max_connections: usize,
    /// Status streams (`/api/v1/events`) at most; more get 503.
    pub max_streams: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8085)),
            token: Secret::new(String::new()),
            agent_token_secret: Secret::new(String::new()),
            agent_token_max_s: 12 * 3600,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            header_timeout_ms: 10_000,
            max_connections: 512,
            max_streams: 128,
        }
    }
}

/// `[payment]`: how a payment is run. Read by the engine.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentConfig {
    /// Dial string of the card-capture service.
    pub capture_dial: String,
    pub conference_profile: String,
    pub capture_answer_timeout_s: u64,
    pub max_capture_s: u64,
    pub agent_id_prefix: String,
    pub agent_id_suffix: String,
    /// Pause after the capture leg answers before sending the agent ID.
    pub agent_id_delay_ms: u64,
    pub dtmf_duration_ms: u64,
    /// How long the agent has to key the ID on the phone (ended by `#`).
    pub agent_id_entry_timeout_s: u64,
    pub start_event_subclass: String,
    pub hold_music: String,
    pub on_agent_hangup: OnAgentHangup,
    /// Dialplan target (`<extension> [<dialplan> [<context>]]`) when `on_agent_hangup = "transfer"`.
    pub agent_hangup_transfer: String,
    /// Prefixes an agent dial string (`confpay_agent_dial`) must start with to be dialled.
    pub agent_dial_allow: Vec<String>,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        PaymentConfig {
            capture_dial: "sofia/gateway/paytia/pay".to_owned(),
            conference_profile: "confpay".to_owned(),
            capture_answer_timeout_s: 30,
            max_capture_s: 600,
            agent_id_prefix: String::new(),
            agent_id_suffix: "#".to_owned(),
            agent_id_delay_ms: 1000,
            dtmf_duration_ms: 100,
            agent_id_entry_timeout_s: 20,
            start_event_subclass: "confpay::start".to_owned(),
            hold_music: "local_stream://moh".to_owned(),
            on_agent_hangup: OnAgentHangup::Hangup,
            agent_hangup_transfer: String::new(),
            agent_dial_allow: crate::pay::dial_allow::DEFAULT_AGENT_DIAL_ALLOW
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl PaymentConfig {
    pub fn capture_answer_timeout(&self) -> Duration {
        Duration::from_secs(self.capture_answer_timeout_s)
    }
    pub fn max_capture(&self) -> Duration {
        Duration::from_secs(self.max_capture_s)
    }
    pub fn agent_id_delay(&self) -> Duration {
        Duration::from_millis(self.agent_id_delay_ms)
    }
    pub fn agent_id_entry_timeout(&self) -> Duration {
        Duration::from_secs(self.agent_id_entry_timeout_s)
    }
}

/// What happens to the customer when the agent hangs up during a payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnAgentHangup {
    /// Hang the customer up too.
    Hangup,
    /// Transfer the customer to `payment.agent_hangup_transfer`.
    Transfer,
}

impl OnAgentHangup {
    pub fn as_str(self) -> &'static str {
        match self {
            OnAgentHangup::Hangup => "hangup",
            OnAgentHangup::Transfer => "transfer",
        }
    }
}

/// `[cluster]`: several switches, one `confpayd` each, joined over NATS (see `crate::cluster`).
/// Off while `nats` is empty: then no NATS connection is made and nothing else changes.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// NATS server URLs (`nats://host:4222`, `tls://host:4222`); empty: no cluster.
    pub nats: Vec<String>,
    /// This node's name, unique in the cluster: letters, digits, `-`, `_` (a NATS subject token).
    pub node: String,
    /// A NATS `.creds` file (JWT + NKey seed); empty: none.
    pub credentials_file: String,
    /// A NATS authorization token; empty: none.
    pub token: Secret,
    /// CA certificate (PEM) the NATS server's certificate must chain to; set: TLS is required.
    pub tls_ca_file: String,
    /// Client certificate and key (PEM) for NATS servers that verify clients; both or neither.
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// How often this node announces itself and its calls.
    pub heartbeat_ms: u64,
    /// A node not heard from for this long is reported unreachable.
    pub unreachable_after_ms: u64,
    /// How long a request forwarded to another node may take.
    pub request_timeout_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            nats: Vec::new(),
            node: String::new(),
            credentials_file: String::new(),
            token: Secret::new(String::new()),
            tls_ca_file: String::new(),
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            heartbeat_ms: 1000,
            unreachable_after_ms: 3000,
            request_timeout_ms: 3000,
        }
    }
}

impl ClusterConfig {
    /// Whether this daemon joins a cluster.
    pub fn enabled(&self) -> bool {
        !self.nats.is_empty()
    }
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }
    pub fn unreachable_after(&self) -> Duration {
        Duration::from_millis(self.unreachable_after_ms)
    }
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// `[log]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` `EnvFilter` directive; the `RUST_LOG` environment variable wins over it.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Auto,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `journald` when stdout is connected to the journal (`JOURNAL_STREAM`), else `text`.
    Auto,
    /// The journal's native protocol, every field a journal field (`CONFPAY_CALL`, ...); when its
    /// socket is unreachable, `<N>` syslog priority prefixed `key=value` lines on stdout.
    Journald,
    /// Human-readable, timestamped; colour only on a terminal.
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Auto => "auto",
            LogFormat::Journald => "journald",
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}
