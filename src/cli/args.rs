//! The `confpayd` command-line grammar, declared for clap: flags, subcommands and their help text.
//! The same declaration yields `--help`, the shell completions and the man page
//! ([`super::generate`]), so the three cannot drift apart.

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;
use std::path::PathBuf;

/// Exit statuses and environment, shown by `--help` and in the man page.
const AFTER_HELP: &str = "\
Environment:
  CONFPAY_<SECTION>__<KEY>  overrides a configuration key, e.g. CONFPAY_ESL__PASSWORD
  RUST_LOG                  overrides log.level
  NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID  set by systemd (Type=notify, WatchdogSec=)

Exit status:
  0   ok
  1   any other fatal error
  2   configuration or usage error (retrying will not help)
  78  FreeSWITCH refused the ESL password at start-up";

/// Conference Pay: takes card payments on live FreeSWITCH calls without the agent hearing card data.
///
/// Without a subcommand: run the daemon (or, with --check-config, only validate its configuration).
#[derive(Debug, Parser)]
#[command(
    name = "confpayd",
    version,
    // `decode`/`demo` take no daemon flags: `confpayd --config x decode` is a usage error.
    args_conflicts_with_subcommands = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Configuration file (default: /etc/confpay/confpay.toml if it exists, else built-in
    /// defaults); CONFPAY_<SECTION>__<KEY> variables override it
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the configuration, print it with secrets masked, exit 0 or 2
    #[arg(long)]
    pub check_config: bool,

    #[command(subcommand)]
    pub command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Print a raw FreeSWITCH->controller ESL byte stream as JSON lines
    ///
    /// One JSON object per frame per line, keys sorted. Exit 1 on a malformed stream (the frames
    /// before the fault are printed), 2 if FILE cannot be opened.
    Decode {
        /// The capture to read; standard input when absent or `-`
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Play a scripted call against a simulated FreeSWITCH and print its timeline
    ///
    /// Runs a simulated FreeSWITCH and confpayd's parts against it on loopback, plays a scripted
    /// call (one Keyphone and one ACA payment), prints a timeline of each leg and who could hear
    /// whom, and exits 0 when both payments completed, 1 otherwise.
    Demo(DemoArgs),
    /// Print a shell completion script to standard output
    Completions {
        #[arg(value_name = "SHELL")]
        shell: Shell,
    },
    /// Print the manual page (roff) to standard output
    Man,
}

/// `confpayd demo` flags.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Then keep a fresh scripted call up and serve the agent page until Ctrl-C
    #[arg(long)]
    pub serve: bool,

    /// Agent page / API port on 127.0.0.1 (0: any free port, printed)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,

    /// Require this API token (default: none)
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,

    /// Also accept per-agent tokens signed with this secret (at least 32 bytes; default: none)
    #[arg(long, value_name = "SECRET", value_parser = agent_secret)]
    pub agent_secret: Option<String>,

    /// Divide the scripted pauses by X
    #[arg(long, value_name = "X", default_value_t = 1.0, value_parser = positive_speed)]
    pub speed: f64,
}

/// `--agent-secret`: as `http.agent_token_secret` must be.
fn agent_secret(text: &str) -> Result<String, String> {
    if text.len() >= 32 {
        Ok(text.to_owned())
    } else {
        Err("expected at least 32 bytes".to_owned())
    }
}

/// `--speed`: a finite number above zero (it divides every pause).
fn positive_speed(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| "expected a number greater than 0".to_owned())
}
