//! The fast walk over a `text/event-plain` header block: one pass that classifies 64 bytes at a
//! time (SSE2 on x86_64 via `safe_arch`, the crate forbids `unsafe`; a byte loop elsewhere) into
//! bitmasks — every `\n`, every `:` followed by a space, every byte above 0x7F — and checks every
//! line of the chunk at once with a few integer operations (see [`check_chunk`]): no loop per
//! special byte, no branch per line. It records where each line starts, nothing else
//! ([`Headers::lines`]): a lookup by name then runs over the line starts, and the span table
//! (names, values, which values hold a `%` or NUL to decode) is built only when something needs
//! every header. Nothing is copied or decoded here. A block of ASCII (the bytes above 0x7F are in
//! the masks) is UTF-8 without a further pass; any other block is checked once.
//!
//! The walk accepts only the common case: well-formed `Name: value\n` lines up to a blank line, and a
//! block that is UTF-8. Anything else (a malformed line, no blank line, invalid UTF-8) returns
//! `None` and the caller takes the eager decoder, which reports the same errors and does the lossy
//! decoding exactly as before.
//!
//! History (callgrind, client thread per event): the first walk visited every `\n`, `:`, `%` and
//! NUL (~235 bits per event) and pushed a span per line: 9.45 k instructions of the ~16 k the
//! inbound client spent per event.

use super::headers::Headers;
use bytes::Bytes;

const CHUNK: usize = 64;

/// What the walk found in a plain event's text.
pub(crate) struct Walked {
    /// One header per line of the block (see the module doc).
    pub headers: Headers,
    /// Bytes of header lines, through the last line's `\n` (the blank line follows).
    pub block_len: usize,
}

/// The masks of one 64-byte chunk, one bit per byte (lowest = first byte).
struct Masks {
    /// `\n`.
    nl: u64,
    /// `:` followed by a space (the next chunk's first byte counts for the last one).
    colon_space: u64,
    /// Non-zero if a byte is above 0x7F (which bits is not kept).
    high: u64,
}

/// The `k`-th 16 bytes of `chunk`, and the 16 one byte further (the byte after each, for `: `).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn lanes(chunk: &[u8; CHUNK + 16], k: usize) -> (safe_arch::m128i, safe_arch::m128i) {
    let here: &[u8; 16] = chunk[16 * k..16 * k + 16].try_into().unwrap_or(&[0; 16]);
    let next: &[u8; 16] = chunk[16 * k + 1..16 * k + 17]
        .try_into()
        .unwrap_or(&[0; 16]);
    (
        safe_arch::load_unaligned_m128i(here),
        safe_arch::load_unaligned_m128i(next),
    )
}

/// Classifies `chunk[..64]`; `chunk[64]` is the byte after it (for a `:` in the last place).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(chunk: &[u8; CHUNK + 16]) -> Masks {
    use safe_arch::{
        bitand_m128i as and, bitor_m128i as or, cmp_eq_mask_i8_m128i as eq, move_mask_i8_m128i,
        set_splat_i8_m128i as splat, zeroed_m128i,
    };
    let (nl, colon, space) = (splat(b'\n' as i8), splat(b':' as i8), splat(b' ' as i8));
    let mut m = Masks {
        nl: 0,
        colon_space: 0,
        high: 0,
    };
    let mut any = zeroed_m128i();
    for k in 0..CHUNK / 16 {
        let (v, w) = lanes(chunk, k);
        let shift = 16 * k;
        m.nl |= u64::from(move_mask_i8_m128i(eq(v, nl)) as u16) << shift;
        let pair = and(eq(v, colon), eq(w, space));
        m.colon_space |= u64::from(move_mask_i8_m128i(pair) as u16) << shift;
        any = or(any, v);
    }
    m.high = u64::from(move_mask_i8_m128i(any) as u16);
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify(chunk: &[u8; CHUNK + 16]) -> Masks {
    let mut m = Masks {
        nl: 0,
        colon_space: 0,
        high: 0,
    };
    for i in 0..CHUNK {
        m.nl |= u64::from(chunk[i] == b'\n') << i;
        m.colon_space |= u64::from(chunk[i] == b':' && chunk[i + 1] == b' ') << i;
        m.high |= u64::from(chunk[i] > 0x7F) << i;
    }
    m
}

/// `classify` of the 64 bytes at `base` and the 16 after them (past the end padded with NULs).
#[inline]
fn chunk_at<T>(bytes: &[u8], base: usize, classify: impl Fn(&[u8; CHUNK + 16]) -> T) -> T {
    match bytes.get(base..base + CHUNK + 16) {
        Some(chunk) => classify(chunk.try_into().unwrap_or(&[0; CHUNK + 16])),
        None => {
            let mut padded = [0u8; CHUNK + 16];
            let tail = &bytes[base..];
            padded[..tail.len()].copy_from_slice(tail);
            classify(&padded)
        }
    }
}

/// For the span table of a walked block (`header_lines.rs`), per 64 bytes: the `:`-followed-by-a-
/// space mask and the `%`-or-NUL mask (bits past the block's end mean nothing). One SIMD pass
/// instead of a `memchr` per line for the name's end and one per value for a `%`: those cost
/// ~130 instructions per line on these short lines (callgrind, 8.6 k per event).
pub(crate) fn span_masks(block: &[u8]) -> (Vec<u64>, Vec<u64>) {
    let chunks = block.len().div_ceil(CHUNK);
    let (mut colon_space, mut escapes) = (Vec::with_capacity(chunks), Vec::with_capacity(chunks));
    for c in 0..chunks {
        let (cs, esc) = chunk_at(block, c * CHUNK, classify_values);
        colon_space.push(cs);
        escapes.push(esc);
    }
    (colon_space, escapes)
}

/// `(colon_space, percent_or_nul)` of `chunk[..64]`, as in [`classify`].
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify_values(chunk: &[u8; CHUNK + 16]) -> (u64, u64) {
    use safe_arch::{
        bitand_m128i as and, bitor_m128i as or, cmp_eq_mask_i8_m128i as eq, move_mask_i8_m128i,
        set_splat_i8_m128i as splat, zeroed_m128i,
    };
    let (colon, space, pct) = (splat(b':' as i8), splat(b' ' as i8), splat(b'%' as i8));
    let (mut cs, mut esc) = (0u64, 0u64);
    for k in 0..CHUNK / 16 {
        let (v, w) = lanes(chunk, k);
        let pair = and(eq(v, colon), eq(w, space));
        cs |= u64::from(move_mask_i8_m128i(pair) as u16) << (16 * k);
        let escape = or(eq(v, pct), eq(v, zeroed_m128i()));
        esc |= u64::from(move_mask_i8_m128i(escape) as u16) << (16 * k);
    }
    (cs, esc)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify_values(chunk: &[u8; CHUNK + 16]) -> (u64, u64) {
    let (mut cs, mut esc) = (0u64, 0u64);
    for i in 0..CHUNK {
        cs |= u64::from(chunk[i] == b':' && chunk[i + 1] == b' ') << i;
        esc |= u64::from(matches!(chunk[i], b'%' | 0)) << i;
    }
    (cs, esc)
}

/// The first set bit of `masks` (one `u64` per 64 bytes) at or after `from` and before `end`.
#[inline]
pub(crate) fn first_bit(masks: &[u64], from: usize, end: usize) -> Option<usize> {
    let mut c = from / CHUNK;
    let mut bits = masks.get(c)? & (u64::MAX << (from % CHUNK));
    loop {
        if bits != 0 {
            let at = c * CHUNK + bits.trailing_zeros() as usize;
            return (at < end).then_some(at);
        }
        c += 1;
        if c * CHUNK >= end {
            return None;
        }
        bits = *masks.get(c)?;
    }
}

/// What [`check_chunk`] carries from one chunk to the next.
#[derive(Clone, Copy)]
struct Carry {
    /// 1 if a line starts at the chunk's first byte (the block's start, or after a `\n` in the
    /// previous chunk's last byte).
    starts_here: u64,
    /// 1 if a line runs on from the previous chunk without a `: ` so far.
    open: u64,
}

/// One chunk's verdict: the blank line's bit, if the chunk holds it (the lines end before it).
enum Chunk {
    Malformed,
    Lines { blank: Option<u32>, next: Carry },
}

/// Checks every line of a chunk at once. A line is well formed when a `: ` comes before its `\n`
/// and not at its start (the name ends at the first `: ` and may not be empty). Adding a line's
/// start bit to the mask of "ordinary" bytes (neither `\n` nor `: `) carries through the line's
/// ordinary bytes and lands on the first that is not: a line whose carry lands on a `\n` has no
/// `: `. A carry out of the chunk is a line still looking for its `: ` in the next one.
fn check_chunk(m: &Masks, carry: Carry) -> Chunk {
    let line_starts = (m.nl << 1) | carry.starts_here;
    // The blank line: a `\n` where a line starts. Only the bits before it are header lines.
    let blank = m.nl & line_starts;
    let live = match blank {
        0 => u64::MAX,
        b => (1u64 << b.trailing_zeros()) - 1,
    };
    let ordinary = !(m.nl | m.colon_space);
    let (sum, out) = ordinary.overflowing_add((line_starts & live) | carry.open);
    let landing = sum & !ordinary & live;
    if landing & m.nl != 0 || m.colon_space & line_starts & live != 0 {
        return Chunk::Malformed;
    }
    Chunk::Lines {
        blank: (blank != 0).then(|| blank.trailing_zeros()),
        next: Carry {
            starts_here: m.nl >> 63,
            open: u64::from(out),
        },
    }
}

/// Walks `text` (a plain event: header lines, a blank line, maybe a body) up to its blank line.
/// `None` unless every line is well formed and the block is UTF-8 (see the module doc).
pub(crate) fn walk(text: &Bytes) -> Option<Walked> {
    let bytes: &[u8] = text;
    let mut starts: Vec<u32> = Vec::with_capacity((bytes.len() / 32 + 8).min(256));
    starts.push(0);
    let mut carry = Carry {
        starts_here: 1,
        open: 0,
    };
    let (mut base, mut high) = (0, 0);
    while base < bytes.len() {
        let m = chunk_at(bytes, base, classify);
        high |= m.high;
        let Chunk::Lines { blank, next } = check_chunk(&m, carry) else {
            return None;
        };
        // Every `\n` before the blank line ends a line: the next starts after it (the last one
        // pushed, the blank line's start, is the block's length).
        let mut ends = m.nl & blank.map_or(u64::MAX, |b| (1u64 << b) - 1);
        while ends != 0 {
            starts.push((base + ends.trailing_zeros() as usize + 1) as u32);
            ends &= ends - 1;
        }
        if let Some(b) = blank {
            let block_len = base + b as usize;
            // Bytes above 0x7F (in the block or in the same chunk after it): check UTF-8 once.
            if high != 0 && std::str::from_utf8(&bytes[..block_len]).is_err() {
                return None;
            }
            return Some(Walked {
                headers: Headers::lines(text.slice(..block_len), starts),
                block_len,
            });
        }
        carry = next;
        base += CHUNK;
    }
    None
}
