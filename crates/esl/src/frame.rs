//! What one ESL frame *is*, with no I/O and no parsing: the content type, the header list (looked up by
//! name, never by position), the body, and the decoded [`Event`] that event frames carry.
//!
//! Header storage is one `String` plus a span table, so a frame with a hundred headers costs two
//! allocations, not two hundred. A decoder may copy a whole header block into the `String` at once and
//! point the spans into it ([`Headers::over_block`]), so an undecoded header costs no copy of its own.

use bytes::Bytes;
use std::fmt;
use std::ops::Range;

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

/// Where one header's name and value lie in `Headers::text` (not necessarily adjacent: a value may be
/// a range of a copied block or a decoded value appended after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    name_start: u32,
    name_end: u32,
    value_start: u32,
    value_end: u32,
}

/// An ordered list of `Name: value` pairs. Lookup is by name, ASCII case-insensitive, first match wins.
/// Duplicate names are kept (FreeSWITCH sends some twice, e.g. a `sendevent` body's `Content-Length`).
/// Two lists are equal when they hold the same pairs in the same order (however they are stored).
#[derive(Clone, Default)]
pub struct Headers {
    text: String,
    spans: Vec<Span>,
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Overwrites every byte of the header text with zeros and empties the list (for events that
    /// may carry a DTMF digit: the daemon scrubs them once handled).
    pub fn zeroize(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.text);
        self.spans.clear();
    }

    pub fn with_capacity(headers: usize, bytes: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            spans: Vec::with_capacity(headers),
        }
    }

    /// An empty list whose text starts as a copy of `block` (one copy for the whole block), for
    /// [`Headers::push_ranges`] and [`Headers::push_range_with`] to point into.
    pub(crate) fn over_block(block: &str, headers: usize) -> Headers {
        // Room for the block and for some decoded values appended after it.
        let mut text = String::with_capacity(block.len() + block.len() / 4);
        text.push_str(block);
        Headers {
            text,
            spans: Vec::with_capacity(headers),
        }
    }

    /// Appends a header whose name and value are ranges of the block given to
    /// [`Headers::over_block`]. Both must lie on `char` boundaries of it (decoders pass ranges that
    /// start and end at ASCII delimiters); a range that does not would make lookups panic, so
    /// debug builds check.
    pub(crate) fn push_ranges(&mut self, name: Range<usize>, value: Range<usize>) {
        debug_assert!(
            self.text.get(name.clone()).is_some() && self.text.get(value.clone()).is_some()
        );
        self.spans.push(Span {
            name_start: name.start as u32,
            name_end: name.end as u32,
            value_start: value.start as u32,
            value_end: value.end as u32,
        });
    }

    /// Appends a header whose name is a range of the block (as for [`Headers::push_ranges`]) and
    /// whose value is written by `write` after everything stored so far.
    pub(crate) fn push_range_with(&mut self, name: Range<usize>, write: impl FnOnce(&mut String)) {
        debug_assert!(self.text.get(name.clone()).is_some());
        let value_start = self.text.len() as u32;
        write(&mut self.text);
        self.spans.push(Span {
            name_start: name.start as u32,
            name_end: name.end as u32,
            value_start,
            value_end: self.text.len() as u32,
        });
    }

    /// Appends a header. The value is stored as given (callers decode before pushing).
    pub fn push(&mut self, name: &str, value: &str) {
        self.push_with(name, |s| s.push_str(value));
    }

    /// Appends a header whose value is written by `write` straight into the shared buffer
    /// (used by decoders to percent-decode without an intermediate `String`).
    pub fn push_with(&mut self, name: &str, write: impl FnOnce(&mut String)) {
        let name_start = self.text.len() as u32;
        self.text.push_str(name);
        let name_end = self.text.len() as u32;
        write(&mut self.text);
        self.spans.push(Span {
            name_start,
            name_end,
            value_start: name_end,
            value_end: self.text.len() as u32,
        });
    }

    fn pair(&self, s: &Span) -> (&str, &str) {
        (
            &self.text[s.name_start as usize..s.name_end as usize],
            &self.text[s.value_start as usize..s.value_end as usize],
        )
    }

    /// Whether span `s` is header `name` (ASCII case-insensitive), compared as bytes: no `str` is
    /// sliced (with its char-boundary checks) for the headers that do not match.
    fn is_named(&self, s: &Span, name: &str) -> bool {
        // `eq_ignore_ascii_case` compares the lengths first.
        self.text
            .as_bytes()
            .get(s.name_start as usize..s.name_end as usize)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    fn value(&self, s: &Span) -> &str {
        &self.text[s.value_start as usize..s.value_end as usize]
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        let s = self.spans.iter().find(|s| self.is_named(s, name))?;
        Some(self.value(s))
    }

    /// The last value of header `name` (FreeSWITCH appends: the last one is the serializer's own).
    pub fn get_last(&self, name: &str) -> Option<&str> {
        let s = self.spans.iter().rev().find(|s| self.is_named(s, name))?;
        Some(self.value(s))
    }

    /// Every value of header `name`, in wire order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.spans
            .iter()
            .filter(move |s| self.is_named(s, name))
            .map(|s| self.value(s))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(|s| self.pair(s))
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// Headers whose value can be a digit a caller keyed: `DTMF-Digit` (the `DTMF` event), `Digits`
/// (a conference's `dtmf-member` action), `variable_digits_dialed` (a channel's keyed digits, in
/// every channel event). Compared ASCII case-insensitively, as lookups are.
const DIGIT_HEADERS: [&str; 3] = ["DTMF-Digit", "Digits", "variable_digits_dialed"];

/// Whether `name` is a header whose value [`Headers`]' `Debug` hides.
pub fn holds_digits(name: &str) -> bool {
    DIGIT_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Every pair, the values of [`holds_digits`] headers shown as `***`: a `Debug` print of an event
/// (a log line, a panic, a failed assertion) never carries a keyed digit.
impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = self
            .iter()
            .map(|(n, v)| (n, if holds_digits(n) { "***" } else { v }));
        f.debug_map().entries(masked).finish()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(iter: I) -> Headers {
        let mut h = Headers::new();
        for (n, v) in iter {
            h.push(n, v);
        }
        h
    }
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
