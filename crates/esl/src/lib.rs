//! The Event Socket Layer: FreeSWITCH's control protocol.
//!
//! | module | job |
//! |---|---|
//! | [`frame`], `headers` | `Frame`, `ContentType`, `Headers`, `Event`: what a frame is; no I/O; `Headers` owned or shared with the frame, decoded on access |
//! | [`splitter`] | where a frame ends in a byte buffer (`Content-Length`, size cap); resumable, no I/O |
//! | [`parser`] | nom parser of one complete frame's header lines |
//! | [`codec`] | `EslCodec`: tokio-util `Decoder` = splitter + parser |
//! | [`scrub`] | frames that may carry a DTMF digit: copied out of the read buffer, zeroized |
//! | [`error`] | `WireError` |
//! | [`event_format`] | `EventFormat`: plain, json or xml |
//! | [`event`], [`event_json`], [`event_xml`] | `Frame::event()`: plain/json/xml/connect-reply → `Event` |
//! | [`url`] | percent-encoding and -decoding exactly as FreeSWITCH's `switch_url_encode` / `switch_url_decode` |
//! | `plain_walk`, `header_lines` | the lazy plain-event walk (one SSE2 classifying pass, every line of a 64-byte chunk checked at once) and the line starts it records: lookups by name over them, the span table built on first need |
//! | `event_json_flat`, `scan` | fast path for FreeSWITCH's flat JSON object; word-at-a-time byte search for short fields |
//! | [`command`] | `Command`: typed commands that encode themselves (+ `Encoder<&Command>` for `EslCodec`) |
//! | [`connection`] | the one connection driver: FIFO reply matching, event routing, bgapi/execute correlation |
//! | [`client_error`], [`reply`] | `ClientError`/`LossReason`; `Reply`, `ApiReply`, `DisconnectNotice` |
//! | [`inbound`] | daemon → FreeSWITCH :8021: auth, subscriptions, reconnect with backoff |
//! | [`filter_set`] | `FilterSet`: filters added and deleted while the inbound client runs, re-applied on reconnect |
//! | [`cidr`] | `Cidr`: an IP block or single address, the entries of an allow-list |
//! | [`outbound`] | FreeSWITCH `socket` app → daemon :8084: allow-list, connect, full-control sessions |
//! | [`secret`] | `Secret`: a password masked in `Debug`/`Display`, zeroized on drop |
pub mod filter_set;
pub mod frame;
mod headers;

pub use frame::{ContentType, Event, Frame, Headers};
pub mod codec;
pub mod error;
pub mod parser;
pub mod scrub;
pub mod splitter;

pub use codec::EslCodec;
pub use error::WireError;
pub use event_format::EventFormat;
pub mod event;
pub mod event_format;
pub mod event_json;
mod event_json_flat;
pub mod event_xml;
mod header_lines;
#[cfg(test)]
mod plain_lazy_tests;
mod plain_walk;
mod scan;
pub mod url;

pub mod cidr;

pub mod client_error;
pub mod command;
pub mod connection;
pub mod inbound;
pub mod outbound;
pub mod reply;
pub mod secret;

/// The README's example, compiled by `cargo test --doc`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
