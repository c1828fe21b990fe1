//! Property tests of `confpay::decode::run` (`confpayd decode`): on any input it returns 0 or 1, never
//! panics; stdout is one JSON object per decoded frame; a valid stream gives exit 0 and exactly one
//! line per frame; a broken one gives exit 1 and exactly one stderr line, which never repeats a
//! header value or body (a card digit must not reach a terminal). 256 cases; `PROPTEST_CASES=N`.

use crate::event_generators as arb;
use proptest::prelude::*;

/// Runs the decode tool on `input`; returns (status, stdout lines as JSON, stderr).
fn decode(input: &[u8]) -> (i32, Vec<serde_json::Value>, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = confpay::decode::run(input, &mut out, &mut err);
    let lines = String::from_utf8(out)
        .expect("stdout is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    (
        status,
        lines,
        String::from_utf8(err).expect("stderr is UTF-8"),
    )
}

fn is_frame_line(v: &serde_json::Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    o.len() == 3
        && o.get("content_type")
            .is_some_and(serde_json::Value::is_string)
        && o.get("headers").is_some_and(serde_json::Value::is_object)
        && o.get("body").is_some_and(|b| b.is_string() || b.is_null())
}

proptest! {
    #[test]
    fn any_input_gives_status_0_or_1_and_json_lines(data in prop::collection::vec(any::<u8>(), 0..1024)) {
        let (status, lines, err) = decode(&data);
        prop_assert!(status == 0 || status == 1);
        prop_assert!(lines.iter().all(is_frame_line));
        match status {
            0 => prop_assert!(err.is_empty()),
            _ => {
                prop_assert_eq!(err.lines().count(), 1, "{}", err);
                prop_assert!(err.starts_with("confpayd decode: "), "{}", err);
            }
        }
    }

    #[test]
    fn a_valid_stream_gives_one_line_per_frame((data, ends) in arb::stream()) {
        let (status, lines, err) = decode(&data);
        prop_assert_eq!(status, 0, "{}", err);
        prop_assert_eq!(lines.len(), ends.len());
        prop_assert!(lines.iter().all(is_frame_line));
    }

    /// A stream carrying a card-number-like secret in header values and bodies, cut or corrupted:
    /// whatever the error, stderr never contains the secret.
    #[test]
    fn errors_never_repeat_values(
        secret in "[0-9]{13,19}",
        wire in arb::wire(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut headers = confpay::esl::Headers::new();
        headers.push("Event-Name", "DTMF");
        headers.push("DTMF-Digit", &secret);
        let event = confpay::esl::Event {
            headers,
            body: Some(bytes::Bytes::from(format!("{secret}\n"))),
        };
        let mut data = arb::event_frame_bytes(&event, wire);
        data.extend_from_slice(format!("Content-Type: api/response\nContent-Length: {}\n\n{secret}", secret.len()).as_bytes());
        let i = at.index(data.len());
        if cut { data.truncate(i) } else { data[i] = byte }
        let (_, _, err) = decode(&data);
        prop_assert!(!err.contains(&secret), "stderr repeats the secret: {}", err);
    }
}
