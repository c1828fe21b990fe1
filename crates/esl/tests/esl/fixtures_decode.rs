//! Ground truth: every byte stream FreeSWITCH 1.11 really sent (`tests/fixtures/freeswitch-esl/*.raw`)
//! decodes with zero errors however it is chunked, every event in it decodes, and specific values
//! come out as recorded.

use crate::recordings::{decode_whole, frames, raw_fixture, raw_fixtures};
use bytes::BytesMut;
use confpay_esl::{ContentType, EslCodec, Event, Frame, WireError};
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
    assert_eq!(total_frames, 910);
    assert_eq!(total_events, 492);
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
    assert_eq!(checked, 488);
}

/// What another ESL client's `sendevent` made FreeSWITCH send every listener, per format
/// (inbound-sendevent-odd-*, made by tests/confpay/live/record_sendevent.py): decoded as sent, invalid UTF-8
/// as U+FFFD, the serializer's own Content-Length never a header, and where the formats cannot agree
/// (FreeSWITCH's writers), exactly how they differ.
#[test]
fn odd_sendevent_events_decode_as_sent() {
    const R: &str = "\u{FFFD}";
    for format in ["plain", "json", "xml"] {
        let odd: Vec<Event> = events(&frames_of(&format!("inbound-sendevent-odd-{format}.raw")))
            .into_iter()
            .filter(|e| e.subclass() == Some("confpay::odd"))
            .collect();
        assert_eq!(odd.len(), 6, "{format}");
        let case = |i: usize, h: &str| odd[i].get(h).map(str::to_owned);
        let all = |i: usize, h: &str| -> Vec<String> {
            odd[i].headers.get_all(h).map(str::to_owned).collect()
        };

        // A body with blank lines, colons and a nested Content-Length; the sender's own
        // Content-Length header stays, the serializer's is gone.
        assert_eq!(
            odd[0].body.as_deref(),
            Some(&b"first line\n\nafter a blank line: with a colon\nContent-Length: 999\n\nlast: line\n"[..]),
            "{format}"
        );
        assert_eq!(all(0, "Content-Length"), ["77"], "{format}");

        // Header names with spaces and other characters; FreeSWITCH splits a name at its first ':'.
        assert_eq!(
            case(1, "Name With Spaces").as_deref(),
            Some("spaced"),
            "{format}"
        );
        assert_eq!(
            case(1, "Name.With_Dots-And").as_deref(),
            Some("Colon: dotted"),
            "{format}"
        );
        assert_eq!(
            case(1, "Name/Slash+Plus").as_deref(),
            Some("slashed"),
            "{format}"
        );
        assert_eq!(
            case(1, "Percent%Name").as_deref(),
            Some("percent"),
            "{format}"
        );

        // Invalid UTF-8 becomes U+FFFD; FreeSWITCH cut the body at its NUL byte, and the xml
        // writer dropped the invalid byte left before it.
        assert_eq!(
            case(2, "Bad-Value"),
            Some(format!("ok {R}{R} bytes {R}")),
            "{format}"
        );
        assert_eq!(case(2, "Latin1-Value"), Some(format!("caf{R}")), "{format}");
        let body = String::from_utf8_lossy(odd[2].body.as_deref().unwrap_or_default()).into_owned();
        let want = if format == "xml" {
            "body ".to_owned()
        } else {
            format!("body {R}")
        };
        assert_eq!(body, want, "{format}");
        assert_eq!(all(2, "Content-Length"), ["13"], "{format}");

        // Values needing escapes (FreeSWITCH drops the leading blank of a `sendevent` value, keeps a
        // trailing one); a `%41` the sender wrote is left as it is by the plain and xml
        // encoders, so those decode it as 'A' (FreeSWITCH's ambiguity); json carries it raw.
        let want = if format == "json" {
            "a %41 value %zz"
        } else {
            "a A value %zz"
        };
        assert_eq!(
            case(3, "Already-Encoded").as_deref(),
            Some(want),
            "{format}"
        );
        assert_eq!(
            case(3, "Spaces-And-Symbols").as_deref(),
            Some("lead & trail: <x> \"q\" 'a' {j} [k] |p| "),
            "{format}"
        );
        assert_eq!(
            case(3, "Unicode-Value").as_deref(),
            Some("grüße ☎"),
            "{format}"
        );

        // An empty value is not a header at all; a repeated name stays repeated (xml merges).
        assert_eq!(case(4, "Empty-Value"), None, "{format}");
        let want: &[&str] = if format == "xml" {
            &["ARRAY::first|:second"]
        } else {
            &["first", "second"]
        };
        assert_eq!(all(4, "Twice"), want, "{format}");

        assert_eq!(odd[5].body.as_deref(), Some(&b"\n\n\n"[..]), "{format}");
        assert_eq!(all(5, "Content-Length"), ["3"], "{format}");
    }
}

fn find(frames: &[Frame], pred: impl Fn(&Frame) -> bool) -> &Frame {
    frames.iter().find(|f| pred(f)).expect("frame present")
}

fn events(frames: &[Frame]) -> Vec<Event> {
    frames.iter().filter_map(|f| f.event().unwrap()).collect()
}

#[test]
fn bgapi_reply_and_background_job_carry_the_job_uuid() {
    let frames = frames(&raw_fixture("inbound-auth-and-api.raw"));
    let job = "11111111-2222-3333-4444-555555555555";
    let reply = find(&frames, |f| {
        f.content_type == ContentType::CommandReply && f.headers.get("Job-UUID") == Some(job)
    });
    assert_eq!(reply.reply_text(), Some(&*format!("+OK Job-UUID: {job}")));
    let events = events(&frames);
    let bg = events
        .iter()
        .find(|e| e.name() == Some("BACKGROUND_JOB") && e.get("Job-UUID") == Some(job))
        .expect("BACKGROUND_JOB");
    assert_eq!(bg.get("Job-Command"), Some("version"));
    assert_eq!(bg.get("Event-Date-Local"), Some("2026-11-25 12:39:49"));
    assert_eq!(
        bg.body_text().as_deref(),
        Some("FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n")
    );
    assert!(!bg.headers.contains("Content-Length"));
}

#[test]
fn conference_add_member_carries_member_id() {
    let events = events(&frames(&raw_fixture("inbound-conference-control.raw")));
    let add = events
        .iter()
        .find(|e| e.get("Action") == Some("add-member"))
        .expect("add-member");
    assert_eq!(add.subclass(), Some("conference::maintenance"));
    assert_eq!(add.get("Member-ID"), Some("1"));
    assert_eq!(add.get("Conference-Name"), Some("test"));
    assert_eq!(
        add.unique_id(),
        Some("1a25f899-b2d3-4ae0-9955-9f6fccbd6c79")
    );
    assert_eq!(add.get("Caller-Caller-ID-Name"), Some("Outbound Call"));
}

#[test]
fn sendevent_body_nested_content_length_plain_and_json() {
    let frames = frames(&raw_fixture("inbound-large-and-edge-frames.raw"));
    let body = &b"line one of body\nline two: with colon\n\nafter blank line\n"[..];
    let custom: Vec<(ContentType, Event)> = frames
        .iter()
        .filter_map(|f| Some((f.content_type.clone(), f.event().unwrap()?)))
        .filter(|(_, e)| e.subclass() == Some("test::payment") && e.body.is_some())
        .collect();
    assert_eq!(custom.len(), 2);
    for (ct, e) in &custom {
        assert_eq!(e.body.as_deref(), Some(body), "{ct}");
        // The sender's own Content-Length header stays; the serializer's is gone.
        assert_eq!(
            e.headers.get_all("Content-Length").collect::<Vec<_>>(),
            ["56"]
        );
        assert_eq!(e.get("Content-Type"), Some("text/plain"));
        assert_eq!(e.get("Command"), Some("sendevent CUSTOM"));
    }
    assert_eq!(custom[0].0, ContentType::EventPlain);
    assert_eq!(
        custom[0].1.get("Event-Date-Local"),
        Some("2026-11-25 12:44:38")
    );
    assert_eq!(custom[1].0, ContentType::EventJson);
    let notify = events(&frames)
        .into_iter()
        .find(|e| e.name() == Some("NOTIFY"))
        .expect("NOTIFY");
    assert_eq!(notify.get("X-Text"), Some("100% done & ok"));
    assert_eq!(notify.body, None);
    let long = find(&frames, |f| {
        f.content_type == ContentType::ApiResponse
            && f.body.as_ref().is_some_and(|b| b.len() > 39000)
    });
    assert_eq!(long.headers.get("Content-Length"), Some("39063"));
    let log = find(&frames, |f| f.content_type == ContentType::LogData);
    assert_eq!(log.headers.get("Log-Level"), Some("5"));
    assert_eq!(log.headers.get("User-Data"), Some(""));
}

#[test]
fn xml_event_values_are_decoded() {
    let events = events(&frames(&raw_fixture("inbound-events-xml.raw")));
    let bg = events
        .iter()
        .find(|e| e.name() == Some("BACKGROUND_JOB"))
        .unwrap();
    assert_eq!(bg.get("Event-Date-Local"), Some("2026-11-25 12:44:32"));
    assert_eq!(bg.get("FreeSWITCH-IPv6"), Some("fd00::2"));
    assert_eq!(
        bg.body.as_deref(),
        Some(&b"FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"[..])
    );
    let arr = events
        .iter()
        .find_map(|e| e.get("variable_DP_MATCH"))
        .expect("an array header");
    assert_eq!(arr, "ARRAY::customer|:customer");
}

#[test]
fn outbound_connect_reply_is_a_decoded_channel_data_event() {
    let frames = frames(&raw_fixture("outbound-full-session.raw"));
    let connect = &frames[0];
    assert_eq!(connect.content_type, ContentType::CommandReply);
    assert_eq!(
        connect.reply_text(),
        Some("%2BOK%0A"),
        "frame headers stay verbatim"
    );
    let e = connect.event().unwrap().expect("connect reply event");
    assert_eq!(e.name(), Some("CHANNEL_DATA"));
    assert_eq!(e.get("Reply-Text"), Some("+OK\n"));
    assert_eq!(e.unique_id(), Some("ed4fa17f-825e-4a7b-a5f1-e0abbc83225d"));
    assert_eq!(e.get("Socket-Mode"), Some("async"));
    assert_eq!(e.get("Control"), Some("full"));
    assert_eq!(e.get("variable_DP_MATCH"), Some("ARRAY::socket|:socket"));
    assert_eq!(frames[1].reply_text(), Some("+OK Events Enabled"));
    assert_eq!(frames[1].event().unwrap(), None);
}

#[test]
fn api_response_bodies_without_trailing_newline() {
    let frames = frames(&raw_fixture("inbound-call-control.raw"));
    let bodies: Vec<&[u8]> = frames
        .iter()
        .filter(|f| f.content_type == ContentType::ApiResponse)
        .filter_map(|f| f.body.as_deref())
        .collect();
    assert!(bodies.contains(&&b"true"[..]));
    assert!(bodies.contains(&&b"false"[..]));
}

#[test]
fn disconnect_notices() {
    let frames = frames(&raw_fixture("outbound-full-session.raw"));
    let notices: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.content_type == ContentType::DisconnectNotice)
        .collect();
    assert_eq!(notices.len(), 2);
    let linger = notices[0];
    assert_eq!(linger.headers.get("Content-Disposition"), Some("linger"));
    assert_eq!(linger.headers.get("Linger-Time"), Some("-1"));
    assert_eq!(
        linger.headers.get("Channel-Name"),
        Some("loopback/socket-b")
    );
    assert_eq!(
        linger.headers.get("Controlled-Session-UUID"),
        Some("ed4fa17f-825e-4a7b-a5f1-e0abbc83225d")
    );
    assert_eq!(linger.body.as_deref(), Some(&b""[..]));
    let bye = notices[1];
    assert_eq!(bye.headers.get("Content-Disposition"), Some("disconnect"));
    assert_eq!(
        bye.body.as_deref(),
        Some(&b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"[..])
    );
    let wrong = frames_of("inbound-auth-wrong-password.raw");
    assert_eq!(wrong[1].reply_text(), Some("-ERR invalid"));
    assert_eq!(wrong[2].content_type, ContentType::DisconnectNotice);
    assert_eq!(wrong[2].headers.get("Content-Length"), Some("67"));
}

fn frames_of(name: &str) -> Vec<Frame> {
    frames(&raw_fixture(name))
}

#[test]
fn oversized_content_length_is_rejected_without_allocating() {
    let head = b"Content-Type: api/response\nContent-Length: 1073741824\n\n";
    let mut codec = EslCodec::new(1024);
    let mut buf = BytesMut::from(&head[..]);
    let cap_before = buf.capacity();
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::FrameTooLarge {
                content_length: 1073741824,
                limit: 1024,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(buf.capacity(), cap_before);
    assert!(buf.capacity() < 1024);
    assert_eq!(
        err.to_string(),
        "ESL frame of 55+1073741824 bytes exceeds the frame cap of 1024 bytes"
    );
    // Under the cap, the decoder reserves room for the announced body exactly once.
    let mut codec = EslCodec::new(1024);
    let mut buf = BytesMut::from(&b"Content-Type: api/response\nContent-Length: 500\n\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 548);
}

#[test]
fn header_block_without_end_is_capped() {
    let mut codec = EslCodec::new(64);
    let mut buf = BytesMut::from(&[b'A'; 65][..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(WireError::HeaderTooLarge { limit: 64 })
    ));
}

#[test]
fn crlf_frames_decode() {
    let data = b"Content-Type: auth/request\r\n\r\nContent-Type: api/response\r\nContent-Length: 4\r\n\r\ntrueContent-Type: command/reply\r\nReply-Text: +OK accepted\r\n\r\n";
    let frames = frames(data);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].content_type, ContentType::AuthRequest);
    assert_eq!(frames[1].body.as_deref(), Some(&b"true"[..]));
    assert_eq!(frames[2].reply_text(), Some("+OK accepted"));
}

#[test]
fn garbage_is_a_typed_error_not_a_panic() {
    for (garbage, check) in [
        (
            &b"hello world\n\n"[..],
            (|e: &WireError| matches!(e, WireError::MalformedHeaderLine { line: 1 }))
                as fn(&WireError) -> bool,
        ),
        (b"Reply-Text: +OK\n\n", |e| {
            matches!(e, WireError::MissingContentType)
        }),
        (b"Content-Type: api/response\nContent-Length: -5\n\n", |e| {
            matches!(e, WireError::InvalidContentLength { line: 2 })
        }),
        (
            b"Content-Type: api/response\nContent-Length: 12abc\n\n",
            |e| matches!(e, WireError::InvalidContentLength { line: 2 }),
        ),
        (
            b"Content-Type: api/response\nContent-Length: 99999999999999999999999\n\n",
            |e| matches!(e, WireError::InvalidContentLength { line: 2 }),
        ),
        (b"\x00\xff\xfe\n\n", |e| {
            matches!(e, WireError::MalformedHeaderLine { line: 1 })
        }),
        (b"\n\n", |e| matches!(e, WireError::MissingContentType)),
    ] {
        let err = decode_whole(garbage).unwrap_err();
        assert!(check(&err), "{garbage:?}: {err}");
    }
    // An event frame whose event text is garbage: the frame decodes, its event is an error.
    let f = &frames(b"Content-Length: 7\nContent-Type: text/event-json\n\n{\"A\":1}")[0];
    assert!(matches!(f.event(), Err(WireError::MalformedEvent { .. })));
}

#[test]
fn truncated_input_is_none_then_an_error_at_eof() {
    let data = raw_fixture("inbound-auth-and-api.raw");
    let whole = decode_whole(&data).unwrap();
    let (_, third) = &whole[2];
    let cut = third.start + (third.end - third.start) / 2;
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::from(&data[..cut]);
    assert!(codec.decode(&mut buf).unwrap().is_some());
    assert!(codec.decode(&mut buf).unwrap().is_some());
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    match codec.decode_eof(&mut buf) {
        Err(WireError::Truncated { buffered }) => assert_eq!(buffered, cut - third.start),
        other => panic!("expected Truncated, got {other:?}"),
    }
}
