//! End-to-end ESL throughput through the daemon's own inbound client.
//!
//! `cargo bench --bench esl_e2e [-- --events N --stall-ms MS --buffer N]`
//!
//! A blaster thread speaks the FreeSWITCH handshake on 127.0.0.1, then writes the recorded events
//! of `inbound-events-plain-all.raw` over and over (default ≈200,000 events, ≈450 MB); the inbound
//! client on a single-thread runtime (one core) delivers every event to a consumer that reads its
//! headers. First a raw socket read of the same stream (no decoding: the ceiling). Prints MB/s,
//! events/s, lost events and peak RSS; the second run stalls the consumer
//! first and prints how far the sender got and the RSS at that moment (backpressure).

use confpay_load::blaster::Burst;
use confpay_load::e2e::{self, E2eOptions, E2eReport};
use std::time::Duration;

const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl/inbound-events-plain-all.raw"
);

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn print(label: &str, r: &E2eReport) {
    println!(
        "{label}: {} events ({} lost), {:.1} MB in {:.3} s = {:.0} MB/s, {:.0} events/s, \
         headers read {}, RSS before {} KiB, peak RSS (VmHWM) {} KiB",
        r.events_received,
        r.events_sent - r.events_received,
        r.bytes_sent as f64 / 1e6,
        r.elapsed.as_secs_f64(),
        r.mb_per_s(),
        r.events_per_s(),
        r.headers_read,
        r.rss_before_kib,
        r.peak_rss_kib,
    );
    if let (Some(w), Some(rss)) = (r.stalled_written, r.stalled_rss_kib) {
        println!(
            "{label}: while the consumer stalled the sender got {:.2} MB of {:.1} MB out; RSS {} KiB",
            w as f64 / 1e6,
            r.bytes_sent as f64 / 1e6,
            rss
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let quick = !args.iter().any(|a| a == "--bench");
    let events = arg(&args, "--events", if quick { 5_800 } else { 200_000 });
    let stall_ms = arg(&args, "--stall-ms", if quick { 100 } else { 2_000 });
    let buffer = arg(&args, "--buffer", 1024) as usize;
    let raw = std::fs::read(RECORDING)?;
    let burst = Burst::from_recording(&raw)?;
    let repeats = events.div_ceil(burst.events);
    println!(
        "recording: {} events, {} bytes per repeat; {} repeats; event channel {}",
        burst.events,
        burst.bytes.len(),
        repeats,
        buffer
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let fast = E2eOptions {
        repeats,
        event_buffer: buffer,
        stall: None,
    };
    let (raw_bytes, raw_time) = e2e::raw_read(&burst, repeats)?;
    let raw_mb_s = raw_bytes as f64 / 1e6 / raw_time.as_secs_f64().max(1e-9);
    println!(
        "raw socket read: {:.1} MB in {:.3} s = {raw_mb_s:.0} MB/s (no decoding: the socket's limit here)",
        raw_bytes as f64 / 1e6,
        raw_time.as_secs_f64(),
    );
    let r = rt.block_on(e2e::run(&burst, &fast))?;
    print("throughput", &r);
    println!(
        "throughput: {:.0} % of the raw socket read in this run",
        100.0 * r.mb_per_s() / raw_mb_s
    );
    if r.events_received != r.events_sent {
        return Err("events were lost".into());
    }
    let slow = E2eOptions {
        stall: Some(Duration::from_millis(stall_ms)),
        ..fast
    };
    let r = rt.block_on(e2e::run(&burst, &slow))?;
    print("stalled consumer", &r);
    if r.events_received != r.events_sent {
        return Err("events were lost".into());
    }
    Ok(())
}
