//! The server side of ESL framing: reading one client command the way mod_event_socket's
//! `read_packet` does.
//!
//! - CR/LF bytes before a command are skipped; a command ends at two `\n` (any `\r` in between is
//!   ignored); the header block is capped at 10 MiB.
//! - The first line is the command; each further line is `Name: value` (spaces after the colon
//!   skipped; values are **not** URL-decoded; a line without a colon is ignored).
//! - `Content-Length: n` makes the server read `n` body bytes (`atoi`); a value below 0 or above
//!   16 MiB drops the connection. The body is cut at the first NUL, like `switch_event_add_body`.

use bytes::{Buf, Bytes, BytesMut};
use confpay_esl::Headers;

/// Header blocks longer than this are cut off and parsed as they are.
pub const MAX_HEADER_BLOCK: usize = 10 * 1024 * 1024;
/// Largest accepted client `Content-Length`.
pub const MAX_BODY: i64 = 16 * 1024 * 1024;

/// One client command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The first line, without its line ending.
    pub command: String,
    /// The lines after it, in order, values verbatim.
    pub headers: Headers,
    /// `Content-Length` bytes after the header block.
    pub body: Option<Bytes>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("client Content-Length {value} out of range (0..={max})")]
    BadContentLength { value: i64, max: i64 },
}

/// glibc `atoi` on LP64: `(int) strtol(s, NULL, 10)`: optional spaces, optional sign, digits; the
/// `long` saturates, then the cast to `int` keeps the low 32 bits (so an overlong number becomes -1).
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    let long = if neg { n.saturating_neg() } else { n };
    i64::from(long as i32)
}

/// Where the header block ends (index just past its final `\n`), if it is complete.
fn header_end(buf: &[u8]) -> Option<usize> {
    let mut newlines = 0;
    for (i, &b) in buf.iter().enumerate() {
        match b {
            b'\n' => {
                newlines += 1;
                if newlines == 2 {
                    return Some(i + 1);
                }
            }
            b'\r' => {}
            _ => newlines = 0,
        }
        if i + 1 >= MAX_HEADER_BLOCK {
            return Some(i + 1);
        }
    }
    None
}

/// Takes one complete command off the front of `buf`, or `Ok(None)` if more bytes are needed
/// (nothing is consumed then, except leading CR/LF).
pub fn parse(buf: &mut BytesMut) -> Result<Option<Request>, RequestError> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    buf.advance(skip);
    let Some(end) = header_end(buf) else {
        return Ok(None);
    };
    let block = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = block.split(['\r', '\n']).filter(|l| !l.is_empty());
    let command = lines.next().unwrap_or_default().to_owned();
    let mut headers = Headers::new();
    let mut clen: Option<i64> = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim_start_matches(' ');
        headers.push(name, value);
        if clen.is_none() && name.eq_ignore_ascii_case("content-length") {
            clen = Some(atoi(value));
        }
    }
    let body_len = match clen {
        Some(v) if !(0..=MAX_BODY).contains(&v) => {
            return Err(RequestError::BadContentLength {
                value: v,
                max: MAX_BODY,
            });
        }
        Some(v) => v as usize,
        None => 0,
    };
    if buf.len() < end + body_len {
        return Ok(None);
    }
    buf.advance(end);
    let body = if body_len > 0 {
        let raw = buf.split_to(body_len).freeze();
        let cut = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        Some(raw.slice(..cut))
    } else {
        None
    };
    Ok(Some(Request {
        command,
        headers,
        body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_command_headers_and_body_incrementally() {
        let wire =
            b"\r\nsendevent CUSTOM\r\nEvent-Subclass: test::payment\nX:  two spaces\nnocolon\n\
Content-Length: 5\n\nhelloauth x\n\n";
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in wire.iter() {
            buf.extend_from_slice(&[b]);
            while let Some(r) = parse(&mut buf).unwrap() {
                got.push(r);
            }
        }
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].command, "sendevent CUSTOM");
        assert_eq!(got[0].headers.get("event-subclass"), Some("test::payment"));
        assert_eq!(got[0].headers.get("X"), Some("two spaces"));
        assert_eq!(got[0].headers.len(), 3);
        assert_eq!(got[0].body.as_deref(), Some(&b"hello"[..]));
        assert_eq!(got[1].command, "auth x");
        assert!(got[1].body.is_none());
    }

    #[test]
    fn empty_api_keeps_trailing_space() {
        let mut buf = BytesMut::from(&b"api \n\n"[..]);
        assert_eq!(parse(&mut buf).unwrap().unwrap().command, "api ");
    }

    #[test]
    fn bad_content_length_is_an_error() {
        let mut buf = BytesMut::from(&b"sendevent X\nContent-Length: -1\n\n"[..]);
        assert_eq!(
            parse(&mut buf),
            Err(RequestError::BadContentLength {
                value: -1,
                max: MAX_BODY
            })
        );
        let mut buf = BytesMut::from(&b"sendevent X\nContent-Length: 99999999\n\n"[..]);
        assert!(parse(&mut buf).is_err());
    }

    #[test]
    fn atoi_is_c_like() {
        assert_eq!(atoi("56"), 56);
        assert_eq!(atoi(" 12abc"), 12);
        assert_eq!(atoi("-3"), -3);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi("99999999999999999999999"), -1);
        assert_eq!(atoi("4294967297"), 1);
    }
}
