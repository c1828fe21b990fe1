//! Event serialization exactly as FreeSWITCH writes it on an event socket:
//! plain (`switch_event_serialize`), json (`switch_event_serialize_json` + cJSON unformatted) and
//! xml (`switch_event_xmlize` + `switch_xml_toxml`).
//!
//! The input is a decoded [`Event`]: header values as FreeSWITCH holds them internally, body raw.
//! Multi-value headers are held as `ARRAY::a|:b` strings (as FreeSWITCH prints them in plain); json
//! turns them back into arrays and xml into one element per value, as FreeSWITCH does.

// The format a connection subscribed with (`event plain|json|xml`), re-exported for the command handlers.
use confpay_esl::Event;
pub use confpay_esl::EventFormat;
use confpay_esl::frame::split_array;
use confpay_esl::url::url_encode;

/// Serializes `event` in `format` (the text that follows the frame's own headers).
pub fn serialize(event: &Event, format: EventFormat) -> Vec<u8> {
    match format {
        EventFormat::Plain => plain(event),
        EventFormat::Json => json(event).into_bytes(),
        EventFormat::Xml => xml(event),
    }
}

/// `switch_event_serialize(event, &s, SWITCH_TRUE)`: `Name: urlencoded\n` per header (`_undef_` for
/// an empty value), then either `Content-Length: n\n\n<body>` or a lone `\n`.
pub fn plain(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048);
    for (name, value) in event.headers.iter() {
        let enc = url_encode(value);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        if enc.is_empty() {
            out.extend_from_slice(b"_undef_");
        } else {
            out.extend_from_slice(enc.as_bytes());
        }
        out.push(b'\n');
    }
    match event.body.as_deref() {
        Some(body) if !body.is_empty() => {
            out.extend_from_slice(format!("Content-Length: {}\n\n", body.len()).as_bytes());
            out.extend_from_slice(body);
        }
        Some(_) | None => out.push(b'\n'),
    }
    out
}

/// cJSON's `print_string_ptr` escaping.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `switch_event_serialize_json`: one compact object, every value a string (arrays for multi-value
/// headers), duplicate names kept, then `"Content-Length"` and `"_body"` when there is a body.
pub fn json(event: &Event) -> String {
    let mut out = String::with_capacity(2048);
    out.push('{');
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !first {
            out.push(',');
        }
        first = false;
    };
    for (name, value) in event.headers.iter() {
        sep(&mut out);
        json_string(&mut out, name);
        out.push(':');
        if value.starts_with("ARRAY::") {
            out.push('[');
            for (i, part) in split_array(value).into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(&mut out, part);
            }
            out.push(']');
        } else {
            json_string(&mut out, value);
        }
    }
    if let Some(body) = event.body.as_deref() {
        let text = String::from_utf8_lossy(body);
        sep(&mut out);
        json_string(&mut out, "Content-Length");
        out.push(':');
        json_string(&mut out, &body.len().to_string());
        sep(&mut out);
        json_string(&mut out, "_body");
        out.push(':');
        json_string(&mut out, &text);
    }
    out.push('}');
    out
}

/// `switch_xml_ampencode(s, 0, …, a = 0)`: text-node escaping, including its quirks (`<!` makes the
/// rest verbatim; UTF-8 sequences become `&#xHEX;`; a stray continuation byte is dropped).
fn amp_encode(out: &mut Vec<u8>, s: &[u8]) {
    let mut immune = false;
    let mut expecting = 0u32;
    let mut code: u32 = 0;
    for (i, &b) in s.iter().enumerate() {
        if immune {
            out.push(b);
            continue;
        }
        match b {
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' if s.get(i + 1) == Some(&b'!') => {
                out.push(b);
                immune = true;
            }
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'\r' => out.extend_from_slice(b"&#xD;"),
            b if b >= 0x80 && expecting == 0 => {
                let mut num = 1;
                while num < 4 && (b >> (7 - num)) & 1 == 1 {
                    num += 1;
                }
                code = match num {
                    2 => u32::from(b & 0x1f),
                    3 => u32::from(b & 0x0f),
                    4 => u32::from(b & 0x07),
                    _ => 0,
                };
                expecting = num - 1;
            }
            b if b >= 0x80 => {
                if (b >> 6) & 0x03 == 0x2 {
                    code = (code << 6) | u32::from(b & 0x3f);
                    expecting -= 1;
                    if expecting == 0 {
                        out.extend_from_slice(format!("&#x{code:X};").as_bytes());
                    }
                } else {
                    expecting = 0;
                }
            }
            b => out.push(b),
        }
    }
}

/// `switch_event_xmlize` rendered by `switch_xml_toxml(xml, SWITCH_FALSE)`.
pub fn xml(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(b"<event>\n  <headers>\n");
    for (name, value) in event.headers.iter() {
        let parts = if value.starts_with("ARRAY::") {
            split_array(value)
        } else {
            vec![value]
        };
        for part in parts {
            out.extend_from_slice(b"    <");
            out.extend_from_slice(name.as_bytes());
            out.push(b'>');
            amp_encode(&mut out, url_encode(part).as_bytes());
            out.extend_from_slice(b"</");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b">\n");
        }
    }
    out.extend_from_slice(b"  </headers>\n");
    if let Some(body) = event.body.as_deref().filter(|b| !b.is_empty()) {
        out.extend_from_slice(
            format!("  <Content-Length>{}</Content-Length>\n", body.len()).as_bytes(),
        );
        out.extend_from_slice(b"  <body>");
        amp_encode(&mut out, body);
        if out.last() == Some(&b'\n') {
            out.extend_from_slice(b"  ");
        }
        out.extend_from_slice(b"</body>\n");
    }
    out.extend_from_slice(b"</event>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use confpay_esl::Headers;

    fn job() -> Event {
        let headers: Headers = [
            ("Event-Name", "BACKGROUND_JOB"),
            ("FreeSWITCH-IPv6", "fd00::2"),
            ("Job-Command", "version"),
        ]
        .into_iter()
        .collect();
        Event {
            headers,
            body: Some(Bytes::from_static(
                b"FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n",
            )),
        }
    }

    #[test]
    fn plain_has_inner_content_length_and_undef() {
        let mut e = job();
        e.headers.push("Empty", "");
        let s = String::from_utf8(plain(&e)).unwrap();
        assert_eq!(
            s,
            "Event-Name: BACKGROUND_JOB\nFreeSWITCH-IPv6: fd00%3A%3A2\nJob-Command: version\nEmpty: _undef_\n\
             Content-Length: 45\n\nFreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"
        );
        e.body = None;
        assert!(
            String::from_utf8(plain(&e))
                .unwrap()
                .ends_with("Empty: _undef_\n\n")
        );
    }

    #[test]
    fn json_is_compact_with_body_last() {
        let s = json(&job());
        assert_eq!(
            s,
            "{\"Event-Name\":\"BACKGROUND_JOB\",\"FreeSWITCH-IPv6\":\"fd00::2\",\"Job-Command\":\"version\",\
             \"Content-Length\":\"45\",\"_body\":\"FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\\n\"}"
        );
        let mut e = job();
        e.headers.push("Arr", "ARRAY::a|:b\"q");
        e.body = None;
        assert!(json(&e).ends_with(",\"Arr\":[\"a\",\"b\\\"q\"]}"));
    }

    #[test]
    fn xml_matches_recorded_layout() {
        let s = String::from_utf8(xml(&job())).unwrap();
        assert_eq!(
            s,
            "<event>\n  <headers>\n    <Event-Name>BACKGROUND_JOB</Event-Name>\n    \
             <FreeSWITCH-IPv6>fd00%3A%3A2</FreeSWITCH-IPv6>\n    <Job-Command>version</Job-Command>\n  \
             </headers>\n  <Content-Length>45</Content-Length>\n  <body>FreeSWITCH Version 1.11.3-dev~64bit \
             ( 64bit)\n  </body>\n</event>\n"
        );
    }

    #[test]
    fn xml_body_is_amp_encoded() {
        let mut out = Vec::new();
        amp_encode(&mut out, "a&b<c>d\"e\ré".as_bytes());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a&amp;b&lt;c&gt;d\"e&#xD;&#xE9;"
        );
    }
}
