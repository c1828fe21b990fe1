//! Finding the first of a few byte values in short runs (header names and values, JSON strings:
//! typically 10–40 bytes), eight bytes at a time in plain safe Rust ("SWAR"). For runs this short a
//! memchr call costs more in set-up than it saves; the decoders use these for the per-field scans
//! and memchr for long ones.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `w` equal to `b`, plus possibly some false positives *above* the
/// first true match (the classic "has a zero byte" test on `w ^ b`): the lowest set bit is exact.
#[inline(always)]
fn eq(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The index of the first byte at or after `from` for which `hits` (a combination of [`eq`]) sets
/// the high bit, or for which `slow` holds in the tail shorter than a word; `None` if there is none.
#[inline(always)]
fn find(
    s: &[u8],
    from: usize,
    hits: impl Fn(u64) -> u64,
    slow: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = s.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let h = hits(u64::from_le_bytes(word));
        if h != 0 {
            return Some(i + (h.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s.get(i..)?.iter().position(|&b| slow(b)).map(|p| i + p)
}

/// The first `a` or `b` at or after `from`.
#[inline]
pub(crate) fn find2(s: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    find(s, from, |w| eq(w, a) | eq(w, b), |x| x == a || x == b)
}

/// The first `a`, `b` or `c` at or after `from`.
#[inline]
pub(crate) fn find3(s: &[u8], from: usize, a: u8, b: u8, c: u8) -> Option<usize> {
    find(
        s,
        from,
        |w| eq(w, a) | eq(w, b) | eq(w, c),
        |x| x == a || x == b || x == c,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agrees with memchr at every start offset, for needles placed at every position, including
    /// the bytes just above a needle (where the word test's false positives live).
    #[test]
    fn agrees_with_memchr() {
        let needles = [b':', b'\n', 0u8];
        for len in 0..40 {
            for at in 0..len {
                for needle in needles {
                    for filler in [
                        b'a',
                        b';',
                        b'\x0b',
                        b'\x01',
                        b'\xff',
                        needle.wrapping_add(1),
                    ] {
                        let mut s = vec![filler; len];
                        s[at] = needle;
                        if at + 1 < len {
                            s[at + 1] = needle.wrapping_add(1);
                        }
                        for from in 0..=len {
                            let want2 = memchr::memchr2(b':', b'\n', &s[from..]).map(|p| p + from);
                            assert_eq!(find2(&s, from, b':', b'\n'), want2, "{s:?} {from}");
                            let want3 =
                                memchr::memchr3(b'\n', b'%', 0, &s[from..]).map(|p| p + from);
                            assert_eq!(find3(&s, from, b'\n', b'%', 0), want3, "{s:?} {from}");
                        }
                    }
                }
            }
        }
        assert_eq!(find2(b"", 0, b'a', b'b'), None);
        assert_eq!(find2(b"ab", 3, b'a', b'b'), None);
    }
}
