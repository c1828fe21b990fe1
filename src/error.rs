//! The daemon's top-level error and the process exit codes, in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | clean exit |
//! | 1 | any other fatal error |
//! | 2 | configuration or command-line error (retrying will not help) |
//! | 78 | `EX_CONFIG`: FreeSWITCH refused the ESL password at start-up |

use crate::config::ConfigError;
use crate::daemon::component::ComponentError;
use crate::logging::LogError;
use std::time::Duration;

/// A process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Fatal,
    Config,
    EslAuth,
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Fatal => 1,
            Exit::Config => 2,
            Exit::EslAuth => 78,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(exit.code())
    }
}

/// Why `confpayd` stopped unsuccessfully.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A command-line mistake, as clap words it (with the usage line).
    #[error("{0}")]
    Usage(#[from] clap::Error),
    #[error("config error: {0}")]
    Config(#[from] ConfigError),
    #[error("logging: {0}")]
    Logging(#[from] LogError),
    #[error("{0}")]
    Component(#[from] ComponentError),
    #[error("cannot install signal handlers: {source}")]
    Signals {
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {source}")]
    Runtime {
        #[source]
        source: std::io::Error,
    },
    #[error("the signal thread stopped unexpectedly")]
    SignalsLost,
    #[error("{pending} task(s) still running {grace:?} after shutdown began")]
    ShutdownTimeout { pending: usize, grace: Duration },
    #[error("second {signal} during shutdown: exiting at once")]
    ShutdownForced { signal: &'static str },
}

impl DaemonError {
    /// The exit status for this error.
    pub fn exit(&self) -> Exit {
        match self {
            DaemonError::Usage(_) | DaemonError::Config(_) => Exit::Config,
            DaemonError::Logging(e) => match e {
                LogError::BadDirective { .. } => Exit::Config,
                LogError::AlreadyInitialised { .. } | LogError::Reload { .. } => Exit::Fatal,
            },
            DaemonError::Component(e) => match e {
                ComponentError::EslAuthRefused { .. } => Exit::EslAuth,
                ComponentError::Bind { .. } | ComponentError::Failed { .. } => Exit::Fatal,
            },
            DaemonError::Signals { .. }
            | DaemonError::Runtime { .. }
            | DaemonError::SignalsLost
            | DaemonError::ShutdownTimeout { .. }
            | DaemonError::ShutdownForced { .. } => Exit::Fatal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let auth = DaemonError::Component(ComponentError::EslAuthRefused {
            address: "127.0.0.1:8021".to_owned(),
        });
        assert_eq!(auth.exit().code(), 78);
        let bad = DaemonError::Config(ConfigError::Invalid {
            origin: "/etc/confpay/confpay.toml".to_owned(),
            errors: vec![crate::config::Invalid {
                key: "payment.max_capture_s",
                reason: "must be > 0".to_owned(),
            }],
        });
        assert_eq!(bad.exit().code(), 2);
        assert_eq!(
            bad.to_string(),
            "config error: /etc/confpay/confpay.toml: payment.max_capture_s: must be > 0"
        );
        let usage = DaemonError::Usage(clap::Error::new(clap::error::ErrorKind::UnknownArgument));
        assert_eq!(usage.exit().code(), 2);
        assert_eq!(DaemonError::SignalsLost.exit().code(), 1);
        assert_eq!(Exit::Ok.code(), 0);
    }
}
