//! The frame decoder on broken input: an oversized `Content-Length` or an endless header block
//! is refused without allocating, CRLF line ends decode, garbage is a typed error, truncated input
//! waits and then fails at EOF.

use crate::recordings::{decode_whole, frames, raw_fixture};
use bytes::BytesMut;
use confpay_esl::{ContentType, EslCodec, WireError};
use tokio_util::codec::Decoder;

#[test]
fn oversized_content_length_is_rejected_without_allocating() {
    let head = b"Content-Type: api/response\nContent-Length: 1073741824\n\n";
    let mut codec = EslCodec::new(1024);
    let mut buf = BytesMut::from(&head[..]);
    let cap_before = buf.capacity();
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(
            err,
            WireError::FrameTooLarge {
                content_length: 1073741824,
                limit: 1024,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(buf.capacity(), cap_before);
    assert!(buf.capacity() < 1024);
    assert_eq!(
        err.to_string(),
        "ESL frame of 55+1073741824 bytes exceeds the frame cap of 1024 bytes"
    );
    // Under the cap, the decoder reserves room for the announced body exactly once.
    let mut codec = EslCodec::new(1024);
    let mut buf = BytesMut::from(&b"Content-Type: api/response\nContent-Length: 500\n\n"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert!(buf.capacity() >= 548);
}

#[test]
fn header_block_without_end_is_capped() {
    let mut codec = EslCodec::new(64);
    let mut buf = BytesMut::from(&[b'A'; 65][..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(WireError::HeaderTooLarge { limit: 64 })
    ));
}

#[test]
fn crlf_frames_decode() {
    let data = b"Content-Type: auth/request\r\n\r\nContent-Type: api/response\r\nContent-Length: 4\r\n\r\ntrueContent-Type: command/reply\r\nReply-Text: +OK accepted\r\n\r\n";
    let frames = frames(data);
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].content_type, ContentType::AuthRequest);
    assert_eq!(frames[1].body.as_deref(), Some(&b"true"[..]));
    assert_eq!(frames[2].reply_text(), Some("+OK accepted"));
}

#[test]
fn garbage_is_a_typed_error_not_a_panic() {
    for (garbage, check) in [
        (
            &b"hello world\n\n"[..],
            (|e: &WireError| matches!(e, WireError::MalformedHeaderLine { line: 1 }))
                as fn(&WireError) -> bool,
        ),
        (b"Reply-Text: +OK\n\n", |e| {
            matches!(e, WireError::MissingContentType)
        }),
        (b"Content-Type: api/response\nContent-Length: -5\n\n", |e| {
            matches!(e, WireError::InvalidContentLength { line: 2 })
        }),
        (
            b"Content-Type: api/response\nContent-Length: 12abc\n\n",
            |e| matches!(e, WireError::InvalidContentLength { line: 2 }),
        ),
        (
            b"Content-Type: api/response\nContent-Length: 99999999999999999999999\n\n",
            |e| matches!(e, WireError::InvalidContentLength { line: 2 }),
        ),
        (b"\x00\xff\xfe\n\n", |e| {
            matches!(e, WireError::MalformedHeaderLine { line: 1 })
        }),
        (b"\n\n", |e| matches!(e, WireError::MissingContentType)),
    ] {
        let err = decode_whole(garbage).unwrap_err();
        assert!(check(&err), "{garbage:?}: {err}");
    }
    // An event frame whose event text is garbage: the frame decodes, its event is an error.
    let f = &frames(b"Content-Length: 7\nContent-Type: text/event-json\n\n{\"A\":1}")[0];
    assert!(matches!(f.event(), Err(WireError::MalformedEvent { .. })));
}

#[test]
fn truncated_input_is_none_then_an_error_at_eof() {
    let data = raw_fixture("inbound-auth-and-api.raw");
    let whole = decode_whole(&data).unwrap();
    let (_, third) = &whole[2];
    let cut = third.start + (third.end - third.start) / 2;
    let mut codec = EslCodec::default();
    let mut buf = BytesMut::from(&data[..cut]);
    assert!(codec.decode(&mut buf).unwrap().is_some());
    assert!(codec.decode(&mut buf).unwrap().is_some());
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    match codec.decode_eof(&mut buf) {
        Err(WireError::Truncated { buffered }) => assert_eq!(buffered, cut - third.start),
        other => panic!("expected Truncated, got {other:?}"),
    }
}
