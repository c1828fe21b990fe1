//! The command line of `confpay-sim`, read once by clap, for the binary and for the load tool's
//! simulator process (`load --sim-side …`) alike. Options left out keep [`Options::default`].

use crate::standalone::Options;
use clap::Parser;
use std::net::SocketAddr;

// The text options allow values starting with `-`: a password or a dial string may.
/// A FreeSWITCH simulator speaking the Event Socket, set up like the payment deployment
#[derive(Debug, Parser)]
#[command(
    name = "confpay-sim",
    disable_version_flag = true,
    after_help = "Then type commands on stdin (`help` lists them)."
)]
pub struct Cli {
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
    /// Parses the arguments after the program name.
    pub fn parse_args<I, S>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let line =
            std::iter::once("confpay-sim".to_owned()).chain(args.into_iter().map(Into::into));
        Cli::try_parse_from(line)
    }

    /// The options given, the defaults for the rest.
    pub fn into_options(self) -> Options {
        let d = Options::default();
        Options {
            listen: self.listen.unwrap_or(d.listen),
            password: self.password.unwrap_or(d.password),
            outbound: self.outbound.unwrap_or(d.outbound),
            agent_dial: self.agent_dial.unwrap_or(d.agent_dial),
            agent_id: self.agent_id.unwrap_or(d.agent_id),
            capture_dial: self.capture_dial.unwrap_or(d.capture_dial),
            card_digits: self.card_digits.unwrap_or(d.card_digits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use clap::error::ErrorKind;

    fn options(line: &[&str]) -> Result<Options, ErrorKind> {
        Cli::parse_args(line.iter().copied())
            .map(Cli::into_options)
            .map_err(|e| e.kind())
    }

    #[test]
    fn the_declaration_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_bind_loopback_with_cluecon() {
        let o = options(&[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.listen, SocketAddr::from(([127, 0, 0, 1], 8021)));
        assert_eq!(o.outbound, SocketAddr::from(([127, 0, 0, 1], 8084)));
        assert_eq!(o.password, "ClueCon");
        assert!(o.listen.ip().is_loopback() && o.outbound.ip().is_loopback());
        assert!(!format!("{o:?}").contains("ClueCon"));
    }

    #[test]
    fn given_options_replace_the_defaults() {
        let o = options(&[
            "--listen=127.0.0.1:0",
            "--password",
            "-s3cret",
            "--outbound",
            "127.0.0.1:9",
            "--card-digits",
            "4",
        ])
        .unwrap();
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.password, "-s3cret");
        assert_eq!(o.outbound.port(), 9);
        assert_eq!(o.card_digits, 4);
        assert_eq!(o.agent_id, Options::default().agent_id);
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(options(&["--bogus"]), Err(ErrorKind::UnknownArgument));
        assert_eq!(options(&["--listen"]), Err(ErrorKind::InvalidValue));
        assert_eq!(
            options(&["--listen", "nowhere"]),
            Err(ErrorKind::ValueValidation)
        );
        assert_eq!(
            options(&["--card-digits", "x"]),
            Err(ErrorKind::ValueValidation)
        );
        assert_eq!(options(&["--help"]), Err(ErrorKind::DisplayHelp));
    }
}
