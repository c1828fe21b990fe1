//! `confpay-sim`: the FreeSWITCH simulator on its own, for developing ESL clients (CTI desktops, CRMs,
//! confpayd itself) without a FreeSWITCH. Thin: options and start-up live in
//! [`confpay::sim::standalone`], the stdin command interpreter in [`confpay::sim::console`].

use confpay::sim::console::{self, Console};
use confpay::sim::standalone::{self, Invocation, USAGE};
use std::process::ExitCode;
use tokio::io::{AsyncWriteExt, BufReader};

fn main() -> ExitCode {
    let opts = match standalone::parse_args(std::env::args().skip(1)) {
        Ok(Invocation::Run(o)) => o,
        Ok(Invocation::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("confpay-sim: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
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
