//! The load tool: N concurrent full payments against the simulator over loopback
//! TCP. The daemon's parts run on this process's main thread (a single-thread runtime: "one core");
//! the simulator runs as a separate process — this same program re-run as `load --sim-side …` — so
//! the daemon's CPU, memory and latency are measured alone.
//!
//! `cargo run --release --example load -- --calls 100,1000,5000 [--stagger-ms 0,2]
//! [--agent-id-delay-ms 1000] [--deadline-s 120] [--batch 100] [--idle-only]`: one run per N and
//! stagger, each in a fresh daemon + simulator (`--idle-only`: the calls are set up, measured
//! idle and hung up 10 at a time, no payment is started). `RUST_LOG=warn` prints warnings of both to stderr.
//!
//! `--switch 127.0.0.1:8021 …`: real-switch mode instead (`confpay_load::realswitch::cli`).

use confpay_load::load::{self, LoadOptions};
use confpay_load::simproc::SimCommand;
use std::process::ExitCode;
use std::time::Duration;

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn list<T: std::str::FromStr>(v: &str) -> Result<Vec<T>, T::Err> {
    v.split(',').map(str::parse).collect()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--sim-side") {
        // The simulator process of a load run (see `confpay_load::simproc`).
        return confpay_sim::process::main(args.into_iter().skip(2));
    }
    // Real-switch mode (capacity on a real FreeSWITCH): see `confpay_load::realswitch`.
    let result = match args.iter().any(|a| a == "--switch") {
        true => confpay_load::realswitch::cli::main(&args),
        false => measure(&args),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("load: some sessions failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("load: {e}");
            ExitCode::from(2)
        }
    }
}

fn measure(args: &[String]) -> Result<bool, Box<dyn std::error::Error>> {
    // Logs to stderr only when asked: logging is not part of what is measured.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let steps: Vec<usize> = list(arg(args, "--calls").unwrap_or("100"))?;
    let staggers: Vec<u64> = list(arg(args, "--stagger-ms").unwrap_or("0"))?;
    let delay_ms: u64 = arg(args, "--agent-id-delay-ms").unwrap_or("1000").parse()?;
    let deadline_s: u64 = arg(args, "--deadline-s").unwrap_or("120").parse()?;
    let batch: usize = arg(args, "--batch").unwrap_or("100").parse()?;
    let sim = SimCommand {
        program: std::env::current_exe()?,
        prefix: vec!["--sim-side".into()],
    };
    let mut all_ok = true;
    for calls in steps {
        for &stagger in &staggers {
            // A fresh single-thread runtime per run: this thread is the daemon's one core.
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let opts = LoadOptions {
                calls,
                deadline: Duration::from_secs(deadline_s),
                agent_id_delay: Duration::from_millis(delay_ms),
                batch,
                stagger: Duration::from_millis(stagger),
                sim: sim.clone(),
                idle_only: args.iter().any(|a| a == "--idle-only"),
            };
            let report = rt.block_on(load::run(&opts))?;
            print!("{}", report.render());
            all_ok &= report.failed == 0;
        }
    }
    Ok(all_ok)
}
