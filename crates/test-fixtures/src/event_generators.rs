//! Generators: header names and values, reply frames with their exact wire bytes, FreeSWITCH events,
//! and whole streams mixing them (every event serialized as plain, json or xml, like FreeSWITCH does
//! through the re-serializers in [`crate::recordings`]).

use bytes::Bytes;
use confpay_esl::{ContentType, Event, Frame, Headers};
use proptest::prelude::*;
use proptest::sample::select;

/// Header names as FreeSWITCH writes them (`Event-Name`, `variable_sip_to_user`, ...): never
/// `Content-Length`/`Content-Type` (those are the frame's own) nor json's `_body`.
pub fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9_-]{0,14}".prop_filter("reserved name", |n| {
        !["content-length", "content-type", "_body"]
            .iter()
            .any(|r| n.eq_ignore_ascii_case(r))
    })
}

/// One character of a header value: mostly anything, often the characters that need escaping.
fn value_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>().prop_filter("NUL", |c| *c != '\0'),
        3 => select(vec![
            '%', '+', ' ', ':', '\r', '\n', '\t', '&', '<', '>', '"', '|', 'A', '0', 'é', '€',
        ]),
    ]
}

/// Text that a frame header line can carry verbatim: no `\n`, no trailing `\r`.
pub fn line_value() -> impl Strategy<Value = String> {
    prop::collection::vec(value_char(), 0..24).prop_map(|cs| {
        let s: String = cs.into_iter().filter(|c| *c != '\n').collect();
        s.trim_end_matches('\r').to_owned()
    })
}

/// An event header value: any text without NUL (FreeSWITCH values are C strings), except the two
/// spellings the wire cannot carry faithfully: `_undef_` (the plain form of "empty") and an
/// uppercase `%XX` (`switch_url_encode` leaves it alone, so it arrives decoded). Both are pinned
/// down by unit tests in `src/esl/url.rs`.
pub fn event_value() -> impl Strategy<Value = String> {
    prop::collection::vec(value_char(), 0..24)
        .prop_map(|cs| cs.into_iter().collect::<String>())
        .prop_filter("ambiguous on the wire", |v| {
            v != "_undef_" && !v.starts_with("ARRAY::") && !has_kept_escape(v)
        })
}

fn has_kept_escape(v: &str) -> bool {
    let hex = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    v.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]) && hex(w[2]))
}

/// A multi-value header as FreeSWITCH holds it: `ARRAY::a|:b|:c` (parts non-empty, no `|:`).
pub fn array_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        event_value().prop_filter("array part", |p| {
            !p.is_empty() && !p.contains("|:") && !p.ends_with('|') && !p.starts_with(':')
        }),
        2..4,
    )
    .prop_map(|parts| format!("ARRAY::{}", parts.join("|:")))
}

/// An event body: no NUL (C string), non-empty (an empty body is no body on every wire).
pub fn body_text() -> impl Strategy<Value = String> {
    prop::collection::vec(value_char(), 1..64).prop_map(|cs| cs.into_iter().collect())
}

/// A FreeSWITCH event: `Event-Name` first, then distinct (case-insensitively) random headers, some
/// multi-valued, and maybe a body.
pub fn event() -> impl Strategy<Value = Event> {
    let header = (
        header_name(),
        prop_oneof![5 => event_value(), 1 => array_value()],
    );
    (
        "[A-Z][A-Z_]{0,20}",
        prop::collection::vec(header, 0..12),
        prop::option::of(body_text()),
    )
        .prop_map(|(name, headers, body)| {
            let mut h = Headers::new();
            h.push("Event-Name", &name);
            let mut seen = vec!["event-name".to_owned()];
            for (n, v) in headers {
                if !seen.contains(&n.to_ascii_lowercase()) {
                    seen.push(n.to_ascii_lowercase());
                    h.push(&n, &v);
                }
            }
            Event {
                headers: h,
                body: body.map(Bytes::from),
            }
        })
}

/// The wire format an event is sent in.
#[derive(Clone, Copy, Debug)]
pub enum Wire {
    Plain,
    Json,
    Xml,
}

pub fn wire() -> impl Strategy<Value = Wire> {
    select(vec![Wire::Plain, Wire::Json, Wire::Xml])
}

/// The bytes FreeSWITCH sends for `event` on a connection subscribed in format `wire`.
pub fn event_frame_bytes(event: &Event, wire: Wire) -> Vec<u8> {
    match wire {
        Wire::Plain => crate::recordings::to_plain_frame(event),
        Wire::Json => crate::recordings::to_json_frame(event),
        Wire::Xml => crate::recordings::to_xml_frame(event),
    }
}

const CONTENT_TYPES: &[&str] = &[
    "auth/request",
    "command/reply",
    "api/response",
    "text/disconnect-notice",
    "text/rude-rejection",
    "log/data",
    "x/not-yet-invented",
];

/// A non-event frame and its exact bytes: `Content-Type` (first or not), random headers, and a body
/// with its `Content-Length` (any bytes, blank lines and NULs included) or none.
pub fn reply_frame() -> impl Strategy<Value = (Vec<u8>, Frame)> {
    (
        select(CONTENT_TYPES),
        prop::collection::vec((header_name(), line_value()), 0..6),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..200)),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(ct, extra, body, ct_at)| {
            let mut lines: Vec<(String, String)> = extra;
            lines.insert(
                ct_at.index(lines.len() + 1),
                ("Content-Type".into(), ct.into()),
            );
            if let Some(b) = &body {
                lines.push(("Content-Length".into(), b.len().to_string()));
            }
            let mut bytes = Vec::new();
            let mut headers = Headers::new();
            for (n, v) in &lines {
                bytes.extend_from_slice(format!("{n}: {v}\n").as_bytes());
                headers.push(n, v);
            }
            bytes.push(b'\n');
            if let Some(b) = &body {
                bytes.extend_from_slice(b);
            }
            let frame = Frame {
                content_type: ContentType::parse(ct),
                headers,
                body: body.map(Bytes::from),
            };
            (bytes, frame)
        })
}

/// One frame of a stream: a reply frame, or an event in some wire format.
pub fn any_frame_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        reply_frame().prop_map(|(bytes, _)| bytes),
        (event(), wire()).prop_map(|(e, w)| event_frame_bytes(&e, w)),
    ]
}

/// A valid stream of 1..6 frames, with the byte offset where each frame ends.
pub fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    prop::collection::vec(any_frame_bytes(), 1..6).prop_map(|frames| {
        let mut data = Vec::new();
        let mut ends = Vec::new();
        for f in frames {
            data.extend_from_slice(&f);
            ends.push(data.len());
        }
        (data, ends)
    })
}

/// Cut positions for a stream of up to `max` bytes.
pub fn cuts(max: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..max.max(1), 0..12)
}
