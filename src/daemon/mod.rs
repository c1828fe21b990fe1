//! The supervisor: starts the components, tells systemd, handles signals, and shuts down gracefully.
//!
//! | module | job |
//! |---|---|
//! | [`component`] | `Context` given to each component, `ComponentError` |
//! | [`signals`] | SIGTERM/SIGINT/SIGHUP from a signal-hook thread into a tokio channel |
//! | [`reload`] | SIGHUP: re-read + validate + diff the configuration |
//! | [`loglevel`] | warns when FreeSWITCH's configured log ceiling would record DTMF digits (`xml_locate`) |
//! | [`notify`] | [`Systemd`]: sd_notify READY / RELOADING / STOPPING / WATCHDOG (sd-notify crate) |
//! | [`stack`] | the working parts: inbound ESL client, engine, outbound socket server (also used by tests) |
//!
//! Life cycle: start components ([`start_components`]) → `READY=1` → loop { SIGHUP: reload;
//! SIGTERM/SIGINT or a component's fatal error: leave } → `STOPPING=1` → cancel the token → wait for
//! the tracked tasks (at most [`Daemon::shutdown_grace`]; a second SIGTERM/SIGINT exits at once).

pub mod component;
pub mod loglevel;
pub mod notify;
pub mod reload;
pub mod signals;
pub mod stack;

use crate::config::{Apply, Config, ConfigLocation};
use crate::error::DaemonError;
use crate::logging::LogHandle;
use component::{ComponentError, Context};
pub use notify::Systemd;
use signals::Signal;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

/// How long shutdown waits for tasks by default.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Starts every component, in order; returns once all are up. A component spawns its tasks into
/// `ctx.tracker` and returns when it is ready (see [`component`] for the contract).
///
/// The inbound ESL client comes first, so a refused password exits 78 before anything listens; then
/// the engine, the outbound socket server and the HTTP API ([`stack::Stack`]).
pub async fn start_components(ctx: &Context) -> Result<(), ComponentError> {
    let _stack = stack::Stack::start_live(ctx.config.clone(), &ctx.tracker, &ctx.shutdown).await?;
    Ok(())
}

/// The running daemon's state.
pub struct Daemon {
    pub location: ConfigLocation,
    pub config: watch::Sender<Arc<Config>>,
    pub log: Option<LogHandle>,
    pub systemd: Arc<Systemd>,
    /// `WATCHDOG=1` interval (half of `WATCHDOG_USEC`), if the watchdog is on.
    pub watchdog: Option<Duration>,
    pub shutdown_grace: Duration,
}

/// Why the main loop ended.
enum Leave {
    Signal(Signal),
    Fatal(DaemonError),
}

impl Daemon {
    /// A daemon for `config`, loaded from `location`.
    pub fn new(location: ConfigLocation, config: Config) -> Daemon {
        Daemon {
            location,
            config: watch::Sender::new(Arc::new(config)),
            log: None,
            systemd: Arc::new(Systemd::default()),
            watchdog: None,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }

    /// Runs the real components ([`start_components`]) until a shutdown signal or a fatal error.
    pub async fn run(self, signals: mpsc::Receiver<Signal>) -> Result<(), DaemonError> {
        self.run_with(signals, |ctx| async move { start_components(&ctx).await })
            .await
    }

    /// Runs with `start` in place of [`start_components`] (tests start fake components).
    pub async fn run_with<F, Fut>(
        self,
        mut signals: mpsc::Receiver<Signal>,
        start: F,
    ) -> Result<(), DaemonError>
    where
        F: FnOnce(Context) -> Fut,
        Fut: Future<Output = Result<(), ComponentError>>,
    {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        let (fatal_tx, mut fatal_rx) = mpsc::channel(8);
        let ctx = Context::new(
            self.config.subscribe(),
            token.clone(),
            tracker.clone(),
            fatal_tx,
        );
        info!(config = %self.location, version = env!("CARGO_PKG_VERSION"), "confpayd starting");

        let start = start(ctx);
        tokio::pin!(start);
        let mut leave = loop {
            tokio::select! {
                started = &mut start => match started {
                    Ok(()) => break None,
                    Err(e) => break Some(Leave::Fatal(e.into())),
                },
                signal = signals.recv() => match self.on_signal(signal) {
                    Some(leave) => break Some(leave),
                    None => continue,
                },
            }
        };

        if leave.is_none() {
            self.systemd.ready();
            info!("confpayd ready");
            if let Some(every) = self.watchdog {
                spawn_watchdog(&tracker, &token, self.systemd.clone(), every);
            }
            leave = Some(loop {
                tokio::select! {
                    signal = signals.recv() => match self.on_signal(signal) {
                        Some(leave) => break leave,
                        None => continue,
                    },
                    Some(e) = fatal_rx.recv() => break Leave::Fatal(e.into()),
                }
            });
        }
        let result = match leave {
            Some(Leave::Fatal(e)) => {
                error!(error = %e, "fatal error; shutting down");
                Err(e)
            }
            Some(Leave::Signal(signal)) => {
                info!(?signal, "shutting down");
                Ok(())
            }
            None => Ok(()),
        };
        self.shutdown(token, tracker, &mut signals).await?;
        result
    }

    /// Handles one signal; `Some` means leave the loop. A closed channel (the signal thread died) is
    /// fatal: the daemon could no longer be stopped gracefully.
    fn on_signal(&self, signal: Option<Signal>) -> Option<Leave> {
        match signal {
            Some(Signal::Hangup) => {
                self.reload();
                None
            }
            Some(s @ (Signal::Terminate | Signal::Interrupt)) => Some(Leave::Signal(s)),
            None => Some(Leave::Fatal(DaemonError::SignalsLost)),
        }
    }

    /// SIGHUP: reload the configuration; on error keep the running one.
    pub fn reload(&self) {
        self.systemd.reloading();
        let current = self.config.borrow().clone();
        match reload::reload(&self.location, &current, std::env::vars_os()) {
            Err(e) => {
                warn!(config = %self.location, error = %e, "config reload failed; keeping the running configuration");
            }
            Ok(reloaded) if reloaded.changes.is_empty() => {
                info!(config = %self.location, "config reloaded: no changes");
            }
            Ok(reloaded) => {
                for change in &reloaded.changes {
                    let apply = match change.apply {
                        Apply::Live => "live",
                        Apply::NeedsRestart => "needs restart",
                    };
                    info!(key = change.key, old = %change.old, new = %change.new, apply, "config changed");
                }
                self.apply_log_level(&reloaded.config);
                info!(config = %self.location, changed = reloaded.changes.len(), "config reloaded");
                self.config.send_replace(Arc::new(reloaded.config));
            }
        }
        self.systemd.ready();
    }

    fn apply_log_level(&self, config: &Config) {
        let Some(log) = &self.log else { return };
        match log.set_level(&config.log.level) {
            Ok(true) => {}
            Ok(false) => {
                info!(
                    rust_log = log.rust_log().unwrap_or(""),
                    "log.level ignored: RUST_LOG is set"
                );
            }
            Err(e) => warn!(error = %e, "log.level not applied"),
        }
    }

    /// STOPPING=1, cancel, and wait for the tracked tasks up to the grace period.
    async fn shutdown(
        &self,
        token: CancellationToken,
        tracker: TaskTracker,
        signals: &mut mpsc::Receiver<Signal>,
    ) -> Result<(), DaemonError> {
        self.systemd.stopping();
        token.cancel();
        tracker.close();
        let deadline = tokio::time::sleep(self.shutdown_grace);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = tracker.wait() => {
                    info!("confpayd stopped");
                    return Ok(());
                }
                () = &mut deadline => {
                    return Err(DaemonError::ShutdownTimeout {
                        pending: tracker.len(),
                        grace: self.shutdown_grace,
                    });
                }
                signal = signals.recv() => match signal {
                    Some(Signal::Terminate) => {
                        return Err(DaemonError::ShutdownForced { signal: "SIGTERM" });
                    }
                    Some(Signal::Interrupt) => {
                        return Err(DaemonError::ShutdownForced { signal: "SIGINT" });
                    }
                    Some(Signal::Hangup) => info!("SIGHUP ignored during shutdown"),
                    // The signal thread is gone: keep waiting for the tasks or the deadline.
                    None => std::future::pending::<()>().await,
                },
            }
        }
    }
}

fn spawn_watchdog(
    tracker: &TaskTracker,
    token: &CancellationToken,
    systemd: Arc<Systemd>,
    every: Duration,
) {
    let token = token.clone();
    tracker.spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                () = token.cancelled() => break,
                _ = tick.tick() => systemd.watchdog(),
            }
        }
    });
}

#[cfg(test)]
mod tests;
