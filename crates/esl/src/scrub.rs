//! Frames that may carry a DTMF digit leave no copy behind in the socket's read buffer.
//!
//! A frame's bytes normally stay in the connection's read buffer and the frame's `Bytes` share that
//! allocation (no copy). For a frame that mentions `DTMF-Digit` (a `DTMF` event in plain, json or
//! xml: the one place a customer's digit could reach the daemon, e.g. keyed in the instant between
//! the start key and `sensitive_dtmf` taking effect) the codec instead copies the frame into its own
//! buffer, which is zeroized when the last `Bytes` referring to it is dropped, and zeroizes the
//! frame's bytes in the read buffer at once. The decoded `Event` is zeroized by the driver after
//! handling (`Headers::zeroize`).
//!
//! Not covered: a copy the kernel's socket buffer held, and bytes of an incomplete frame moved when
//! the read buffer grows (its old allocation is freed as is; DTMF frames are ~1–2 KB, far below
//! the buffer's size, so they are rarely split across a growth).

use bytes::{Bytes, BytesMut};
use memchr::memmem::Finder;
use std::sync::LazyLock;
use zeroize::Zeroize;

static MARK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"DTMF-Digit"));

/// Whether this frame's body may hold a DTMF digit.
pub fn may_hold_digits(body: &[u8]) -> bool {
    MARK.find(body).is_some()
}

/// Owns a private copy of a frame; zeroized on drop.
struct Scrubbed(Vec<u8>);

impl AsRef<[u8]> for Scrubbed {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Scrubbed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Copies `chunk` into a private buffer (zeroized when its last `Bytes` is dropped) and zeroizes
/// `chunk` in place.
pub fn take(chunk: &mut BytesMut) -> Bytes {
    let copy = Bytes::from_owner(Scrubbed(chunk.to_vec()));
    chunk.as_mut().zeroize();
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_digit_header_in_every_format() {
        assert!(may_hold_digits(b"Event-Name: DTMF\nDTMF-Digit: 5\n"));
        assert!(may_hold_digits(
            br#"{"Event-Name":"DTMF","DTMF-Digit":"5"}"#
        ));
        assert!(may_hold_digits(b"<DTMF-Digit>5</DTMF-Digit>"));
        assert!(!may_hold_digits(b"Event-Name: CHANNEL_ANSWER\n"));
    }

    #[test]
    fn the_read_buffer_is_zeroed_and_the_copy_is_private() {
        let mut buf = BytesMut::from(&b"DTMF-Digit: 7\n\nnext frame"[..]);
        let mut chunk = buf.split_to(15);
        let start = chunk.as_ptr() as usize;
        let copy = take(&mut chunk);
        assert_eq!(&copy[..], b"DTMF-Digit: 7\n\n");
        assert!(chunk.iter().all(|b| *b == 0), "read buffer still holds it");
        let p = copy.as_ptr() as usize;
        assert!(
            p + copy.len() <= start || p >= start + 15,
            "copy shares the buffer"
        );
        assert_eq!(&buf[..], b"next frame");
    }
}
