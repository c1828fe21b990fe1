//! Faults on demand for the simulated event socket: what a test can make the "FreeSWITCH" do wrong.
//!
//! One [`Faults`] handle is shared by every connection (inbound and outbound). Settings apply to
//! frames written after they are set:
//! - [`Faults::drop_connections`]: every open ESL connection is closed at once, without a notice;
//! - [`Faults::delay_replies`]: each `command/reply` and `api/response` waits this long before it is written;
//! - [`Faults::fail_next`]: the next command starting with a prefix (e.g. `"api uuid_bridge"`,
//!   `"bgapi originate"`, `"sendmsg"`) is answered with the given `-ERR …` text instead of running
//!   (as the `api/response` body for `api`, as the `BACKGROUND_JOB` body of an accepted job for
//!   `bgapi`, else as `Reply-Text`);
//! - [`Faults::hold_next`]: the next command starting with a prefix is held, unanswered, until the
//!   returned [`Gate`] is released (then it runs as usual); like a slow `api` in FreeSWITCH, nothing
//!   else is written on that connection meanwhile (no events, no later replies). A held connection
//!   still closes on [`Faults::drop_connections`];
//! - [`Faults::slow_drip`]: frames are written one byte at a time with this gap;
//! - [`Faults::split_frames`]: each frame is written in two TCP writes with this gap between them.
//!
//! Hanging up a leg and restarting the switch (new Core-UUID) go through the core
//! (`Core::hangup`, `Simulator::restart`).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// A command the next matching request fails with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailRule {
    /// Case-insensitive prefix of the command line.
    pub prefix: String,
    /// The text answered instead (`-ERR …`).
    pub reply: String,
}

/// A held command: reached once the command arrives, run once released.
#[derive(Clone, Debug)]
pub struct Gate {
    prefix: String,
    reached: Arc<watch::Sender<bool>>,
    released: Arc<watch::Sender<bool>>,
}

impl Gate {
    fn new(prefix: &str) -> Gate {
        Gate {
            prefix: prefix.to_owned(),
            reached: Arc::new(watch::channel(false).0),
            released: Arc::new(watch::channel(false).0),
        }
    }

    /// The prefix this gate holds.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether the held command has arrived.
    pub fn is_reached(&self) -> bool {
        *self.reached.borrow()
    }

    /// Waits until the held command has arrived (the controller is now waiting for its reply).
    pub async fn reached(&self) {
        let mut rx = self.reached.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Lets the held command run and be answered.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Connection side: marks the command arrived and waits for [`Gate::release`]. `false` when the
    /// connection was dropped meanwhile (by [`Faults::drop_connections`]).
    pub async fn hold(&self, mut dropped: watch::Receiver<u64>) -> bool {
        self.reached.send_replace(true);
        let mut released = self.released.subscribe();
        tokio::select! {
            _ = released.wait_for(|r| *r) => true,
            _ = dropped.changed() => false,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    reply_delay: Option<Duration>,
    fail: Vec<FailRule>,
    hold: Vec<Gate>,
    drip: Option<Duration>,
    split: Option<Duration>,
}

/// Shared fault settings; cheap to clone.
#[derive(Clone, Debug)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    drop_tx: Arc<watch::Sender<u64>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            state: Arc::default(),
            drop_tx: Arc::new(watch::channel(0).0),
        }
    }
}

/// How one frame is to be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    Whole,
    Drip(Duration),
    Split(Duration),
}

impl Faults {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a test thread panicked; the settings are still plain data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes every open ESL connection now.
    pub fn drop_connections(&self) {
        self.drop_tx.send_modify(|n| *n += 1);
    }

    /// A receiver that changes whenever [`Faults::drop_connections`] is called.
    pub fn drop_signal(&self) -> watch::Receiver<u64> {
        self.drop_tx.subscribe()
    }

    /// Delay every reply by `delay` (`None` = no delay).
    pub fn delay_replies(&self, delay: Option<Duration>) {
        self.lock().reply_delay = delay;
    }

    pub fn reply_delay(&self) -> Option<Duration> {
        self.lock().reply_delay
    }

    /// Answer the next command starting with `prefix` with `reply` instead of running it.
    pub fn fail_next(&self, prefix: &str, reply: &str) {
        self.lock().fail.push(FailRule {
            prefix: prefix.to_owned(),
            reply: reply.to_owned(),
        });
    }

    /// Removes and returns the first rule matching `command`.
    pub fn take_failure(&self, command: &str) -> Option<FailRule> {
        let mut st = self.lock();
        let i = st
            .fail
            .iter()
            .position(|r| starts_with_ci(command, &r.prefix))?;
        Some(st.fail.remove(i))
    }

    /// Hold the next command starting with `prefix` (case-insensitive) until the gate is released.
    pub fn hold_next(&self, prefix: &str) -> Gate {
        let gate = Gate::new(prefix);
        self.lock().hold.push(gate.clone());
        gate
    }

    /// Removes and returns the first gate matching `command`.
    pub fn take_hold(&self, command: &str) -> Option<Gate> {
        let mut st = self.lock();
        let i = st
            .hold
            .iter()
            .position(|g| starts_with_ci(command, &g.prefix))?;
        Some(st.hold.remove(i))
    }

    /// Write frames a byte at a time with `gap` between bytes (`None` = off).
    pub fn slow_drip(&self, gap: Option<Duration>) {
        self.lock().drip = gap;
    }

    /// Write each frame in two parts with `gap` between them (`None` = off).
    pub fn split_frames(&self, gap: Option<Duration>) {
        self.lock().split = gap;
    }

    pub fn write_mode(&self) -> WriteMode {
        let st = self.lock();
        match (st.drip, st.split) {
            (Some(d), _) => WriteMode::Drip(d),
            (None, Some(s)) => WriteMode::Split(s),
            (None, None) => WriteMode::Whole,
        }
    }
}

fn starts_with_ci(command: &str, prefix: &str) -> bool {
    command.len() >= prefix.len()
        && command.is_char_boundary(prefix.len())
        && command[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_rules_match_once_by_prefix() {
        let f = Faults::default();
        f.fail_next("api uuid_bridge", "-ERR Invalid uuid");
        assert_eq!(f.take_failure("api status"), None);
        assert_eq!(
            f.take_failure("API uuid_bridge a b").map(|r| r.reply),
            Some("-ERR Invalid uuid".to_owned())
        );
        assert_eq!(f.take_failure("api uuid_bridge a b"), None);
    }

    #[tokio::test]
    async fn a_gate_holds_until_released_or_dropped() {
        let f = Faults::default();
        let g = f.hold_next("api conference");
        assert!(f.take_hold("api status").is_none());
        let held = f.take_hold("API conference x hold 1").expect("matches");
        assert!(
            f.take_hold("api conference x hold 1").is_none(),
            "once only"
        );
        assert!(!g.is_reached());
        let waiter = tokio::spawn({
            let held = held.clone();
            let sig = f.drop_signal();
            async move { held.hold(sig).await }
        });
        g.reached().await;
        assert!(g.is_reached());
        g.release();
        assert_eq!(waiter.await.ok(), Some(true));

        let g2 = f.hold_next("bgapi");
        let held2 = f.take_hold("bgapi originate x").expect("matches");
        let sig = f.drop_signal();
        let waiter = tokio::spawn(async move { held2.hold(sig).await });
        g2.reached().await;
        f.drop_connections();
        assert_eq!(waiter.await.ok(), Some(false));
    }

    #[test]
    fn write_mode_prefers_drip() {
        let f = Faults::default();
        assert_eq!(f.write_mode(), WriteMode::Whole);
        f.split_frames(Some(Duration::from_millis(5)));
        assert_eq!(f.write_mode(), WriteMode::Split(Duration::from_millis(5)));
        f.slow_drip(Some(Duration::from_millis(1)));
        assert_eq!(f.write_mode(), WriteMode::Drip(Duration::from_millis(1)));
    }

    #[test]
    fn drop_signal_changes() {
        let f = Faults::default();
        let mut rx = f.drop_signal();
        assert!(!rx.has_changed().unwrap_or(true));
        f.drop_connections();
        assert!(rx.has_changed().unwrap_or(false));
        rx.mark_unchanged();
        assert_eq!(*rx.borrow(), 1);
    }
}
