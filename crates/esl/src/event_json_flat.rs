//! A hand-written reader for the one JSON shape FreeSWITCH's `switch_event_serialize_json_obj` writes
//! (through cJSON): one flat object whose members are strings or arrays of strings. It produces
//! exactly the [`Event`] that the serde_json path of [`super::event_json`] produces, and answers
//! `None` for anything it does not handle (a number, `null`, a nested object, an escaped member name,
//! a `\u` surrogate, any byte below 0x20 (white space other than spaces, or a raw control character),
//! a syntax error, ...): the caller then takes the serde_json path, which decodes
//! the unusual input or reports the error, so results and error reports are unchanged.
//!
//! Speed comes from doing each thing once: the text was validated as UTF-8 by the caller; it is
//! copied into the [`Headers`] text in one go and names and values are ranges of that copy (only a
//! value with a backslash escape is decoded and appended after it); the text is checked for control
//! characters once, in bulk, so each string's end is one memchr2 for `"` or `\`; the event body is a
//! slice of the frame, not a copy.

use super::frame::{Event, Headers};
use super::scan;
use super::url::UNDEF;
use bytes::Bytes;
use std::ops::Range;

/// The flat-object reading of `text` (the `&str` view of `frame`), or `None` to fall back.
pub(crate) fn parse_flat(frame: &Bytes, text: &str) -> Option<Event> {
    if has_control(text.as_bytes()) {
        return None;
    }
    let mut r = Reader {
        s: text.as_bytes(),
        text,
        pos: 0,
    };
    r.skip_ws();
    r.eat(b'{')?;
    let mut headers = Headers::over_block(text, 64);
    let mut body = None;
    // A `Content-Length` member held back until we know whether `_body` follows it.
    let mut held: Option<(Range<usize>, Str)> = None;
    let mut items: Vec<Str> = Vec::new();
    r.skip_ws();
    if r.peek() == Some(b'}') {
        r.pos += 1;
    } else {
        loop {
            r.skip_ws();
            let name = match r.string()? {
                Str::Raw(range) => range,
                // An escaped member name: rare enough for serde_json.
                Str::Escaped(_) => return None,
            };
            let name_text = &text[name.clone()];
            let name_is_body = name_text.eq_ignore_ascii_case("_body");
            r.skip_ws();
            r.eat(b':')?;
            r.skip_ws();
            match held.take() {
                Some(_) if name_is_body => {}
                Some((n, v)) => push(&mut headers, text, n, &v, false),
                None => {}
            }
            if name_is_body {
                body = match r.string()? {
                    Str::Raw(range) if range.is_empty() => None,
                    Str::Raw(range) => Some(frame.slice(range)),
                    Str::Escaped(decoded) => Some(Bytes::from(decoded)),
                };
            } else if r.peek() == Some(b'[') {
                r.array(&mut items)?;
                headers.push_range_with(name, |s| {
                    s.push_str("ARRAY::");
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            s.push_str("|:");
                        }
                        match item {
                            Str::Raw(range) => s.push_str(&text[range.clone()]),
                            Str::Escaped(decoded) => s.push_str(decoded),
                        }
                    }
                });
            } else {
                let value = r.string()?;
                if name_text.eq_ignore_ascii_case("Content-Length") {
                    held = Some((name, value));
                } else {
                    push(&mut headers, text, name, &value, true);
                }
            }
            r.skip_ws();
            match r.next()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    if let Some((n, v)) = held {
        push(&mut headers, text, n, &v, false);
    }
    r.skip_ws();
    (r.pos == r.s.len()).then_some(Event { headers, body })
}

/// One JSON string: a range of the text when it has no escape, else its decoded value.
enum Str {
    Raw(Range<usize>),
    Escaped(String),
}

/// Appends one string member; `undef`: `_undef_` is the empty value (every member but the held
/// `Content-Length`, as on the serde_json path).
fn push(headers: &mut Headers, text: &str, name: Range<usize>, value: &Str, undef: bool) {
    match value {
        Str::Raw(range) if undef && &text[range.clone()] == UNDEF => {
            headers.push_ranges(name, range.start..range.start)
        }
        Str::Raw(range) => headers.push_ranges(name, range.clone()),
        Str::Escaped(decoded) => {
            let decoded = if undef && decoded == UNDEF {
                ""
            } else {
                decoded
            };
            headers.push_range_with(name, |s| s.push_str(decoded));
        }
    }
}

struct Reader<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn eat(&mut self, want: u8) -> Option<()> {
        (self.next()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    /// `[ "a", "b" ]` into `items` (cleared first).
    fn array(&mut self, items: &mut Vec<Str>) -> Option<()> {
        items.clear();
        self.eat(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            items.push(self.string()?);
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A string starting at `pos` (which must be its opening quote).
    fn string(&mut self) -> Option<Str> {
        self.eat(b'"')?;
        let start = self.pos;
        let stop = scan::find2(self.s, start, b'"', b'\\')?;
        if self.s[stop] == b'"' {
            self.pos = stop + 1;
            return Some(Str::Raw(start..stop));
        }
        let mut out = String::with_capacity(stop - start + 16);
        let mut from = start;
        let mut at = stop;
        loop {
            match self.s[at] {
                b'"' => {
                    out.push_str(&self.text[from..at]);
                    self.pos = at + 1;
                    return Some(Str::Escaped(out));
                }
                _ => {
                    out.push_str(&self.text[from..at]);
                    let (c, len) = unescape(&self.s[at + 1..])?;
                    out.push(c);
                    from = at + 1 + len;
                }
            }
            at = scan::find2(self.s, from, b'"', b'\\')?;
        }
    }
}

/// The escape after a `\`: the character and how many bytes it took. `None` for a `\u` surrogate
/// (pairs and lone halves are serde_json's job) and for anything invalid.
fn unescape(s: &[u8]) -> Option<(char, usize)> {
    let c = match *s.first()? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hex = s.get(1..5)?;
            let mut v = 0u32;
            for &h in hex {
                v = v * 16 + char::from(h).to_digit(16)?;
            }
            return char::from_u32(v).map(|c| (c, 5));
        }
        _ => return None,
    };
    Some((c, 1))
}

/// Whether `s` has a byte below 0x20 (a raw control character: invalid inside a JSON string, and
/// FreeSWITCH writes no white space between tokens). A branch-free minimum per 64 bytes, which the
/// compiler vectorizes.
fn has_control(s: &[u8]) -> bool {
    let mut chunks = s.chunks_exact(64);
    for chunk in &mut chunks {
        if chunk.iter().fold(u8::MAX, |m, &b| m.min(b)) < 0x20 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20)
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_json::{parse_json, parse_json_serde};
    use crate::{ContentType, EslCodec};
    use proptest::prelude::*;
    use tokio_util::codec::Decoder;

    /// Both paths, compared: equal events, or equal error reports.
    fn same_as_serde(text: &[u8]) -> Option<Event> {
        let bytes = Bytes::copy_from_slice(text);
        let fast = parse_json(&bytes).map_err(|e| e.to_string());
        let slow = parse_json_serde(&bytes).map_err(|e| e.to_string());
        assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(text));
        std::str::from_utf8(text)
            .ok()
            .and_then(|s| parse_flat(&bytes, s))
    }

    #[test]
    fn flat_reader_agrees_with_serde_json_on_the_recordings() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/freeswitch-esl"
        );
        let mut compared = 0;
        for file in [
            "inbound-events-json-all.raw",
            "inbound-large-and-edge-frames.raw",
        ] {
            let raw = std::fs::read(format!("{dir}/{file}")).unwrap();
            let mut buf = bytes::BytesMut::from(&raw[..]);
            let mut codec = EslCodec::default();
            while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
                if frame.content_type != ContentType::EventJson {
                    continue;
                }
                let text = frame.body.unwrap();
                // Every recorded event takes the fast path, and decodes as serde_json decodes it.
                let fast = same_as_serde(&text).expect("flat reader handles the recording");
                assert_eq!(fast, parse_json_serde(&text).unwrap());
                compared += 1;
            }
        }
        assert!(compared > 60, "{compared}");
    }

    #[test]
    fn members_arrays_body_and_the_serializers_content_length() {
        let e = same_as_serde(
            br#"{"Event-Name":"CUSTOM","Content-Length":"56","A":["x","y\"z"],"E":[],"U":"_undef_","Content-Length":"_undef_","_body":"b\n\u00e9\/"}"#,
        )
        .expect("fast path");
        assert_eq!(e.get("A"), Some("ARRAY::x|:y\"z"));
        assert_eq!(e.get("E"), Some("ARRAY::"));
        assert_eq!(e.get("U"), Some(""));
        assert_eq!(
            e.headers.get_all("content-length").collect::<Vec<_>>(),
            ["56"]
        );
        assert_eq!(e.body.as_deref(), Some("b\né/".as_bytes()));
        // A held `Content-Length` not followed by `_body` is kept as sent (`_undef_` too).
        let e = same_as_serde(br#" { "Content-Length" : "_undef_" , "X" : "\t" } "#).unwrap();
        assert_eq!(
            e.headers.iter().collect::<Vec<_>>(),
            [("Content-Length", "_undef_"), ("X", "\t")]
        );
        let e = same_as_serde(br#"{"A":"1","Content-Length":"7"}"#).unwrap();
        assert_eq!(e.headers.get_last("Content-Length"), Some("7"));
        let e = same_as_serde(b"{}").unwrap();
        assert!(e.headers.is_empty() && e.body.is_none());
        let e = same_as_serde(br#"{"_BODY":"","A":"\"_undef_\""}"#).unwrap();
        assert_eq!(e.body, None);
        assert_eq!(e.get("A"), Some("\"_undef_\""));
    }

    #[test]
    fn unusual_input_falls_back_to_serde_json() {
        for text in [
            &br#"{"A":1}"#[..],
            br#"{"A":null}"#,
            br#"{"A":{"B":"c"}}"#,
            br#"{"A":["b",2]}"#,
            br#"{"\u0041":"b"}"#,
            br#"{"A":"\ud83d\ude00"}"#,
            br#"{"A":"\ud83d"}"#,
            br#"{"A":"\x"}"#,
            b"{\"A\":\"raw\ttab\"}",
            br#"{"A":"1""#,
            br#"{"A":"1"} x"#,
            br#"{"A":"1",}"#,
            br#"["A"]"#,
            br#"{"_body":["x"]}"#,
            b"",
        ] {
            assert!(
                same_as_serde(text).is_none(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn control_bytes_are_found_anywhere() {
        let mut long = vec![b'a'; 200];
        assert!(!has_control(&long));
        for at in [0, 63, 64, 127, 128, 199] {
            long[at] = 0x1f;
            assert!(has_control(&long), "{at}");
            long[at] = 0x20;
        }
        assert!(!has_control("é€😀\x7f".as_bytes()));
        assert!(has_control(b"\n"));
        assert!(!has_control(b""));
    }

    /// A JSON string as cJSON (or anyone) might write it: raw text, escapes of every kind.
    fn json_string() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            "[a-zA-Z0-9 :%/|-]{0,12}",
            Just("_undef_".to_owned()),
            Just("é€😀".to_owned()),
            Just("\\\"".to_owned()),
            Just("\\\\".to_owned()),
            Just("\\/".to_owned()),
            Just("\\n\\r\\t\\b\\f".to_owned()),
            Just("\\u00e9\\u20AC\\u0000".to_owned()),
            Just("\\ud83d\\ude00".to_owned()),
            Just("\\ud83d".to_owned()),
            Just("\u{1}".to_owned()),
            Just("\\q".to_owned()),
        ];
        prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()))
    }

    fn json_value() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => json_string(),
            2 => prop::collection::vec(json_string(), 0..3).prop_map(|v| format!("[{}]", v.join(","))),
            1 => prop_oneof![Just("1".to_owned()), Just("null".to_owned()), Just("{}".to_owned())],
        ]
    }

    fn json_key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\"Content-Length\"".to_owned()),
            Just("\"content-length\"".to_owned()),
            Just("\"_body\"".to_owned()),
            Just("\"Event-Name\"".to_owned()),
            json_string(),
        ]
    }

    fn json_object() -> impl Strategy<Value = String> {
        let ws = prop_oneof![Just(""), Just(""), Just(" "), Just("\n\t")];
        prop::collection::vec((json_key(), json_value(), ws), 0..8).prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}{w}"))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    proptest! {
        /// On any object, valid or not, the public path answers exactly what serde_json answers.
        #[test]
        fn flat_reader_agrees_with_serde_json_on_generated_objects(text in json_object()) {
            same_as_serde(text.as_bytes());
        }

        /// Objects of plain strings and arrays (what FreeSWITCH sends) do take the fast path.
        #[test]
        fn plain_string_objects_take_the_fast_path(
            members in prop::collection::vec(("[A-Za-z_-]{1,12}", "[ -!#-\\[\\]-~é]{0,20}"), 0..10)
        ) {
            let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
            let text = format!("{{{}}}", body.join(","));
            prop_assert!(same_as_serde(text.as_bytes()).is_some());
        }
    }
}
