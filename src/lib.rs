//! confpay: Conference Pay for FreeSWITCH.
//!
//! Module map (one concept per file):
//!
//! | module | job |
//! |---|---|
//! | [`esl`] | the Event Socket protocol: frames, parser, commands, codec, inbound client, outbound server |
//! | [`pay`] | the Conference Pay flow: pure session state machine, session actors, engine |
//! | [`config`] | TOML + `CONFPAY_<SECTION>__<KEY>` overrides → validated `Config`; reload diff |
//! | [`secret`] | `Secret`: masked, zeroized string for passwords and tokens |
//! | [`logging`] | tracing to stdout: journald / text / JSON formats, live level reload |
//! | [`daemon`] | supervisor: components, signals, SIGHUP reload, sd_notify |
//! | [`cli`] | the `confpayd` command line |
//! | [`error`] | `DaemonError` and exit codes |
//! | [`cluster`] | many switches, one front door: nodes over NATS, requests forwarded to the call's owner |
//! | [`http`] | the agent control API, the agent page, status stream, `/metrics`, `/healthz` |
//! | [`metrics`] | Prometheus counters, histogram and scrape-time gauges |
//! | [`decode`] | `confpayd decode`: a raw ESL byte stream as one JSON line per frame |
//! | [`sim`] | the FreeSWITCH simulator: switch model, ESL server, outbound dialler, hearing/DTMF matrix |
//! | [`demo`] | `confpayd demo`: simulator + daemon parts, a scripted call, a timeline, the agent page |
pub mod cli;
pub mod cluster;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod demo;
pub mod error;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod pay;
pub mod webhooks;

pub use confpay_esl as esl;
pub use confpay_esl::secret;
pub use confpay_sim as sim;
