//! Property tests of `Frame::event()`: any event FreeSWITCH can serialize (random headers and values,
//! multi-value headers, bodies with blank lines and colons) survives plain, json and xml
//! serialization exactly as FreeSWITCH writes them (`recordings`) and decodes back to itself;
//! percent-decoding of arbitrary, also malformed, escapes matches a model of `switch_url_decode`;
//! the outbound `connect` reply decodes; garbage event text is a typed error whose message never
//! repeats what it was given (a header value can be a card digit). 256 cases; `PROPTEST_CASES=N`.

use crate::wire_generators::{arb, feed};
use bytes::Bytes;
use confpay_esl::{ContentType, Event, Frame, Headers};
use proptest::prelude::*;
use proptest::sample::select;

fn decode_one(bytes: &[u8]) -> Event {
    let frames = feed::frames(bytes);
    assert_eq!(frames.len(), 1, "one frame");
    frames[0]
        .event()
        .unwrap_or_else(|e| panic!("event: {e}"))
        .expect("an event frame")
}

/// A model of FreeSWITCH's `switch_url_decode` (`src/switch_utils.c`), written from the C:
/// `if (*s == '%' && strlen(s) > 2 && sscanf(s + 1, "%2x", &tmp) == 1) { *o = (char) tmp; s += 2; }`,
/// the string ending at the first NUL.
fn model_url_decode(raw: &[u8]) -> String {
    let raw = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && raw.len() - i > 2
            && let Some(byte) = model_sscanf_2x(&raw[i + 1..])
        {
            if byte == 0 {
                break;
            }
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// glibc `sscanf(s, "%2x")`: skip white space, then a field of at most 2 characters: optional sign,
/// hex digits (at least one); the value is taken modulo 256 as `(char) tmp` does.
fn model_sscanf_2x(s: &[u8]) -> Option<u8> {
    let s = &s[s
        .iter()
        .take_while(|b| b" \t\n\x0b\x0c\r".contains(b))
        .count()..];
    let field = &s[..s.len().min(2)];
    let (sign, digits): (i32, &[u8]) = match field.first() {
        Some(b'-') => (-1, &field[1..]),
        Some(b'+') => (1, &field[1..]),
        _ => (1, field),
    };
    let hex: Vec<u32> = digits
        .iter()
        .map_while(|&d| char::from(d).to_digit(16))
        .collect();
    if hex.is_empty() {
        return None;
    }
    let v = hex.iter().fold(0i32, |acc, &d| acc * 16 + d as i32) * sign;
    Some(v.to_le_bytes()[0])
}

/// Raw (wire) header value bytes rich in escapes, good and bad.
fn raw_escapes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            select(vec![
                &b"%"[..],
                b"%2",
                b"%20",
                b"%2B",
                b"%0",
                b"%00",
                b"%ff",
                b"%FF",
                b"%c3%a9",
                b"%zz",
                b"%%",
                b"%4G",
                b"%-1",
                b"%+5",
                b"% 4",
                b"%\t41",
                b"%0x4",
                b"+",
                b"_undef_",
                b"\xff",
                b"\xc3",
            ])
            .prop_map(<[u8]>::to_vec),
            "[a-zA-Z0-9 :|]{0,3}".prop_map(String::into_bytes),
        ],
        0..10,
    )
    .prop_map(|parts| {
        let mut v = parts.concat();
        // A frame header line: no `\n`, no `\r` right before it.
        v.retain(|&b| b != b'\n' && b != b'\r');
        v
    })
}

fn plain_frame_with_value(raw: &[u8]) -> Vec<u8> {
    let mut text = b"Event-Name: CUSTOM\nX-Value: ".to_vec();
    text.extend_from_slice(raw);
    text.extend_from_slice(b"\n\n");
    let mut frame = format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
        text.len()
    )
    .into_bytes();
    frame.extend_from_slice(&text);
    frame
}

proptest! {
    /// Event → FreeSWITCH's serializer (plain, json or xml) → codec → `Frame::event()` → same event.
    #[test]
    fn events_round_trip_through_every_wire_format(event in arb::event(), wire in arb::wire()) {
        let bytes = arb::event_frame_bytes(&event, wire);
        prop_assert_eq!(decode_one(&bytes), event);
    }

    /// The same event sent in the three formats, back to back in one stream split anywhere, decodes
    /// to three equal events.
    #[test]
    fn same_event_in_three_formats_in_one_split_stream(
        event in arb::event(),
        cuts in arb::cuts(4096),
    ) {
        let data: Vec<u8> = [arb::Wire::Plain, arb::Wire::Json, arb::Wire::Xml]
            .iter()
            .flat_map(|&w| arb::event_frame_bytes(&event, w))
            .collect();
        let run = feed::run(1 << 20, &data, &cuts);
        prop_assert!(run.error.is_none(), "{:?}", run.error);
        prop_assert_eq!(run.frames.len(), 3);
        for frame in &run.frames {
            prop_assert_eq!(frame.event().expect("decodes"), Some(event.clone()));
        }
    }

    /// Percent-decoding of any escape, well-formed or not, matches `switch_url_decode`.
    #[test]
    fn plain_values_decode_like_switch_url_decode(raw in raw_escapes()) {
        let event = decode_one(&plain_frame_with_value(&raw));
        let expected = if raw == b"_undef_" { String::new() } else { model_url_decode(&raw) };
        prop_assert_eq!(event.get("X-Value"), Some(expected.as_str()));
    }

    /// The outbound `connect` reply: a header-only `command/reply` whose headers are a
    /// plain-serialized CHANNEL_DATA event, `Content-Type` near the end.
    #[test]
    fn connect_reply_decodes_its_channel_data(event in arb::event()) {
        let mut bytes = Vec::new();
        let mut expected = Headers::new();
        for (name, value) in event.headers.iter() {
            let enc = confpay_esl::url::url_encode(value);
            let enc = if enc.is_empty() { "_undef_".to_owned() } else { enc };
            bytes.extend_from_slice(format!("{name}: {enc}\n").as_bytes());
            expected.push(name, value);
        }
        bytes.extend_from_slice(
            b"Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n",
        );
        for (n, v) in [
            ("Content-Type", "command/reply"),
            ("Reply-Text", "+OK\n"),
            ("Socket-Mode", "async"),
            ("Control", "full"),
        ] {
            expected.push(n, v);
        }
        let frames = feed::frames(&bytes);
        prop_assert_eq!(frames.len(), 1);
        prop_assert_eq!(&frames[0].content_type, &ContentType::CommandReply);
        let got = frames[0].event().expect("decodes").expect("connect reply is an event");
        prop_assert_eq!(got, Event { headers: expected, body: None });
    }

    /// Random or corrupted event text is `Ok` or a typed error, never a panic, and the error message
    /// (Display and Debug) never contains the secret that was in a header value and in the body.
    #[test]
    fn broken_event_text_is_a_typed_error_that_leaks_nothing(
        secret in "[0-9]{13,19}",
        wire in arb::wire(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        truncate in any::<prop::sample::Index>(),
    ) {
        let mut headers = Headers::new();
        headers.push("Event-Name", "DTMF");
        headers.push("DTMF-Digit", &secret);
        let event = Event { headers, body: Some(Bytes::from(format!("card {secret}\n"))) };
        let bytes = arb::event_frame_bytes(&event, wire);
        let text_start = memchr::memmem::find(&bytes, b"\n\n").expect("frame head") + 2;
        let mut text = bytes[text_start..].to_vec();
        for (at, byte) in edits {
            let i = at.index(text.len());
            text[i] = byte;
        }
        text.truncate(truncate.index(text.len() + 1));
        let content_type = match wire {
            arb::Wire::Plain => ContentType::EventPlain,
            arb::Wire::Json => ContentType::EventJson,
            arb::Wire::Xml => ContentType::EventXml,
        };
        let frame = Frame { content_type, headers: Headers::new(), body: Some(Bytes::from(text)) };
        if let Err(e) = frame.event() {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(&secret), "error repeats the secret: {shown}");
        }
    }

    /// Arbitrary bytes as the text of each event content type: never a panic.
    #[test]
    fn arbitrary_event_text_never_panics(
        text in prop::collection::vec(any::<u8>(), 0..512),
        content_type in select(vec![ContentType::EventPlain, ContentType::EventJson, ContentType::EventXml]),
    ) {
        let frame = Frame { content_type, headers: Headers::new(), body: Some(Bytes::from(text)) };
        let _ = frame.event();
    }
}

#[test]
fn model_agrees_with_the_documented_cases() {
    // The cases `src/esl/url.rs` documents, so a wrong model cannot hide behind the property.
    for (raw, want) in [
        ("2026-11-25%2012%3A44%3A38", "2026-11-25 12:44:38"),
        ("%2BOK%0A", "+OK\n"),
        ("a+b", "a+b"),
        ("50%", "50%"),
        ("x%4", "x%4"),
        ("%zz!", "%zz!"),
        ("%%41", "%A"),
        ("%4Gx", "\u{4}x"),
        ("%-1", "\u{fffd}"),
        ("% 41", "A1"),
        ("ab%00cd", "ab"),
    ] {
        assert_eq!(model_url_decode(raw.as_bytes()), want, "{raw}");
    }
}
