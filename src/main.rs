//! `confpayd`: the Conference Pay daemon. Thin: parses the command line, loads the configuration,
//! sets up logging, signals and systemd notification, and hands off to [`confpay::daemon::Daemon`].
//! Exit codes live in [`confpay::error`].

use confpay::cli::{self, Command, USAGE};
use confpay::config::{self, Config, ConfigLocation};
use confpay::daemon::notify;
use confpay::daemon::{Daemon, Systemd, signals};
use confpay::error::{DaemonError, Exit};
use confpay::logging::LogHandle;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("confpayd: {e}\n\n{USAGE}");
            return DaemonError::Usage(e).exit().into();
        }
    };
    match command {
        Command::Help => {
            print!("{USAGE}");
            Exit::Ok.into()
        }
        Command::Version => {
            println!("confpayd {}", env!("CARGO_PKG_VERSION"));
            Exit::Ok.into()
        }
        Command::CheckConfig { config } => check_config(&config),
        Command::Decode { file } => decode(file),
        Command::Demo(opts) => demo(&opts),
        Command::Run { config } => run(config).into(),
    }
}

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
fn decode(file: Option<std::path::PathBuf>) -> ExitCode {
    let (stdout, stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let code = match file {
        None => confpay::decode::run(std::io::stdin().lock(), stdout, stderr),
        Some(path) => match std::fs::File::open(&path) {
            Ok(f) => confpay::decode::run(std::io::BufReader::new(f), stdout, stderr),
            Err(e) => {
                eprintln!("confpayd: decode: cannot open {}: {e}", path.display());
                2
            }
        },
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// `confpayd demo`: exit 0 when both scripted payments completed, 1 otherwise. Logs only with
/// `RUST_LOG` set (then as text on stdout, between the timeline's lines).
fn demo(opts: &confpay::demo::DemoOptions) -> ExitCode {
    if std::env::var_os("RUST_LOG").is_some() {
        let log = confpay::config::LogConfig {
            format: confpay::config::LogFormat::Text,
            ..Default::default()
        };
        if let Err(e) = confpay::logging::init(&log) {
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
        confpay::demo::main(opts, &mut std::io::stdout(), stop).await
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

/// Runs the daemon. Errors before logging is up go to stderr; after that, to the log only (under
/// systemd both end up in the journal, so printing twice would duplicate them).
fn run(location: ConfigLocation) -> Exit {
    let config: Config = match config::load(&location, std::env::vars_os()) {
        Ok(config) => config,
        Err(e) => return early(e.into()),
    };
    let log = match confpay::logging::init(&config.log) {
        Ok(log) => log,
        Err(e) => return early(e.into()),
    };
    match serve(location, config, log) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            tracing::error!(error = %e, exit = e.exit().code(), "confpayd exiting");
            e.exit()
        }
    }
}

fn early(e: DaemonError) -> Exit {
    eprintln!("confpayd: {e}");
    e.exit()
}

fn serve(location: ConfigLocation, config: Config, log: LogHandle) -> Result<(), DaemonError> {
    let (_signal_thread, signals) =
        signals::listen().map_err(|source| DaemonError::Signals { source })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("confpayd")
        .build()
        .map_err(|source| DaemonError::Runtime { source })?;
    let mut daemon = Daemon::new(location, config);
    daemon.log = Some(log);
    daemon.systemd = Arc::new(Systemd::from_env());
    daemon.watchdog = notify::watchdog_interval();
    let result = runtime.block_on(daemon.run(signals));
    // Tasks that outlived the grace period are dropped here, not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}
