//! [`WireError`]: everything that can go wrong turning FreeSWITCH's bytes into frames and events.
//!
//! Every message is one line and never contains body bytes or header values (a header value may be a
//! card digit echoed by FreeSWITCH): only positions, lengths, limits and header *names* we chose.

use crate::event_format::EventFormat;

/// Why a frame or an event could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The socket failed.
    #[error("ESL I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// No blank line within the frame size cap: the header block alone is too big.
    #[error("ESL header block exceeds the frame cap of {limit} bytes without ending")]
    HeaderTooLarge { limit: usize },

    /// `Content-Length` (plus the header block) is over the cap; rejected before reading the body.
    #[error(
        "ESL frame of {header_bytes}+{content_length} bytes exceeds the frame cap of {limit} bytes"
    )]
    FrameTooLarge {
        header_bytes: usize,
        content_length: u64,
        limit: usize,
    },

    /// A header line that is not `Name: value` (line numbers count from 1).
    #[error("ESL header line {line} is not `Name: value`")]
    MalformedHeaderLine { line: usize },

    /// `Content-Length` is not a plain non-negative decimal number that fits in 64 bits.
    #[error("ESL Content-Length on header line {line} is not a non-negative decimal number")]
    InvalidContentLength { line: usize },

    /// Two frame-level `Content-Length` headers that disagree.
    #[error("ESL frame has conflicting Content-Length headers (lines {first_line} and {line})")]
    ConflictingContentLength { first_line: usize, line: usize },

    /// A frame without `Content-Type`.
    #[error("ESL frame has no Content-Type header")]
    MissingContentType,

    /// The stream ended in the middle of a frame.
    #[error("ESL stream ended inside a frame ({buffered} bytes of an incomplete frame buffered)")]
    Truncated { buffered: usize },

    /// An event frame whose event text could not be decoded.
    #[error("malformed {} event: {fault}", format.content_type())]
    MalformedEvent {
        format: EventFormat,
        fault: EventFault,
    },
}

/// What exactly was wrong with an event's text. Positions only, never content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EventFault {
    #[error("the event frame has no body")]
    NoBody,
    #[error("header line {line} is not `Name: value`")]
    HeaderLine { line: usize },
    #[error("no blank line ends the event headers")]
    Unterminated,
    #[error("its Content-Length is not a non-negative decimal number")]
    BadLength,
    #[error("its Content-Length says {declared} body bytes but {actual} follow")]
    LengthMismatch { declared: u64, actual: usize },
    #[error("{trailing} bytes follow the headers but no Content-Length announces a body")]
    UnannouncedBody { trailing: usize },
    #[error("invalid JSON ({category}) at line {line} column {column}")]
    Json {
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error("JSON value of a header is neither a string nor an array of strings")]
    JsonValueType,
    #[error("invalid XML at byte {offset}: {what}")]
    Xml { offset: usize, what: &'static str },
}

impl WireError {
    /// A [`WireError::MalformedEvent`].
    pub fn malformed_event(format: EventFormat, fault: EventFault) -> WireError {
        WireError::MalformedEvent { format, fault }
    }
}
