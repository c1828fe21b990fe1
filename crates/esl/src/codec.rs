//! [`EslCodec`]: a `tokio_util::codec::Decoder` of FreeSWITCH→controller frames, gluing the
//! [`Splitter`] (where does the frame end?) to the parser (what does it say?).
//!
//! The body is split off the read buffer as `Bytes` (no copy), except for a frame that may carry a
//! DTMF digit: that one is copied out and its bytes in the read buffer zeroized ([`scrub`]). A frame over the size cap, or any
//! malformed frame, is one [`WireError`]; the connection should then be dropped, since the stream can
//! no longer be trusted to be in sync. The encoder side (`Encoder<&Command>`) lives with the commands.

use super::error::WireError;
use super::frame::Frame;
use super::parser::parse_frame_shared;
use super::scrub;
use super::splitter::Splitter;
use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// The default frame cap: 16 MiB, FreeSWITCH's own cap on bodies it reads.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Decodes ESL frames from a byte stream.
#[derive(Clone, Debug)]
pub struct EslCodec {
    splitter: Splitter,
}

impl EslCodec {
    /// A codec refusing frames (header block + body) longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> EslCodec {
        EslCodec {
            splitter: Splitter::new(max_frame_bytes),
        }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.splitter.max_frame_bytes()
    }
}

impl Default for EslCodec {
    fn default() -> EslCodec {
        EslCodec::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl Decoder for EslCodec {
    type Item = Frame;
    type Error = WireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, WireError> {
        let Some(bounds) = self.splitter.next_frame(src)? else {
            // The header block is known and under the cap: make room for the rest once.
            if let Some(total) = self.splitter.pending_total() {
                src.reserve(total.saturating_sub(src.len()));
            }
            return Ok(None);
        };
        let mut chunk = src.split_to(bounds.total());
        let mut frame = if scrub::may_hold_digits(&chunk[bounds.header_len..]) {
            scrub::take(&mut chunk)
        } else {
            chunk.freeze()
        };
        let head = frame.split_to(bounds.header_len);
        let body = bounds.body_len.map(|_| frame.split_off(bounds.blank_len));
        parse_frame_shared(&head, body).map(Some)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, WireError> {
        match self.decode(buf)? {
            Some(frame) => Ok(Some(frame)),
            None if buf.is_empty() => Ok(None),
            None => Err(WireError::Truncated {
                buffered: buf.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::ContentType;

    #[test]
    fn decodes_back_to_back_frames() {
        let mut codec = EslCodec::default();
        let mut buf = BytesMut::from(
            &b"Content-Type: api/response\nContent-Length: 5\n\ntrue\n\
               Content-Type: command/reply\nReply-Text: +OK bye\n\n"[..],
        );
        let a = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(a.content_type, ContentType::ApiResponse);
        assert_eq!(a.body.as_deref(), Some(&b"true\n"[..]));
        let b = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(b.reply_text(), Some("+OK bye"));
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(codec.decode_eof(&mut buf).unwrap().is_none());
    }

    #[test]
    fn a_dtmf_event_is_copied_out_of_the_read_buffer_others_are_not() {
        let dtmf = b"Event-Name: DTMF\nDTMF-Digit: 4\n\n";
        let other = b"Event-Name: CHANNEL_ANSWER\n\n";
        let mut wire = Vec::new();
        for body in [&dtmf[..], &other[..]] {
            wire.extend_from_slice(
                format!(
                    "Content-Length: {}\nContent-Type: text/event-plain\n\n",
                    body.len()
                )
                .as_bytes(),
            );
            wire.extend_from_slice(body);
        }
        let mut buf = BytesMut::from(&wire[..]);
        let (lo, hi) = (buf.as_ptr() as usize, buf.as_ptr() as usize + buf.len());
        let inside = |b: &bytes::Bytes| (lo..hi).contains(&(b.as_ptr() as usize));
        let mut codec = EslCodec::default();
        let a = codec.decode(&mut buf).unwrap().unwrap();
        let b = codec.decode(&mut buf).unwrap().unwrap();
        let (a_body, b_body) = (a.body.clone().unwrap(), b.body.clone().unwrap());
        assert_eq!(&a_body[..], &dtmf[..]);
        assert!(
            !inside(&a_body),
            "the DTMF frame must not share the read buffer"
        );
        let ev = a.event().unwrap().expect("an event");
        assert_eq!(ev.get("DTMF-Digit"), Some("4"));
        assert!(inside(&b_body), "other frames stay zero-copy");
    }

    #[test]
    fn truncated_stream_is_none_then_error_at_eof() {
        let mut codec = EslCodec::default();
        let mut buf = BytesMut::from(&b"Content-Type: api/response\nContent-Length: 5\n\ntr"[..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        assert!(matches!(
            codec.decode_eof(&mut buf),
            Err(WireError::Truncated { buffered: 48 })
        ));
    }
}
