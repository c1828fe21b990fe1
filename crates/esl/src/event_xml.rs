//! `text/event-xml` → [`Event`]. FreeSWITCH's `switch_event_xmlize` + `switch_xml_toxml` write
//!
//! ```xml
//! <event>
//!   <headers>
//!     <Event-Name>BACKGROUND_JOB</Event-Name>      (one element per header, value percent-encoded)
//!     <variable_DP_MATCH>a</variable_DP_MATCH>     (a multi-value header: one element per value)
//!     <variable_DP_MATCH>b</variable_DP_MATCH>
//!   </headers>
//!   <Content-Length>45</Content-Length>           (only when the body is non-empty)
//!   <body>raw body, XML-escaped
//!   </body>                                        (the pretty-printer may add indentation here)
//! </event>
//! ```
//!
//! Values are XML-unescaped then percent-decoded ([`super::url`]); consecutive elements with the same
//! name are joined back into one `ARRAY::a|:b` value (the plain form), so two genuinely separate headers
//! of the same name that happen to be adjacent also merge: the xml wire cannot tell them apart. The body
//! is the first `Content-Length` bytes of the unescaped `<body>` text (what follows must be the
//! pretty-printer's white space); when the text is shorter, FreeSWITCH's writer dropped bytes it could
//! not write (invalid UTF-8: recorded) and the text is all there is. A small hand-written reader: this
//! fixed shape needs no XML library.
//!
//! Element names are header names written verbatim, so they are not XML names: FreeSWITCH writes
//! `<Name With Spaces>spaced</Name With Spaces>` and `<Name/Slash+Plus>` for headers another ESL
//! client gave it with `sendevent` (recorded). A name is everything between `<` and `>`.

use super::error::{EventFault, WireError};
use super::event_format::EventFormat;
use super::frame::{Event, Headers};
use super::parser::lossy;
use super::splitter::parse_length;
use super::url::push_event_value;
use bytes::Bytes;

/// Decodes the text of a `text/event-xml` frame.
pub fn parse_xml(text: &Bytes) -> Result<Event, WireError> {
    let mut r = Reader { s: text, pos: 0 };
    r.skip_prolog()?;
    r.open("event")?;
    r.open("headers")?;
    let mut scratch = Vec::new();
    let mut unescaped = Vec::new();
    let headers = read_headers(&mut r, text.len(), &mut scratch, &mut unescaped)?;
    let (body, declared) = read_after_headers(&mut r, &mut scratch, &mut unescaped)?;
    let body = fit_body(body, declared)?;
    r.skip_ws();
    if r.pos != text.len() {
        return Err(r.fault_at("content after </event>"));
    }
    Ok(Event {
        headers,
        body: body.filter(|b| !b.is_empty()).map(Bytes::from),
    })
}

/// The `<headers>` elements up to `</headers>`; repeated elements join into one `ARRAY::` value.
fn read_headers(
    r: &mut Reader<'_>,
    text_len: usize,
    scratch: &mut Vec<u8>,
    unescaped: &mut Vec<u8>,
) -> Result<Headers, WireError> {
    let mut headers = Headers::with_capacity(64, text_len);
    // The element being accumulated: its name and how many values `joined` holds. `value` and
    // `joined` are reused from header to header (no allocation per header).
    let mut current: Option<(&[u8], usize)> = None;
    let mut joined = String::new();
    let mut value = String::new();
    while let Some((name, raw)) = r.leaf_or_close(b"headers")? {
        unescape(raw, unescaped).map_err(|what| r.fault_at(what))?;
        value.clear();
        push_event_value(&mut value, unescaped, scratch);
        current = match current.take() {
            Some((n, count)) if n == name => {
                if count == 1 {
                    joined.insert_str(0, "ARRAY::");
                }
                joined.push_str("|:");
                joined.push_str(&value);
                Some((n, count + 1))
            }
            Some((n, _)) => {
                headers.push(&lossy(n), &joined);
                std::mem::swap(&mut joined, &mut value);
                Some((name, 1))
            }
            None => {
                std::mem::swap(&mut joined, &mut value);
                Some((name, 1))
            }
        };
    }
    if let Some((n, _)) = current {
        headers.push(&lossy(n), &joined);
    }
    Ok(headers)
}

/// What follows `</headers>` up to `</event>`: the body and the declared `Content-Length`.
fn read_after_headers(
    r: &mut Reader<'_>,
    scratch: &mut Vec<u8>,
    unescaped: &mut Vec<u8>,
) -> Result<(Option<Vec<u8>>, Option<u64>), WireError> {
    let mut declared: Option<u64> = None;
    let mut body = None;
    while let Some((name, raw)) = r.leaf_or_close(b"event")? {
        unescape(raw, unescaped).map_err(|what| r.fault_at(what))?;
        match name {
            b"Content-Length" => {
                let mut digits = String::from(" ");
                push_event_value(&mut digits, unescaped, scratch);
                declared =
                    Some(parse_length(digits.as_bytes()).ok_or(fail(EventFault::BadLength))?);
            }
            b"body" => body = Some(std::mem::take(unescaped)),
            _ => return Err(r.fault_at("unexpected element after <headers>")),
        }
    }
    Ok((body, declared))
}

/// The body cut to its declared length: only trailing whitespace may follow it; a body shorter
/// than declared is kept whole.
fn fit_body(body: Option<Vec<u8>>, declared: Option<u64>) -> Result<Option<Vec<u8>>, WireError> {
    Ok(match (body, declared) {
        (Some(text), Some(n)) if usize::try_from(n).map_or(true, |n| n > text.len()) => Some(text),
        (Some(mut text), Some(n)) => {
            let actual = text.len();
            let n_usize = usize::try_from(n).unwrap_or(actual);
            if !text[n_usize..].iter().all(u8::is_ascii_whitespace) {
                return Err(fail(EventFault::LengthMismatch {
                    declared: n,
                    actual,
                }));
            }
            text.truncate(n_usize);
            Some(text)
        }
        (Some(text), None) => Some(text),
        (None, Some(_)) | (None, None) => None,
    })
}

fn fail(fault: EventFault) -> WireError {
    WireError::malformed_event(EventFormat::Xml, fault)
}

struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn fault_at(&self, what: &'static str) -> WireError {
        fail(EventFault::Xml {
            offset: self.pos,
            what,
        })
    }

    fn skip_ws(&mut self) {
        while self.s.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.s.get(self.pos..).unwrap_or_default()
    }

    /// Skips white space, an `<?xml ...?>` declaration and comments.
    fn skip_prolog(&mut self) -> Result<(), WireError> {
        loop {
            self.skip_ws();
            let (open, close): (&[u8], &[u8]) = if self.rest().starts_with(b"<?") {
                (b"<?", b"?>")
            } else if self.rest().starts_with(b"<!--") {
                (b"<!--", b"-->")
            } else {
                return Ok(());
            };
            let end = memchr::memmem::find(&self.rest()[open.len()..], close)
                .ok_or(self.fault_at("unterminated declaration or comment"))?;
            self.pos += open.len() + end + close.len();
        }
    }

    /// `<name>` (after optional white space).
    fn open(&mut self, name: &str) -> Result<(), WireError> {
        self.skip_ws();
        match self.tag()? {
            Tag::Open(n) if n == name.as_bytes() => Ok(()),
            Tag::Open(_) | Tag::Close(_) | Tag::Empty(_) => {
                Err(self.fault_at("unexpected element"))
            }
        }
    }

    /// The next child `<name>text</name>` / `<name/>` of `parent`, or `None` at `</parent>`.
    fn leaf_or_close(&mut self, parent: &[u8]) -> Result<Option<Leaf<'a>>, WireError> {
        self.skip_ws();
        match self.tag()? {
            Tag::Close(n) if n == parent => Ok(None),
            Tag::Close(_) => Err(self.fault_at("mismatched closing tag")),
            Tag::Empty(name) => Ok(Some((name, &[]))),
            Tag::Open(name) => {
                let text_len = memchr::memchr(b'<', self.rest())
                    .ok_or(self.fault_at("unterminated element"))?;
                let text = &self.rest()[..text_len];
                self.pos += text_len;
                match self.tag()? {
                    Tag::Close(n) if n == name => Ok(Some((name, text))),
                    Tag::Close(_) | Tag::Open(_) | Tag::Empty(_) => {
                        Err(self.fault_at("element is not a simple text element"))
                    }
                }
            }
        }
    }

    /// A tag at the current position: `<name>`, `</name>` or `<name/>`. FreeSWITCH writes no
    /// attributes, and a name is whatever lies between the brackets (see the module doc).
    fn tag(&mut self) -> Result<Tag<'a>, WireError> {
        let rest = self.rest();
        if rest.first() != Some(&b'<') {
            return Err(self.fault_at("expected a tag"));
        }
        let end = memchr::memchr(b'>', rest).ok_or(self.fault_at("unterminated tag"))?;
        let inner = &rest[1..end];
        let tag = if let Some(name) = inner.strip_prefix(b"/") {
            Tag::Close(name)
        } else if let Some(name) = inner.strip_suffix(b"/") {
            Tag::Empty(name)
        } else {
            Tag::Open(inner)
        };
        let name = match tag {
            Tag::Open(n) | Tag::Close(n) | Tag::Empty(n) => n,
        };
        if name.is_empty() || name.contains(&b'<') {
            return Err(self.fault_at("bad tag name"));
        }
        self.pos += end + 1;
        Ok(tag)
    }
}

/// A text element: its name and its raw (still escaped) text.
type Leaf<'a> = (&'a [u8], &'a [u8]);

enum Tag<'a> {
    Open(&'a [u8]),
    Close(&'a [u8]),
    Empty(&'a [u8]),
}

/// XML character data → bytes, into `out` (cleared first): the five named entities and `&#N;`/`&#xH;`.
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    out.clear();
    let mut rest = raw;
    while let Some(amp) = memchr::memchr(b'&', rest) {
        out.extend_from_slice(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = memchr::memchr(b';', after).ok_or("unterminated entity")?;
        let entity = &after[..semi];
        let ch = match entity {
            b"amp" => '&',
            b"lt" => '<',
            b"gt" => '>',
            b"quot" => '"',
            b"apos" => '\'',
            _ => {
                let (digits, radix) = match entity.strip_prefix(b"#") {
                    Some(hex) if hex.first().is_some_and(|&b| b == b'x' || b == b'X') => {
                        (&hex[1..], 16)
                    }
                    Some(dec) => (dec, 10),
                    None => return Err("unknown entity"),
                };
                std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| u32::from_str_radix(d, radix).ok())
                    .and_then(char::from_u32)
                    .ok_or("bad character reference")?
            }
        };
        let mut utf8 = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
        rest = &after[semi + 1..];
    }
    out.extend_from_slice(rest);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xml(text: &'static str) -> Result<Event, WireError> {
        parse_xml(&Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn headers_arrays_and_body() {
        let e = xml(
            "<event>\n  <headers>\n    <Event-Name>CUSTOM</Event-Name>\n    \
             <Event-Date-Local>2026-11-25%2012%3A44%3A32</Event-Date-Local>\n    \
             <DP>a</DP>\n    <DP>b%7Cc</DP>\n    <Empty/>\n    <E2></E2>\n  </headers>\n  \
             <Content-Length>8</Content-Length>\n  <body>a &amp;&#xA;&lt;b&gt;\n  </body>\n</event>",
        )
        .unwrap();
        assert_eq!(e.name(), Some("CUSTOM"));
        assert_eq!(e.get("Event-Date-Local"), Some("2026-11-25 12:44:32"));
        assert_eq!(e.get("DP"), Some("ARRAY::a|:b|c"));
        assert_eq!(e.get("Empty"), Some(""));
        assert_eq!(e.get("E2"), Some(""));
        assert_eq!(e.headers.len(), 5);
        assert_eq!(e.body.as_deref(), Some(&b"a &\n<b>\n"[..]));
    }

    /// Header names another ESL client made up reach the XML verbatim; a body byte the writer
    /// could not put in XML is missing from the text (recorded: inbound-sendevent-odd-xml).
    #[test]
    fn odd_names_and_a_body_shorter_than_declared() {
        let e = xml(
            "<event>\n  <headers>\n    <Name With Spaces>spaced</Name With Spaces>\n    \
             <Name/Slash+Plus>slashed</Name/Slash+Plus>\n    <Percent%Name>p</Percent%Name>\n  \
             </headers>\n  <Content-Length>6</Content-Length>\n  <body>body </body>\n</event>\n",
        )
        .unwrap();
        assert_eq!(e.get("Name With Spaces"), Some("spaced"));
        assert_eq!(e.get("Name/Slash+Plus"), Some("slashed"));
        assert_eq!(e.get("Percent%Name"), Some("p"));
        assert_eq!(e.body.as_deref(), Some(&b"body "[..]));
    }

    #[test]
    fn no_body() {
        let e = xml("<event><headers><A>1</A></headers></event>").unwrap();
        assert_eq!(e.get("A"), Some("1"));
        assert_eq!(e.body, None);
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for bad in [
            "",
            "<event>",
            "<event><headers><A>1</B></headers></event>",
            "<event><headers><A x=\"1\">1</A></headers></event>",
            "<event><headers><A>&bogus;</A></headers></event>",
            "<event><headers></headers><Content-Length>2</Content-Length><body>long</body></event>",
            "<event><headers></headers></event>junk",
            "<event><headers><A><B>1</B></A></headers></event>",
        ] {
            assert!(
                matches!(
                    xml(bad),
                    Err(WireError::MalformedEvent {
                        format: EventFormat::Xml,
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }
}
