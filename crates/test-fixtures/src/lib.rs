//! Test-only helpers shared by the ESL crate's tests and the daemon's tests (two test binaries of
//! two crates cannot share a module): the recordings from a real FreeSWITCH with whole-stream
//! decoding and re-serialization ([`recordings`]), and property-test generators of header values,
//! frames, events and streams ([`event_generators`]).

pub mod event_generators;
pub mod recordings;
