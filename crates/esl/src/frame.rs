//! What one ESL frame *is*, with no I/O and no parsing: the content type, the header list (looked up by
//! name, never by position), the body, and the decoded [`Event`] that event frames carry.
//!
//! [`Headers`] (its own file, `headers.rs`) is a span table over either one owned `String` or the
//! frame's own bytes (plain events, a frame's own header lines: no copy, values decoded on access).

use bytes::Bytes;
use std::fmt;

pub use super::headers::Headers;

/// The `Content-Type` of a frame FreeSWITCH sends to a controller.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    AuthRequest,
    CommandReply,
    ApiResponse,
    EventPlain,
    EventJson,
    EventXml,
    DisconnectNotice,
    RudeRejection,
    LogData,
    /// Anything else, kept verbatim (a newer FreeSWITCH may add types).
    Other(String),
}

impl ContentType {
    pub fn parse(s: &str) -> ContentType {
        match s {
            "auth/request" => ContentType::AuthRequest,
            "command/reply" => ContentType::CommandReply,
            "api/response" => ContentType::ApiResponse,
            "text/event-plain" => ContentType::EventPlain,
            "text/event-json" => ContentType::EventJson,
            "text/event-xml" => ContentType::EventXml,
            "text/disconnect-notice" => ContentType::DisconnectNotice,
            "text/rude-rejection" => ContentType::RudeRejection,
            "log/data" => ContentType::LogData,
            other => ContentType::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ContentType::AuthRequest => "auth/request",
            ContentType::CommandReply => "command/reply",
            ContentType::ApiResponse => "api/response",
            ContentType::EventPlain => "text/event-plain",
            ContentType::EventJson => "text/event-json",
            ContentType::EventXml => "text/event-xml",
            ContentType::DisconnectNotice => "text/disconnect-notice",
            ContentType::RudeRejection => "text/rude-rejection",
            ContentType::LogData => "log/data",
            ContentType::Other(s) => s,
        }
    }

    pub fn is_event(&self) -> bool {
        matches!(
            self,
            ContentType::EventPlain | ContentType::EventJson | ContentType::EventXml
        )
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Headers whose value can be a digit a caller keyed: `DTMF-Digit` (the `DTMF` event), `Digits`
/// (a conference's `dtmf-member` action), `variable_digits_dialed` (a channel's keyed digits, in
/// every channel event). Compared ASCII case-insensitively, as lookups are.
pub(crate) const DIGIT_HEADERS: [&str; 3] = ["DTMF-Digit", "Digits", "variable_digits_dialed"];

/// Whether `name` is a header whose value [`Headers`]' `Debug` hides.
pub fn holds_digits(name: &str) -> bool {
    DIGIT_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Splits a FreeSWITCH multi-value header (`ARRAY::a|:b|:c`) into its parts; any other value is one part.
pub fn split_array(value: &str) -> Vec<&str> {
    match value.strip_prefix("ARRAY::") {
        Some(rest) => rest.split("|:").collect(),
        None => vec![value],
    }
}

/// One complete frame as FreeSWITCH sent it: its own headers (verbatim, not percent-decoded) and body.
/// Its `Debug` shows no body that mentions a digit header (an event frame's body is the event).
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub content_type: ContentType,
    /// The frame's own headers, as sent, including `Content-Type` and `Content-Length`.
    pub headers: Headers,
    /// `Content-Length` bytes after the header block, if the frame had a `Content-Length`.
    pub body: Option<Bytes>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = self.body.as_ref().map(|b| {
            if DIGIT_HEADERS.iter().any(|h| contains_ci(b, h.as_bytes())) {
                format!("<{} bytes, may hold keyed digits: not shown>", b.len())
            } else {
                format!("{b:?}")
            }
        });
        f.debug_struct("Frame")
            .field("content_type", &self.content_type)
            .field("headers", &self.headers)
            .field("body", &body)
            .finish()
    }
}

/// Whether `needle` occurs in `hay`, ASCII case-insensitively.
fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

impl Frame {
    /// `Reply-Text` of a `command/reply`. For the outbound `connect` reply the value is percent-decoded
    /// by [`Frame::reply_text`] callers via [`Frame::event`]; this returns it as sent.
    pub fn reply_text(&self) -> Option<&str> {
        self.headers.get("Reply-Text")
    }

    /// The body as text, lossily (invalid UTF-8 becomes U+FFFD).
    pub fn body_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.body.as_deref().map(String::from_utf8_lossy)
    }
}

/// A FreeSWITCH event as a controller understands it: decoded header values, and the event's own inner
/// body (the `BACKGROUND_JOB` result, a `sendevent` body, ...), whatever the wire format was.
/// The event's own `Content-Length` is not among the headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub headers: Headers,
    pub body: Option<Bytes>,
}

impl Event {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `Event-Name`.
    pub fn name(&self) -> Option<&str> {
        self.headers.get("Event-Name")
    }

    /// `Event-Subclass` (CUSTOM events).
    pub fn subclass(&self) -> Option<&str> {
        self.headers.get("Event-Subclass")
    }

    /// `Unique-ID`: the channel this event is about, if any.
    pub fn unique_id(&self) -> Option<&str> {
        self.headers.get("Unique-ID")
    }

    pub fn body_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.body.as_deref().map(String::from_utf8_lossy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_by_name_case_insensitive_first_wins() {
        let h: Headers = [
            ("Content-Length", "56"),
            ("X", "1"),
            ("content-length", "57"),
        ]
        .into_iter()
        .collect();
        assert_eq!(h.get("CONTENT-LENGTH"), Some("56"));
        assert_eq!(h.get_last("Content-Length"), Some("57"));
        assert_eq!(
            h.get_all("content-length").collect::<Vec<_>>(),
            ["56", "57"]
        );
        assert_eq!(h.get("missing"), None);
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn zeroize_empties_the_headers() {
        let mut h: Headers = [("Event-Name", "DTMF"), ("DTMF-Digit", "7")]
            .into_iter()
            .collect();
        h.zeroize();
        assert!(h.is_empty());
        assert_eq!(h.get("DTMF-Digit"), None);
    }

    #[test]
    fn debug_hides_keyed_digits() {
        let h: Headers = [
            ("Event-Name", "DTMF"),
            ("DTMF-Digit", "7"),
            ("dtmf-digit", "8"),
            ("variable_digits_dialed", "4111"),
            ("Digits", "1234"),
            ("DTMF-Duration", "2000"),
        ]
        .into_iter()
        .collect();
        let event = Event {
            headers: h.clone(),
            body: None,
        };
        for text in [
            format!("{h:?}"),
            format!("{event:?}"),
            format!("{event:#?}"),
        ] {
            for digits in ["\"7\"", "\"8\"", "4111", "1234"] {
                assert!(!text.contains(digits), "{digits} in {text}");
            }
            assert!(text.contains("\"DTMF-Digit\": \"***\""), "{text}");
            assert!(text.contains("2000"), "other values stay visible: {text}");
        }
        let frame = Frame {
            content_type: ContentType::EventPlain,
            headers: Headers::new(),
            body: Some(Bytes::from_static(b"Event-Name: DTMF\nDTMF-Digit: 5\n\n")),
        };
        let text = format!("{frame:?}");
        assert!(!text.contains("Digit: 5"), "{text}");
        let reply = Frame {
            body: Some(Bytes::from_static(b"+OK")),
            ..frame
        };
        assert!(format!("{reply:?}").contains("+OK"));
    }

    #[test]
    fn arrays_split() {
        assert_eq!(split_array("ARRAY::a|:b|:c"), ["a", "b", "c"]);
        assert_eq!(split_array("plain"), ["plain"]);
    }

    #[test]
    fn content_types_round_trip() {
        for s in [
            "auth/request",
            "command/reply",
            "api/response",
            "text/event-plain",
            "text/event-json",
            "text/event-xml",
            "text/disconnect-notice",
            "text/rude-rejection",
            "log/data",
            "x/new",
        ] {
            assert_eq!(ContentType::parse(s).as_str(), s);
        }
    }
}
