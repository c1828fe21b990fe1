//! The `confpayd` command line. Hand-written: four flags do not justify clap's compile time on a
//! two-core build machine, and a hand parser keeps usage errors (exit 2) fully under our control.
//!
//! ```text
//! confpayd [--config FILE]                   run the daemon
//! confpayd --check-config [--config FILE]    validate, print the effective config (secrets masked)
//! confpayd decode [FILE]                    a raw FreeSWITCH→controller ESL stream as JSON lines
//! confpayd demo [--serve] [--port N] [--token T] [--speed X]   simulator + daemon, scripted call
//! confpayd --version | --help
//! ```

use crate::config::ConfigLocation;
use crate::demo::DemoOptions;
use std::ffi::OsString;
use std::path::PathBuf;

/// The usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: confpayd [--config FILE]
       confpayd --check-config [--config FILE]
       confpayd decode [FILE]
       confpayd demo [--serve] [--port N] [--token TOKEN] [--speed X]
       confpayd --version | --help

  --config FILE    configuration file (default: /etc/confpay/confpay.toml if it exists,
                   else built-in defaults); CONFPAY_<SECTION>__<KEY> variables override it
  --check-config   validate the configuration, print it with secrets masked, exit 0 or 2
  decode [FILE]    read a raw FreeSWITCH->controller ESL byte stream (FILE or stdin) and print
                   one JSON object per frame per line; exit 1 on a malformed stream
  demo             run a simulated FreeSWITCH and confpayd's parts against it on loopback, play a
                   scripted call (one Keyphone and one ACA payment), print a timeline of each leg
                   and who could hear whom, and exit
    --serve        then keep a fresh scripted call up and serve the agent page until Ctrl-C
    --port N       agent page / API port on 127.0.0.1 (default 0: any free port, printed)
    --token TOKEN  require this API token (default: none)
    --speed X      divide the scripted pauses by X (default 1)
  --version        print the version
  --help           print this help
";

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
    Version,
    Help,
}

/// A command-line mistake (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CliError {
    #[error("unknown argument `{arg}`")]
    UnknownArgument { arg: String },
    #[error("{flag} needs a value")]
    MissingValue { flag: &'static str },
    #[error("{flag} given twice")]
    Duplicate { flag: &'static str },
    #[error("{flag}: invalid value `{value}`")]
    BadValue { flag: &'static str, value: String },
}

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Command, CliError>
where
    I: IntoIterator<Item = OsString>,
{
    let mut config: Option<PathBuf> = None;
    let mut check = false;
    let mut version = false;
    let mut help = false;
    let mut args = args.into_iter().peekable();
    if args.peek().and_then(|a| a.to_str()) == Some("decode") {
        args.next();
        let file = args.next().filter(|f| f != "-").map(PathBuf::from);
        if let Some(extra) = args.next() {
            return Err(CliError::UnknownArgument {
                arg: extra.to_string_lossy().into_owned(),
            });
        }
        return Ok(Command::Decode { file });
    }
    if args.peek().and_then(|a| a.to_str()) == Some("demo") {
        args.next();
        return parse_demo(args);
    }
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else {
            return Err(CliError::UnknownArgument {
                arg: arg.to_string_lossy().into_owned(),
            });
        };
        let set = |slot: &mut bool, flag: &'static str| match *slot {
            true => Err(CliError::Duplicate { flag }),
            false => {
                *slot = true;
                Ok(())
            }
        };
        match text {
            "--check-config" => set(&mut check, "--check-config")?,
            "--version" | "-V" => set(&mut version, "--version")?,
            "--help" | "-h" => set(&mut help, "--help")?,
            "--config" | "-c" => {
                let value = args
                    .next()
                    .ok_or(CliError::MissingValue { flag: "--config" })?;
                set_config(&mut config, PathBuf::from(value))?;
            }
            other => match other.strip_prefix("--config=") {
                Some(value) if !value.is_empty() => set_config(&mut config, PathBuf::from(value))?,
                Some(_) => return Err(CliError::MissingValue { flag: "--config" }),
                None => {
                    return Err(CliError::UnknownArgument {
                        arg: other.to_owned(),
                    });
                }
            },
        }
    }
    let location = match config {
        Some(path) => ConfigLocation::File(path),
        None => ConfigLocation::standard(),
    };
    Ok(match (help, version, check) {
        (true, _, _) => Command::Help,
        (false, true, _) => Command::Version,
        (false, false, true) => Command::CheckConfig { config: location },
        (false, false, false) => Command::Run { config: location },
    })
}

/// `demo` flags; each at most once.
fn parse_demo(args: impl Iterator<Item = OsString>) -> Result<Command, CliError> {
    let mut opts = DemoOptions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut args = args;
    while let Some(arg) = args.next() {
        let text = arg.to_string_lossy().into_owned();
        let flag: &'static str = match text.as_str() {
            "--help" | "-h" => return Ok(Command::Help),
            "--serve" => "--serve",
            "--port" => "--port",
            "--token" => "--token",
            "--speed" => "--speed",
            _ => return Err(CliError::UnknownArgument { arg: text }),
        };
        if seen.contains(&flag) {
            return Err(CliError::Duplicate { flag });
        }
        seen.push(flag);
        if flag == "--serve" {
            opts.serve = true;
            continue;
        }
        let value = args
            .next()
            .map(|v| v.to_string_lossy().into_owned())
            .ok_or(CliError::MissingValue { flag })?;
        let bad = || CliError::BadValue {
            flag,
            value: value.clone(),
        };
        match flag {
            "--port" => opts.port = value.parse().map_err(|_| bad())?,
            "--speed" => {
                opts.speed = value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .ok_or_else(bad)?;
            }
            _ => opts.token = Some(value),
        }
    }
    Ok(Command::Demo(opts))
}

fn set_config(slot: &mut Option<PathBuf>, path: PathBuf) -> Result<(), CliError> {
    match slot {
        Some(_) => Err(CliError::Duplicate { flag: "--config" }),
        None => {
            *slot = Some(path);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, CliError> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            p(&[]),
            Ok(Command::Run {
                config: ConfigLocation::standard()
            })
        );
        assert_eq!(
            p(&["--config", "/x.toml"]),
            Ok(Command::Run {
                config: ConfigLocation::File("/x.toml".into())
            })
        );
        assert_eq!(
            p(&["--check-config", "--config=/y.toml"]),
            Ok(Command::CheckConfig {
                config: ConfigLocation::File("/y.toml".into())
            })
        );
        assert_eq!(p(&["--version"]), Ok(Command::Version));
        assert_eq!(p(&["decode"]), Ok(Command::Decode { file: None }));
        assert_eq!(p(&["decode", "-"]), Ok(Command::Decode { file: None }));
        assert_eq!(
            p(&["decode", "cap.raw"]),
            Ok(Command::Decode {
                file: Some("cap.raw".into())
            })
        );
        assert_eq!(p(&["-h", "--check-config"]), Ok(Command::Help));
        assert_eq!(p(&["demo"]), Ok(Command::Demo(DemoOptions::default())));
        assert_eq!(p(&["demo", "--help"]), Ok(Command::Help));
        assert_eq!(
            p(&[
                "demo", "--serve", "--port", "8085", "--token", "t", "--speed", "4"
            ]),
            Ok(Command::Demo(DemoOptions {
                serve: true,
                port: 8085,
                token: Some("t".into()),
                speed: 4.0,
            }))
        );
    }

    #[test]
    fn rejects_mistakes() {
        assert_eq!(
            p(&["--config"]),
            Err(CliError::MissingValue { flag: "--config" })
        );
        assert_eq!(
            p(&["--config", "a", "--config", "b"]),
            Err(CliError::Duplicate { flag: "--config" })
        );
        assert_eq!(
            p(&["--frob"]),
            Err(CliError::UnknownArgument {
                arg: "--frob".to_owned()
            })
        );
        assert_eq!(
            p(&["--check-config", "decode"]),
            Err(CliError::UnknownArgument {
                arg: "decode".to_owned()
            })
        );
        assert_eq!(
            p(&["demo", "--speed", "0"]),
            Err(CliError::BadValue {
                flag: "--speed",
                value: "0".into()
            })
        );
        assert_eq!(
            p(&["demo", "--port"]),
            Err(CliError::MissingValue { flag: "--port" })
        );
        assert_eq!(
            p(&["demo", "--serve", "--serve"]),
            Err(CliError::Duplicate { flag: "--serve" })
        );
        assert_eq!(
            p(&["decode", "a", "b"]),
            Err(CliError::UnknownArgument {
                arg: "b".to_owned()
            })
        );
    }
}
