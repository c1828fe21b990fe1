//! The Event Socket Layer: FreeSWITCH's control protocol.
//!
//! | module | job |
//! |---|---|
//! | [`frame`] | `Frame`, `ContentType`, `Headers`, `Event`: what a frame is; no I/O |
//! | [`splitter`] | where a frame ends in a byte buffer (`Content-Length`, size cap); resumable, no I/O |
//! | [`parser`] | nom parser of one complete frame's header lines |
//! | [`codec`] | `EslCodec`: tokio-util `Decoder` = splitter + parser |
//! | [`error`] | `WireError` |
//! | [`event`], [`event_json`], [`event_xml`] | `Frame::event()`: plain/json/xml/connect-reply → `Event` |
//! | [`url`] | percent-decoding exactly as FreeSWITCH's `switch_url_decode` |
pub mod frame;

pub use frame::{ContentType, Event, Frame, Headers};
pub mod codec;
pub mod error;
pub mod parser;
pub mod splitter;

pub use codec::EslCodec;
pub use error::WireError;
pub mod event;
pub mod event_json;
pub mod event_xml;
pub mod url;
