//! The command line as clap parses it: every form `confpayd` accepts, and the mistakes it refuses.

use super::*;
use clap::CommandFactory;
use clap::error::ErrorKind;

fn p(args: &[&str]) -> Result<Command, ErrorKind> {
    parse(std::iter::once("confpayd").chain(args.iter().copied())).map_err(|e| e.kind())
}

#[test]
fn the_declaration_is_consistent() {
    Cli::command().debug_assert();
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
        p(&["-c", "/x.toml"]),
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
    assert_eq!(p(&["--version"]), Err(ErrorKind::DisplayVersion));
    assert_eq!(p(&["-V"]), Err(ErrorKind::DisplayVersion));
    assert_eq!(p(&["decode"]), Ok(Command::Decode { file: None }));
    assert_eq!(p(&["decode", "-"]), Ok(Command::Decode { file: None }));
    assert_eq!(
        p(&["decode", "cap.raw"]),
        Ok(Command::Decode {
            file: Some("cap.raw".into())
        })
    );
    assert_eq!(p(&["-h", "--check-config"]), Err(ErrorKind::DisplayHelp));
    assert_eq!(p(&["demo"]), Ok(Command::Demo(DemoOptions::default())));
    assert_eq!(p(&["demo", "--help"]), Err(ErrorKind::DisplayHelp));
    assert_eq!(
        p(&[
            "demo",
            "--serve",
            "--port",
            "8085",
            "--token",
            "t",
            "--agent-secret",
            "a-platform-secret-of-at-least-32-bytes",
            "--speed",
            "4"
        ]),
        Ok(Command::Demo(DemoOptions {
            serve: true,
            port: 8085,
            token: Some("t".into()),
            agent_secret: Some("a-platform-secret-of-at-least-32-bytes".into()),
            speed: 4.0,
        }))
    );
    assert_eq!(
        p(&["completions", "zsh"]),
        Ok(Command::Completions(Shell::Zsh))
    );
    assert_eq!(p(&["man"]), Ok(Command::Man));
}

#[test]
fn rejects_mistakes() {
    assert_eq!(p(&["--config"]), Err(ErrorKind::InvalidValue));
    assert_eq!(p(&["--config="]), Err(ErrorKind::InvalidValue));
    assert_eq!(
        p(&["--config", "a", "--config", "b"]),
        Err(ErrorKind::ArgumentConflict)
    );
    assert_eq!(
        p(&["--check-config", "--check-config"]),
        Err(ErrorKind::ArgumentConflict)
    );
    assert_eq!(p(&["--frob"]), Err(ErrorKind::UnknownArgument));
    assert!(p(&["--check-config", "decode"]).is_err());
    assert!(p(&["--config", "a", "demo"]).is_err());
    assert_eq!(
        p(&["demo", "--agent-secret", "too-short"]),
        Err(ErrorKind::ValueValidation)
    );
    assert_eq!(
        p(&["demo", "--speed", "0"]),
        Err(ErrorKind::ValueValidation)
    );
    assert_eq!(
        p(&["demo", "--speed", "inf"]),
        Err(ErrorKind::ValueValidation)
    );
    assert_eq!(
        p(&["demo", "--port", "65536"]),
        Err(ErrorKind::ValueValidation)
    );
    assert_eq!(p(&["demo", "--port"]), Err(ErrorKind::InvalidValue));
    assert_eq!(
        p(&["demo", "--serve", "--serve"]),
        Err(ErrorKind::ArgumentConflict)
    );
    assert_eq!(p(&["decode", "a", "b"]), Err(ErrorKind::UnknownArgument));
    assert_eq!(p(&["completions", "tcsh"]), Err(ErrorKind::InvalidValue));
    assert_eq!(p(&["completions"]), Err(ErrorKind::MissingRequiredArgument));
}

#[test]
fn help_and_version_exit_0_mistakes_exit_2() {
    let status = |args: &[&str]| {
        let e = parse(std::iter::once("confpayd").chain(args.iter().copied()))
            .expect_err("clap answers");
        exit_status(e).code()
    };
    assert_eq!(status(&["--help"]), 0);
    assert_eq!(status(&["demo", "-h"]), 0);
    assert_eq!(status(&["--version"]), 0);
    assert_eq!(status(&["--frob"]), 2);
    assert_eq!(status(&["demo", "--speed", "0"]), 2);
}
