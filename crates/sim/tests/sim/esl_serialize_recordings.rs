//! The simulator's event serializers against every event FreeSWITCH sent in the recordings: each
//! recorded event is decoded, re-serialized by `confpay_sim::esl`, and must come out byte-identical
//! (plain, json and xml), including the frame's own two headers.

use bytes::Bytes;
use confpay_esl::EventFormat;
use confpay_esl::url::url_decode;
use confpay_esl::{Event, Headers};
use confpay_sim::esl::frames::event_frame;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl"
);

/// Splits a `.raw` stream into (header block, body) frames.
fn frames(raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let end = raw[i..]
            .windows(2)
            .position(|w| w == b"\n\n")
            .expect("header end")
            + i;
        let head = String::from_utf8(raw[i..end].to_vec()).expect("utf8 headers");
        let clen = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map(|v| v.parse::<usize>().expect("number"))
            .unwrap_or(0);
        out.push((head, raw[end + 2..end + 2 + clen].to_vec()));
        i = end + 2 + clen;
    }
    out
}

fn decode_plain(text: &[u8]) -> Event {
    let end = text.windows(2).position(|w| w == b"\n\n").expect("end");
    let head = std::str::from_utf8(&text[..end]).expect("utf8");
    let mut headers = Headers::new();
    let mut body = None;
    let lines: Vec<&str> = head.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let (n, v) = line.split_once(": ").expect("colon");
        if i == lines.len() - 1 && n == "Content-Length" {
            body = Some(Bytes::copy_from_slice(&text[end + 2..]));
            continue;
        }
        let v = if v == "_undef_" {
            String::new()
        } else {
            url_decode(v)
        };
        headers.push(n, &v);
    }
    Event { headers, body }
}

/// A minimal order- and duplicate-preserving reader for FreeSWITCH's flat json events.
fn decode_json(text: &str) -> Event {
    fn string(c: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
        assert_eq!(c.next(), Some('"'));
        let mut s = String::new();
        loop {
            match c.next().expect("eof") {
                '"' => return s,
                '\\' => match c.next().expect("esc") {
                    'n' => s.push('\n'),
                    't' => s.push('\t'),
                    'r' => s.push('\r'),
                    'b' => s.push('\u{8}'),
                    'f' => s.push('\u{c}'),
                    'u' => {
                        let h: String = (0..4).map(|_| c.next().expect("hex")).collect();
                        s.push(
                            char::from_u32(u32::from_str_radix(&h, 16).expect("hex"))
                                .expect("char"),
                        );
                    }
                    other => s.push(other),
                },
                ch => s.push(ch),
            }
        }
    }
    let mut c = text.chars().peekable();
    assert_eq!(c.next(), Some('{'));
    let mut headers = Headers::new();
    let mut body = None;
    loop {
        let k = string(&mut c);
        assert_eq!(c.next(), Some(':'));
        let v = if c.peek() == Some(&'[') {
            c.next();
            let mut parts = Vec::new();
            while c.peek() != Some(&']') {
                parts.push(string(&mut c));
                if c.peek() == Some(&',') {
                    c.next();
                }
            }
            c.next();
            format!("ARRAY::{}", parts.join("|:"))
        } else {
            string(&mut c)
        };
        if k == "_body" {
            body = Some(Bytes::from(v.into_bytes()));
        } else {
            headers.push(&k, &v);
        }
        match c.next() {
            Some(',') => continue,
            Some('}') => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    if body.is_some() {
        // The serializer's own Content-Length is the last header before _body.
        let kept: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        headers = Headers::new();
        for (n, v) in &kept[..kept.len() - 1] {
            headers.push(n, v);
        }
    }
    Event { headers, body }
}

fn decode_xml(text: &str) -> Event {
    let mut headers = Headers::new();
    let mut body = None;
    let inner = text.split("<headers>\n").nth(1).expect("headers");
    let (hdrs, rest) = inner.split_once("  </headers>\n").expect("end headers");
    for line in hdrs.lines() {
        let line = line.trim_start();
        let name_end = line.find('>').expect(">");
        let name = &line[1..name_end];
        let value = &line[name_end + 1..line.len() - name.len() - 3];
        headers.push(name, &url_decode(value));
    }
    if let Some(b) = rest.split_once("<body>") {
        let raw = b.1.rsplit_once("</body>").expect("body end").0;
        let raw = raw
            .strip_suffix("  ")
            .filter(|r| r.ends_with('\n'))
            .unwrap_or(raw);
        let un = raw
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        body = Some(Bytes::from(un.into_bytes()));
    }
    Event { headers, body }
}

fn check_file(name: &str) -> usize {
    let raw = std::fs::read(format!("{DIR}/{name}")).expect("fixture");
    let mut checked = 0;
    for (head, body) in frames(&raw) {
        let mut whole = head.clone().into_bytes();
        whole.extend_from_slice(b"\n\n");
        whole.extend_from_slice(&body);
        let (event, format) = if head.ends_with("Content-Type: text/event-plain") {
            (decode_plain(&body), EventFormat::Plain)
        } else if head.ends_with("Content-Type: text/event-json") {
            (
                decode_json(std::str::from_utf8(&body).expect("utf8")),
                EventFormat::Json,
            )
        } else if head.ends_with("Content-Type: text/event-xml") {
            (
                decode_xml(std::str::from_utf8(&body).expect("utf8")),
                EventFormat::Xml,
            )
        } else {
            continue;
        };
        let again = event_frame(&event, format);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&whole),
            "{name}: event {:?} differs",
            event.name()
        );
        checked += 1;
    }
    checked
}

#[test]
fn plain_events_reserialize_byte_identical() {
    let mut n = 0;
    for f in [
        "inbound-auth-and-api.raw",
        "inbound-call-control.raw",
        "inbound-conference-control.raw",
        "inbound-events-plain-all.raw",
        "inbound-sip-hold.raw",
        "inbound-large-and-edge-frames.raw",
        "outbound-full-session.raw",
        "outbound-full-session-observer.raw",
        "outbound-abrupt-close-resume-observer.raw",
        "outbound-unknown-app.raw",
    ] {
        n += check_file(f);
    }
    assert!(n > 300, "only {n} plain events checked");
}

#[test]
fn json_events_reserialize_byte_identical() {
    assert!(check_file("inbound-events-json-all.raw") > 20);
}

#[test]
fn xml_events_reserialize_byte_identical() {
    assert!(check_file("inbound-events-xml.raw") > 8);
}

#[test]
fn outbound_connect_reply_reserializes_byte_identical() {
    use confpay_sim::esl::frames::connect_reply;
    for f in [
        "outbound-full-session.raw",
        "outbound-unknown-app.raw",
        "outbound-abrupt-close.raw",
    ] {
        let raw = std::fs::read(format!("{DIR}/{f}")).expect("fixture");
        let end = raw.windows(2).position(|w| w == b"\n\n").expect("end");
        let mut text = raw[..end + 2].to_vec();
        let ev = decode_plain(&text);
        let names: Vec<&str> = ev.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(
            &names[names.len() - 4..],
            ["Content-Type", "Reply-Text", "Socket-Mode", "Control"]
        );
        let kept: Headers = ev.headers.iter().take(names.len() - 4).collect();
        assert!(kept.len() > 100, "{f}: {} channel headers", kept.len());
        let again = connect_reply(
            &Event {
                headers: kept,
                body: None,
            },
            true,
            true,
        );
        text.truncate(end + 2);
        assert_eq!(
            String::from_utf8_lossy(&again),
            String::from_utf8_lossy(&text),
            "{f}"
        );
    }
}
