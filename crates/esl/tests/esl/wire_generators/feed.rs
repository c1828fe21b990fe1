//! Feeding a byte stream to [`EslCodec`] in chunks, the way `FramedRead` does, while checking the
//! memory bound on every single `decode` call:
//!
//! - when `decode` asks for more input (`Ok(None)`), the codec holds at most `cap` bytes: a header
//!   block or frame that cannot fit must already have been an error;
//! - the read buffer's capacity never exceeds what `cap` plus one read justifies (`capacity_bound`),
//!   so a hostile `Content-Length` cannot make the codec reserve beyond the cap.

use bytes::BytesMut;
use confpay_esl::{EslCodec, Frame, WireError};
use tokio_util::codec::Decoder;

/// What a chunked run produced.
#[derive(Debug)]
pub struct Run {
    pub frames: Vec<Frame>,
    /// The first error; decoding stops there (the connection would be dropped).
    pub error: Option<WireError>,
    /// Bytes consumed by the returned frames.
    pub consumed: usize,
    /// The largest number of bytes left buffered after an `Ok(None)`.
    pub max_pending: usize,
    /// The largest read-buffer capacity seen.
    pub max_capacity: usize,
}

/// The largest capacity a read buffer may reach for frame cap `cap` and reads of at most `read`
/// bytes: the codec holds at most `cap` and reserves at most up to one frame (`cap`), a read appends
/// at most `read`; `BytesMut::reserve` on a buffer with consumed bytes in front asks for
/// `needed + offset` (both under `cap + read`) and rounds up to twice the old capacity, so the
/// capacity stays under `4 * (cap + read)`: linear in the cap, whatever the input says
/// (found by the `codec_stream` fuzz target, where frames are dropped at once and the buffer is
/// reused in place; 2x was too tight).
pub fn capacity_bound(cap: usize, read: usize) -> usize {
    4 * (cap + read) + 64
}

/// Cuts `data` at `cuts` (positions, any order, out-of-range ones ignored) into chunks.
pub fn chunks<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().copied().filter(|&c| c < data.len()).collect();
    at.push(0);
    at.push(data.len());
    at.sort_unstable();
    at.dedup();
    at.windows(2).map(|w| &data[w[0]..w[1]]).collect()
}

/// Decodes `data` cut into chunks at `cuts` with a codec capped at `cap`, then `decode_eof`.
/// Panics (failing the property) if the memory bound is broken.
pub fn run(cap: usize, data: &[u8], cuts: &[usize]) -> Run {
    let pieces = chunks(data, cuts);
    let read = pieces.iter().map(|c| c.len()).max().unwrap_or(0);
    let bound = capacity_bound(cap, read);
    let mut codec = EslCodec::new(cap);
    let mut buf = BytesMut::new();
    let mut out = Run {
        frames: Vec::new(),
        error: None,
        consumed: 0,
        max_pending: 0,
        max_capacity: 0,
    };
    let mut fed = 0;
    for piece in pieces {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let before = buf.len();
            let step = codec.decode(&mut buf);
            out.max_capacity = out.max_capacity.max(buf.capacity());
            assert!(
                buf.capacity() <= bound,
                "capacity {} over bound {bound} (cap {cap}, read {read})",
                buf.capacity()
            );
            match step {
                Ok(Some(frame)) => {
                    out.consumed += before - buf.len();
                    out.frames.push(frame);
                }
                Ok(None) => {
                    assert!(
                        buf.len() <= cap,
                        "{} bytes pending over cap {cap}",
                        buf.len()
                    );
                    assert_eq!(out.consumed + buf.len(), fed, "bytes lost");
                    out.max_pending = out.max_pending.max(buf.len());
                    break;
                }
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            }
        }
    }
    loop {
        let before = buf.len();
        match codec.decode_eof(&mut buf) {
            Ok(Some(frame)) => {
                out.consumed += before - buf.len();
                out.frames.push(frame);
            }
            Ok(None) => {
                assert!(buf.is_empty(), "decode_eof returned None with bytes left");
                return out;
            }
            Err(e) => {
                out.error = Some(e);
                return out;
            }
        }
    }
}

/// Decodes a whole stream in one chunk with the default cap; panics on an error.
pub fn frames(data: &[u8]) -> Vec<Frame> {
    let r = run(confpay_esl::codec::DEFAULT_MAX_FRAME_BYTES, data, &[]);
    if let Some(e) = r.error {
        panic!("valid stream failed to decode: {e}");
    }
    r.frames
}
