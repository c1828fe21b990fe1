//! Telling systemd how the daemon is doing (sd_notify(3)), through the `sd-notify` crate: start-up
//! done, a reload begun and finished, shutdown begun, and the watchdog keep-alive. The unit file
//! (`systemd/confpay.service`) declares `Type=notify` and `WatchdogSec=` for this.
//!
//! Best effort: a failed send is logged and the daemon carries on, because calls in progress matter
//! more than systemd's view of them. The crate sends to the path in `$NOTIFY_SOCKET` (systemd's is
//! `/run/systemd/notify`); without the variable (not started by systemd) nothing is sent.

use sd_notify::NotifyState;
use std::fmt::Write as _;
use std::time::Duration;
use tracing::warn;

/// Where notifications go.
#[derive(Debug, Default)]
enum Sink {
    /// Nowhere: not started by systemd.
    #[default]
    Off,
    /// `$NOTIFY_SOCKET`, as the crate finds it at each send.
    Socket,
    /// Each datagram as the socket would receive it. One process-wide `$NOTIFY_SOCKET` cannot tell
    /// apart the supervisor tests that run in parallel; a channel per test can.
    #[cfg(test)]
    Record(tokio::sync::mpsc::UnboundedSender<String>),
}

/// The daemon's line to systemd; [`Systemd::default`] says nothing.
#[derive(Debug, Default)]
pub struct Systemd {
    sink: Sink,
}

impl Systemd {
    /// Sends to `$NOTIFY_SOCKET` when it is set and not empty, else nowhere.
    pub fn from_env() -> Systemd {
        let socket = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
        Systemd {
            sink: if socket { Sink::Socket } else { Sink::Off },
        }
    }

    /// A notifier that records each datagram into the returned channel instead of sending it.
    #[cfg(test)]
    pub(crate) fn recording() -> (Systemd, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (
            Systemd {
                sink: Sink::Record(tx),
            },
            rx,
        )
    }

    /// `READY=1`: start-up, or a reload, is finished.
    pub fn ready(&self) {
        self.send(&[NotifyState::Ready, NotifyState::Status("running")]);
    }

    /// `RELOADING=1` with the `MONOTONIC_USEC=` that systemd 253 and later require beside it to
    /// match the reload to the `READY=1` that ends it.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(e) => {
                warn!(error = %e, "no monotonic clock for MONOTONIC_USEC");
                self.send(&[NotifyState::Reloading]);
            }
        }
    }

    /// `STOPPING=1`: shutdown began.
    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    /// `WATCHDOG=1`: the supervisor loop is alive.
    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    fn send(&self, states: &[NotifyState<'_>]) {
        let sent = match &self.sink {
            Sink::Off => return,
            Sink::Socket => sd_notify::notify(states),
            #[cfg(test)]
            Sink::Record(tx) => {
                // A test that stopped listening has what it wanted already.
                let _ = tx.send(datagram(states));
                Ok(())
            }
        };
        if let Err(e) = sent {
            warn!(error = %e, message = datagram(states).trim_end(), "sd_notify failed");
        }
    }
}

/// The datagram as the crate writes it: one `KEY=VALUE` line per state, each ending in a newline.
fn datagram(states: &[NotifyState<'_>]) -> String {
    states.iter().fold(String::new(), |mut text, state| {
        // Writing to a String cannot fail.
        let _ = writeln!(text, "{state}");
        text
    })
}

/// How often to send `WATCHDOG=1`, if systemd's watchdog is on for this process (`$WATCHDOG_USEC`,
/// and `$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    ping_every(sd_notify::watchdog_enabled()?)
}

/// Half the watchdog timeout, as sd_watchdog_enabled(3) advises, so one late ping is not fatal. A
/// zero timeout means the watchdog is off.
fn ping_every(timeout: Duration) -> Option<Duration> {
    (!timeout.is_zero()).then(|| timeout / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn datagrams_are_the_protocol_lines() {
        let (systemd, mut sent) = Systemd::recording();
        systemd.ready();
        systemd.reloading();
        systemd.watchdog();
        systemd.stopping();
        assert_eq!(
            sent.recv().await.as_deref(),
            Some("READY=1\nSTATUS=running\n")
        );
        let reload = sent.recv().await.expect("reloading");
        let usec = reload
            .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
            .and_then(|rest| rest.strip_suffix('\n'));
        assert!(usec.is_some_and(|u| u.parse::<u64>().is_ok()), "{reload}");
        assert_eq!(sent.recv().await.as_deref(), Some("WATCHDOG=1\n"));
        assert_eq!(
            sent.recv().await.as_deref(),
            Some("STOPPING=1\nSTATUS=stopping\n")
        );
    }

    #[test]
    fn off_sends_nothing_and_does_not_fail() {
        let systemd = Systemd::default();
        systemd.ready();
        systemd.stopping();
    }

    #[test]
    fn watchdog_pings_at_half_the_timeout() {
        assert_eq!(
            ping_every(Duration::from_secs(30)),
            Some(Duration::from_secs(15))
        );
        assert_eq!(ping_every(Duration::ZERO), None);
    }
}
