//! Logging: `tracing` to the journal or stdout, in a format chosen by `log.format`:
//!
//! | format | when | output |
//! |---|---|---|
//! | `journald` | `auto` and stdout is the journal (`JOURNAL_STREAM`) | journald's native protocol ([`native`]): one entry per event, every field a journal field (`CONFPAY_CALL`, `CONFPAY_SESSION`, ...) |
//! | (fallback) | `journald` but the journal's socket cannot be reached | `<6>INFO target: message key=value` lines on stdout ([`JournaldFormat`]) |
//! | `text` | `auto` otherwise | timestamped; ANSI colour only when stdout is a terminal |
//! | `json` | asked for | one JSON object per line |
//!
//! systemd sets `JOURNAL_STREAM` so that a service can tell its stdout goes to the journal and
//! "upgrade" to the native protocol (systemd.exec(5)); that is what `auto` does.
//!
//! The level filter is `log.level`, unless `RUST_LOG` is set; it can be changed on reload
//! ([`LogHandle::set_level`]).

pub mod journald;
pub mod native;
pub mod rfc3339;

use crate::config::{LogConfig, LogFormat};
pub use journald::JournaldFormat;
use std::io::IsTerminal;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layered, SubscriberExt};
use tracing_subscriber::{EnvFilter, Layer, Registry, reload};

/// The format actually used, after `auto` is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// The native journal protocol, or [`Resolved::JournalLines`] when the socket is unreachable.
    Journald,
    /// `<N>`-prefixed lines on stdout, which journald reads from a service's stdout.
    JournalLines,
    Text {
        ansi: bool,
    },
    Json,
}

/// What the process's stdout is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stdout {
    /// `JOURNAL_STREAM` is set and names stdout's device and inode.
    pub journal: bool,
    pub terminal: bool,
}

impl Stdout {
    /// Inspects this process's stdout and `JOURNAL_STREAM`.
    pub fn detect() -> Stdout {
        let journal_stream = std::env::var("JOURNAL_STREAM").ok();
        Stdout {
            journal: journal_stream
                .as_deref()
                .is_some_and(|s| stream_matches(s, stdout_dev_ino())),
            terminal: std::io::stdout().is_terminal(),
        }
    }
}

/// `JOURNAL_STREAM` is `<device>:<inode>` of the journal's socket; a child whose stdout was redirected
/// elsewhere still inherits the variable, so systemd says to compare. When stdout cannot be inspected,
/// the variable alone decides.
pub fn stream_matches(journal_stream: &str, stdout: Option<(u64, u64)>) -> bool {
    let Some((dev, ino)) = journal_stream.split_once(':') else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.trim().parse::<u64>(), ino.trim().parse::<u64>()) else {
        return false;
    };
    match stdout {
        Some(actual) => actual == (dev, ino),
        None => true,
    }
}

fn stdout_dev_ino() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Decides `auto`; `text` gets colour only on a terminal.
pub fn resolve(format: LogFormat, stdout: Stdout) -> Resolved {
    let text = Resolved::Text {
        ansi: stdout.terminal,
    };
    match format {
        LogFormat::Auto if stdout.journal => Resolved::Journald,
        LogFormat::Auto | LogFormat::Text => text,
        LogFormat::Journald => Resolved::Journald,
        LogFormat::Json => Resolved::Json,
    }
}

/// Why the level filter could not be set.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("invalid log filter `{directive}` (log.level or RUST_LOG): {reason}")]
    BadDirective { directive: String, reason: String },
    #[error("logging is already initialised: {reason}")]
    AlreadyInitialised { reason: String },
    #[error("logging is gone: {reason}")]
    Reload { reason: String },
}

type Filtered = Layered<reload::Layer<EnvFilter, Registry>, Registry>;
type FmtLayer = Box<dyn Layer<Filtered> + Send + Sync>;
/// The subscriber [`subscriber`] builds.
pub type Logger = Layered<FmtLayer, Filtered>;

/// Changes the level filter of a running logger.
#[derive(Clone)]
pub struct LogHandle {
    handle: reload::Handle<EnvFilter, Registry>,
    /// `RUST_LOG` was set at start-up: it wins over `log.level`, also on reload.
    rust_log: Option<String>,
    /// Why the native journal protocol could not be used (lines on stdout instead).
    journal_fallback: Option<String>,
}

impl LogHandle {
    /// Applies `log.level` = `directive`. Returns `Ok(false)` without change when `RUST_LOG` wins.
    pub fn set_level(&self, directive: &str) -> Result<bool, LogError> {
        if self.rust_log.is_some() {
            return Ok(false);
        }
        let filter = parse_filter(directive)?;
        self.handle
            .reload(filter)
            .map(|()| true)
            .map_err(|e| LogError::Reload {
                reason: e.to_string(),
            })
    }

    /// The `RUST_LOG` value in force, if any.
    pub fn rust_log(&self) -> Option<&str> {
        self.rust_log.as_deref()
    }

    /// Why `journald` logs lines on stdout instead of the native protocol, if it does.
    pub fn journal_fallback(&self) -> Option<&str> {
        self.journal_fallback.as_deref()
    }
}

fn parse_filter(directive: &str) -> Result<EnvFilter, LogError> {
    EnvFilter::try_new(directive).map_err(|e| LogError::BadDirective {
        directive: directive.to_owned(),
        reason: e.to_string(),
    })
}

/// Builds the subscriber writing to `writer`. `rust_log` is the `RUST_LOG` value (if set and
/// non-empty, it replaces `config.level`).
pub fn subscriber<W>(
    config: &LogConfig,
    format: Resolved,
    rust_log: Option<String>,
    writer: W,
) -> Result<(Logger, LogHandle), LogError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let rust_log = rust_log.filter(|s| !s.trim().is_empty());
    let filter = parse_filter(rust_log.as_deref().unwrap_or(&config.level))?;
    let (filter, handle) = reload::Layer::new(filter);
    let base = tracing_subscriber::registry().with(filter);
    let mut journal_fallback = None;
    let format = match format {
        Resolved::Journald => match native::layer() {
            Ok(layer) => {
                let handle = LogHandle {
                    handle,
                    rust_log,
                    journal_fallback,
                };
                return Ok((base.with(layer.boxed()), handle));
            }
            Err(e) => {
                journal_fallback = Some(e.to_string());
                Resolved::JournalLines
            }
        },
        other => other,
    };
    let layer: FmtLayer = match format {
        Resolved::Journald | Resolved::JournalLines => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .event_format(JournaldFormat)
            .with_writer(writer)
            .boxed(),
        Resolved::Text { ansi } => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
        Resolved::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_ansi(false)
            .with_writer(writer)
            .boxed(),
    };
    let handle = LogHandle {
        handle,
        rust_log,
        journal_fallback,
    };
    Ok((base.with(layer), handle))
}

/// Installs the process-wide logger on stdout.
pub fn init(config: &LogConfig) -> Result<LogHandle, LogError> {
    let format = resolve(config.format, Stdout::detect());
    let rust_log = std::env::var("RUST_LOG").ok();
    let (logger, handle) = subscriber(config, format, rust_log, std::io::stdout)?;
    tracing::subscriber::set_global_default(logger).map_err(|e| LogError::AlreadyInitialised {
        reason: e.to_string(),
    })?;
    if let Some(why) = handle.journal_fallback() {
        tracing::warn!(
            socket = native::SOCKET,
            error = why,
            "journal socket unreachable: logging <N>-prefixed lines to stdout instead"
        );
    }
    Ok(handle)
}

#[cfg(test)]
mod tests;
