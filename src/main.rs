//! `confpayd`: the Conference Pay daemon. Thin: parses the command line and hands the command to
//! [`confpay::cli::execute`]; the daemon itself is [`confpay::daemon::Daemon`]. Exit codes live in
//! [`confpay::error`].

use confpay::cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::parse(std::env::args_os()) {
        Ok(command) => cli::execute(command),
        // Help, version, or a usage mistake: clap has the words, `answer` the exit status.
        Err(answer) => cli::answer(answer).into(),
    }
}
