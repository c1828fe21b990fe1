//! The "lines" storage of a plain event's [`crate::Headers`]: the header block (a slice of the
//! frame's `Bytes`, known to be UTF-8) and where each of its lines starts, nothing more. The walk that found the
//! lines ([`crate::plain_walk`]) checked every line well formed (`Name: value`, the name not
//! empty), so a line's name is known to end at its first `: ` without looking for it here.
//!
//! Why not the span table at once: a consumer that routes reads `Event-Name`, `Unique-ID` and a
//! few more of ~65 headers. Finding one by name over line starts costs a byte compare per line
//! passed; building the table costs a search for `: ` and for `%` on every line, on the socket's
//! task, for every event. So [`Lines::find`] answers a lookup from the line starts alone and the
//! table ([`Lines::spans`]) is built only when something needs every header (iteration,
//! `get_last`, equality, an escaped value to decode) — counted in full in the benches either way.

use super::plain_walk;
use bytes::Bytes;
use memchr::memchr2;
use std::ops::Range;

/// A plain header block and its line starts; `starts` ends with the block's length (one past the
/// last line's `\n`), so line `i` is `starts[i]..starts[i + 1] - 1` without its `\n`. The walk
/// checked the block is UTF-8 (a `bytestring::ByteString` is made only with the span table: making
/// one checks every byte again, and a lookup checks just the value it returns).
#[derive(Clone)]
pub(crate) struct Lines {
    pub block: Bytes,
    pub starts: Vec<u32>,
}

/// What a lookup over the line starts found.
pub(crate) enum Found {
    /// The value, as a range of the block (raw and final: no `%`, no NUL; `_undef_` already empty).
    Plain(Range<usize>),
    /// The first line of that name has a value to percent-decode: ask the span table.
    Escaped,
    Absent,
}

/// FreeSWITCH's empty value on the plain wire.
const UNDEF: &[u8] = crate::url::UNDEF.as_bytes();

impl Lines {
    /// How many header lines.
    pub fn len(&self) -> usize {
        self.starts.len().saturating_sub(1)
    }

    /// Removes the last line (the serializer's `Content-Length`).
    pub fn pop(&mut self) {
        if self.starts.len() > 1 {
            self.starts.pop();
        }
    }

    /// The first line named `name` (ASCII case-insensitive), from the line starts alone. A line's
    /// name ends at its first `: `, so a line is `name` exactly when `name` (holding no `: `
    /// itself) is followed by `: ` there.
    pub fn find(&self, name: &str) -> Found {
        let (bytes, name): (&[u8], _) = (&self.block, name.as_bytes());
        if name.windows(2).any(|w| w == b": ") {
            return Found::Absent;
        }
        let len = name.len();
        let Some((&first, rest)) = self.starts.split_first() else {
            return Found::Absent;
        };
        let mut start = first as usize;
        for &next in rest {
            let (line, nl) = (start, next as usize - 1);
            start = next as usize;
            // The byte after the name is the cheapest test: most lines fail it. Then the name,
            // as sent first (FreeSWITCH's own spelling), else ASCII case-insensitively.
            if bytes.get(line + len) != Some(&b':')
                || line + len + 2 > nl
                || bytes[line + len + 1] != b' '
            {
                continue;
            }
            let candidate = &bytes[line..line + len];
            if candidate != name && !candidate.eq_ignore_ascii_case(name) {
                continue;
            }
            let value = value_range(bytes, line + len + 2, nl);
            return match memchr2(b'%', 0, &bytes[value.clone()]) {
                Some(_) => Found::Escaped,
                None => Found::Plain(undef_empty(bytes, value)),
            };
        }
        Found::Absent
    }

    /// Calls `push(name, raw value, escaped)` for every line in order (the span table): `escaped`
    /// when the value holds a `%` or NUL.
    pub fn spans(&self, mut push: impl FnMut(Range<usize>, Range<usize>, bool)) {
        let bytes: &[u8] = &self.block;
        let (colon_space, escapes) = plain_walk::span_masks(bytes);
        for pair in self.starts.windows(2) {
            let (start, nl) = (pair[0] as usize, pair[1] as usize - 1);
            // The walk checked every line has a `: `; `nl` only if that ever failed.
            let colon = plain_walk::first_bit(&colon_space, start, nl).unwrap_or(nl);
            let value = value_range(bytes, colon + 2, nl);
            if plain_walk::first_bit(&escapes, value.start, value.end).is_some() {
                push(start..colon, value, true);
            } else {
                push(start..colon, undef_empty(bytes, value), false);
            }
        }
    }
}

/// The value from `start` to the `\n` at `nl`, a final `\r` dropped.
#[inline]
fn value_range(bytes: &[u8], start: usize, nl: usize) -> Range<usize> {
    let start = start.min(nl);
    if nl > start && bytes[nl - 1] == b'\r' {
        start..nl - 1
    } else {
        start..nl
    }
}

/// An unescaped `_undef_` is the empty value.
#[inline]
fn undef_empty(bytes: &[u8], value: Range<usize>) -> Range<usize> {
    if &bytes[value.clone()] == UNDEF {
        value.start..value.start
    } else {
        value
    }
}
