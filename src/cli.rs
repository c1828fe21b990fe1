//! The `confpayd` command line. Hand-written: four flags do not justify clap's compile time on a
//! two-core build machine, and a hand parser keeps usage errors (exit 2) fully under our control.
//!
//! ```text
//! confpayd [--config FILE]                   run the daemon
//! confpayd --check-config [--config FILE]    validate, print the effective config (secrets masked)
//! confpayd decode [FILE]                    a raw FreeSWITCH→controller ESL stream as JSON lines
//! confpayd --version | --help
//! ```

use crate::config::ConfigLocation;
use std::ffi::OsString;
use std::path::PathBuf;

/// The usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: confpayd [--config FILE]
       confpayd --check-config [--config FILE]
       confpayd decode [FILE]
       confpayd --version | --help

  --config FILE    configuration file (default: /etc/confpay/confpay.toml if it exists,
                   else built-in defaults); CONFPAY_<SECTION>__<KEY> variables override it
  --check-config   validate the configuration, print it with secrets masked, exit 0 or 2
  decode [FILE]    read a raw FreeSWITCH->controller ESL byte stream (FILE or stdin) and print
                   one JSON object per frame per line; exit 1 on a malformed stream
  --version        print the version
  --help           print this help
";

/// What to do.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            p(&["decode", "a", "b"]),
            Err(CliError::UnknownArgument {
                arg: "b".to_owned()
            })
        );
    }
}
