//! `confpayd` without a subcommand: load the configuration, set up logging, signals, the runtime
//! and the systemd notifier, and hand off to [`Daemon`] until it stops.

use crate::config::{self, Config, ConfigLocation};
use crate::daemon::{Daemon, Systemd, notify, signals};
use crate::error::{DaemonError, Exit};
use crate::logging::LogHandle;
use std::sync::Arc;
use std::time::Duration;

/// Runs the daemon. Errors before logging is up go to stderr; after that, to the log only (under
/// systemd both end up in the journal, so printing twice would duplicate them).
pub fn run(location: ConfigLocation) -> Exit {
    let config: Config = match config::load(&location, std::env::vars_os()) {
        Ok(config) => config,
        Err(e) => return early(e.into()),
    };
    let log = match crate::logging::init(&config.log) {
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
