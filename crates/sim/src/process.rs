//! The `confpay-sim` process: parse the command line, start the simulator set up like the payment
//! deployment, print the `ready esl=… outbound=… core=…` banner and run the stdin console until
//! `quit` or end of input. Shared by the `confpay-sim` binary and the load tool, which runs the
//! simulator as a separate process (`load --sim-side …`) so that the daemon is measured alone.

use crate::cli::Cli;
use crate::console::{self, Console};
use crate::standalone;
use std::process::ExitCode;
use tokio::io::{AsyncWriteExt, BufReader};

/// `EX_USAGE` (sysexits.h): the exit status of a command-line mistake.
const EX_USAGE: u8 = 64;

/// Runs the simulator process with `args` (the arguments after the program name).
pub fn main<I, S>(args: I) -> ExitCode
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let opts = match Cli::parse_args(args) {
        Ok(cli) => cli.into_options(),
        Err(answer) => {
            // Only a closed stdout/stderr can fail here, and then there is nowhere left to say so.
            let _ = answer.print();
            return match answer.use_stderr() {
                true => ExitCode::from(EX_USAGE),
                false => ExitCode::SUCCESS,
            };
        }
    };
    // `try_init`: the load tool may have set up its own subscriber before deciding to be the sim.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("confpay-sim: cannot start the runtime: {e}");
            return ExitCode::from(71);
        }
    };
    let code = rt.block_on(async {
        let sim = match standalone::start(&opts).await {
            Ok(sim) => sim,
            Err(e) => {
                eprintln!("confpay-sim: {e}");
                return ExitCode::from(69);
            }
        };
        let mut out = tokio::io::stdout();
        let banner = format!(
            "ready esl={} outbound={} core={}\n",
            sim.esl_addr(),
            opts.outbound,
            sim.core().core_uuid()
        );
        let mut console = Console::new(sim);
        let result = async {
            out.write_all(banner.as_bytes()).await?;
            out.flush().await?;
            console::run(&mut console, BufReader::new(tokio::io::stdin()), out).await
        }
        .await;
        console.shutdown();
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("confpay-sim: console: {e}");
                ExitCode::from(74)
            }
        }
    });
    // stdin is read on a blocking thread that may still wait for a line: don't wait for it.
    rt.shutdown_background();
    code
}
