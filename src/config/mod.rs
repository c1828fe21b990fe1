//! The daemon's configuration: one TOML file (default `/etc/confpay/confpay.toml`) plus
//! `CONFPAY_<SECTION>__<KEY>` environment overrides.
//!
//! | module | job |
//! |---|---|
//! | [`schema`] | the structs, their defaults, `deny_unknown_fields` |
//! | [`load`] | file + environment → `Config` (via the `config` crate), then validation |
//! | [`validate`] | checks after deserialising; every error names its key |
//! | [`settings`] | the flat list of keys (secrets masked): diff for SIGHUP, masked rendering |
//! | [`webhooks`] | `[webhooks]`: its struct, defaults and checks |
pub mod load;
pub mod schema;
pub mod settings;
pub mod validate;
pub mod webhooks;

pub use load::{ConfigError, ConfigLocation, DEFAULT_PATH, load};
pub use schema::{
    ClusterConfig, Config, EslConfig, HttpConfig, LogConfig, LogFormat, OnAgentHangup,
    OutboundConfig, PaymentConfig,
};
pub use settings::{Apply, Change, diff, render};
pub use validate::{Invalid, validate};
pub use webhooks::{WebhookEndpoint, WebhooksConfig};
