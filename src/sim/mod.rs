//! The FreeSWITCH simulator: a protocol-faithful stand-in used to test the daemon.
//!
//! | module | job |
//! |---|---|
//! | [`core`] | the switch model: channels, bridges, conferences, dialplan, API commands, events |
//! | [`esl`] | the event socket: inbound server, outbound dialler, serialization, faults on demand |
//! | [`hearing`] | who hears whom, and the DTMF delivery log |
//! | [`party`] | scripted far-end parties (customer, agent, capture service) |
pub mod core;
pub mod esl;
pub mod hearing;
pub mod party;
