//! The load tool: N concurrent full payments against the simulator over loopback
//! TCP. The daemon's parts run on this process's main thread (a single-thread runtime: "one core");
//! the simulator runs as a separate process — this same program re-run as `load --sim-side …` — so
//! the daemon's CPU, memory and latency are measured alone.
//!
//! `cargo run --release -p confpay-load -- --calls 100,1000,5000 [--stagger-ms 0,2]
//! [--agent-id-delay-ms 1000] [--deadline-s 120] [--batch 100] [--idle-only]`: one run per N and
//! stagger, each in a fresh daemon + simulator (`--idle-only`: the calls are set up, measured
//! idle and hung up 10 at a time, no payment is started). `RUST_LOG=warn` prints warnings of both to stderr.
//!
//! `--switch 127.0.0.1:8021 …`: real-switch mode instead ([`confpay_load::realswitch`]). The whole
//! command line: [`confpay_load::cli`] (`--help`).

use confpay_load::cli::{Cli, Mode, SimRuns};
use confpay_load::load;
use confpay_load::simproc::SimCommand;
use std::process::ExitCode;

/// `EX_USAGE` (sysexits.h): the exit status of a command-line mistake.
const EX_USAGE: u8 = 64;

fn main() -> ExitCode {
    let mode = match Cli::parse_args(std::env::args().skip(1)) {
        Ok(cli) => cli.into_mode(),
        Err(answer) => {
            // Only a closed stdout/stderr can fail here, and then there is nowhere left to say so.
            let _ = answer.print();
            return match answer.use_stderr() {
                true => ExitCode::from(EX_USAGE),
                false => ExitCode::SUCCESS,
            };
        }
    };
    let result = match mode {
        // The simulator process of a load run (see `confpay_load::simproc`).
        Ok(Mode::SimSide(args)) => return confpay_sim::process::main(args),
        Ok(Mode::Sim(runs)) => measure(&runs),
        Ok(Mode::Switch(opts)) => confpay_load::realswitch::main(&opts),
        Err(e) => Err(e.into()),
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

fn measure(runs: &SimRuns) -> Result<bool, Box<dyn std::error::Error>> {
    // Logs to stderr only when asked: logging is not part of what is measured.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let sim = SimCommand {
        program: std::env::current_exe()?,
        prefix: vec!["--sim-side".into()],
    };
    let mut all_ok = true;
    for opts in runs.runs(&sim) {
        // A fresh single-thread runtime per run: this thread is the daemon's one core.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let report = rt.block_on(load::run(&opts))?;
        print!("{}", report.render());
        all_ok &= report.failed == 0;
    }
    Ok(all_ok)
}
