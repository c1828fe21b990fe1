//! [`EslCodec`]: a `tokio_util::codec::Decoder` of FreeSWITCH→controller frames, gluing the
//! [`Splitter`] (where does the frame end?) to the parser (what does it say?).
//!
//! The body is split off the read buffer as `Bytes` (no copy). A frame over the size cap, or any
//! malformed frame, is one [`WireError`]; the connection should then be dropped, since the stream can
//! no longer be trusted to be in sync. The encoder side (`Encoder<&Command>`) lives with the commands.

use super::error::WireError;
use super::frame::Frame;
use super::parser::parse_frame;
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
        let mut frame = src.split_to(bounds.total()).freeze();
        let head = frame.split_to(bounds.header_len);
        let body = bounds.body_len.map(|_| frame.split_off(bounds.blank_len));
        parse_frame(&head, body).map(Some)
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
    use crate::esl::frame::ContentType;

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
