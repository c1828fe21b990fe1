//! Shared by the `proptest_*` property tests: value and frame generators ([`arb`]), a chunked
//! feeder that checks the decoder's memory bound on every call ([`feed`]), and a minimal server-side
//! reader of controller commands, modelled on mod_event_socket's `read_packet` ([`request`]).
//!
//! Case counts: every property uses `ProptestConfig::default()`, i.e. 256 cases unless the
//! `PROPTEST_CASES` environment variable says otherwise (`.ci/fuzz-smoke.sh` raises it).

pub use confpay_test_fixtures::event_generators as arb;
pub mod feed;
pub mod request;
