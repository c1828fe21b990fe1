//! FreeSWITCH's `switch_url_encode` (switch_utils.c), byte for byte: the encoding of every header value in
//! `text/event-plain` and `text/event-xml` events and in the outbound `connect` reply.
//!
//! Rules (`switch_url_encode_opt` with `double_encode = false`):
//! - bytes below `' '` or above `'~'` and the characters of `SWITCH_URL_UNSAFE`
//!   (``\r\n #%&+:;<=>?@[\]^`{|}"``) become `%XX` with **uppercase** hex;
//! - a `%` followed by two *uppercase* hex digits is an existing escape and is copied through
//!   (so `50%20off` stays as is, but `%2a` becomes `%252a`);
//! - everything else is copied.

const UNSAFE: &[u8] = b"\r\n #%&+:;<=>?@[\\]^`{|}\"";
const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn is_upper_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'A'..=b'F').contains(&b)
}

/// Encodes `value` exactly like `switch_url_encode`.
pub fn url_encode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // `e - p > 1` in C: at least two bytes follow the '%'.
        let existing_escape = b == b'%'
            && i + 2 < bytes.len()
            && is_upper_hex(bytes[i + 1])
            && is_upper_hex(bytes[i + 2]);
        if existing_escape {
            out.push('%');
        } else if !(b' '..=b'~').contains(&b) || UNSAFE.contains(&b) {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        } else {
            out.push(b as char);
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_freeswitch_unit_test_table() {
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
    fn matches_recorded_values() {
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
    fn controls_and_high_bytes_are_escaped() {
        assert_eq!(url_encode("a\tb"), "a%09b");
        assert_eq!(url_encode("\u{7f}"), "%7F");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(
            url_encode("a/b.c-d_e~f,g!h*i'(j)$"),
            "a/b.c-d_e~f,g!h*i'(j)$"
        );
    }
}
