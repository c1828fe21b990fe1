//! `confpay-sim`: the FreeSWITCH simulator on its own, for developing ESL clients (CTI desktops, CRMs,
//! confpayd itself) without a FreeSWITCH. Thin: clap reads the command line here; start-up lives in
//! [`confpay_sim::standalone`], the process (banner, runtime) in [`confpay_sim::process`], the stdin
//! command interpreter in [`confpay_sim::console`].
//!
//! Exit status: 0 after `quit` or end of input (and for `--help`), 64 for a usage mistake
//! (`EX_USAGE`), 69 if the simulator cannot start, 71 without a runtime, 74 if the console fails.

use clap::Parser;
use std::net::SocketAddr;
use std::process::ExitCode;

/// `EX_USAGE` (sysexits.h): the exit status of a command-line mistake.
const EX_USAGE: u8 = 64;

// The text options allow values starting with `-`: a password or a dial string may.
/// A FreeSWITCH simulator speaking the Event Socket, set up like the payment deployment
#[derive(Debug, Parser)]
#[command(
    name = "confpay-sim",
    disable_version_flag = true,
    after_help = "Then type commands on stdin (`help` lists them)."
)]
struct Cli {
    /// Inbound event socket [default: 127.0.0.1:8021]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,

    /// Inbound password [default: ClueCon]
    #[arg(long, value_name = "PW", allow_hyphen_values = true)]
    password: Option<String>,

    /// Where the socket extension connects: confpayd's outbound listener [default: 127.0.0.1:8084]
    #[arg(long, value_name = "ADDR")]
    outbound: Option<SocketAddr>,

    /// Dial string of the scripted agent [default: user/agent]
    #[arg(long, value_name = "DIAL", allow_hyphen_values = true)]
    agent_dial: Option<String>,

    /// Agent ID the scripted capture service expects, then `#` [default: 4711]
    #[arg(long, value_name = "ID", allow_hyphen_values = true)]
    agent_id: Option<String>,

    /// Dial string of the scripted capture service [default: sofia/gateway/paytia/pay]
    #[arg(long, value_name = "DIAL", allow_hyphen_values = true)]
    capture_dial: Option<String>,

    /// Digits the capture service collects after `1` [default: 16]
    #[arg(long, value_name = "N")]
    card_digits: Option<usize>,
}

impl Cli {
    /// The given options in the one spelling [`confpay_sim::process::main`] reads, which also serves
    /// the load tool; the defaults stay with [`confpay_sim::standalone::Options`].
    fn into_args(self) -> Vec<String> {
        let given = [
            ("--listen", self.listen.map(|a| a.to_string())),
            ("--password", self.password),
            ("--outbound", self.outbound.map(|a| a.to_string())),
            ("--agent-dial", self.agent_dial),
            ("--agent-id", self.agent_id),
            ("--capture-dial", self.capture_dial),
            ("--card-digits", self.card_digits.map(|n| n.to_string())),
        ];
        given
            .into_iter()
            .filter_map(|(flag, value)| Some([flag.to_owned(), value?]))
            .flatten()
            .collect()
    }
}

fn main() -> ExitCode {
    match Cli::try_parse() {
        Ok(cli) => confpay_sim::process::main(cli.into_args()),
        Err(answer) => {
            // Only a closed stdout/stderr can fail here, and then there is nowhere left to say so.
            let _ = answer.print();
            match answer.use_stderr() {
                true => ExitCode::from(EX_USAGE),
                false => ExitCode::SUCCESS,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn args(line: &[&str]) -> Result<Vec<String>, ErrorKind> {
        Cli::try_parse_from(std::iter::once("confpay-sim").chain(line.iter().copied()))
            .map(Cli::into_args)
            .map_err(|e| e.kind())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn given_options_are_passed_on_in_one_spelling() {
        assert_eq!(args(&[]), Ok(Vec::new()));
        assert_eq!(
            args(&["--password", "-pw"]),
            Ok(["--password", "-pw"].map(String::from).to_vec())
        );
        assert_eq!(
            args(&[
                "--listen=127.0.0.1:0",
                "--card-digits",
                "4",
                "--password",
                "pw"
            ]),
            Ok([
                "--listen",
                "127.0.0.1:0",
                "--password",
                "pw",
                "--card-digits",
                "4"
            ]
            .map(String::from)
            .to_vec())
        );
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(args(&["--bogus"]), Err(ErrorKind::UnknownArgument));
        assert_eq!(args(&["--listen"]), Err(ErrorKind::InvalidValue));
        assert_eq!(
            args(&["--listen", "nowhere"]),
            Err(ErrorKind::ValueValidation)
        );
        assert_eq!(
            args(&["--card-digits", "x"]),
            Err(ErrorKind::ValueValidation)
        );
        assert_eq!(args(&["--help"]), Err(ErrorKind::DisplayHelp));
    }
}
