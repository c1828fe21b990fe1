//! The load tool (issue 7, part 4): N concurrent full payments against the simulator over loopback
//! TCP, the daemon's parts on one single-thread runtime ("one core"), the simulator and the scripted
//! callers on another thread.
//!
//! `cargo run --release --example load -- --calls 100,1000,5000 [--agent-id-delay-ms 1000]
//! [--deadline-s 120] [--batch 100]`: one run per N, each in a fresh daemon + simulator, printed one line each.

use confpay::loadtest::load::{self, LoadOptions, LoadReport};
use std::time::Duration;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn print(r: &LoadReport) {
    let (count, p50, p99, max) = r
        .latency
        .map_or((0, 0, 0, 0), |l| (l.count, l.p50_us, l.p99_us, l.max_us));
    println!(
        "calls {}: ready {} in {:.2} s; payments completed {} failed {} in {:.2} s = {:.0} sessions/s; \
         event->command p50 {} us p99 {} us max {} us ({} samples); idle RSS +{:.1} KiB/call \
         ({} -> {} KiB, daemon+sim); peak RSS {} KiB; daemon thread CPU {:.2} s = {:.3} ms/session \
         (process {:.2} s)",
        r.calls,
        r.ready_calls,
        r.setup_elapsed.as_secs_f64(),
        r.completed,
        r.failed,
        r.payments_elapsed.as_secs_f64(),
        r.sessions_per_s(),
        p50,
        p99,
        max,
        count,
        r.idle_kib_per_call(),
        r.rss_start_kib,
        r.rss_idle_kib,
        r.peak_rss_kib,
        r.daemon_cpu.as_secs_f64(),
        r.daemon_cpu_ms_per_session(),
        r.process_cpu.as_secs_f64(),
    );
    for (cause, p) in &r.latency_by_cause {
        if let Some(p) = p {
            println!(
                "  after {cause}: p50 {} us p99 {} us max {} us ({} samples)",
                p.p50_us, p.p99_us, p.max_us, p.count
            );
        }
    }
    if let Some(why) = &r.first_failure {
        println!("  first failure: {why}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs to stderr only when asked (`RUST_LOG=warn`): logging is not part of what is measured.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let args: Vec<String> = std::env::args().collect();
    let steps: Vec<usize> = arg(&args, "--calls")
        .unwrap_or("100")
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let delay_ms: u64 = arg(&args, "--agent-id-delay-ms")
        .unwrap_or("1000")
        .parse()?;
    let deadline_s: u64 = arg(&args, "--deadline-s").unwrap_or("120").parse()?;
    let batch: usize = arg(&args, "--batch").unwrap_or("100").parse()?;
    let mut failed = false;
    for calls in steps {
        // A fresh single-thread runtime per step: this thread is the daemon's one core.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let opts = LoadOptions {
            calls,
            deadline: Duration::from_secs(deadline_s),
            agent_id_delay: Duration::from_millis(delay_ms),
            batch,
        };
        let report = rt.block_on(load::run(&opts))?;
        print(&report);
        failed |= report.failed > 0;
        drop(rt);
    }
    if failed {
        return Err("some sessions failed".into());
    }
    Ok(())
}
