//! Shared by the bench binaries: the in-memory corpora built from the recorded FreeSWITCH streams, the
//! consumer every contender runs per event, the memchr-only splitting limit, and an in-memory stream
//! for peers whose only entry point is a connection over `AsyncRead + AsyncWrite`.
//!
//! Corpus size: `CONFPAY_BENCH_MB` (MiB per event format, default 128).
#![allow(dead_code)] // each bench binary uses a different part

use bytes::{Bytes, BytesMut};
use confpay_esl::parser::parse_frame;
use confpay_esl::splitter::Splitter;
use confpay_esl::{ContentType, EslCodec, Event};
use memchr::{memchr, memchr_iter, memmem};
use std::hint::black_box;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::codec::Decoder;

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl"
);

/// A recorded stream repeated in memory.
pub struct Corpus {
    pub bytes: Bytes,
    pub frames: usize,
    pub events: usize,
}

pub fn fixture(file: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}/{file}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Every frame of a recorded stream: its content type and its exact wire bytes.
pub fn frames_of(raw: &[u8]) -> Vec<(ContentType, Bytes)> {
    let raw = Bytes::copy_from_slice(raw);
    let mut splitter = Splitter::new(usize::MAX / 4);
    let mut pos = 0;
    let mut out = Vec::new();
    while let Some(b) = splitter.next_frame(&raw[pos..]).expect("fixture splits") {
        let wire = raw.slice(pos..pos + b.total());
        let frame = parse_frame(&wire[..b.header_len], None).expect("fixture parses");
        out.push((frame.content_type, wire));
        pos += b.total();
    }
    out
}

pub fn target_bytes() -> usize {
    let mb = std::env::var("CONFPAY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(128);
    mb.max(1) * 1024 * 1024
}

/// The frames of `files` that `keep` selects, in order, repeated until the corpus reaches `target`.
pub fn build(files: &[&str], keep: impl Fn(&ContentType) -> bool, target: usize) -> Corpus {
    let frames: Vec<(ContentType, Bytes)> = files
        .iter()
        .flat_map(|f| frames_of(&fixture(f)))
        .filter(|(ct, _)| keep(ct))
        .collect();
    let once: usize = frames.iter().map(|(_, b)| b.len()).sum();
    assert!(once > 0, "no frames selected from {files:?}");
    let reps = target.div_ceil(once);
    let mut buf = BytesMut::with_capacity(reps * once);
    for _ in 0..reps {
        for (_, b) in &frames {
            buf.extend_from_slice(b);
        }
    }
    let events = frames.iter().filter(|(ct, _)| ct.is_event()).count() * reps;
    Corpus {
        bytes: buf.freeze(),
        frames: frames.len() * reps,
        events,
    }
}

/// Only the event frames of one recorded stream (`inbound-events-*.raw`).
pub fn events_corpus(file: &str) -> Corpus {
    build(&[file], ContentType::is_event, target_bytes())
}

/// Small replies, auth, api responses, log lines and a few large events: everything but events-only.
pub fn mixed_corpus() -> Corpus {
    build(
        &[
            "inbound-auth-and-api.raw",
            "inbound-subscription-commands.raw",
            "inbound-large-and-edge-frames.raw",
        ],
        |_| true,
        target_bytes() / 4,
    )
}

/// What every contender does with each event: look two headers up by name, as a consumer would.
#[inline]
pub fn consume(name: Option<&str>, uuid: Option<&str>) -> usize {
    black_box(name).map_or(0, str::len) + black_box(uuid).map_or(0, str::len)
}

pub fn consume_event(e: &Event) -> usize {
    consume(e.name(), e.unique_id())
}

/// Ours, in memory: `EslCodec` over the whole buffer, `Frame::event()` on every event frame.
/// Returns the number of events decoded.
pub fn confpay_decode(mut buf: BytesMut) -> usize {
    let mut codec = EslCodec::default();
    let mut events = 0;
    let mut seen = 0;
    while let Some(frame) = codec.decode(&mut buf).expect("corpus decodes") {
        if let Some(event) = frame.event().expect("event decodes") {
            seen += consume_event(&event);
            events += 1;
        }
    }
    black_box(seen);
    events
}

/// The practical limit: frames split by `Content-Length`, header lines of the frame and of the event
/// split at `\n` and `: ` with memchr; nothing decoded, nothing allocated. Returns header lines seen.
pub fn memchr_split(buf: &[u8]) -> usize {
    let blank = memmem::Finder::new(b"\n\n");
    let mut pos = 0;
    let mut headers = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let Some(end) = blank.find(rest) else { break };
        let head = &rest[..=end];
        let mut body_len = 0;
        let mut start = 0;
        for nl in memchr_iter(b'\n', head) {
            let line = &head[start..nl];
            start = nl + 1;
            if let Some(colon) = memchr(b':', line) {
                headers += 1;
                if &line[..colon] == b"Content-Length" {
                    body_len = line[colon + 2..]
                        .iter()
                        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0'));
                }
            }
        }
        let body = &rest[end + 2..end + 2 + body_len];
        let inner = blank.find(body).map_or(body, |e| &body[..=e]);
        let mut start = 0;
        for nl in memchr_iter(b'\n', inner) {
            let line = &inner[start..nl];
            start = nl + 1;
            headers += usize::from(memchr(b':', line).is_some());
        }
        pos += end + 2 + body_len;
    }
    headers
}

/// A read-only in-memory peer: hands out the corpus in socket-sized reads, swallows writes.
pub struct MemStream {
    data: Bytes,
    chunk: usize,
}

impl MemStream {
    pub fn new(data: Bytes) -> MemStream {
        MemStream {
            data,
            chunk: 64 * 1024,
        }
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.data.len().min(out.remaining()).min(self.chunk);
        let part = self.data.split_to(n);
        out.put_slice(&part);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A single-threaded runtime: every contender decodes on one core.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
