//! libFuzzer target: an arbitrary FreeSWITCH→controller byte stream through `EslCodec`, in chunks,
//! then `Frame::event()` on every frame. The input is the stream itself (so the recordings are
//! seeds as they are); the frame cap and the chunk size are derived from its first byte and length.
//! Checks the same bounds as the property tests: never more than the cap pending while waiting for
//! input, the read buffer never past 4x (cap + one read), no byte lost, no panic.
#![no_main]

use bytes::BytesMut;
use confpay::esl::EslCodec;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

const CAPS: [usize; 4] = [64, 4096, 1 << 20, 16 << 20];

fuzz_target!(|data: &[u8]| {
    let sel = usize::from(data.first().copied().unwrap_or(0)) ^ data.len();
    let cap = CAPS[sel % CAPS.len()];
    let chunk = 1 + (sel / 4) % 4096;
    // As `crates/esl/tests/esl/wire_generators/feed.rs::capacity_bound`: BytesMut's doubling over consumed bytes.
    let bound = 4 * (cap + chunk) + 64;
    let mut codec = EslCodec::new(cap);
    let mut buf = BytesMut::new();
    let mut consumed = 0;
    let mut fed = 0;
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let before = buf.len();
            let step = codec.decode(&mut buf);
            assert!(
                buf.capacity() <= bound,
                "capacity {} > {bound}",
                buf.capacity()
            );
            match step {
                Ok(Some(frame)) => {
                    consumed += before - buf.len();
                    let _ = frame.event();
                }
                Ok(None) => {
                    assert!(buf.len() <= cap, "{} pending over cap {cap}", buf.len());
                    assert_eq!(consumed + buf.len(), fed, "bytes lost");
                    break;
                }
                Err(_) => return,
            }
        }
    }
    while let Ok(Some(frame)) = codec.decode_eof(&mut buf) {
        let _ = frame.event();
    }
});
