//! The ESL crate's integration tests, one binary: everything here needs `confpay-esl` alone.
//!
//! | module | what |
//! |---|---|
//! | `commands` | every command's wire text, line-break injection refused |
//! | `fixtures_decode` | the recorded FreeSWITCH byte streams decode, however chunked |
//! | `fixture_values` | specific values in the recordings decode as sent |
//! | `malformed_input` | oversized, endless, CRLF, garbage and truncated input |
//! | `idle_buffer` | the driver giving its read buffer back when idle, against a stream cut anywhere |
//! | `inbound_client` | the inbound client against fake FreeSWITCH peers speaking recorded bytes |
//! | `inbound_batch` | every frame of one socket read routed in order, the channel filling mid-read |
//! | `outbound_server` | the outbound socket server against a fake FreeSWITCH dialling in |
//! | `proptest_wire` | property tests of the frame decoder against hostile input |
//! | `proptest_events` | property tests of event decoding in all three wire formats |
//! | `proptest_commands` | property tests of command encoding: no input injects a second command |
//! | `proptest_regressions` | cases the property tests found, pinned as plain tests |
//!
//! Helpers: `recordings` (the fixture files and FreeSWITCH-style re-serializers), `fake_switch`
//! (the recorded transcripts and a fake peer's frames), `wire_generators` (proptest generators,
//! a bounded chunked feeder, a model of mod_event_socket's command reader).

mod fake_switch;
use confpay_test_fixtures::recordings;
mod wire_generators;

mod commands;
mod fixture_values;
mod fixtures_decode;
mod idle_buffer;
mod inbound_batch;
mod inbound_client;
mod malformed_input;
mod outbound_server;
mod proptest_commands;
mod proptest_events;
mod proptest_regressions;
mod proptest_wire;
