//! The fast walk over a `text/event-plain` header block: one pass that classifies 64 bytes at a
//! time (SSE2 on x86_64 via `safe_arch`, the crate forbids `unsafe`; a byte loop elsewhere) into
//! three bitmasks — `\n`; `:`; `%` or NUL — then goes from line to line: a line's name ends at the
//! lowest `:` bit past its start that a space follows, its value at the next `\n` bit, and whether
//! the value holds a `%` or NUL is one `and` of the third mask over its range. A header
//! becomes a span table entry pointing into the frame's `Bytes` ([`Headers::shared`]): nothing is
//! copied or decoded here; a value holding a `%` or NUL is marked and percent-decoded when first
//! read. The block is checked to be UTF-8 once, at the end.
//!
//! The walk accepts only the common case: well-formed `Name: value\n` lines up to a blank line, and a
//! block that is UTF-8. Anything else (a malformed line, no blank line, invalid UTF-8) returns
//! `None` and the caller takes the eager decoder, which reports the same errors and does the lossy
//! decoding exactly as before.

use super::headers::Headers;
use super::url::UNDEF;
use bytes::Bytes;
use bytestring::ByteString;
use std::ops::Range;

const CHUNK: usize = 64;

/// What the walk found in a plain event's text.
pub(crate) struct Walked {
    /// One header per line of the block, the value ranges raw (`_undef_` already empty).
    pub headers: Headers,
    /// Bytes of header lines, through the last line's `\n` (the blank line follows).
    pub block_len: usize,
}

/// One bit per byte of a 64-byte chunk (lowest = first byte) for each kind of byte that matters.
#[derive(Clone, Copy)]
struct Masks {
    nl: u64,
    colon: u64,
    /// `%` or NUL: a value holding one is percent-decoded when read.
    esc: u64,
}

/// The masks of one chunk: per 16 bytes four compares, one `or` and three `movemask`s.
///
/// Three masks, not one of every special byte: the walk then goes from line to line instead of
/// visiting every `\n`, `:` and `%` bit and loading the byte to learn which it was (that walk
/// cost ~118 instructions per header line, callgrind; see BENCHMARKS.md, issue 15 point 3).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(chunk: &[u8; CHUNK]) -> Masks {
    use safe_arch::{
        bitor_m128i as or, cmp_eq_mask_i8_m128i as eq, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i as splat, zeroed_m128i,
    };
    let (nl, colon) = (splat(b'\n' as i8), splat(b':' as i8));
    let (pct, nul) = (splat(b'%' as i8), zeroed_m128i());
    let mut m = Masks {
        nl: 0,
        colon: 0,
        esc: 0,
    };
    for (k, part) in chunk.chunks_exact(16).enumerate() {
        let mut block = [0u8; 16];
        block.copy_from_slice(part);
        let v = load_unaligned_m128i(&block);
        let bits = |hits| u64::from(move_mask_i8_m128i(hits) as u16) << (16 * k);
        m.nl |= bits(eq(v, nl));
        m.colon |= bits(eq(v, colon));
        m.esc |= bits(or(eq(v, pct), eq(v, nul)));
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify(chunk: &[u8; CHUNK]) -> Masks {
    let mut m = Masks {
        nl: 0,
        colon: 0,
        esc: 0,
    };
    for (i, &b) in chunk.iter().enumerate() {
        m.nl |= u64::from(b == b'\n') << i;
        m.colon |= u64::from(b == b':') << i;
        m.esc |= u64::from(matches!(b, b'%' | 0)) << i;
    }
    m
}

/// The masks of the 64 bytes at `base` (the tail padded with spaces, which are not special).
fn mask_at(bytes: &[u8], base: usize) -> Masks {
    match bytes.get(base..base + CHUNK) {
        Some(chunk) => classify(chunk.try_into().unwrap_or(&[b' '; CHUNK])),
        None => {
            let mut padded = [b' '; CHUNK];
            let tail = &bytes[base..];
            padded[..tail.len()].copy_from_slice(tail);
            classify(&padded)
        }
    }
}

/// The bits of a chunk at offsets `>= from` (none when `from` is past the chunk).
fn bits_from(from: usize) -> u64 {
    if from >= CHUNK { 0 } else { !0 << from }
}

/// The bits of a chunk at offsets `< to` (all when `to` is past the chunk).
fn bits_below(to: usize) -> u64 {
    if to >= CHUNK { !0 } else { (1 << to) - 1 }
}

/// No `: ` found yet on the current line.
const NO_NAME: usize = usize::MAX;

/// What the current line needs next.
enum Step {
    /// The next chunk's masks.
    NextChunk,
    /// The line is a header (pushed); the next line starts after it.
    Line,
    /// The blank line ending the block, at this offset.
    Blank(usize),
    /// A line without `: ` (or with an empty name).
    Malformed,
}

/// The walk's position: the current line's start, where its name ends (`NO_NAME` while not
/// found) and whether its value seen so far holds a `%` or NUL.
struct Line {
    start: usize,
    name_end: usize,
    escaped: bool,
}

impl Line {
    /// Finds the end of the current line's name in the chunk at `base`, if it is there: its first
    /// `:` followed by a space, unless a `\n` comes first.
    fn find_name(&mut self, bytes: &[u8], base: usize, m: &Masks) -> Option<Step> {
        let lo = bits_from(self.start.saturating_sub(base));
        let nl = m.nl & lo;
        let nl_at = (nl != 0).then(|| nl.trailing_zeros() as usize);
        let mut colons = m.colon & lo & nl_at.map_or(!0, bits_below);
        while colons != 0 {
            let at = base + colons.trailing_zeros() as usize;
            colons &= colons - 1;
            if bytes.get(at + 1) == Some(&b' ') {
                if at == self.start {
                    return Some(Step::Malformed);
                }
                self.name_end = at;
                return None;
            }
        }
        Some(match nl_at {
            None => Step::NextChunk,
            Some(at) if base + at == self.start => Step::Blank(base + at),
            Some(_) => Step::Malformed,
        })
    }

    /// Ends the current line's value in the chunk at `base` if its `\n` is there (pushing the
    /// header), else notes whether this chunk's part of the value holds a `%` or NUL.
    fn find_end(&mut self, bytes: &[u8], base: usize, m: &Masks, headers: &mut Headers) -> Step {
        let value_start = self.name_end + 2;
        let lo = bits_from(value_start.saturating_sub(base));
        let nl = m.nl & lo;
        if nl == 0 {
            self.escaped |= m.esc & lo != 0;
            return Step::NextChunk;
        }
        let at = nl.trailing_zeros() as usize;
        self.escaped |= m.esc & lo & bits_below(at) != 0;
        let nl = base + at;
        let escaped = self.escaped;
        headers.push_shared(
            self.start..self.name_end,
            value(bytes, value_start, nl, escaped),
            escaped,
        );
        *self = Line {
            start: nl + 1,
            name_end: NO_NAME,
            escaped: false,
        };
        Step::Line
    }
}

/// Walks `text` (a plain event: header lines, a blank line, maybe a body) up to its blank line.
/// `None` unless every line is well formed and the block is UTF-8 (see the module doc).
pub(crate) fn walk(text: &Bytes) -> Option<Walked> {
    let bytes: &[u8] = text;
    let mut headers = Headers::shared((bytes.len() / 32 + 8).min(256));
    let mut line = Line {
        start: 0,
        name_end: NO_NAME,
        escaped: false,
    };
    let mut base = 0;
    while base < bytes.len() {
        let m = mask_at(bytes, base);
        loop {
            let step = match line.name_end {
                NO_NAME => match line.find_name(bytes, base, &m) {
                    Some(step) => step,
                    None => line.find_end(bytes, base, &m, &mut headers),
                },
                _ => line.find_end(bytes, base, &m, &mut headers),
            };
            match step {
                Step::Line => {}
                Step::NextChunk => break,
                Step::Malformed => return None,
                Step::Blank(at) => {
                    // UTF-8 checked once here: every access is then a plain `str` slice.
                    headers.attach(ByteString::try_from(text.slice(..at)).ok()?);
                    return Some(Walked {
                        headers,
                        block_len: at,
                    });
                }
            }
        }
        base += CHUNK;
    }
    None
}

/// The raw value between `start` and the `\n` at `nl`: a final `\r` dropped, `_undef_` empty.
fn value(bytes: &[u8], start: usize, nl: usize, escaped: bool) -> Range<usize> {
    let end = if nl > start && bytes[nl - 1] == b'\r' {
        nl - 1
    } else {
        nl
    };
    if !escaped && &bytes[start..end] == UNDEF.as_bytes() {
        start..start
    } else {
        start..end
    }
}
