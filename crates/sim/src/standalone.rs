//! The standalone simulator (`confpay-sim`): command-line options, and a [`Simulator`] set up like the
//! payment deployment — the `confpay` extension handing calls to the outbound socket, the `attach`
//! extension, a scripted agent at the agent dial string and a capture service expecting the agent ID.
//!
//! Every listener binds loopback unless told otherwise.

use crate::PaymentDialplan;
use crate::party::Party;
use crate::{SimConfig, SimStartError, Simulator};
use std::net::SocketAddr;

/// The usage text of `confpay-sim`.
pub const USAGE: &str = "\
usage: confpay-sim [options]
  --listen ADDR        inbound event socket (default 127.0.0.1:8021)
  --password PW        inbound password (default ClueCon)
  --outbound ADDR      where the socket extension connects: confpayd's outbound listener
                       (default 127.0.0.1:8084)
  --agent-dial DIAL    dial string of the scripted agent (default user/agent)
  --agent-id ID        agent ID the scripted capture service expects, then `#` (default 4711)
  --capture-dial DIAL  dial string of the scripted capture service (default sofia/gateway/paytia/pay)
  --card-digits N      digits the capture service collects after `1` (default 16)
  -h, --help           this text
Then type commands on stdin (`help` lists them).
";

/// Options of the standalone simulator.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    pub listen: SocketAddr,
    pub password: String,
    pub outbound: SocketAddr,
    pub agent_dial: String,
    pub agent_id: String,
    pub capture_dial: String,
    pub card_digits: usize,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("password", &"********")
            .field("outbound", &self.outbound)
            .field("agent_dial", &self.agent_dial)
            .field("agent_id", &self.agent_id)
            .field("capture_dial", &self.capture_dial)
            .field("card_digits", &self.card_digits)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8021)),
            password: "ClueCon".into(),
            outbound: SocketAddr::from(([127, 0, 0, 1], 8084)),
            agent_dial: "user/agent".into(),
            agent_id: "4711".into(),
            capture_dial: "sofia/gateway/paytia/pay".into(),
            card_digits: 16,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    Run(Options),
    Help,
}

/// A bad command line.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ArgsError {
    #[error("unknown option {option}")]
    Unknown { option: String },
    #[error("option {option} needs a value")]
    MissingValue { option: String },
    #[error("option {option}: {value:?} is not {expected}")]
    BadValue {
        option: String,
        value: String,
        expected: &'static str,
    },
}

/// Parses the arguments after the program name.
pub fn parse_args<I, S>(args: I) -> Result<Invocation, ArgsError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut o = Options::default();
    let mut it = args.into_iter().map(Into::into);
    while let Some(option) = it.next() {
        if option == "-h" || option == "--help" {
            return Ok(Invocation::Help);
        }
        let known = [
            "--listen",
            "--password",
            "--outbound",
            "--agent-dial",
            "--agent-id",
            "--capture-dial",
            "--card-digits",
        ];
        if !known.contains(&option.as_str()) {
            return Err(ArgsError::Unknown { option });
        }
        let Some(value) = it.next() else {
            return Err(ArgsError::MissingValue { option });
        };
        let addr = |v: &str| {
            v.parse::<SocketAddr>().map_err(|_| ArgsError::BadValue {
                option: option.clone(),
                value: v.to_owned(),
                expected: "an address like 127.0.0.1:8021",
            })
        };
        match option.as_str() {
            "--listen" => o.listen = addr(&value)?,
            "--outbound" => o.outbound = addr(&value)?,
            "--password" => o.password = value,
            "--agent-dial" => o.agent_dial = value,
            "--agent-id" => o.agent_id = value,
            "--capture-dial" => o.capture_dial = value,
            _ => {
                o.card_digits = value.parse().map_err(|_| ArgsError::BadValue {
                    option: option.clone(),
                    value: value.clone(),
                    expected: "a number",
                })?
            }
        }
    }
    Ok(Invocation::Run(o))
}

/// Starts the simulator with the deployment's extensions and the scripted agent and capture service.
pub async fn start(o: &Options) -> Result<Simulator, SimStartError> {
    let sim = Simulator::start(SimConfig {
        esl_listen: o.listen,
        password: o.password.clone(),
        outbound_target: Some(o.outbound),
        ..SimConfig::default()
    })
    .await?;
    register(&sim, o);
    Ok(sim)
}

/// Registers the extensions and parties (a `restart` keeps them, like FreeSWITCH keeps its dialplan).
pub fn register(sim: &Simulator, o: &Options) {
    let core = sim.core();
    PaymentDialplan::new(o.outbound, &o.agent_dial, Some(&o.agent_id)).install(core);
    core.register_party(&o.agent_dial, Party::agent("agent"));
    core.register_party(
        &o.capture_dial,
        Party::capture("capture", &format!("{}#", o.agent_id), o.card_digits),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bind_loopback_with_cluecon() {
        let Ok(Invocation::Run(o)) = parse_args(Vec::<String>::new()) else {
            panic!("defaults");
        };
        assert_eq!(o.listen, SocketAddr::from(([127, 0, 0, 1], 8021)));
        assert_eq!(o.outbound, SocketAddr::from(([127, 0, 0, 1], 8084)));
        assert_eq!(o.password, "ClueCon");
        assert!(o.listen.ip().is_loopback() && o.outbound.ip().is_loopback());
        assert!(!format!("{o:?}").contains("ClueCon"));
    }

    #[test]
    fn flags_and_errors() {
        let parsed = parse_args([
            "--listen",
            "127.0.0.1:0",
            "--password",
            "s3cret",
            "--outbound",
            "127.0.0.1:9",
            "--card-digits",
            "4",
        ]);
        let Ok(Invocation::Run(o)) = parsed else {
            panic!("{parsed:?}");
        };
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.password, "s3cret");
        assert_eq!(o.outbound.port(), 9);
        assert_eq!(o.card_digits, 4);
        assert_eq!(parse_args(["--help"]), Ok(Invocation::Help));
        assert_eq!(
            parse_args(["--bogus"]),
            Err(ArgsError::Unknown {
                option: "--bogus".into()
            })
        );
        assert_eq!(
            parse_args(["--listen"]),
            Err(ArgsError::MissingValue {
                option: "--listen".into()
            })
        );
        assert!(matches!(
            parse_args(["--listen", "nowhere"]),
            Err(ArgsError::BadValue { .. })
        ));
    }
}
