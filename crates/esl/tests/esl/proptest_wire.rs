//! Property tests of the frame decoder ([`EslCodec`]) against hostile and broken input: random bytes,
//! frame-shaped garbage, mutated real recordings, random chunking, truncation, wrong / huge /
//! negative / malformed `Content-Length`, CRLF line ends and non-UTF-8 header bytes.
//!
//! Every run goes through `crate::wire_generators::feed::run`, which checks on every `decode` call that the
//! codec never holds more than the frame cap while waiting for input and never lets the read buffer
//! grow past the cap plus one read (see `feed::capacity_bound`): hostile input is an error, not memory.
//! 256 cases per property; `PROPTEST_CASES=N` for more.

use crate::wire_generators::{arb, feed};
use confpay_esl::{ContentType, EslCodec, WireError};
use proptest::prelude::*;
use proptest::sample::select;
use std::sync::OnceLock;

const CAPS: &[usize] = &[1, 16, 64, 300, 4096, 1 << 20];

/// Pieces that frame-shaped garbage is assembled from.
fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        select(vec![
            &b"Content-Length: "[..],
            b"Content-Type: ",
            b"content-length:",
            b"text/event-plain",
            b"text/event-json",
            b"text/event-xml",
            b"command/reply",
            b"api/response",
            b"Event-Name: X",
            b"\n",
            b"\n\n",
            b"\r\n",
            b"\r",
            b": ",
            b"-1",
            b"18446744073709551616",
            b"99999999999999999999999",
            b"<event><headers>",
            b"{\"_body\":",
            b"%",
            b"%0",
            b"\0",
            b"\xff\xfe",
        ])
        .prop_map(<[u8]>::to_vec),
        (0u32..5000).prop_map(|n| n.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(token(), 0..40).prop_map(|t| t.concat())
}

/// Checks what holds for any input: a clean run consumed everything; every decoded frame's event
/// decodes or is a typed error (never a panic).
fn check_any(data: &[u8], run: &feed::Run) {
    if run.error.is_none() {
        assert_eq!(run.consumed, data.len());
    }
    for frame in &run.frames {
        let _ = frame.event();
    }
}

/// The recordings and each one's frame start offsets, decoded once per test binary.
fn recordings() -> &'static [(Vec<u8>, Vec<usize>)] {
    static CELL: OnceLock<Vec<(Vec<u8>, Vec<usize>)>> = OnceLock::new();
    CELL.get_or_init(|| {
        crate::recordings::raw_fixtures()
            .into_iter()
            .map(|(name, data)| {
                let starts = crate::recordings::decode_whole(&data)
                    .unwrap_or_else(|e| panic!("{name}: {e}"))
                    .into_iter()
                    .map(|(_, r)| r.start)
                    .collect();
                (data, starts)
            })
            .collect()
    })
}

/// Up to 8 KiB of a recording, from a frame start, with a few bytes overwritten, inserted or removed.
fn mutated_recording() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        1usize..8192,
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..6),
    )
        .prop_map(|(file, frame, len, edits)| {
            let (data, starts) = &recordings()[file.index(recordings().len())];
            let start = starts[frame.index(starts.len())];
            let mut bytes = data[start..(start + len).min(data.len())].to_vec();
            for (at, kind, byte) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => {
                        bytes.remove(i);
                    }
                }
            }
            bytes
        })
}

proptest! {
    #[test]
    fn random_bytes_never_panic_nor_outgrow_the_cap(
        data in prop::collection::vec(any::<u8>(), 0..2048),
        cap in select(CAPS),
        cuts in arb::cuts(2048),
    ) {
        let run = feed::run(cap, &data, &cuts);
        check_any(&data, &run);
    }

    #[test]
    fn frame_shaped_garbage_never_panics_nor_outgrows_the_cap(
        data in garbage(),
        cap in select(CAPS),
        cuts in arb::cuts(512),
    ) {
        let run = feed::run(cap, &data, &cuts);
        check_any(&data, &run);
    }

    #[test]
    fn mutated_recordings_never_panic_nor_outgrow_the_cap(
        data in mutated_recording(),
        cap in select(&[64usize, 4096, 1 << 20][..]),
        cuts in arb::cuts(8192),
    ) {
        let run = feed::run(cap, &data, &cuts);
        check_any(&data, &run);
    }

    /// Any split of a valid stream yields the same frames as the whole stream, all of them.
    #[test]
    fn any_split_of_a_valid_stream_yields_the_same_frames(
        (data, ends) in arb::stream(),
        cuts in arb::cuts(4096),
        byte_at_a_time in any::<bool>(),
    ) {
        let whole = feed::frames(&data);
        prop_assert_eq!(whole.len(), ends.len());
        let cuts = if byte_at_a_time { (1..data.len()).collect() } else { cuts };
        let split = feed::run(1 << 20, &data, &cuts);
        prop_assert!(split.error.is_none(), "{:?}", split.error);
        prop_assert_eq!(split.frames, whole);
    }

    /// A stream cut short yields exactly the frames that are complete, then `Truncated` naming the
    /// bytes of the partial frame (nothing at all when the cut falls between frames).
    #[test]
    fn truncated_stream_yields_complete_frames_then_truncated(
        (data, ends) in arb::stream(),
        at in any::<prop::sample::Index>(),
        cuts in arb::cuts(4096),
    ) {
        let k = at.index(data.len() + 1);
        let whole = feed::frames(&data);
        let complete = ends.iter().filter(|&&e| e <= k).count();
        let last_end = if complete == 0 { 0 } else { ends[complete - 1] };
        let run = feed::run(1 << 20, &data[..k], &cuts);
        prop_assert_eq!(&run.frames[..], &whole[..complete]);
        match run.error {
            None => prop_assert_eq!(k, last_end),
            Some(WireError::Truncated { buffered }) => prop_assert_eq!(buffered, k - last_end),
            Some(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }

    /// Generated reply frames decode to exactly the frame they were built from.
    #[test]
    fn reply_frames_decode_to_what_was_sent(
        frames in prop::collection::vec(arb::reply_frame(), 1..5),
        cuts in arb::cuts(2048),
    ) {
        let data: Vec<u8> = frames.iter().flat_map(|(b, _)| b.clone()).collect();
        let run = feed::run(1 << 20, &data, &cuts);
        prop_assert!(run.error.is_none(), "{:?}", run.error);
        let expected: Vec<_> = frames.into_iter().map(|(_, f)| f).collect();
        prop_assert_eq!(run.frames, expected);
    }

    /// `\r\n` line ends (on any subset of the header lines, blank line included) decode to the same
    /// frame as `\n`.
    #[test]
    fn crlf_lines_decode_like_lf(
        (bytes, frame) in arb::reply_frame(),
        crlf_mask in any::<u64>(),
    ) {
        let block_end = memchr::memmem::find(&bytes, b"\n\n").expect("header block") + 2;
        let mut crlf = Vec::new();
        for (i, &b) in bytes[..block_end].iter().enumerate() {
            let nth_line = bytes[..i].iter().filter(|&&c| c == b'\n').count();
            if b == b'\n' && crlf_mask & (1 << (nth_line % 64)) != 0 {
                crlf.push(b'\r');
            }
            crlf.push(b);
        }
        crlf.extend_from_slice(&bytes[block_end..]);
        prop_assert_eq!(feed::frames(&crlf), vec![frame]);
    }

    /// Header names and values that are not UTF-8 decode lossily, never fail.
    #[test]
    fn non_utf8_header_bytes_decode_lossily(
        name in prop::collection::vec(any::<u8>().prop_filter("separator", |b| !b":\n\r".contains(b)), 1..12)
            .prop_filter("frame header", |n| !n.to_ascii_lowercase().starts_with(b"content-")),
        value in prop::collection::vec(any::<u8>().prop_filter("line end", |b| *b != b'\n'), 0..40)
            .prop_filter("trailing CR", |v| v.last() != Some(&b'\r')),
    ) {
        let mut data = b"Content-Type: log/data\n".to_vec();
        data.extend_from_slice(&name);
        data.extend_from_slice(b": ");
        data.extend_from_slice(&value);
        data.extend_from_slice(b"\n\n");
        let frames = feed::frames(&data);
        prop_assert_eq!(frames.len(), 1);
        let (n, v) = frames[0].headers.iter().nth(1).expect("second header");
        prop_assert_eq!(n, String::from_utf8_lossy(&name));
        prop_assert_eq!(v, String::from_utf8_lossy(&value));
    }
}

/// The ways a `Content-Length` value can be wrong, with what the decoder must say.
#[derive(Clone, Debug)]
enum BadLength {
    /// Not a plain decimal: sign, hex, blank, spaces, junk, more than 20 digits, over `u64::MAX`.
    Malformed(String),
    /// A well-formed number over the cap.
    Huge(u64),
    /// More than the bytes that follow (the stream ends first).
    TooLong(usize),
    /// Fewer than the body bytes that follow (the rest is read as the next frame).
    TooShort(usize),
}

fn bad_length() -> impl Strategy<Value = BadLength> {
    prop_oneof![
        prop_oneof![
            (1u64..u64::MAX).prop_map(|n| format!("-{n}")),
            (0u64..1000).prop_map(|n| format!("+{n}")),
            (0u64..1000).prop_map(|n| format!("0x{n:x}")),
            (0u64..1000).prop_map(|n| format!(" {n}")),
            (0u64..1000).prop_map(|n| format!("{n} ")),
            (0u64..1000).prop_map(|n| format!("{n}abc")),
            Just(String::new()),
            "[0-9]{21,30}",
            (0u8..10).prop_map(|d| format!("1844674407370955161{}", 6 + d % 4)),
        ]
        .prop_map(BadLength::Malformed),
        (4097u64..=u64::MAX).prop_map(BadLength::Huge),
        // Header (~50 bytes) + body (< 64) + extra stays under the cap: too long, not too large.
        (1usize..3900).prop_map(BadLength::TooLong),
        (0usize..64).prop_map(BadLength::TooShort),
    ]
}

proptest! {
    #[test]
    fn wrong_content_length_is_a_typed_error_before_any_growth(
        bad in bad_length(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        cuts in arb::cuts(256),
    ) {
        const CAP: usize = 4096;
        let (value, body) = match &bad {
            BadLength::Malformed(v) => (v.clone(), body),
            BadLength::Huge(n) => (n.to_string(), body),
            BadLength::TooLong(extra) => ((body.len() + extra).to_string(), body),
            BadLength::TooShort(short) => {
                let n = body.len().saturating_sub(*short);
                (n.to_string(), body)
            }
        };
        let mut data = format!("Content-Type: api/response\nContent-Length: {value}\n\n").into_bytes();
        let head_len = data.len();
        data.extend_from_slice(&body);
        let run = feed::run(CAP, &data, &cuts);
        match bad {
            BadLength::Malformed(_) => {
                prop_assert!(run.frames.is_empty());
                prop_assert!(
                    matches!(run.error, Some(WireError::InvalidContentLength { line: 2 })),
                    "{:?}", run.error
                );
            }
            BadLength::Huge(n) => {
                prop_assert!(run.frames.is_empty());
                prop_assert!(matches!(
                    run.error,
                    Some(WireError::FrameTooLarge { content_length, limit: CAP, .. }) if content_length == n
                ), "{:?}", run.error);
                // Rejected from the header block alone: nothing was reserved for the body.
                prop_assert!(run.max_capacity <= 2 * data.len() + 64, "capacity {}", run.max_capacity);
            }
            BadLength::TooLong(_) => {
                prop_assert!(run.frames.is_empty());
                prop_assert!(
                    matches!(run.error, Some(WireError::Truncated { buffered }) if buffered == data.len()),
                    "{:?}", run.error
                );
            }
            BadLength::TooShort(_) => {
                let n: usize = value.parse().expect("number");
                let first = run.frames.first().expect("the frame with the short length");
                prop_assert_eq!(first.content_type.clone(), ContentType::ApiResponse);
                prop_assert_eq!(first.body.as_deref(), Some(&data[head_len..head_len + n]));
            }
        }
    }

    /// A frame of exactly the cap decodes (with one reservation of at most the cap); one byte more is
    /// `FrameTooLarge` before the body arrives.
    #[test]
    fn frame_at_the_cap_decodes_one_over_is_refused(
        cap in 64usize..20_000,
        cuts in arb::cuts(20_000),
    ) {
        let head = |n: usize| format!("Content-Type: api/response\nContent-Length: {n}\n\n");
        // The header length depends on the digits of n: find the n for which head+n == cap.
        let n = (0..=cap).rev().find(|&n| head(n).len() + n == cap);
        prop_assume!(n.is_some());
        let n = n.unwrap_or_default();
        let mut data = head(n).into_bytes();
        data.resize(cap, b'x');
        let run = feed::run(cap, &data, &cuts);
        prop_assert!(run.error.is_none(), "{:?}", run.error);
        prop_assert_eq!(run.frames.len(), 1);
        prop_assert_eq!(run.frames[0].body.as_ref().map(|b| b.len()), Some(n));

        let mut codec = EslCodec::new(cap - 1);
        let mut buf = bytes::BytesMut::from(&data[..head(n).len()]);
        let refused = tokio_util::codec::Decoder::decode(&mut codec, &mut buf);
        prop_assert!(matches!(refused, Err(WireError::FrameTooLarge { .. })), "{:?}", refused);
        prop_assert!(buf.capacity() < cap.max(64), "reserved {} before refusing", buf.capacity());
    }
}
