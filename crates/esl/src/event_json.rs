//! `text/event-json` → [`Event`]. FreeSWITCH's `switch_event_serialize_json_obj` writes one JSON object:
//! every header as a string member (names may repeat: duplicates are kept, in order), a multi-value
//! header as an array of strings (joined back to `ARRAY::a|:b`, the plain form), and, when the event
//! has a body, `"Content-Length":"<n>"` immediately followed by `"_body":"<body>"`. That final
//! `Content-Length` (the one right before `_body`) is the serializer's and is dropped; `_body` becomes
//! [`Event::body`] (`None` if empty). `_undef_` is `""` as in every format ([`super::url`]).
//!
//! Error reports carry the JSON position only: serde_json's own messages can quote input values.

use super::error::{EventFault, WireError};
use super::event_format::EventFormat;
use super::event_json_flat;
use super::frame::{Event, Headers};
use super::url::UNDEF;
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// Decodes the text of a `text/event-json` frame: FreeSWITCH's flat object through the hand-written
/// reader ([`super::event_json_flat`]), anything it does not handle through serde_json.
///
/// FreeSWITCH copies header and body bytes into the JSON as they are, invalid UTF-8 included (a
/// `sendevent` from another ESL client: recorded). Such a text is read with each invalid sequence
/// as U+FFFD, as every other format is; the structure is ASCII, so nothing else changes.
pub fn parse_json(text: &Bytes) -> Result<Event, WireError> {
    match std::str::from_utf8(text) {
        Ok(str) => parse_str(text, str),
        Err(_) => {
            let lossy = Bytes::from(String::from_utf8_lossy(text).into_owned());
            match std::str::from_utf8(&lossy) {
                Ok(str) => parse_str(&lossy, str),
                Err(_) => parse_with(serde_json::Deserializer::from_slice(&lossy)),
            }
        }
    }
}

fn parse_str(text: &Bytes, str: &str) -> Result<Event, WireError> {
    match event_json_flat::parse_flat(text, str) {
        Some(event) => Ok(event),
        None => parse_with(serde_json::Deserializer::from_str(str)),
    }
}

/// [`parse_json`] through serde_json only (the reference the flat reader is tested against).
#[cfg(test)]
pub(crate) fn parse_json_serde(text: &Bytes) -> Result<Event, WireError> {
    let text = String::from_utf8_lossy(text);
    parse_with(serde_json::Deserializer::from_str(&text))
}

fn parse_with<'de, R: serde_json::de::Read<'de>>(
    mut de: serde_json::Deserializer<R>,
) -> Result<Event, WireError> {
    de.deserialize_map(EventVisitor)
        .and_then(|event| de.end().map(|()| event))
        .map_err(json_fault)
}

fn json_fault(e: serde_json::Error) -> WireError {
    use serde_json::error::Category;
    let fault = match e.classify() {
        Category::Data => EventFault::JsonValueType,
        Category::Io | Category::Syntax | Category::Eof => EventFault::Json {
            category: match e.classify() {
                Category::Io => "i/o",
                Category::Syntax => "syntax",
                Category::Data => "data",
                Category::Eof => "unexpected end",
            },
            line: e.line(),
            column: e.column(),
        },
    };
    WireError::malformed_event(EventFormat::Json, fault)
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a FreeSWITCH event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Event, A::Error> {
        let mut headers = Headers::with_capacity(map.size_hint().unwrap_or(64), 4096);
        let mut body = None;
        // A `Content-Length` member held back until we know whether `_body` follows it.
        let mut held: Option<(Cow<'de, str>, Cow<'de, str>)> = None;
        while let Some(name) = map.next_key_seed(StrSeed)? {
            let name_is_body = name.eq_ignore_ascii_case("_body");
            match held.take() {
                Some(_) if name_is_body => {}
                Some((n, v)) => headers.push(&n, &v),
                None => {}
            }
            if name_is_body {
                let text = map.next_value_seed(StrSeed)?;
                body = (!text.is_empty()).then(|| Bytes::from(text.into_owned()));
            } else if name.eq_ignore_ascii_case("Content-Length") {
                match map.next_value_seed(ValueSeed)? {
                    Value::Str(v) => held = Some((name, v)),
                    Value::Array(v) => headers.push(&name, &v),
                }
            } else {
                match map.next_value_seed(ValueSeed)? {
                    Value::Str(v) => headers.push(&name, undef_to_empty(&v)),
                    Value::Array(v) => headers.push(&name, &v),
                }
            }
        }
        if let Some((n, v)) = held {
            headers.push(&n, &v);
        }
        Ok(Event { headers, body })
    }
}

fn undef_to_empty(v: &str) -> &str {
    if v == UNDEF { "" } else { v }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct StrSeed;

impl<'de> DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A header's value: a string, or an array of strings already joined as `ARRAY::a|:b`.
enum Value<'de> {
    Str(Cow<'de, str>),
    Array(String),
}

struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut joined = String::from("ARRAY::");
        let mut first = true;
        while let Some(item) = seq.next_element_seed(StrSeed)? {
            if !first {
                joined.push_str("|:");
            }
            joined.push_str(&item);
            first = false;
        }
        Ok(Value::Array(joined))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &'static str) -> Result<Event, WireError> {
        parse_json(&Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn strings_arrays_and_body() {
        let e = json(
            r#"{"Event-Name":"CUSTOM","Content-Length":"56","variable_DP_MATCH":["a","b"],"Empty":"_undef_","Blank":"","Content-Length":"3","_body":"x\ny"}"#,
        )
        .unwrap();
        assert_eq!(e.name(), Some("CUSTOM"));
        assert_eq!(e.get("variable_DP_MATCH"), Some("ARRAY::a|:b"));
        assert_eq!(e.get("Empty"), Some(""));
        assert_eq!(e.get("Blank"), Some(""));
        assert_eq!(
            e.headers.get_all("Content-Length").collect::<Vec<_>>(),
            ["56"]
        );
        assert_eq!(e.body.as_deref(), Some(&b"x\ny"[..]));
    }

    #[test]
    fn empty_body_is_none_and_trailing_length_kept_without_body() {
        let e = json(r#"{"A":"1","Content-Length":"0","_body":""}"#).unwrap();
        assert_eq!(e.body, None);
        assert_eq!(e.headers.len(), 1);
        let e = json(r#"{"A":"1","Content-Length":"7"}"#).unwrap();
        assert_eq!(e.get("Content-Length"), Some("7"));
    }

    #[test]
    fn bad_json_reports_position_only() {
        let err = json(r#"{"DTMF-Digit":5}"#).unwrap_err();
        assert!(matches!(
            err,
            WireError::MalformedEvent {
                fault: EventFault::JsonValueType,
                ..
            }
        ));
        let err = json(r#"{"A":"1""#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed text/event-json event: invalid JSON (unexpected end) at line 1 column 8"
        );
        assert!(json(r#"{"A":"1"} x"#).is_err());
        assert!(json(r#"["A"]"#).is_err());
    }

    /// FreeSWITCH copies another client's bytes into the JSON raw (recorded:
    /// inbound-sendevent-odd-json): each invalid sequence reads as U+FFFD, on both paths.
    #[test]
    fn invalid_utf8_reads_as_replacement_characters() {
        let text = Bytes::from_static(b"{\"A\":\"ok \xff\xfe\",\"_body\":\"b\xc3\"}");
        for e in [parse_json(&text).unwrap(), parse_json_serde(&text).unwrap()] {
            assert_eq!(e.get("A"), Some("ok \u{FFFD}\u{FFFD}"));
            assert_eq!(e.body.as_deref(), Some("b\u{FFFD}".as_bytes()));
        }
    }
}
