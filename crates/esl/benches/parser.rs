//! Parser throughput on the recorded FreeSWITCH streams repeated to a large in-memory corpus
//! (`CONFPAY_BENCH_MB` MiB per format, default 128), on one core.
//!
//! First divan's statistics for our decoder (MB/s and events/s) and for the memchr-only splitting
//! limit; then a side-by-side table (best of `CONFPAY_BENCH_RUNS`, default 3) of ours, eslrs and
//! freeswitch-esl-tokio on the same corpus, with ratios. `cargo bench --bench parser -- plain` runs
//! the divan part for one group only (the table still follows); `CONFPAY_BENCH_PEERS=0` skips the table.

mod common;
#[path = "common/peers.rs"]
mod peers;

use bytes::BytesMut;
use common::{Corpus, confpay_decode, events_corpus, memchr_split, mixed_corpus};
use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use peers::Format;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

static PLAIN: LazyLock<Corpus> = LazyLock::new(|| events_corpus("inbound-events-plain-all.raw"));
static JSON: LazyLock<Corpus> = LazyLock::new(|| events_corpus("inbound-events-json-all.raw"));
static XML: LazyLock<Corpus> = LazyLock::new(|| events_corpus("inbound-events-xml.raw"));
static MIXED: LazyLock<Corpus> = LazyLock::new(mixed_corpus);

fn main() {
    divan::main();
    if std::env::var("CONFPAY_BENCH_PEERS").as_deref() != Ok("0") {
        side_by_side();
    }
}

fn decode(b: Bencher, c: &Corpus) {
    b.counter(BytesCount::new(c.bytes.len()))
        .counter(ItemsCount::new(c.events))
        .with_inputs(|| BytesMut::from(&c.bytes[..]))
        .bench_local_values(|buf| {
            let n = confpay_decode(buf);
            assert_eq!(n, c.events);
        });
}

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod plain {
    use super::*;

    /// `EslCodec` + `Frame::event()` on the whole buffer: the target (≥ 1.5 GB/s).
    #[divan::bench]
    fn confpay(b: Bencher) {
        decode(b, &PLAIN);
    }

    /// Frames and header lines split with memchr, nothing decoded: the practical limit.
    #[divan::bench]
    fn memchr_limit(b: Bencher) {
        let c = &*PLAIN;
        b.counter(BytesCount::new(c.bytes.len()))
            .counter(ItemsCount::new(c.events))
            .bench_local(|| memchr_split(divan::black_box(&c.bytes)));
    }
}

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod json {
    use super::*;

    /// Target ≥ 500 MB/s.
    #[divan::bench]
    fn confpay(b: Bencher) {
        decode(b, &JSON);
    }
}

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod xml {
    use super::*;

    #[divan::bench]
    fn confpay(b: Bencher) {
        decode(b, &XML);
    }
}

#[divan::bench_group(sample_count = 10, sample_size = 1)]
mod mixed {
    use super::*;

    /// Small replies, api responses, log lines, a 39 KB body and events with nested bodies.
    #[divan::bench]
    fn confpay(b: Bencher) {
        let c = &*MIXED;
        b.counter(BytesCount::new(c.bytes.len()))
            .counter(ItemsCount::new(c.frames))
            .with_inputs(|| BytesMut::from(&c.bytes[..]))
            .bench_local_values(confpay_decode);
    }
}

// ---- side by side -------------------------------------------------------------------------------

struct Row {
    name: &'static str,
    best: Duration,
    events: usize,
}

fn runs() -> usize {
    std::env::var("CONFPAY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3usize)
        .max(1)
}

/// Best wall time of `runs()` runs of `f` (its input built outside the timing).
fn best<I>(input: impl Fn() -> I, f: impl Fn(I) -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut events = 0;
    for _ in 0..runs() {
        let i = input();
        let t = Instant::now();
        events = f(i);
        best = best.min(t.elapsed());
    }
    (best, events)
}

fn side_by_side() {
    println!();
    println!(
        "side by side, one core, best of {} runs (corpus MiB per format: {})",
        runs(),
        common::target_bytes() / (1024 * 1024)
    );
    let plain = &*PLAIN;
    let json = &*JSON;
    let xml = &*XML;
    let owned = |c: &'static Corpus| move || BytesMut::from(&c.bytes[..]);
    let shared = |c: &'static Corpus| move || c.bytes.clone();
    let table = |title: &str, c: &Corpus, rows: Vec<Row>| {
        println!();
        println!(
            "{title}: {} events, {:.1} MB (1 MB = 10^6 bytes), {:.0} bytes/event",
            c.events,
            c.bytes.len() as f64 / 1e6,
            c.bytes.len() as f64 / c.events as f64
        );
        let base = rows[0].best.as_secs_f64();
        println!(
            "  {:<36} {:>10} {:>12} {:>9} {:>9}  note",
            "contender", "MB/s", "events/s", "time", "vs first"
        );
        for r in &rows {
            let s = r.best.as_secs_f64();
            let note = if r.events == c.events {
                String::new()
            } else {
                format!("delivered {} of {} events", r.events, c.events)
            };
            println!(
                "  {:<36} {:>10.0} {:>12.0} {:>8.3}s {:>8.2}x  {note}",
                r.name,
                c.bytes.len() as f64 / 1e6 / s,
                r.events as f64 / s,
                s,
                base / s,
            );
        }
    };
    let row = |name, (best, events)| Row { name, best, events };

    let rows = vec![
        row(
            "memchr limit (split only)",
            best(
                || (),
                |()| {
                    memchr_split(&plain.bytes);
                    plain.events
                },
            ),
        ),
        row(
            "confpay EslCodec in memory",
            best(owned(plain), confpay_decode),
        ),
        row(
            "confpay FramedRead mem stream",
            best(shared(plain), peers::confpay_framed_mem),
        ),
        row(
            "eslrs mem stream",
            best(shared(plain), |d| peers::eslrs_mem(d, Format::Plain)),
        ),
        row(
            "confpay FramedRead loopback TCP",
            best(shared(plain), peers::confpay_tcp),
        ),
        row(
            "confpay InboundClient loopback TCP",
            best(shared(plain), peers::confpay_inbound_tcp),
        ),
        row(
            "raw socket read loopback TCP (no decode)",
            best(shared(plain), |d| {
                let n = d.len();
                assert_eq!(peers::raw_tcp(d), n, "every byte read");
                plain.events
            }),
        ),
        row(
            "eslrs loopback TCP",
            best(shared(plain), |d| peers::eslrs_tcp(d, Format::Plain)),
        ),
        row(
            "freeswitch-esl-tokio TCP (block)",
            best(shared(plain), |d| peers::fet_tcp(d, true)),
        ),
        row(
            "freeswitch-esl-tokio TCP (default)",
            best(shared(plain), |d| peers::fet_tcp(d, false)),
        ),
    ];
    table("event-plain", plain, rows);

    let rows = vec![
        row(
            "confpay EslCodec in memory",
            best(owned(json), confpay_decode),
        ),
        row(
            "confpay FramedRead mem stream",
            best(shared(json), peers::confpay_framed_mem),
        ),
        row(
            "eslrs mem stream (serde_json Value)",
            best(shared(json), |d| peers::eslrs_mem(d, Format::Json)),
        ),
        row(
            "confpay FramedRead loopback TCP",
            best(shared(json), peers::confpay_tcp),
        ),
        row(
            "eslrs loopback TCP",
            best(shared(json), |d| peers::eslrs_tcp(d, Format::Json)),
        ),
        row(
            "freeswitch-esl-tokio TCP (block)",
            best(shared(json), |d| peers::fet_tcp(d, true)),
        ),
    ];
    table("event-json", json, rows);

    let rows = vec![
        row(
            "confpay EslCodec in memory",
            best(owned(xml), confpay_decode),
        ),
        row(
            "confpay FramedRead loopback TCP",
            best(shared(xml), peers::confpay_tcp),
        ),
        row(
            "freeswitch-esl-tokio TCP (block)",
            best(shared(xml), |d| peers::fet_tcp(d, true)),
        ),
    ];
    table("event-xml (eslrs has no xml decoder)", xml, rows);
}
