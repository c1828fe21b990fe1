//! [`Headers`]: an ordered list of `Name: value` pairs, looked up by name, in one of three storages.
//!
//! - **Owned**: one `String` plus a span table, so a list of a hundred headers costs two allocations,
//!   not two hundred. A decoder may copy a whole block into the `String` at once and point the spans
//!   into it ([`Headers::over_block`]); values it decodes are appended after the block.
//! - **Shared** (a frame's own header lines): the spans point into the frame's own `Bytes` (no copy at
//!   all, the read buffer is shared). A value holding a `%` or NUL is percent-decoded only when a
//!   value that needs decoding is first read: all such values of the list are then decoded at once
//!   into one `String` kept beside the spans (a controller that reads `Event-Name` and `Unique-ID`
//!   never pays for the SDP or the caller name). The block is checked to be UTF-8 once, when the
//!   list is built, and kept as a `bytestring::ByteString` (`Bytes` known to be UTF-8) so that every
//!   access is a plain `str` slice: re-checking each name and value with `str::from_utf8` on
//!   access (the crate forbids `unsafe`, so it cannot skip the check itself) cost a consumer that
//!   reads every header ~14 k instructions per event, against ~1.2 k for checking the block once.
//! - **Lines** (`text/event-plain` events since the third pass on issue 15): the frame's header block
//!   and where each line starts, as the walk found them (`header_lines.rs`). `get` and `contains`
//!   answer from the line starts alone; the span table above (and the block as a checked `str`) is
//!   built the first time something needs every header or a value to decode (a value returned
//!   before then is checked to be UTF-8 on its own: a few bytes, not the block).
//!
//! Either way `get` returns `&str` borrowed from the list, and two lists holding the same pairs are
//! equal. Adding a header to a shared list first copies it into owned storage.

use super::frame::holds_digits;
use super::header_lines::{Found, Lines};
use super::url::push_url_decoded_from;
use bytestring::ByteString;
use memchr::memchr2;
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

/// Marks, in `Span::value_end`, a shared value that holds a `%` or NUL (decoded on first access).
/// Frames are capped far below 2 GiB, so offsets never reach this bit.
const ESCAPED: u32 = 1 << 31;

/// Where one header's name and value lie in the storage (not necessarily adjacent: an owned value
/// may be a range of a copied block or a decoded value appended after it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    name_start: u32,
    name_end: u32,
    value_start: u32,
    value_end: u32,
}

impl Span {
    fn escaped(&self) -> bool {
        self.value_end & ESCAPED != 0
    }

    fn raw_value(&self) -> Range<usize> {
        self.value_start as usize..(self.value_end & !ESCAPED) as usize
    }

    fn name(&self) -> Range<usize> {
        self.name_start as usize..self.name_end as usize
    }
}

#[derive(Clone)]
enum Text {
    Owned(String),
    /// A slice of the frame's bytes.
    Shared(ByteString),
    /// A plain event's header block and its line starts; the span table is built from them on
    /// first need (`header_lines.rs`).
    Lines(Box<LineText>),
}

/// [`Text::Lines`]: the block with its line starts, and the span table once built.
#[derive(Clone)]
struct LineText {
    lines: Lines,
    index: OnceLock<Indexed>,
}

/// A lines list's span table, and its block as `str` (checked once, when the table is built).
#[derive(Clone)]
struct Indexed {
    text: ByteString,
    spans: Vec<Span>,
}

impl LineText {
    fn indexed(&self) -> &Indexed {
        self.index.get_or_init(|| {
            let block = &self.lines.block;
            // The walk checked the block is UTF-8: the lossy branch is never taken.
            let text = ByteString::try_from(block.clone())
                .unwrap_or_else(|_| ByteString::from(String::from_utf8_lossy(block).into_owned()));
            let mut spans = Vec::with_capacity(self.lines.len());
            self.lines.spans(|name, value, escaped| {
                spans.push(Span {
                    name_start: name.start as u32,
                    name_end: name.end as u32,
                    value_start: value.start as u32,
                    value_end: value.end as u32 | if escaped { ESCAPED } else { 0 },
                })
            });
            Indexed { text, spans }
        })
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::Owned(String::new())
    }
}

/// The decoded escaped values of a shared list: `ranges[i]` is span `i`'s value in `text`.
#[derive(Clone, Default)]
struct Decoded {
    text: String,
    ranges: Vec<(u32, u32)>,
}

/// An ordered list of `Name: value` pairs. Lookup is by name, ASCII case-insensitive, first match wins.
/// Duplicate names are kept (FreeSWITCH sends some twice, e.g. a `sendevent` body's `Content-Length`).
/// Two lists are equal when they hold the same pairs in the same order (however they are stored).
#[derive(Clone, Default)]
pub struct Headers {
    text: Text,
    spans: Vec<Span>,
    decoded: OnceLock<Decoded>,
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    pub fn with_capacity(headers: usize, bytes: usize) -> Headers {
        Headers {
            text: Text::Owned(String::with_capacity(bytes)),
            spans: Vec::with_capacity(headers),
            decoded: OnceLock::new(),
        }
    }

    /// Overwrites every byte this list owns with zeros and empties it (for events that may carry a
    /// DTMF digit: the daemon scrubs them once handled). A shared list lets go of the frame's bytes:
    /// the codec copied a frame that may carry a digit into a private buffer that is zeroized when
    /// its last `Bytes` is dropped ([`crate::scrub`]); the decoded values are zeroized here.
    pub fn zeroize(&mut self) {
        match &mut self.text {
            Text::Owned(s) => zeroize::Zeroize::zeroize(s),
            Text::Shared(_) | Text::Lines(_) => self.text = Text::default(),
        }
        if let Some(mut d) = self.decoded.take() {
            zeroize::Zeroize::zeroize(&mut d.text);
        }
        self.spans.clear();
    }

    /// An empty list whose text starts as a copy of `block` (one copy for the whole block), for
    /// [`Headers::push_ranges`] and [`Headers::push_range_with`] to point into.
    pub(crate) fn over_block(block: &str, headers: usize) -> Headers {
        // Room for the block and for some decoded values appended after it.
        let mut text = String::with_capacity(block.len() + block.len() / 4);
        text.push_str(block);
        Headers {
            text: Text::Owned(text),
            spans: Vec::with_capacity(headers),
            decoded: OnceLock::new(),
        }
    }

    /// An empty shared list, for [`Headers::push_shared`] and then [`Headers::attach`] (a walk
    /// knows the block it walked only at its end).
    pub(crate) fn shared(headers: usize) -> Headers {
        Headers {
            text: Text::Shared(ByteString::new()),
            spans: Vec::with_capacity(headers),
            decoded: OnceLock::new(),
        }
    }

    /// Appends a header of a shared list: name and raw value are ranges of its block, on `char`
    /// boundaries (decoders pass ranges that start and end at ASCII delimiters). `escaped`: the raw
    /// value holds a `%` or NUL and is percent-decoded when first read.
    pub(crate) fn push_shared(&mut self, name: Range<usize>, value: Range<usize>, escaped: bool) {
        debug_assert!(matches!(self.text, Text::Shared(_)));
        self.spans.push(Span {
            name_start: name.start as u32,
            name_end: name.end as u32,
            value_start: value.start as u32,
            value_end: value.end as u32 | if escaped { ESCAPED } else { 0 },
        });
    }

    /// A plain event's headers as its header block and line starts (see [`Lines`]): every line
    /// already checked to be `Name: value` with a non-empty name.
    pub(crate) fn lines(block: bytes::Bytes, starts: Vec<u32>) -> Headers {
        Headers {
            text: Text::Lines(Box::new(LineText {
                lines: Lines { block, starts },
                index: OnceLock::new(),
            })),
            spans: Vec::new(),
            decoded: OnceLock::new(),
        }
    }

    /// The span table: the list's own, or a lines list's, built on first need.
    #[inline]
    fn spans(&self) -> &[Span] {
        match &self.text {
            Text::Lines(l) => &l.indexed().spans,
            _ => &self.spans,
        }
    }

    /// The block the shared ranges point into (no copy: `block` is a slice of the frame's bytes).
    pub(crate) fn attach(&mut self, block: ByteString) {
        debug_assert!(matches!(self.text, Text::Shared(_)));
        self.text = Text::Shared(block);
    }

    /// Removes the last header (a decoder that took the serializer's `Content-Length` for a header).
    pub(crate) fn pop(&mut self) {
        if let Text::Lines(l) = &mut self.text {
            l.lines.pop();
            l.index = OnceLock::new();
        }
        self.spans.pop();
        self.decoded = OnceLock::new();
    }

    /// Appends a header whose name and value are ranges of the block given to
    /// [`Headers::over_block`]. Both must lie on `char` boundaries of it (decoders pass ranges that
    /// start and end at ASCII delimiters); a range that does not would make lookups panic, so
    /// debug builds check.
    pub(crate) fn push_ranges(&mut self, name: Range<usize>, value: Range<usize>) {
        debug_assert!(
            self.owned().get(name.clone()).is_some() && self.owned().get(value.clone()).is_some()
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
        let text = self.owned();
        debug_assert!(text.get(name.clone()).is_some());
        let value_start = text.len() as u32;
        write(text);
        let value_end = text.len() as u32;
        self.spans.push(Span {
            name_start: name.start as u32,
            name_end: name.end as u32,
            value_start,
            value_end,
        });
    }

    /// Appends a header. The value is stored as given (callers decode before pushing).
    pub fn push(&mut self, name: &str, value: &str) {
        self.push_with(name, |s| s.push_str(value));
    }

    /// Appends a header whose value is written by `write` straight into the shared buffer
    /// (used by decoders to percent-decode without an intermediate `String`).
    pub fn push_with(&mut self, name: &str, write: impl FnOnce(&mut String)) {
        let text = self.owned();
        let name_start = text.len() as u32;
        text.push_str(name);
        let name_end = text.len() as u32;
        write(text);
        let value_end = text.len() as u32;
        self.spans.push(Span {
            name_start,
            name_end,
            value_start: name_end,
            value_end,
        });
    }

    /// The owned text, after copying a shared list's pairs (decoded) into it if need be.
    fn owned(&mut self) -> &mut String {
        if !matches!(self.text, Text::Owned(_)) {
            let copy: Headers = self.iter().collect();
            *self = copy;
        }
        match &mut self.text {
            Text::Owned(s) => s,
            Text::Shared(_) | Text::Lines(_) => unreachable!("converted above"),
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.text {
            Text::Owned(s) => s.as_bytes(),
            Text::Shared(b) => b.as_bytes(),
            Text::Lines(l) => &l.lines.block,
        }
    }

    /// The text at `range` (a name or an unescaped value).
    #[inline]
    fn str_at(&self, range: Range<usize>) -> &str {
        match &self.text {
            Text::Owned(s) => &s[range],
            Text::Shared(b) => &b[range],
            Text::Lines(l) => &l.indexed().text[range],
        }
    }

    /// The value of span `i`.
    #[inline]
    fn value(&self, i: usize, s: &Span) -> &str {
        if !s.escaped() {
            return self.str_at(s.raw_value());
        }
        let d = self.decoded.get_or_init(|| self.decode_escaped());
        let (start, end) = d.ranges[i];
        &d.text[start as usize..end as usize]
    }

    /// Every escaped value of a shared list, percent-decoded (`switch_url_decode`), in one buffer.
    fn decode_escaped(&self) -> Decoded {
        // A decoded value is never longer than its raw text: one allocation, no regrowth.
        let spans = self.spans();
        let escaped = spans.iter().filter(|s| s.escaped());
        let room = escaped.map(|s| s.raw_value().len()).sum();
        let mut d = Decoded {
            text: String::with_capacity(room),
            ranges: vec![(0, 0); spans.len()],
        };
        let mut scratch = Vec::new();
        for (i, s) in spans.iter().enumerate().filter(|(_, s)| s.escaped()) {
            let raw = self.str_at(s.raw_value());
            let start = d.text.len() as u32;
            let at = memchr2(b'%', 0, raw.as_bytes()).unwrap_or(raw.len());
            push_url_decoded_from(&mut d.text, raw, at, &mut scratch);
            d.ranges[i] = (start, d.text.len() as u32);
        }
        d
    }

    /// Whether span `s` is header `name` (ASCII case-insensitive), compared as bytes: no `str` is
    /// sliced (with its char-boundary checks) for the headers that do not match. The lengths are
    /// compared from the span alone, before the text is touched: most names of a list differ in
    /// length from the one looked up, and a lookup passes ~30 names on its way to `Unique-ID`
    /// (46 instructions per name passed when the bytes were fetched first, callgrind).
    #[inline]
    fn is_named(&self, s: &Span, name: &str) -> bool {
        s.name().len() == name.len()
            && self
                .bytes()
                .get(s.name())
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The first value of header `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Text::Lines(l) = &self.text
            && l.index.get().is_none()
        {
            // A lookup before anything needed the span table: from the line starts alone.
            match l.lines.find(name) {
                // A value of a block checked to be UTF-8, cut at ASCII bytes: always `Ok`.
                Found::Plain(value) => {
                    if let Ok(value) = std::str::from_utf8(&l.lines.block[value]) {
                        return Some(value);
                    }
                }
                Found::Absent => return None,
                Found::Escaped => {}
            }
        }
        let spans = self.spans();
        let i = spans.iter().position(|s| self.is_named(s, name))?;
        Some(self.value(i, &spans[i]))
    }

    /// The last value of header `name` (FreeSWITCH appends: the last one is the serializer's own).
    pub fn get_last(&self, name: &str) -> Option<&str> {
        let spans = self.spans();
        let i = spans.iter().rposition(|s| self.is_named(s, name))?;
        Some(self.value(i, &spans[i]))
    }

    /// Every value of header `name`, in wire order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.spans()
            .iter()
            .enumerate()
            .filter(move |(_, s)| self.is_named(s, name))
            .map(|(i, s)| self.value(i, s))
    }

    pub fn contains(&self, name: &str) -> bool {
        if let Text::Lines(l) = &self.text
            && l.index.get().is_none()
        {
            return !matches!(l.lines.find(name), Found::Absent);
        }
        self.spans().iter().any(|s| self.is_named(s, name))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans()
            .iter()
            .enumerate()
            .map(|(i, s)| (self.str_at(s.name()), self.value(i, s)))
    }

    pub fn len(&self) -> usize {
        match &self.text {
            Text::Lines(l) => l.lines.len(),
            _ => self.spans.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

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
