//! The `confpayd` command line: clap parses it ([`args`]), this module turns the result into the one
//! [`Command`] to run, [`execute`] carries it out (the daemon itself in [`daemon`]), and [`generate`]
//! writes the shell completions and the man page from the same declaration.
//!
//! ```text
//! confpayd [--config FILE]                   run the daemon
//! confpayd --check-config [--config FILE]    validate, print the effective config (secrets masked)
//! confpayd decode [FILE]                     a raw FreeSWITCH→controller ESL stream as JSON lines
//! confpayd demo [--serve] [--port N] [--token T] [--agent-secret S] [--speed X]   simulator + daemon, scripted call
//! confpayd completions SHELL                 a completion script (bash, zsh, fish, elvish, powershell)
//! confpayd man                               the man page, roff
//! confpayd --version | --help
//! ```

pub mod args;
pub mod daemon;
pub mod execute;
pub mod generate;

pub use execute::execute;

use crate::config::ConfigLocation;
use crate::demo::DemoOptions;
use crate::error::{DaemonError, Exit};
use args::{Cli, Sub};
use clap::Parser;
use clap_complete::Shell;
use std::ffi::OsString;
use std::path::PathBuf;

/// What to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run {
        config: ConfigLocation,
    },
    CheckConfig {
        config: ConfigLocation,
    },
    /// `decode [FILE]`: FILE, or standard input when absent or `-`.
    Decode {
        file: Option<PathBuf>,
    },
    /// `demo [...]`: the simulator and the daemon parts, a scripted call.
    Demo(DemoOptions),
    /// `completions SHELL`: the completion script on stdout.
    Completions(Shell),
    /// `man`: the man page on stdout.
    Man,
}

/// Parses the whole command line, program name first (as [`std::env::args_os`] gives it).
///
/// `Err` is clap's answer when there is nothing to run: the `--help`/`--version` text as well as a
/// usage mistake. Hand it to [`answer`].
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    let config = match cli.config {
        Some(path) => ConfigLocation::File(path),
        None => ConfigLocation::standard(),
    };
    Ok(match cli.command {
        None if cli.check_config => Command::CheckConfig { config },
        None => Command::Run { config },
        Some(Sub::Decode { file }) => Command::Decode {
            file: file.filter(|f| f.as_os_str() != "-"),
        },
        Some(Sub::Demo(demo)) => Command::Demo(DemoOptions {
            serve: demo.serve,
            port: demo.port,
            token: demo.token,
            agent_secret: demo.agent_secret,
            speed: demo.speed,
        }),
        Some(Sub::Completions { shell }) => Command::Completions(shell),
        Some(Sub::Man) => Command::Man,
    })
}

/// Prints clap's answer — help or version on stdout, a usage mistake with the usage line on
/// stderr — and returns the exit status: 0 for help and version, 2 for a mistake.
pub fn answer(e: clap::Error) -> Exit {
    // Only a closed stdout/stderr can fail here, and then there is nowhere left to say so.
    let _ = e.print();
    exit_status(e)
}

/// 0 for the help and version texts (clap reports them as errors too), else a usage error's status.
fn exit_status(e: clap::Error) -> Exit {
    if e.use_stderr() {
        DaemonError::Usage(e).exit()
    } else {
        Exit::Ok
    }
}

#[cfg(test)]
mod tests;
