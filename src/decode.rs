//! `confpayd decode [FILE]`: an operator's aid that turns a raw FreeSWITCH→controller ESL byte stream
//! (a capture, a `.raw` fixture) into one JSON object per frame, one per line, keys sorted:
//!
//! ```json
//! {"body":"+OK\n","content_type":"api/response","headers":{"Content-Type":"api/response"}}
//! ```
//!
//! - **Events** (`text/event-plain`, `text/event-json`, `text/event-xml`) print the *event* as a
//!   controller understands it ([`crate::esl::Frame::event`]): `headers` are the event's decoded headers
//!   (percent-decoded for plain and xml, the members other than `_body` for json, `ARRAY::a|:b` for
//!   multi-value headers, `_undef_` as `""`), without the serializer's own `Content-Length`; `body` is
//!   the event's inner body or `null`. `content_type` is always `"text/event-plain"`, the canonical
//!   form of an event, whatever the wire format: so the same event recorded as plain, json or xml
//!   prints the very same line.
//! - **The outbound `connect` reply** (a `command/reply` carrying channel data) prints its headers
//!   percent-decoded the same way (`"Reply-Text":"+OK\n"`), `content_type` `"command/reply"`.
//! - **Every other frame** prints its own headers as sent, without `Content-Length`, and its body.
//! - A header name that occurs more than once: the **last** value wins (as any JSON object parser
//!   would treat the json form's duplicate members).
//! - Invalid UTF-8 becomes U+FFFD.
//! - A malformed or truncated stream prints the frames before the fault, then one error line on
//!   stderr, and `run` returns exit status 1 (never a panic). A clean stream returns 0.

use crate::esl::{EslCodec, Frame, WireError};
use bytes::BytesMut;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use tokio_util::codec::Decoder;

/// The `content_type` printed for every event frame.
pub const EVENT_CONTENT_TYPE: &str = "text/event-plain";

/// Decodes `input` to completion, printing one JSON line per frame to `out` and any error to `err`.
/// Returns the process exit status: 0 for a clean stream, 1 on a malformed stream or an I/O error.
pub fn run(input: impl Read, out: impl Write, mut err: impl Write) -> i32 {
    let mut out = std::io::BufWriter::new(out);
    let result = decode_stream(input, &mut out).and_then(|()| out.flush().map_err(Fault::Output));
    match result {
        Ok(()) => 0,
        Err(fault) => {
            // Whatever was decoded before the fault is printed first.
            let _ = out.flush();
            let _ = writeln!(err, "confpayd decode: {fault}");
            1
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum Fault {
    #[error("{0}")]
    Wire(#[from] WireError),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
}

fn decode_stream(mut input: impl Read, out: &mut impl Write) -> Result<(), Fault> {
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(WireError::Io(e).into()),
        };
        if n == 0 {
            while let Some(frame) = codec.decode_eof(&mut buf)? {
                print_frame(&frame, out)?;
            }
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(frame) = codec.decode(&mut buf)? {
            print_frame(&frame, out)?;
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    body: Option<Cow<'a, str>>,
    content_type: &'a str,
    headers: BTreeMap<&'a str, &'a str>,
}

fn print_frame(frame: &Frame, out: &mut impl Write) -> Result<(), Fault> {
    let event = frame.event()?;
    let line = match &event {
        Some(event) => Line {
            body: event.body_text(),
            content_type: if frame.content_type.is_event() {
                EVENT_CONTENT_TYPE
            } else {
                frame.content_type.as_str()
            },
            headers: event.headers.iter().collect(),
        },
        None => Line {
            body: frame.body_text(),
            content_type: frame.content_type.as_str(),
            headers: frame
                .headers
                .iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("Content-Length"))
                .collect(),
        },
    };
    serde_json::to_writer(&mut *out, &line).map_err(|e| Fault::Output(e.into()))?;
    out.write_all(b"\n").map_err(Fault::Output)
}
