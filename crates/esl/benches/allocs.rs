//! Allocations per frame, counted by divan's `AllocProfiler` (a counting `#[global_allocator]` that
//! needs no `unsafe` in this crate, whose lints forbid it).
//!
//! Each iteration decodes exactly one frame, cycling through every frame of the recorded stream
//! (sample counts are multiples of the frame count, so the mean is the mean over the stream):
//! divan's `alloc` row is then allocations **per frame**. Run: `cargo bench --bench allocs`.

mod common;

use bytes::BytesMut;
use common::{consume_event, fixture, frames_of};
use confpay_esl::{ContentType, EslCodec};
use divan::{AllocProfiler, Bencher};
use std::cell::Cell;
use std::sync::LazyLock;
use tokio_util::codec::Decoder;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

struct Frames {
    wire: Vec<BytesMut>,
}

fn select(file: &str, keep: impl Fn(&ContentType) -> bool) -> Frames {
    Frames {
        wire: frames_of(&fixture(file))
            .into_iter()
            .filter(|(ct, _)| keep(ct))
            .map(|(_, b)| BytesMut::from(&b[..]))
            .collect(),
    }
}

static PLAIN: LazyLock<Frames> =
    LazyLock::new(|| select("inbound-events-plain-all.raw", ContentType::is_event));
static JSON: LazyLock<Frames> =
    LazyLock::new(|| select("inbound-events-json-all.raw", ContentType::is_event));
static XML: LazyLock<Frames> =
    LazyLock::new(|| select("inbound-events-xml.raw", ContentType::is_event));
static REPLIES: LazyLock<Frames> = LazyLock::new(|| {
    select("inbound-subscription-commands.raw", |ct| {
        matches!(ct, ContentType::CommandReply | ContentType::ApiResponse)
    })
});

/// One frame per iteration, cycling; `event` also decodes the event it carries.
fn per_frame(b: Bencher, frames: &'static Frames, event: bool) {
    let next = Cell::new(0usize);
    b.with_inputs(|| {
        let i = next.get();
        next.set(i + 1);
        frames.wire[i % frames.wire.len()].clone()
    })
    .bench_local_values(|mut buf| {
        let mut codec = EslCodec::default();
        let frame = codec
            .decode(&mut buf)
            .expect("fixture decodes")
            .expect("one whole frame");
        if event {
            let e = frame.event().expect("event decodes").expect("an event");
            consume_event(&e);
        }
        frame
    });
}

/// 58 plain event frames.
#[divan::bench(sample_count = 580, sample_size = 1)]
fn plain_frame_only(b: Bencher) {
    per_frame(b, &PLAIN, false);
}

#[divan::bench(sample_count = 580, sample_size = 1)]
fn plain_frame_and_event(b: Bencher) {
    per_frame(b, &PLAIN, true);
}

/// 60 json event frames.
#[divan::bench(sample_count = 600, sample_size = 1)]
fn json_frame_and_event(b: Bencher) {
    per_frame(b, &JSON, true);
}

/// 11 xml event frames.
#[divan::bench(sample_count = 550, sample_size = 1)]
fn xml_frame_and_event(b: Bencher) {
    per_frame(b, &XML, true);
}

/// 21 `command/reply` and `api/response` frames.
#[divan::bench(sample_count = 504, sample_size = 1)]
fn small_reply_frame(b: Bencher) {
    per_frame(b, &REPLIES, false);
}
