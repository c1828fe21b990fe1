//! Percent-encoding as FreeSWITCH does it, both ways: [`url_encode`] is its `switch_url_encode`, the
//! encoding of every header value in `text/event-plain` and `text/event-xml` events and in the outbound
//! `connect` reply; [`push_url_decoded`] and friends are its `switch_url_decode`, which a controller
//! needs to read them back. The pair lives in one file so the round trip is tested where both are.
//!
//! # Encoding (`switch_url_encode_opt` with `double_encode = false`)
//!
//! - bytes below `' '` or above `'~'` and the characters of `SWITCH_URL_UNSAFE`
//!   (``\r\n #%&+:;<=>?@[\]^`{|}"``) become `%XX` with **uppercase** hex;
//! - a `%` followed by two *uppercase* hex digits is an existing escape and is copied through
//!   (so `50%20off` stays as is, but `%2a` becomes `%252a`);
//! - everything else is copied.
//!
//! # Decoding (`src/switch_utils.c`)
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
//! Every other value without a NUL comes back unchanged.
//!
//! `_undef_` is how `switch_event_serialize` writes an **empty** value; the JSON and XML serializers
//! write `""`. The decoders turn `_undef_` into the empty string in every format, so a controller sees
//! `""` for an empty header whatever the wire format (a header whose real value is the text `_undef_`
//! is indistinguishable on the plain wire and is therefore also seen as `""`).

use memchr::memchr2;

/// The plain serializer's spelling of an empty value.
pub const UNDEF: &str = "_undef_";

/// `SWITCH_URL_UNSAFE`: printable characters that are still escaped.
const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

/// Encodes `value` exactly like `switch_url_encode`.
pub fn url_encode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
    for (i, &b) in bytes.iter().enumerate() {
        // `e - p > 1` in C: at least two bytes follow the '%'.
        let existing_escape = b == b'%'
            && i + 2 < bytes.len()
            && is_upper_hex(bytes[i + 1])
            && is_upper_hex(bytes[i + 2]);
        if existing_escape {
            out.push('%');
        } else if !(b' '..=b'~').contains(&b) || UNSAFE.contains(&b) {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// The `switch_url_decode` of `raw` as a new string (for one value; a loop over many headers
/// should reuse buffers with [`push_url_decoded`]).
pub fn url_decode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    push_url_decoded_str(&mut out, raw, &mut Vec::new());
    out
}

/// Appends the `switch_url_decode` of `raw` to `out`. `scratch` is a reusable buffer (so decoding a
/// hundred headers allocates at most once).
pub fn push_url_decoded(out: &mut String, raw: &[u8], scratch: &mut Vec<u8>) {
    if memchr2(b'%', 0, raw).is_none() {
        out.push_str(&String::from_utf8_lossy(raw));
        return;
    }
    scratch.clear();
    decode_into(raw, scratch);
    push_lossy(out, scratch);
}

/// [`push_url_decoded`] for a value already known to be UTF-8 (the common case: the whole header
/// block was validated once): text up to the first `%` or NUL is copied as is, only the rest is
/// decoded.
pub fn push_url_decoded_str(out: &mut String, raw: &str, scratch: &mut Vec<u8>) {
    match memchr2(b'%', 0, raw.as_bytes()) {
        None => out.push_str(raw),
        Some(at) => push_url_decoded_from(out, raw, at, scratch),
    }
}

/// [`push_url_decoded_str`] when the caller already knows where the first `%` or NUL is (`at`).
/// Escapes that decode to ASCII are written straight into `out`; a value with an escape decoding to
/// a byte ≥ 0x80 is decoded again as bytes and checked for UTF-8 once.
pub(crate) fn push_url_decoded_from(out: &mut String, raw: &str, at: usize, scratch: &mut Vec<u8>) {
    let start = out.len();
    out.push_str(&raw[..at]);
    if decode_ascii_into(out, raw, at).is_none() {
        out.truncate(start);
        scratch.clear();
        decode_into(raw.as_bytes(), scratch);
        push_lossy(out, scratch);
    }
}

/// Decodes `raw[from..]` into `out` while every escape decodes to ASCII; `None` (with `out` partly
/// written) at the first that does not, or that would end inside a multi-byte character.
fn decode_ascii_into(out: &mut String, raw: &str, mut from: usize) -> Option<()> {
    let bytes = raw.as_bytes();
    let mut i = from;
    while let Some(&b) = bytes.get(i) {
        match b {
            0 => {
                out.push_str(&raw[from..i]);
                return Some(());
            }
            b'%' if bytes.len() - i > 2 => match scan_hex2(&bytes[i + 1..]) {
                Some(0) => {
                    out.push_str(&raw[from..i]);
                    return Some(());
                }
                Some(d) if d.is_ascii() && raw.is_char_boundary(i + 3) => {
                    out.push_str(&raw[from..i]);
                    out.push(char::from(d));
                    i += 3;
                    from = i;
                }
                Some(_) => return None,
                // Not an escape: the `%` stays, as part of the current run.
                None => i += 1,
            },
            _ => i += 1,
        }
    }
    out.push_str(&raw[from..]);
    Some(())
}

/// Decoded bytes as text; invalid UTF-8 becomes U+FFFD.
fn push_lossy(out: &mut String, decoded: &[u8]) {
    match std::str::from_utf8(decoded) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(decoded)),
    }
}

/// `switch_url_decode` of `raw` appended to `out` as bytes: runs between escapes are copied whole.
fn decode_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut from = 0;
    while let Some(off) = memchr2(b'%', 0, &raw[from..]) {
        let at = from + off;
        out.extend_from_slice(&raw[from..at]);
        if raw[at] == 0 {
            return;
        }
        let decoded = if raw.len() - at > 2 {
            scan_hex2(&raw[at + 1..])
        } else {
            None
        };
        match decoded {
            Some(0) => return,
            Some(byte) => {
                out.push(byte);
                from = at + 3;
            }
            None => {
                out.push(b'%');
                from = at + 1;
            }
        }
    }
    out.extend_from_slice(&raw[from..]);
}

/// Appends an event header value as a controller should see it: `_undef_` is empty, anything else is
/// [`push_url_decoded`].
pub fn push_event_value(out: &mut String, raw: &[u8], scratch: &mut Vec<u8>) {
    if raw != UNDEF.as_bytes() {
        push_url_decoded(out, raw, scratch);
    }
}

/// [`push_event_value`] for a value already known to be UTF-8.
pub fn push_event_value_str(out: &mut String, raw: &str, scratch: &mut Vec<u8>) {
    if raw != UNDEF {
        push_url_decoded_str(out, raw, scratch);
    }
}

/// glibc `sscanf(s, "%2x", &tmp) == 1` then `(char) tmp`, for `s` the bytes after the `%`.
fn scan_hex2(s: &[u8]) -> Option<u8> {
    // The usual case, two hex digits, without the general scan.
    if let [hi, lo, ..] = s {
        if let (Some(hi), Some(lo)) = (hex(*hi), hex(*lo)) {
            return Some((hi << 4) | lo);
        }
    }
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

fn hex(d: u8) -> Option<u8> {
    match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
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

    #[test]
    fn str_fast_path_agrees_with_the_byte_path() {
        for raw in [
            "2026-11-25%2012%3A44%3A38",
            "%2BOK%0A",
            "été%20%C3%A9",
            "50%",
            "x%4",
            "%zz!",
            "%%41",
            "%4Gx",
            "%-1",
            "% 41",
            "ab%00cd",
            "ab\0cd",
            "%FF%C3",
            "é%A9",
            "%4é",
            "%é%41",
            "a%20b%2",
            "%e9t%C3%A9%20x",
            "plain",
            "",
            "_undef_",
        ] {
            let mut bytes = String::new();
            push_event_value(&mut bytes, raw.as_bytes(), &mut Vec::new());
            let mut text = String::new();
            push_event_value_str(&mut text, raw, &mut Vec::new());
            assert_eq!(text, bytes, "{raw:?}");
        }
    }

    #[test]
    fn encodes_like_freeswitch_unit_test_table() {
        // The cases of FreeSWITCH's own test (tests/unit/switch_utils.c, url_encode_double_encode), plain mode.
        assert_eq!(url_encode("ABCD"), "ABCD");
        assert_eq!(url_encode("50% off"), "50%25%20off");
        assert_eq!(url_encode("50%20off"), "50%20off");
        assert_eq!(url_encode("x%22y"), "x%22y");
        assert_eq!(url_encode("abc%2"), "abc%252");
        assert_eq!(url_encode("%2a"), "%252a");
        assert_eq!(url_encode("\"\"\""), "%22%22%22");
    }

    #[test]
    fn encodes_like_recorded_values() {
        assert_eq!(url_encode("fd00::2"), "fd00%3A%3A2");
        assert_eq!(
            url_encode("2026-11-25 12:39:49"),
            "2026-11-25%2012%3A39%3A49"
        );
        assert_eq!(
            url_encode("Wed, 25 Nov 2026 12:39:49 GMT"),
            "Wed,%2025%20Nov%202026%2012%3A39%3A49%20GMT"
        );
        assert_eq!(url_encode("+OK\n"), "%2BOK%0A");
        assert_eq!(url_encode("100% done & ok"), "100%25%20done%20%26%20ok");
        assert_eq!(url_encode("test::payment"), "test%3A%3Apayment");
        assert_eq!(url_encode("sendevent CUSTOM"), "sendevent%20CUSTOM");
    }

    #[test]
    fn encodes_controls_and_high_bytes() {
        assert_eq!(url_encode("a\tb"), "a%09b");
        assert_eq!(url_encode("\u{7f}"), "%7F");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(
            url_encode("a/b.c-d_e~f,g!h*i'(j)$"),
            "a/b.c-d_e~f,g!h*i'(j)$"
        );
    }

    #[test]
    fn round_trip_of_recorded_values_and_the_known_ambiguity() {
        for value in [
            "fd00::2",
            "+OK\n",
            "100% done & ok",
            "été",
            "50%",
            "%2a",
            "a%4",
            "",
        ] {
            assert_eq!(url_decode(&url_encode(value)), value, "{value:?}");
        }
        // An existing uppercase escape is kept by the encoder, so the decoder reads it.
        assert_eq!(url_decode(&url_encode("50%20off")), "50 off");
        // A C string: a NUL ends the value.
        assert_eq!(url_decode(&url_encode("ab\0cd")), "ab");
    }

    /// Whether `value` holds what the encoder passes through as an existing escape.
    fn has_upper_escape(value: &str) -> bool {
        value
            .as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && is_upper_hex(w[1]) && is_upper_hex(w[2]))
    }

    proptest::proptest! {
        /// Any value without a NUL or an uppercase `%XX` comes back unchanged.
        #[test]
        fn decode_undoes_encode(value in "(\\PC|%|[0-9A-Fa-f]|\r|\n|\t)*") {
            proptest::prop_assume!(!value.contains('\0') && !has_upper_escape(&value));
            proptest::prop_assert_eq!(url_decode(&url_encode(&value)), value);
        }

        /// The encoding is printable ASCII without spaces or unsafe characters other than `%`.
        #[test]
        fn encoding_is_safe_ascii(value in "\\PC*") {
            let enc = url_encode(&value);
            proptest::prop_assert!(enc.bytes().all(|b| b.is_ascii_graphic() && (b == b'%' || !UNSAFE.contains(&b))));
        }

        /// Decoding the encoding equals decoding the value itself whenever every `%` in the value
        /// starts an uppercase escape: the ones the encoder passes through.
        #[test]
        fn kept_escapes_decode_as_in_the_value(parts in proptest::collection::vec(("[a-z ]{0,3}", 0u8..=255), 0..6)) {
            let value: String = parts.iter().map(|(text, byte)| format!("{text}%{byte:02X}")).collect();
            let expected = url_decode(&value);
            proptest::prop_assert_eq!(url_decode(&url_encode(&value)), expected);
        }
    }
}
