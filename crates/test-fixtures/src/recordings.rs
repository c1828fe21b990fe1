//! The FreeSWITCH recordings (`tests/fixtures/freeswitch-esl/` at the repository root), whole-stream decoding, and
//! re-serializers that write an [`Event`] back out the way FreeSWITCH's own serializers do
//! (`switch_event_serialize`, `switch_event_serialize_json_obj`, `switch_event_xmlize` +
//! `switch_xml_toxml`), so one event can be seen in all three wire formats.

use bytes::BytesMut;
use confpay_esl::frame::split_array;
use confpay_esl::url::url_encode;
use confpay_esl::{EslCodec, Event, Frame, WireError};
use std::path::PathBuf;
use tokio_util::codec::Decoder;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/freeswitch-esl"
    ))
}

/// Every `.raw` file in the fixture directory (enumerated, not listed by hand), sorted by name.
pub fn raw_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "raw"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("read fixture"))
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 20,
        "expected the recorded fixtures, found {}",
        files.len()
    );
    files
}

pub fn raw_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).expect("read fixture")
}

/// Decodes a whole stream at once; also returns each frame's byte range.
pub fn decode_whole(data: &[u8]) -> Result<Vec<(Frame, std::ops::Range<usize>)>, WireError> {
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::from(data);
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(frame) = codec.decode_eof(&mut buf)? {
        let end = data.len() - buf.len();
        out.push((frame, start..end));
        start = end;
    }
    Ok(out)
}

/// The frames of fixture `name`.
pub fn frames_of(name: &str) -> Vec<Frame> {
    frames(&raw_fixture(name))
}

/// The events among `frames`.
pub fn events(frames: &[Frame]) -> Vec<Event> {
    frames.iter().filter_map(|f| f.event().unwrap()).collect()
}

pub fn frames(data: &[u8]) -> Vec<Frame> {
    decode_whole(data)
        .expect("fixture decodes")
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

fn frame_bytes(content_type: &str, text: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "Content-Length: {}\nContent-Type: {content_type}\n\n",
        text.len()
    )
    .into_bytes();
    out.extend_from_slice(text);
    out
}

pub fn to_plain_frame(e: &Event) -> Vec<u8> {
    let mut text = Vec::new();
    for (name, value) in e.headers.iter() {
        let enc = url_encode(value);
        let enc = if enc.is_empty() {
            "_undef_".to_owned()
        } else {
            enc
        };
        text.extend_from_slice(format!("{name}: {enc}\n").as_bytes());
    }
    match e.body.as_deref() {
        Some(body) if !body.is_empty() => {
            text.extend_from_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
            text.extend_from_slice(body);
        }
        _ => text.push(b'\n'),
    }
    frame_bytes("text/event-plain", &text)
}

pub fn to_json_frame(e: &Event) -> Vec<u8> {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let mut members = Vec::new();
    for (name, value) in e.headers.iter() {
        let v = if value.starts_with("ARRAY::") {
            let parts: Vec<String> = split_array(value).into_iter().map(q).collect();
            format!("[{}]", parts.join(","))
        } else {
            q(value)
        };
        members.push(format!("{}:{v}", q(name)));
    }
    if let Some(body) = e.body.as_deref() {
        let body = String::from_utf8_lossy(body);
        members.push(format!("\"Content-Length\":\"{}\"", body.len()));
        members.push(format!("\"_body\":{}", q(&body)));
    }
    frame_bytes(
        "text/event-json",
        format!("{{{}}}", members.join(",")).as_bytes(),
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn to_xml_frame(e: &Event) -> Vec<u8> {
    let mut x = String::from("<event>\n  <headers>\n");
    for (name, value) in e.headers.iter() {
        let parts = if value.starts_with("ARRAY::") {
            split_array(value)
        } else {
            vec![value]
        };
        for part in parts {
            x.push_str(&format!(
                "    <{name}>{}</{name}>\n",
                xml_escape(&url_encode(part))
            ));
        }
    }
    x.push_str("  </headers>");
    if let Some(body) = e.body.as_deref().filter(|b| !b.is_empty()) {
        let body = String::from_utf8_lossy(body);
        x.push_str(&format!(
            "\n  <Content-Length>{}</Content-Length>\n  <body>{}",
            body.len(),
            xml_escape(&body)
        ));
        if body.ends_with('\n') {
            x.push_str("  ");
        }
        x.push_str("</body>");
    }
    x.push_str("\n</event>");
    frame_bytes("text/event-xml", x.as_bytes())
}
