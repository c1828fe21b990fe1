//! Frame → [`Event`]: `text/event-plain` (here), `text/event-json` ([`super::event_json`]),
//! `text/event-xml` ([`super::event_xml`]) and the outbound `connect` reply (a `command/reply` whose
//! headers are a plain-serialized `CHANNEL_DATA` event).
//!
//! Whatever the wire format, the same FreeSWITCH event decodes to the same [`Event`] (header order
//! aside where the formats order differently):
//! - values are decoded (percent-decoding for plain and xml, see [`super::url`]); `_undef_` is `""`;
//! - a multi-value header is one header whose value is `ARRAY::a|:b` (plain sends it so; json sends a
//!   JSON array, xml repeats the element: both are joined back);
//! - the event's own inner body is [`Event::body`] (`None` when absent or empty), and the serializer's
//!   `Content-Length` announcing it is **not** a header. A `Content-Length` that was a real header of the
//!   event (a `sendevent` whose sender supplied one) stays: on the plain wire it is the earlier of the
//!   two `Content-Length` lines; only the last line, the one right before the blank line, governs the
//!   body (FreeSWITCH's `switch_event_serialize` appends its own after all headers).

use super::error::{EventFault, WireError};
use super::event_format::EventFormat;
use super::frame::{ContentType, Event, Frame, Headers};
use super::parser::{for_each_header, lossy};
use super::splitter::parse_length;
use super::url::{UNDEF, push_event_value, push_url_decoded_from};
use super::{event_json, event_xml, plain_walk, scan};
use bytes::Bytes;
use memchr::memchr;
use memchr::memmem::Finder;
use std::sync::LazyLock;

/// The blank line ending an event's header block (built once: `memmem::find` would build it per call).
static BLANK_LINE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\n\n"));

impl Frame {
    /// The event this frame carries: `Some` for `text/event-plain|json|xml` and for a `command/reply`
    /// with an `Event-Name` header (the outbound `connect` reply), `None` for every other frame.
    pub fn event(&self) -> Result<Option<Event>, WireError> {
        match &self.content_type {
            ContentType::EventPlain => parse_plain(self.event_text(EventFormat::Plain)?).map(Some),
            ContentType::EventJson => {
                event_json::parse_json(self.event_text(EventFormat::Json)?).map(Some)
            }
            ContentType::EventXml => {
                event_xml::parse_xml(self.event_text(EventFormat::Xml)?).map(Some)
            }
            ContentType::CommandReply if self.headers.contains("Event-Name") => {
                Ok(Some(connect_reply(&self.headers)))
            }
            ContentType::CommandReply
            | ContentType::AuthRequest
            | ContentType::ApiResponse
            | ContentType::DisconnectNotice
            | ContentType::RudeRejection
            | ContentType::LogData
            | ContentType::Other(_) => Ok(None),
        }
    }

    fn event_text(&self, format: EventFormat) -> Result<&Bytes, WireError> {
        self.body
            .as_ref()
            .ok_or(WireError::malformed_event(format, EventFault::NoBody))
    }
}

/// Decodes the text of a `text/event-plain` frame: `Name: urlencoded\n` lines, a blank line, then the
/// inner body if the last header line is the serializer's `Content-Length`.
///
/// The common case (well-formed lines, UTF-8) takes the lazy walk ([`plain_walk`]): the headers
/// point into `text` itself and values are percent-decoded when read. Anything else takes
/// [`parse_plain_eager`], which reports errors and decodes invalid UTF-8 lossily; both give the
/// same [`Event`] (`lazy_and_eager_decoders_agree` in the tests).
pub fn parse_plain(text: &Bytes) -> Result<Event, WireError> {
    let Some(walked) = plain_walk::walk(text) else {
        return parse_plain_eager(text);
    };
    let (_, body) = split_body(text, walked.block_len)?;
    let mut headers = walked.headers;
    if body.is_some() {
        // The last line (a header, as every line the walk accepted) was the serializer's
        // `Content-Length`, not one of the event's.
        headers.pop();
    }
    Ok(Event { headers, body })
}

/// Where the header lines end and what body follows, given the header block's length (through the
/// last line's `\n`; the blank line follows): the serializer's `Content-Length` is the last line
/// and announces exactly the bytes after the blank line, or there is nothing after it.
fn split_body(text: &Bytes, block_len: usize) -> Result<(usize, Option<Bytes>), WireError> {
    let fail = |fault| WireError::malformed_event(EventFormat::Plain, fault);
    let block = &text[..block_len];
    let rest_start = block_len + 1;
    let rest_len = text.len() - rest_start;
    let last_start = block[..block_len.saturating_sub(1)]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let last = &block[last_start..];
    const NAME: &[u8] = b"Content-Length:";
    let body_len = if last.len() > NAME.len() && last[..NAME.len()].eq_ignore_ascii_case(NAME) {
        let value = last[NAME.len()..].strip_suffix(b"\n").unwrap_or_default();
        Some(parse_length(value).ok_or(fail(EventFault::BadLength))?).filter(|&n| n > 0)
    } else {
        None
    };
    match body_len {
        Some(n) if n == rest_len as u64 => Ok((last_start, Some(text.slice(rest_start..)))),
        Some(declared) => Err(fail(EventFault::LengthMismatch {
            declared,
            actual: rest_len,
        })),
        None if rest_len == 0 => Ok((block_len, None)),
        None => Err(fail(EventFault::UnannouncedBody { trailing: rest_len })),
    }
}

/// The eager decoder of a plain event (every value decoded into owned storage up front): the path
/// for text the lazy walk does not take, and the reference the lazy one is tested against.
pub(crate) fn parse_plain_eager(text: &Bytes) -> Result<Event, WireError> {
    let fail = |fault| WireError::malformed_event(EventFormat::Plain, fault);
    // `block` holds whole header lines (each ending in `\n`); the blank line follows it.
    let block_len = if text.first() == Some(&b'\n') {
        0
    } else {
        BLANK_LINE
            .find(text)
            .ok_or(fail(EventFault::Unterminated))?
            + 1
    };
    let (headers_len, body) = split_body(text, block_len)?;
    let headers_block = &text[..headers_len];
    let headers = match std::str::from_utf8(headers_block) {
        // Valid UTF-8 (always, in practice): validated once here, not once per name and value.
        Ok(block) => plain_headers(block),
        Err(_) => plain_headers_lossy(headers_block),
    }
    .map_err(|line| fail(EventFault::HeaderLine { line }))?;
    Ok(Event { headers, body })
}

/// The decoded headers of a valid-UTF-8 plain header block, in one walk: per line, a memchr2 for
/// the `: ` ending the name (or the `\n` of a malformed line), then a memchr3 for the value's end or
/// its first `%`/NUL. The block is copied once; a value with no `%` (nor NUL) is a range of that
/// copy, the others are decoded after it. On a malformed line, its number.
fn plain_headers(block: &str) -> Result<Headers, usize> {
    let bytes = block.as_bytes();
    let mut headers = Headers::over_block(block, estimated_lines(bytes.len()));
    let mut scratch = Vec::new();
    let mut pos = 0;
    let mut line: usize = 0;
    while pos < bytes.len() {
        line += 1;
        let colon = name_end(bytes, pos).ok_or(line)?;
        let start = colon + 2;
        let hit = scan::find3(bytes, start, b'\n', b'%', 0).ok_or(line)?;
        if bytes[hit] == b'\n' {
            let end = strip_cr(bytes, start, hit);
            let value = if &bytes[start..end] == UNDEF.as_bytes() {
                start..start
            } else {
                start..end
            };
            headers.push_ranges(pos..colon, value);
            pos = hit + 1;
        } else {
            // Not `_undef_`: it has a `%` or NUL.
            let nl = hit + memchr(b'\n', &bytes[hit..]).ok_or(line)?;
            let end = strip_cr(bytes, start, nl);
            headers.push_range_with(pos..colon, |s| {
                push_url_decoded_from(s, &block[start..end], hit - start, &mut scratch)
            });
            pos = nl + 1;
        }
    }
    Ok(headers)
}

/// Where the name of the line starting at `pos` ends: its first `: ` (the name may not be empty);
/// `None` if the line has none.
fn name_end(bytes: &[u8], pos: usize) -> Option<usize> {
    let mut from = pos;
    loop {
        let at = scan::find2(bytes, from, b':', b'\n')?;
        match bytes.get(at + 1) {
            _ if bytes[at] == b'\n' => return None,
            Some(b' ') => return (at > pos).then_some(at),
            _ => from = at + 1,
        }
    }
}

/// `end` (a `\n` at or after `start`), one before it if a `\r` ends the value.
fn strip_cr(bytes: &[u8], start: usize, end: usize) -> usize {
    if end > start && bytes[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// A span table size for a header block of `len` bytes, without counting its lines (FreeSWITCH's
/// event header lines average ~38 bytes; a longer table only costs a realloc).
fn estimated_lines(len: usize) -> usize {
    len / 32 + 8
}

/// [`plain_headers`] for a block that is not UTF-8: each name and value on its own, invalid
/// sequences replaced.
fn plain_headers_lossy(block: &[u8]) -> Result<Headers, usize> {
    let mut headers = Headers::with_capacity(estimated_lines(block.len()), block.len());
    let mut scratch = Vec::new();
    for_each_header(block, |name, value| {
        headers.push_with(&lossy(name), |s| push_event_value(s, value, &mut scratch));
    })?;
    Ok(headers)
}

/// The outbound `connect` reply's headers, decoded like a plain event's (`Reply-Text: %2BOK%0A` is
/// `+OK\n`). Its frame-level `Content-Type: command/reply`, `Socket-Mode` and `Control` are kept.
fn connect_reply(frame_headers: &Headers) -> Event {
    let mut headers = Headers::with_capacity(frame_headers.len(), 0);
    let mut scratch = Vec::new();
    for (name, value) in frame_headers.iter() {
        headers.push_with(name, |s| {
            push_event_value(s, value.as_bytes(), &mut scratch)
        });
    }
    Event {
        headers,
        body: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &'static [u8]) -> Result<Event, WireError> {
        parse_plain(&Bytes::from_static(text))
    }

    #[test]
    fn plain_headers_are_decoded() {
        let e = plain(b"Event-Name: CUSTOM\nX-Text: 100%25%20done\nEmpty: _undef_\n\n").unwrap();
        assert_eq!(e.name(), Some("CUSTOM"));
        assert_eq!(e.get("X-Text"), Some("100% done"));
        assert_eq!(e.get("Empty"), Some(""));
        assert_eq!(e.body, None);
    }

    #[test]
    fn nested_body_and_user_content_length() {
        let e = plain(
            b"Event-Name: CUSTOM\nContent-Length: 5\nEvent-Sequence: 1\nContent-Length: 9\n\na\n\nb: c\n\n",
        )
        .unwrap();
        assert_eq!(e.body.as_deref(), Some(&b"a\n\nb: c\n\n"[..]));
        assert_eq!(
            e.headers.get_all("Content-Length").collect::<Vec<_>>(),
            ["5"]
        );
        assert_eq!(e.get("Event-Sequence"), Some("1"));
    }

    #[test]
    fn plain_faults() {
        assert!(matches!(
            plain(b"Event-Name: X\n"),
            Err(WireError::MalformedEvent {
                format: EventFormat::Plain,
                fault: EventFault::Unterminated
            })
        ));
        assert!(matches!(
            plain(b"Event-Name: X\nContent-Length: 9\n\nshort"),
            Err(WireError::MalformedEvent {
                fault: EventFault::LengthMismatch {
                    declared: 9,
                    actual: 5
                },
                ..
            })
        ));
        assert!(matches!(
            plain(b"Event-Name: X\n\ntrailing"),
            Err(WireError::MalformedEvent {
                fault: EventFault::UnannouncedBody { trailing: 8 },
                ..
            })
        ));
        assert!(matches!(
            plain(b"Event-Name: X\nContent-Length: -1\n\n"),
            Err(WireError::MalformedEvent {
                fault: EventFault::BadLength,
                ..
            })
        ));
        assert!(matches!(
            plain(b"Event-Name X\n\n"),
            Err(WireError::MalformedEvent {
                fault: EventFault::HeaderLine { line: 1 },
                ..
            })
        ));
    }

    #[test]
    fn frames_without_events() {
        let f = Frame {
            content_type: ContentType::CommandReply,
            headers: [("Content-Type", "command/reply"), ("Reply-Text", "+OK")]
                .into_iter()
                .collect(),
            body: None,
        };
        assert_eq!(f.event().unwrap(), None);
        let f = Frame {
            content_type: ContentType::EventPlain,
            headers: Headers::new(),
            body: None,
        };
        assert!(matches!(
            f.event(),
            Err(WireError::MalformedEvent {
                fault: EventFault::NoBody,
                ..
            })
        ));
    }

    #[test]
    fn connect_reply_is_decoded() {
        let f = Frame {
            content_type: ContentType::CommandReply,
            headers: [
                ("Event-Name", "CHANNEL_DATA"),
                ("Unique-ID", "ed4f"),
                ("Content-Type", "command/reply"),
                ("Reply-Text", "%2BOK%0A"),
            ]
            .into_iter()
            .collect(),
            body: None,
        };
        let e = f.event().unwrap().unwrap();
        assert_eq!(e.get("Reply-Text"), Some("+OK\n"));
        assert_eq!(e.unique_id(), Some("ed4f"));
        assert_eq!(e.headers.len(), 4);
    }

    /// The one-pass walker (memchr2 for the name, memchr3 for the value) splits and decodes exactly
    /// as the line walker of the lossy path, on well-formed and malformed lines alike.
    #[test]
    fn one_pass_walker_agrees_with_the_line_walker() {
        let lines = [
            "A: b\n",
            "A: \n",
            "A:\n",
            "A:b\n",
            ": b\n",
            "a:b: c\n",
            "a::: c: d\n",
            "A: b\r\n",
            "A:\r\n",
            "A: \r\n",
            "A: b: c\r\r\n",
            "A: %41\r\n",
            "A: %\r\n",
            "A: x%4\n",
            "A: a\0b%41\n",
            "A: _undef_\n",
            "A: _undef_\r\n",
            "A: %5Fundef_\n",
            "A: \u{e9}%C3%A9\n",
            "no separator\n",
            "A: unterminated",
            "A: %41 unterminated",
            "A:",
            "A: b\nB",
        ];
        for first in lines {
            for second in lines {
                let block = format!("{first}{second}");
                let fast = plain_headers(&block);
                let lossy = plain_headers_lossy(block.as_bytes());
                assert_eq!(fast, lossy, "{block:?}");
            }
        }
    }

    /// The one-copy UTF-8 path and the per-field lossy path decode every recorded plain event alike.
    #[test]
    fn fast_and_lossy_paths_agree_on_the_recordings() {
        use crate::EslCodec;
        use tokio_util::codec::Decoder;
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/freeswitch-esl"
        );
        let mut compared = 0;
        for file in [
            "inbound-events-plain-all.raw",
            "inbound-large-and-edge-frames.raw",
        ] {
            let raw = std::fs::read(format!("{dir}/{file}")).unwrap();
            let mut buf = bytes::BytesMut::from(&raw[..]);
            let mut codec = EslCodec::default();
            while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
                if frame.content_type != ContentType::EventPlain {
                    continue;
                }
                let text = frame.body.unwrap();
                let end = BLANK_LINE.find(&text).unwrap() + 1;
                let block = &text[..end];
                let lines = memchr::memchr_iter(b'\n', block).count();
                let fast = plain_headers(std::str::from_utf8(block).unwrap()).unwrap();
                let lossy = plain_headers_lossy(block).unwrap();
                assert_eq!(fast, lossy);
                assert_eq!(fast.iter().count(), lines);
                compared += 1;
            }
        }
        assert!(compared > 50, "{compared}");
    }
}
