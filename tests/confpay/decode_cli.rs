//! `confpay::decode::run`, the engine of `confpayd decode [FILE]`.

use crate::recordings::{frames, raw_fixture, raw_fixtures};
use confpay::decode::run;

fn decode(input: &[u8]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = run(input, &mut out, &mut err);
    (
        status,
        String::from_utf8(out).expect("utf-8 output"),
        String::from_utf8(err).expect("utf-8 errors"),
    )
}

#[test]
fn wrong_password_transcript_prints_exact_lines() {
    let (status, out, err) = decode(&raw_fixture("inbound-auth-wrong-password.raw"));
    assert_eq!(status, 0);
    assert_eq!(err, "");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"body":null,"content_type":"auth/request","headers":{"Content-Type":"auth/request"}}"#,
            r#"{"body":null,"content_type":"command/reply","headers":{"Content-Type":"command/reply","Reply-Text":"-ERR invalid"}}"#,
            r#"{"body":"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n","content_type":"text/disconnect-notice","headers":{"Content-Type":"text/disconnect-notice"}}"#,
        ]
    );
}

#[test]
fn every_fixture_prints_one_line_per_frame() {
    for (name, data) in raw_fixtures() {
        let (status, out, err) = decode(&data);
        assert_eq!((status, err.as_str()), (0, ""), "{name}");
        assert_eq!(out.lines().count(), frames(&data).len(), "{name}");
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("json line");
            assert!(
                v["content_type"].is_string() && v["headers"].is_object(),
                "{name}"
            );
        }
    }
}

#[test]
fn same_event_as_plain_json_xml_prints_identical_lines() {
    // Real recorded events (one with a nested body and its sender's own Content-Length, one with an
    // ARRAY header), re-serialized the three ways FreeSWITCH serializes events.
    let mut picked = Vec::new();
    for name in [
        "inbound-large-and-edge-frames.raw",
        "inbound-events-xml.raw",
    ] {
        for f in frames(&raw_fixture(name)) {
            if let Some(e) = f.event().unwrap().filter(|_| f.content_type.is_event()) {
                let wanted = (e.subclass() == Some("test::payment") && e.body.is_some())
                    || e.get("variable_DP_MATCH").is_some()
                    || e.name() == Some("BACKGROUND_JOB");
                if wanted {
                    picked.push(e);
                }
            }
        }
    }
    assert!(picked.len() >= 4, "{}", picked.len());
    for event in picked {
        let mut stream = crate::recordings::to_plain_frame(&event);
        stream.extend(crate::recordings::to_json_frame(&event));
        stream.extend(crate::recordings::to_xml_frame(&event));
        let (status, out, _) = decode(&stream);
        assert_eq!(status, 0);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], lines[1], "plain vs json");
        assert_eq!(lines[0], lines[2], "plain vs xml");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["content_type"], "text/event-plain");
        assert!(v["headers"].get("Event-Name").is_some());
    }
}

#[test]
fn recorded_events_print_decoded_headers_and_inner_body() {
    let (status, out, _) = decode(&raw_fixture("inbound-large-and-edge-frames.raw"));
    assert_eq!(status, 0);
    let custom: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["headers"]["Event-Subclass"] == "test::payment" && !v["body"].is_null())
        .collect();
    assert_eq!(custom.len(), 2, "the plain and the json recording");
    for v in &custom {
        assert_eq!(v["content_type"], "text/event-plain");
        assert_eq!(
            v["body"],
            "line one of body\nline two: with colon\n\nafter blank line\n"
        );
        assert_eq!(
            v["headers"]["Content-Length"], "56",
            "the sender's own header"
        );
        assert_eq!(v["headers"]["X-Card-Token"], "tok_12345");
    }
    assert_eq!(
        custom[0]["headers"]["Event-Date-Local"],
        "2026-11-25 12:44:38"
    );
    assert_eq!(
        custom[1]["headers"]["Event-Date-Local"],
        "2026-11-25 12:44:41"
    );
}

#[test]
fn connect_reply_prints_percent_decoded() {
    let (status, out, _) = decode(&raw_fixture("outbound-full-session.raw"));
    assert_eq!(status, 0);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["content_type"], "command/reply");
    assert_eq!(first["headers"]["Reply-Text"], "+OK\n");
    assert_eq!(first["headers"]["Event-Name"], "CHANNEL_DATA");
    assert_eq!(first["headers"]["Event-Date-Local"], "2026-11-25 12:42:54");
    assert_eq!(first["body"], serde_json::Value::Null);
}

#[test]
fn duplicate_headers_last_wins_and_bad_utf8_is_replaced() {
    let input = b"Content-Type: log/data\nX-Dup: first\nX-Dup: second\nContent-Length: 3\n\na\xffb";
    let (status, out, _) = decode(input);
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "{\"body\":\"a\u{fffd}b\",\"content_type\":\"log/data\",\"headers\":{\"Content-Type\":\"log/data\",\"X-Dup\":\"second\"}}\n"
    );
}

#[test]
fn malformed_stream_prints_frames_before_the_fault_then_one_error() {
    let mut input = raw_fixture("inbound-auth-wrong-password.raw");
    input.truncate(83); // auth/request + -ERR invalid reply
    input.extend_from_slice(b"this is not a header\n\n");
    let (status, out, err) = decode(&input);
    assert_eq!(status, 1);
    assert_eq!(out.lines().count(), 2);
    assert_eq!(
        err,
        "confpayd decode: ESL header line 1 is not `Name: value`\n"
    );
}

#[test]
fn truncated_stream_and_bad_event_exit_1() {
    let (status, out, err) = decode(b"Content-Type: api/response\nContent-Length: 10\n\nabc");
    assert_eq!((status, out.as_str()), (1, ""));
    assert!(err.contains("ended inside a frame"), "{err}");
    let secret = b"Content-Length: 17\nContent-Type: text/event-json\n\n{\"DTMF-Digit\":\"4\"";
    let (status, _, err) = decode(secret);
    assert_eq!(status, 1);
    assert_eq!(err.lines().count(), 1);
    // Position only: no header name or value from the event.
    assert_eq!(
        err,
        "confpayd decode: malformed text/event-json event: invalid JSON (unexpected end) at line 1 column 17\n"
    );
}
