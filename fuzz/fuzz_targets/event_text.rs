//! libFuzzer target: arbitrary bytes as the text of an event frame, `Frame::event()` must return
//! `Ok` or a typed error. The format follows the text's first byte as FreeSWITCH's would: `{` json,
//! `<` xml, anything else plain. Seeds: the event texts of the recordings.
#![no_main]

use bytes::Bytes;
use confpay::esl::{ContentType, Frame, Headers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let content_type = match data.first() {
        Some(b'{') => ContentType::EventJson,
        Some(b'<') => ContentType::EventXml,
        _ => ContentType::EventPlain,
    };
    let frame = Frame {
        content_type,
        headers: Headers::new(),
        body: Some(Bytes::copy_from_slice(data)),
    };
    if let Ok(Some(event)) = frame.event() {
        // Whatever decoded is well-formed: every header can be looked up by its own name.
        for (name, _) in event.headers.iter() {
            assert!(event.get(name).is_some());
        }
    }
});
