//! Carrying out a parsed [`Command`]: each one-shot command here, the daemon in [`super::daemon`].
//! Each returns the process exit status (see [`crate::error`]).

use super::{Command, daemon, generate};
use crate::config::{self, ConfigLocation};
use crate::demo::DemoOptions;
use crate::error::{DaemonError, Exit};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Runs `command` to its end.
pub fn execute(command: Command) -> ExitCode {
    match command {
        Command::Run { config } => daemon::run(config).into(),
        Command::CheckConfig { config } => check_config(&config),
        Command::Decode { file } => decode(file),
        Command::Demo(opts) => demo(&opts),
        Command::Completions(shell) => print("completions", Ok(generate::completions(shell))),
        Command::Man => print("man", generate::man_page()),
    }
}

/// Writes a generated document to stdout: exit 0, or 1 if it could not be made or written.
fn print(what: &str, document: std::io::Result<Vec<u8>>) -> ExitCode {
    let written = document.and_then(|doc| {
        let mut out = std::io::stdout().lock();
        out.write_all(&doc)?;
        out.flush()
    });
    match written {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("confpayd: {what}: {e}");
            Exit::Fatal.into()
        }
    }
}

/// `confpayd --check-config`: the effective configuration, secrets masked; exit 0, or 2 if invalid.
fn check_config(location: &ConfigLocation) -> ExitCode {
    match config::load(location, std::env::vars_os()) {
        Ok(config) => {
            println!("# confpayd: configuration OK ({location}); secrets masked");
            print!("{}", config::render(&config));
            Exit::Ok.into()
        }
        Err(e) => {
            let e = DaemonError::Config(e);
            eprintln!("confpayd: {e}");
            e.exit().into()
        }
    }
}

/// `confpayd decode [FILE]`: exit 0, 1 for a malformed stream, 2 if FILE cannot be opened.
fn decode(file: Option<PathBuf>) -> ExitCode {
    let (stdout, stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let code = match file {
        None => crate::decode::run(std::io::stdin().lock(), stdout, stderr),
        Some(path) => match std::fs::File::open(&path) {
            Ok(f) => crate::decode::run(std::io::BufReader::new(f), stdout, stderr),
            Err(e) => {
                eprintln!("confpayd: decode: cannot open {}: {e}", path.display());
                2
            }
        },
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `confpayd demo`: exit 0 when both scripted payments completed, 1 otherwise. Logs only with
/// `RUST_LOG` set (then as text on stdout, between the timeline's lines), so that the timeline
/// stays readable by default.
fn demo(opts: &DemoOptions) -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        let log = config::LogConfig {
            format: config::LogFormat::Text,
            ..Default::default()
        };
        if let Err(e) = crate::logging::init(&log) {
            eprintln!("confpayd: demo: logging: {e}");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("confpayd: demo: {e}");
            return Exit::Fatal.into();
        }
    };
    let result = runtime.block_on(async {
        let stop = tokio_util::sync::CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        crate::demo::main(opts, &mut std::io::stdout(), stop).await
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => Exit::Ok.into(),
        Err(e) => {
            eprintln!("confpayd: demo: {e}");
            Exit::Fatal.into()
        }
    }
}
