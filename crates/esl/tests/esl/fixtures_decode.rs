//! Ground truth: every byte stream FreeSWITCH 1.11 really sent (`tests/fixtures/freeswitch-esl/*.raw`)
//! decodes with zero errors however it is chunked, every event in it decodes, and specific values
//! come out as recorded (`fixture_values`).

use crate::recordings::{decode_whole, events, frames, frames_of, raw_fixtures};
use bytes::BytesMut;
use confpay_esl::{ContentType, EslCodec, Event, Frame};
use tokio_util::codec::Decoder;

#[test]
fn every_fixture_decodes_whole_with_every_event() {
    let mut total_frames = 0;
    let mut total_events = 0;
    for (name, data) in raw_fixtures() {
        let decoded = decode_whole(&data).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!decoded.is_empty(), "{name}: no frames");
        assert_eq!(decoded.last().unwrap().1.end, data.len(), "{name}");
        for (frame, range) in &decoded {
            let event = frame
                .event()
                .unwrap_or_else(|e| panic!("{name} @{}: {e}", range.start));
            if frame.content_type.is_event() {
                let event = event.unwrap_or_else(|| panic!("{name}: event frame without event"));
                assert!(
                    event.name().is_some(),
                    "{name} @{}: no Event-Name",
                    range.start
                );
                total_events += 1;
            }
            assert!(
                !matches!(frame.content_type, ContentType::Other(_)),
                "{name}: unknown content type {}",
                frame.content_type
            );
        }
        total_frames += decoded.len();
    }
    assert_eq!(total_frames, 926);
    assert_eq!(total_events, 501);
}

#[test]
fn every_fixture_decodes_one_byte_at_a_time() {
    for (name, data) in raw_fixtures() {
        let expected = frames(&data);
        let mut codec = EslCodec::default();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for &b in &data {
            buf.extend_from_slice(&[b]);
            while let Some(f) = codec
                .decode(&mut buf)
                .unwrap_or_else(|e| panic!("{name}: {e}"))
            {
                got.push(f);
            }
        }
        assert!(codec.decode_eof(&mut buf).unwrap().is_none(), "{name}");
        assert_eq!(got, expected, "{name}");
    }
}

/// Feeds `frame_bytes` as two chunks split at `k` and expects exactly `expected`.
fn decode_split(frame_bytes: &[u8], k: usize, expected: &Frame) {
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::from(&frame_bytes[..k]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None, "split at {k}");
    buf.extend_from_slice(&frame_bytes[k..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap().as_ref(),
        Some(expected),
        "split at {k}"
    );
    assert!(buf.is_empty());
}

/// A two-chunk split of a stream at offset `k` can only change how the one frame straddling `k` is
/// decoded: frames before it are complete in the first chunk, frames after it in the second, and the
/// decoder keeps no state across frames. So each frame is split at its own inner offsets, standing for
/// every offset of the file that falls inside it.
///
/// Which offsets: all of them would cost the sum of squared frame lengths (~7e9 byte copies and, for
/// the ~6 KB header-only outbound `connect` replies, a 110-line parse per offset): ~40 s in debug. So:
/// every offset within 64 bytes of each frame's start, of its blank line (the end of the header block,
/// where the resumable scan decides) and of its end, plus a stride of 61 bytes through the rest of each
/// header block and body (in a body the decoder already knows the length and only waits: the same code
/// path at every offset). The byte-at-a-time test above covers every offset of the resumable scan
/// incrementally. Small files (≤ 2 KiB) are additionally split as whole streams at every single
/// offset, which also checks the argument above.
#[test]
fn every_fixture_decodes_split_at_every_offset() {
    for (name, data) in raw_fixtures() {
        let decoded = decode_whole(&data).unwrap();
        for (frame, range) in &decoded {
            let bytes = &data[range.clone()];
            let head_end = memchr::memmem::find(bytes, b"\n\n").map_or(bytes.len(), |i| i + 2);
            let len = bytes.len();
            for k in 1..len {
                let near_edge = k <= 64 || k.abs_diff(head_end) <= 64 || len - k <= 64;
                if near_edge || k % 61 == 0 {
                    decode_split(bytes, k, frame);
                }
            }
        }
        if data.len() <= 2048 {
            let expected: Vec<Frame> = decoded.into_iter().map(|(f, _)| f).collect();
            for k in 0..=data.len() {
                let mut codec = EslCodec::default();
                let mut buf = BytesMut::from(&data[..k]);
                let mut got = Vec::new();
                while let Some(f) = codec.decode(&mut buf).unwrap() {
                    got.push(f);
                }
                buf.extend_from_slice(&data[k..]);
                while let Some(f) = codec.decode_eof(&mut buf).unwrap() {
                    got.push(f);
                }
                assert_eq!(got, expected, "{name} split at {k}");
            }
        }
    }
}

/// Whether FreeSWITCH's own wire forms cannot carry `event` unchanged: a value holding a `%XX` the
/// plain and xml encoders leave as it is (so it decodes as the byte), one name given twice in a row
/// (xml merges adjacent elements), or a body that is not UTF-8 (json carries the bytes raw inside a
/// string, read as U+FFFD). Only events another client made up with `sendevent` are like that.
fn ambiguous_on_the_wire(event: &Event) -> bool {
    let escape = |v: &str| {
        v.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
    };
    let names: Vec<&str> = event.headers.iter().map(|(n, _)| n).collect();
    event.headers.iter().any(|(_, v)| escape(v))
        || names.windows(2).any(|w| w[0] == w[1])
        || event
            .body
            .as_deref()
            .is_some_and(|b| std::str::from_utf8(b).is_err())
}

/// Every event of every fixture, re-serialized the way FreeSWITCH serializes plain, json and xml,
/// decodes back to the same `Event` (but for [`ambiguous_on_the_wire`] ones).
#[test]
fn same_event_in_plain_json_xml_decodes_equal() {
    let mut checked = 0;
    for (name, data) in raw_fixtures() {
        for frame in frames(&data).iter().filter(|f| f.content_type.is_event()) {
            let event = frame.event().unwrap().unwrap();
            if ambiguous_on_the_wire(&event) {
                continue;
            }
            for wire in [
                crate::recordings::to_plain_frame(&event),
                crate::recordings::to_json_frame(&event),
                crate::recordings::to_xml_frame(&event),
            ] {
                let again = frames(&wire);
                assert_eq!(again.len(), 1);
                let again = again[0].event().unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(again.as_ref(), Some(&event), "{name}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 497);
}

/// What another ESL client's `sendevent` made FreeSWITCH send every listener, per format
/// (inbound-sendevent-odd-*, made by tests/confpay/live/record_sendevent.py): decoded as sent, invalid UTF-8
/// as U+FFFD, the serializer's own Content-Length never a header, and where the formats cannot agree
/// (FreeSWITCH's writers), exactly how they differ.
#[test]
fn odd_sendevent_events_decode_as_sent() {
    for format in ["plain", "json", "xml"] {
        let odd: Vec<Event> = events(&frames_of(&format!("inbound-sendevent-odd-{format}.raw")))
            .into_iter()
            .filter(|e| e.subclass() == Some("confpay::odd"))
            .collect();
        assert_eq!(odd.len(), 6, "{format}");
        a_body_with_blank_lines_keeps_the_senders_content_length(&odd[0], format);
        odd_header_names_split_at_the_first_colon(&odd[1], format);
        invalid_utf8_becomes_replacement_characters(&odd[2], format);
        values_needing_escapes_decode_per_format(&odd[3], format);
        empty_values_vanish_and_repeated_names_stay(&odd[4], format);
        a_body_of_blank_lines_is_kept(&odd[5], format);
    }
}

fn case(e: &Event, h: &str) -> Option<String> {
    e.get(h).map(str::to_owned)
}

fn all(e: &Event, h: &str) -> Vec<String> {
    e.headers.get_all(h).map(str::to_owned).collect()
}

const R: &str = "\u{FFFD}";

/// A body with blank lines, colons and a nested Content-Length; the sender's own
/// Content-Length header stays, the serializer's is gone.
fn a_body_with_blank_lines_keeps_the_senders_content_length(e: &Event, format: &str) {
    assert_eq!(
        e.body.as_deref(),
        Some(
            &b"first line\n\nafter a blank line: with a colon\nContent-Length: 999\n\nlast: line\n"
                [..]
        ),
        "{format}"
    );
    assert_eq!(all(e, "Content-Length"), ["77"], "{format}");
}

/// Header names with spaces and other characters; FreeSWITCH splits a name at its first ':'.
fn odd_header_names_split_at_the_first_colon(e: &Event, format: &str) {
    assert_eq!(
        case(e, "Name With Spaces").as_deref(),
        Some("spaced"),
        "{format}"
    );
    assert_eq!(
        case(e, "Name.With_Dots-And").as_deref(),
        Some("Colon: dotted"),
        "{format}"
    );
    assert_eq!(
        case(e, "Name/Slash+Plus").as_deref(),
        Some("slashed"),
        "{format}"
    );
    assert_eq!(
        case(e, "Percent%Name").as_deref(),
        Some("percent"),
        "{format}"
    );
}

/// Invalid UTF-8 becomes U+FFFD; FreeSWITCH cut the body at its NUL byte, and the xml
/// writer dropped the invalid byte left before it.
fn invalid_utf8_becomes_replacement_characters(e: &Event, format: &str) {
    assert_eq!(
        case(e, "Bad-Value"),
        Some(format!("ok {R}{R} bytes {R}")),
        "{format}"
    );
    assert_eq!(case(e, "Latin1-Value"), Some(format!("caf{R}")), "{format}");
    let body = String::from_utf8_lossy(e.body.as_deref().unwrap_or_default()).into_owned();
    let want = if format == "xml" {
        "body ".to_owned()
    } else {
        format!("body {R}")
    };
    assert_eq!(body, want, "{format}");
    assert_eq!(all(e, "Content-Length"), ["13"], "{format}");
}

/// Values needing escapes (FreeSWITCH drops the leading blank of a `sendevent` value, keeps a
/// trailing one); a `%41` the sender wrote is left as it is by the plain and xml
/// encoders, so those decode it as 'A' (FreeSWITCH's ambiguity); json carries it raw.
fn values_needing_escapes_decode_per_format(e: &Event, format: &str) {
    let want = if format == "json" {
        "a %41 value %zz"
    } else {
        "a A value %zz"
    };
    assert_eq!(
        case(e, "Already-Encoded").as_deref(),
        Some(want),
        "{format}"
    );
    assert_eq!(
        case(e, "Spaces-And-Symbols").as_deref(),
        Some("lead & trail: <x> \"q\" 'a' {j} [k] |p| "),
        "{format}"
    );
    assert_eq!(
        case(e, "Unicode-Value").as_deref(),
        Some("grüße ☎"),
        "{format}"
    );
}

/// An empty value is not a header at all; a repeated name stays repeated (xml merges).
fn empty_values_vanish_and_repeated_names_stay(e: &Event, format: &str) {
    assert_eq!(case(e, "Empty-Value"), None, "{format}");
    let want: &[&str] = if format == "xml" {
        &["ARRAY::first|:second"]
    } else {
        &["first", "second"]
    };
    assert_eq!(all(e, "Twice"), want, "{format}");
}

fn a_body_of_blank_lines_is_kept(e: &Event, format: &str) {
    assert_eq!(e.body.as_deref(), Some(&b"\n\n\n"[..]), "{format}");
    assert_eq!(all(e, "Content-Length"), ["3"], "{format}");
}
