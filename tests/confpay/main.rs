//! The root crate's integration tests, one binary: the daemon (`confpayd` as a process and its parts
//! in-process against the simulator), its configuration, HTTP API, demo, deployment files and
//! README, and the live suite against a real FreeSWITCH.
//!
//! | module | what |
//! |---|---|
//! | `cli` | the built `confpayd`: flags, exit codes, signals, a fake systemd |
//! | `cluster`, `cluster_owner`, `cluster_nats_auth` | cluster mode: a real `nats-server`, two simulated switches, two daemons; what only the owner does; NATS credentials and TLS |
//! | `config` | configuration loading, validation, reload |
//! | `decode_cli`, `proptest_decode` | `confpayd decode`, by example and by property |
//! | `demo` | the demo, in-process and as `confpayd demo --serve` |
//! | `deploy_files` | the dialplan and systemd files against what the daemon expects |
//! | `flow_*` | payments and the fault matrix: the daemon's parts against the simulator over TCP |
//! | `http_*`, `metrics` | the HTTP API and `/metrics` |
//! | `pci_leaks` | no card digit in logs (at TRACE), API, status stream, metrics or panics |
//! | `readme_paths` | README's paths exist and its commands work |
//! | `webhooks` | signed webhooks against a real receiver: dead endpoint, restart, once each |
//! | `live` | the live suite: every test ignored unless run against a real FreeSWITCH |
//!
//! Helpers: `flow_harness` (the simulator plus the daemon's parts, the fault-matrix checker, the
//! binary's one panic hook), `http_harness` (the engine on the simulator's switch model, the HTTP
//! server, an HTTP client), `recordings` and `event_generators` (for the `decode` tests).
//!
//! Every test shares this process: none may set a global tracing subscriber, the environment, the
//! current directory or a fixed port (`pci_leaks` scopes its log capture to its own runtime).
//! The live suite alone is `#[ignore]`d, so `live:: -- --ignored` selects exactly it.

use confpay_test_fixtures::event_generators;
mod cluster_harness;
mod flow_harness;
mod forged_peer;
mod http_harness;
mod log_capture;
use confpay_test_fixtures::recordings;

mod cli;
mod cluster;
mod cluster_nats_auth;
mod cluster_owner;
mod config;
mod decode_cli;
mod demo;
mod deploy_files;
mod dtmf_scope;
mod flow_failures;
mod flow_faults;
mod flow_hundred_at_once;
mod flow_matrix_attach;
mod flow_matrix_cmd;
mod flow_matrix_esl;
mod flow_matrix_hangup;
mod flow_matrix_kill;
mod flow_payment;
mod flow_recordings;
mod flow_restart;
mod hostile_peer;
mod http_agents;
mod http_api;
mod http_auth;
mod http_browser;
mod http_readers;
mod live;
mod metrics;
mod pci_leaks;
mod proptest_decode;
mod readme_paths;
mod scope_stall;
mod webhooks;
