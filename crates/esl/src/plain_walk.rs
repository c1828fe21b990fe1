//! The fast walk over a `text/event-plain` header block: one pass that classifies 64 bytes at a
//! time (SSE2 on x86_64 via `safe_arch`, the crate forbids `unsafe`; a byte loop elsewhere) into
//! two bitmasks — every `\n`, and every `:` followed by a space — then visits only the `\n` bits:
//! per line, one mask test says whether it holds a `: ` and whether its name is empty. It records
//! where each line starts, nothing else ([`Headers::lines`]): a lookup by name then runs over the
//! line starts, and the span table (names, values, which values hold a `%` or NUL to decode) is
//! built only when something needs every header. Nothing is copied or decoded here. The block is
//! checked to be UTF-8 once, at the end.
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
use bytestring::ByteString;

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
}

/// Classifies `chunk[..64]`; `chunk[64]` is the byte after it (for a `:` in the last place).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(chunk: &[u8; CHUNK + 16]) -> Masks {
    use safe_arch::{
        bitand_m128i as and, cmp_eq_mask_i8_m128i as eq, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i as splat,
    };
    let (nl, colon, space) = (splat(b'\n' as i8), splat(b':' as i8), splat(b' ' as i8));
    let (mut nls, mut cs) = (0u64, 0u64);
    for k in 0..CHUNK / 16 {
        let here: &[u8; 16] = chunk[16 * k..16 * k + 16].try_into().unwrap_or(&[0; 16]);
        let next: &[u8; 16] = chunk[16 * k + 1..16 * k + 17].try_into().unwrap_or(&[0; 16]);
        let (v, w) = (load_unaligned_m128i(here), load_unaligned_m128i(next));
        nls |= u64::from(move_mask_i8_m128i(eq(v, nl)) as u16) << (16 * k);
        let pair = and(eq(v, colon), eq(w, space));
        cs |= u64::from(move_mask_i8_m128i(pair) as u16) << (16 * k);
    }
    Masks {
        nl: nls,
        colon_space: cs,
    }
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify(chunk: &[u8; CHUNK + 16]) -> Masks {
    let (mut nl, mut colon_space) = (0u64, 0u64);
    for i in 0..CHUNK {
        nl |= u64::from(chunk[i] == b'\n') << i;
        colon_space |= u64::from(chunk[i] == b':' && chunk[i + 1] == b' ') << i;
    }
    Masks { nl, colon_space }
}

/// The masks of the 64 bytes at `base` (past the end padded with NULs, which are not special).
#[inline]
fn masks_at(bytes: &[u8], base: usize) -> Masks {
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

/// Bits `0..n` set (`n` < 64).
#[inline]
fn below(n: usize) -> u64 {
    (1u64 << n) - 1
}

/// Walks `text` (a plain event: header lines, a blank line, maybe a body) up to its blank line.
/// `None` unless every line is well formed and the block is UTF-8 (see the module doc).
pub(crate) fn walk(text: &Bytes) -> Option<Walked> {
    let bytes: &[u8] = text;
    let mut starts: Vec<u32> = Vec::with_capacity((bytes.len() / 32 + 8).min(256));
    // The current line's start, and whether it had a `: ` in the chunks before this one.
    let (mut line, mut named) = (0usize, false);
    let mut base = 0;
    while base < bytes.len() {
        let Masks { nl, colon_space } = masks_at(bytes, base);
        let mut bits = nl;
        while bits != 0 {
            let p = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let pos = base + p;
            if pos == line {
                // The blank line. UTF-8 checked once here: every access is then a plain `str`.
                starts.push(pos as u32);
                let block = ByteString::try_from(text.slice(..pos)).ok()?;
                return Some(Walked {
                    headers: Headers::lines(block, starts),
                    block_len: pos,
                });
            }
            // The `: `s of this line within this chunk (it may have begun in an earlier one).
            let from = line.saturating_sub(base);
            let here = colon_space & below(p) & !below(from);
            // A name ends at the first `: ` and may not be empty.
            let empty_name = line >= base && colon_space >> from & 1 != 0;
            if empty_name || !(named || here != 0) {
                return None;
            }
            starts.push(line as u32);
            (line, named) = (pos + 1, false);
        }
        // The line still open at the chunk's end.
        if line < base + CHUNK {
            let from = line.saturating_sub(base);
            if line >= base && colon_space >> from & 1 != 0 {
                return None;
            }
            named |= colon_space & !below(from) != 0;
        }
        base += CHUNK;
    }
    None
}
