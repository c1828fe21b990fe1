//! nom parser of one *complete* frame (the [`super::splitter`] found its bounds): header lines
//! `Name: value` into [`Headers`] (verbatim, not percent-decoded), the `Content-Type`, and the body.
//!
//! Headers are looked up by name, never by position: FreeSWITCH orders them differently per frame type.
//! The header-line grammar is shared with `text/event-plain` event text ([`for_each_header`]).

use super::error::WireError;
use super::frame::{ContentType, Frame, Headers};
use bytes::Bytes;
use nom::bytes::complete::{tag, take_until};
use nom::sequence::terminated;
use nom::{IResult, Parser};
use std::borrow::Cow;

/// One line `Name: value\n` (a `\r` before the `\n` is dropped). The name is non-empty and ends at
/// the first `: `; the value is the rest of the line, possibly empty.
pub(crate) fn header_line(input: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (rest, line) = terminated(take_until(&b"\n"[..]), tag(&b"\n"[..])).parse(input)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (value, name) = terminated(take_until(&b": "[..]), tag(&b": "[..])).parse(line)?;
    if name.is_empty() {
        return Err(nom::Err::Error(nom::error::Error::new(
            line,
            nom::error::ErrorKind::TakeUntil,
        )));
    }
    Ok((rest, (name, value)))
}

/// Calls `f(name, value)` for every line of `block` (every line ends in `\n`). On a malformed line,
/// returns its 1-based number.
pub(crate) fn for_each_header<'a>(
    mut block: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), usize> {
    let mut line: usize = 0;
    while !block.is_empty() {
        line += 1;
        let (rest, (name, value)) = header_line(block).map_err(|_| line)?;
        f(name, value);
        block = rest;
    }
    Ok(())
}

/// Text as UTF-8; invalid sequences become U+FFFD (no allocation when valid).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Parses a complete frame: `head` is the header block (each line ending in `\n`, the blank line
/// excluded), `body` the `Content-Length` bytes after it, if the frame had that header.
pub fn parse_frame(head: &[u8], body: Option<Bytes>) -> Result<Frame, WireError> {
    let lines = memchr::memchr_iter(b'\n', head).count();
    let mut headers = Headers::with_capacity(lines, head.len());
    for_each_header(head, |name, value| {
        headers.push_with(&lossy(name), |s| s.push_str(&lossy(value)));
    })
    .map_err(|line| WireError::MalformedHeaderLine { line })?;
    let content_type = headers
        .get("Content-Type")
        .map(ContentType::parse)
        .ok_or(WireError::MissingContentType)?;
    Ok(Frame {
        content_type,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reply_headers_verbatim() {
        let f = parse_frame(
            b"Content-Type: command/reply\nReply-Text: %2BOK%0A\nUser-Data: \n",
            None,
        )
        .unwrap();
        assert_eq!(f.content_type, ContentType::CommandReply);
        assert_eq!(f.reply_text(), Some("%2BOK%0A"));
        assert_eq!(f.headers.get("user-data"), Some(""));
        assert_eq!(f.headers.len(), 3);
        assert_eq!(f.body, None);
    }

    #[test]
    fn content_type_found_by_name_not_position() {
        let f = parse_frame(
            b"Content-Length: 2\nContent-Type: text/event-plain\n",
            Some(Bytes::from_static(b"\n\n")),
        )
        .unwrap();
        assert_eq!(f.content_type, ContentType::EventPlain);
        assert_eq!(f.body.as_deref(), Some(&b"\n\n"[..]));
    }

    #[test]
    fn crlf_lines_lose_their_cr() {
        let f = parse_frame(b"Content-Type: auth/request\r\nX: y\r\n", None).unwrap();
        assert_eq!(f.content_type, ContentType::AuthRequest);
        assert_eq!(f.headers.get("X"), Some("y"));
    }

    #[test]
    fn malformed_lines_are_typed_errors() {
        for (input, line) in [
            (&b"Content-Type: x\nno separator\n"[..], 2),
            (b"Content-Type:x\n", 1),
            (b": value\n", 1),
            (b"Content-Type: x\nName:\n", 2),
        ] {
            match parse_frame(input, None) {
                Err(WireError::MalformedHeaderLine { line: got }) => assert_eq!(got, line),
                other => panic!("expected MalformedHeaderLine, got {other:?}"),
            }
        }
        assert!(matches!(
            parse_frame(b"Reply-Text: +OK\n", None),
            Err(WireError::MissingContentType)
        ));
        assert!(matches!(
            parse_frame(b"", None),
            Err(WireError::MissingContentType)
        ));
    }

    #[test]
    fn invalid_utf8_becomes_replacement_char() {
        let f = parse_frame(b"Content-Type: log/data\nX: a\xffb\n", None).unwrap();
        assert_eq!(f.headers.get("X"), Some("a\u{fffd}b"));
    }
}
