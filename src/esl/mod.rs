//! The Event Socket Layer: FreeSWITCH's control protocol.
//!
//! | module | job |
//! |---|---|
//! | [`frame`] | `Frame`, `ContentType`, `Headers`, `Event`: what a frame is; no I/O |
pub mod frame;

pub use frame::{ContentType, Event, Frame, Headers};
pub mod codec;
pub mod error;
pub mod parser;
pub mod splitter;

pub use codec::EslCodec;
pub use error::WireError;
