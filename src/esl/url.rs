//! Percent-decoding of event header values, mirroring FreeSWITCH's own `switch_url_decode`
//! (`src/switch_utils.c`), which is what its serializers (`switch_url_encode`) are paired with:
//!
//! ```c
//! if (*s == '%' && strlen(s) > 2 && sscanf(s + 1, "%2x", &tmp) == 1) { *o = (char) tmp; s += 2; }
//! ```
//!
//! So, exactly as FreeSWITCH does it:
//! - `+` is an ordinary character (it is never a space); the encoder writes a literal `+` as `%2B`.
//! - `%` decodes only when at least two more bytes follow it; `%4` at the very end stays `%4`.
//! - What follows `%` is read like glibc `sscanf("%2x")`: leading white space skipped, then at most two
//!   characters: an optional sign and hex digits (`%4G` is byte 0x04 and swallows the `G`;
//!   `%-1` is byte 0xFF). If no hex digit is read (`%zz`, `%%`), the `%` stays literal.
//!   Either way a successful escape consumes exactly three bytes.
//! - The value is a C string: it ends at the first NUL, raw or decoded (`%00`).
//! - Decoded bytes that are not UTF-8 become U+FFFD (Rust strings).
//!
//! The encoder leaves an existing `%XX` (uppercase hex) alone instead of writing `%25XX`, so a value that
//! really contained `%41` arrives decoded as `A`: that ambiguity is FreeSWITCH's and cannot be undone.
//!
//! `_undef_` is how `switch_event_serialize` writes an **empty** value; the JSON and XML serializers
//! write `""`. The decoders turn `_undef_` into the empty string in every format, so a controller sees
//! `""` for an empty header whatever the wire format (a header whose real value is the text `_undef_`
//! is indistinguishable on the plain wire and is therefore also seen as `""`).

/// The plain serializer's spelling of an empty value.
pub const UNDEF: &str = "_undef_";

/// Appends the `switch_url_decode` of `raw` to `out`. `scratch` is a reusable buffer (so decoding a
/// hundred headers allocates at most once).
pub fn push_url_decoded(out: &mut String, raw: &[u8], scratch: &mut Vec<u8>) {
    if !raw.contains(&b'%') && !raw.contains(&0) {
        out.push_str(&String::from_utf8_lossy(raw));
        return;
    }
    scratch.clear();
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == 0 {
            break;
        }
        let decoded = if b == b'%' && raw.len() - i > 2 {
            scan_hex2(&raw[i + 1..])
        } else {
            None
        };
        match decoded {
            Some(0) => break,
            Some(byte) => {
                scratch.push(byte);
                i += 3;
            }
            None => {
                scratch.push(b);
                i += 1;
            }
        }
    }
    out.push_str(&String::from_utf8_lossy(scratch));
}

/// Appends an event header value as a controller should see it: `_undef_` is empty, anything else is
/// [`push_url_decoded`].
pub fn push_event_value(out: &mut String, raw: &[u8], scratch: &mut Vec<u8>) {
    if raw != UNDEF.as_bytes() {
        push_url_decoded(out, raw, scratch);
    }
}

/// glibc `sscanf(s, "%2x", &tmp) == 1` then `(char) tmp`, for `s` the bytes after the `%`.
fn scan_hex2(s: &[u8]) -> Option<u8> {
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    let field = &s[start..s.len().min(start + 2)];
    let (negative, digits) = match field.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, field),
    };
    let mut value: u32 = 0;
    let mut read = 0;
    for &d in digits.iter().take_while(|d| d.is_ascii_hexdigit()) {
        let digit = char::from(d).to_digit(16)?;
        value = value * 16 + digit;
        read += 1;
    }
    if read == 0 {
        return None;
    }
    let value = if negative {
        value.wrapping_neg()
    } else {
        value
    };
    Some(value.to_le_bytes()[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(raw: &str) -> String {
        let mut out = String::new();
        push_url_decoded(&mut out, raw.as_bytes(), &mut Vec::new());
        out
    }

    #[test]
    fn decodes_like_switch_url_decode() {
        assert_eq!(dec("2026-11-25%2012%3A44%3A38"), "2026-11-25 12:44:38");
        assert_eq!(dec("%2BOK%0A"), "+OK\n");
        assert_eq!(dec("a+b"), "a+b");
        assert_eq!(dec("100%25%20done%20%26%20ok"), "100% done & ok");
        assert_eq!(dec("%c3%a9t%C3%A9"), "été");
        assert_eq!(dec("ARRAY%3A%3Aa%7C%3Ab"), "ARRAY::a|:b");
    }

    #[test]
    fn bad_escapes_follow_sscanf() {
        assert_eq!(dec("50%"), "50%");
        assert_eq!(dec("x%4"), "x%4");
        assert_eq!(dec("%zz!"), "%zz!");
        assert_eq!(dec("%%41"), "%A");
        assert_eq!(dec("%4Gx"), "\u{4}x");
        assert_eq!(dec("%+5x"), "\u{5}x");
        assert_eq!(dec("%-1"), "\u{fffd}");
        assert_eq!(dec("% 41"), "A1");
    }

    #[test]
    fn nul_ends_the_value_and_bad_utf8_is_replaced() {
        assert_eq!(dec("ab%00cd"), "ab");
        assert_eq!(dec("ab\0cd"), "ab");
        assert_eq!(dec("%FF"), "\u{fffd}");
    }

    #[test]
    fn undef_is_empty() {
        let mut out = String::new();
        push_event_value(&mut out, b"_undef_", &mut Vec::new());
        assert_eq!(out, "");
        push_event_value(&mut out, b"_undef_x", &mut Vec::new());
        assert_eq!(out, "_undef_x");
    }
}
