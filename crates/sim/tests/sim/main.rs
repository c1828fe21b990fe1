//! The simulator's integration tests, one binary: everything here needs `confpay-sim` and
//! `confpay-esl` only (the tests that drive the daemon against the simulator are the root crate's).
//!
//! | module | what |
//! |---|---|
//! | `core_*` | the switch model driven through its API: calls, conferences, rules, socket, fidelity |
//! | `esl_*` | the simulator over TCP: inbound and outbound event socket, replayed recordings, faults |
//! | `console` | the standalone console in-process |
//! | `binary` | the `confpay-sim` binary as a process |
//!
//! Helper: `esl_client` (a raw ESL client, the recordings' transcripts, normalization).

mod esl_client;

mod binary;
mod console;
mod core_calls;
mod core_conference;
mod core_fidelity;
mod core_rules;
mod core_socket;
mod esl_e2e_conference;
mod esl_faults;
mod esl_inbound_api_replay;
mod esl_inbound_behaviour;
mod esl_inbound_replay;
mod esl_outbound;
mod esl_outbound_modes;
mod esl_serialize_recordings;
