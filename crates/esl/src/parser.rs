//! nom parser of one *complete* frame (the [`super::splitter`] found its bounds): header lines
//! `Name: value` into [`Headers`] (verbatim, not percent-decoded), the `Content-Type`, and the body.
//!
//! Headers are looked up by name, never by position: FreeSWITCH orders them differently per frame type.
//! The header-line grammar is shared with `text/event-plain` event text ([`for_each_header`]).

use super::error::WireError;
use super::frame::{ContentType, Frame, Headers};
use bytes::Bytes;
use bytestring::ByteString;
use memchr::memchr;
#[cfg(test)]
use nom::bytes::complete::{tag, take_until};
#[cfg(test)]
use nom::sequence::terminated;
#[cfg(test)]
use nom::{IResult, Parser};
use std::borrow::Cow;

/// One line `Name: value\n` (a `\r` before the `\n` is dropped). The name is non-empty and ends at
/// the first `: `; the value is the rest of the line, possibly empty. This nom grammar is the
/// reference that the memchr line walker ([`for_each_header_span`]) is tested against.
#[cfg(test)]
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

/// Where the name and the value of one header line lie (offsets into the block).
pub(crate) type Span = std::ops::Range<usize>;

/// Splits one line (its `\n` excluded) at the first `: `, after dropping a final `\r`.
fn split_line(line: &[u8]) -> Option<(usize, usize)> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut from = 0;
    while let Some(off) = memchr(b':', &line[from..]) {
        let colon = from + off;
        if line.get(colon + 1) == Some(&b' ') {
            return (colon > 0).then_some((colon, line.len()));
        }
        from = colon + 1;
    }
    None
}

/// Calls `f(name, value)` with the offsets of every line of `block` (every line ends in `\n`),
/// found with memchr: one pass, no copy. On a malformed line, returns its 1-based number.
pub(crate) fn for_each_header_span(
    block: &[u8],
    mut f: impl FnMut(Span, Span),
) -> Result<(), usize> {
    let mut line: usize = 0;
    let mut pos = 0;
    while pos < block.len() {
        line += 1;
        let end = pos + memchr(b'\n', &block[pos..]).ok_or(line)?;
        let (colon, len) = split_line(&block[pos..end]).ok_or(line)?;
        f(pos..pos + colon, pos + colon + 2..pos + len);
        pos = end + 1;
    }
    Ok(())
}

/// Calls `f(name, value)` for every line of `block` (every line ends in `\n`). On a malformed line,
/// returns its 1-based number.
pub(crate) fn for_each_header<'a>(
    block: &'a [u8],
    mut f: impl FnMut(&'a [u8], &'a [u8]),
) -> Result<(), usize> {
    for_each_header_span(block, |name, value| f(&block[name], &block[value]))
}

/// Text as UTF-8; invalid sequences become U+FFFD (no allocation when valid).
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Parses a complete frame: `head` is the header block (each line ending in `\n`, the blank line
/// excluded), `body` the `Content-Length` bytes after it, if the frame had that header. The headers
/// are a copy of `head`; [`parse_frame_shared`] points into it instead.
pub fn parse_frame(head: &[u8], body: Option<Bytes>) -> Result<Frame, WireError> {
    parse_frame_shared(&Bytes::copy_from_slice(head), body)
}

/// [`parse_frame`] over the frame's own `Bytes` (the codec's path): a UTF-8 head is not copied, the
/// headers are ranges of it.
pub fn parse_frame_shared(head: &Bytes, body: Option<Bytes>) -> Result<Frame, WireError> {
    // A span table size without counting lines (a frame's own header lines are ~20-40 bytes).
    let lines = head.len() / 24 + 2;
    let fault = |line| WireError::MalformedHeaderLine { line };
    let headers = if let Ok(text) = ByteString::try_from(head.clone()) {
        // Valid UTF-8 (always, in practice): validated once, headers are ranges of it.
        let mut headers = Headers::shared(lines);
        for_each_header_span(head, |name, value| headers.push_shared(name, value, false))
            .map_err(fault)?;
        headers.attach(text);
        headers
    } else {
        let mut headers = Headers::with_capacity(lines, head.len());
        for_each_header(head, |name, value| {
            headers.push(&lossy(name), &lossy(value));
        })
        .map_err(fault)?;
        headers
    };
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

    #[test]
    fn memchr_walker_agrees_with_the_nom_grammar() {
        let lines: [&[u8]; 14] = [
            b"A: b\n",
            b"A: \n",
            b"A:\n",
            b"A:b\n",
            b": b\n",
            b"a:b: c\n",
            b"a::: c: d\n",
            b"A: b\r\n",
            b"A:\r\n",
            b"A: \r\n",
            b"A: b: c\r\r\n",
            b"no separator\n",
            b"A: unterminated",
            b"\xff\xfe: \x80\n",
        ];
        for line in lines {
            let nom = header_line(line).ok().map(|(_, pair)| pair);
            let mut walked = None;
            let r = for_each_header(line, |n, v| walked = Some((n, v)));
            assert_eq!(r.is_ok(), nom.is_some(), "{line:?}");
            assert_eq!(walked.filter(|_| r.is_ok()), nom, "{line:?}");
        }
    }

    #[test]
    fn valid_and_invalid_utf8_heads_give_the_same_headers() {
        let f = parse_frame(b"Content-Type: log/data\nA: \xc3\xa9\nB: x\n", None).unwrap();
        assert_eq!(f.headers.get("A"), Some("\u{e9}"));
        let f = parse_frame(b"Content-Type: log/data\nA: \xc3\nB: x\n", None).unwrap();
        assert_eq!(f.headers.get("A"), Some("\u{fffd}"));
        assert_eq!(f.headers.get("B"), Some("x"));
    }
}
