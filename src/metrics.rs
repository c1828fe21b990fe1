//! Prometheus metrics, hand-written in the text exposition format (version 0.0.4).
//!
//! Counters and histograms live here (atomics, cheap to bump from any task); gauges that describe
//! the engine's current state (active calls, sessions by state) are gathered at scrape time by the
//! engine ([`Gauges`]) and passed to [`Metrics::render`]: metrics knows nothing of the engine.
//!
//! The tiny API the rest of the daemon calls:
//! - [`Metrics::outcome`]: a session ended (label `outcome` = [`Outcome::code`](crate::pay::Outcome::code));
//! - [`Metrics::esl_reconnected`]: the inbound ESL connection came back after a loss;
//! - [`Metrics::observe_command`]: how long one ESL `api` command took;
//! - [`Metrics::command_refused`]: FreeSWITCH answered a command `-ERR` (label: the command's name);
//! - [`Metrics::observe_request_to_ready`], [`Metrics::observe_capture`],
//!   [`Metrics::observe_event_to_command`]: the session's latencies ([`histogram`]).
//!
//! No label ever carries a call UUID, an agent ID or a digit: only fixed codes, state names and
//! FreeSWITCH command names.

pub mod histogram;

use crate::pay::State;
use histogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the command latency histogram buckets.
pub const COMMAND_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
/// Request to Ready spans moving the legs and dialling the capture service (seconds).
pub const READY_BUCKETS: [f64; 11] = [0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0];
/// A capture lasts as long as the customer keys a card and the service checks it (seconds).
pub const CAPTURE_BUCKETS: [f64; 11] = [
    5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0,
];
/// The daemon's own reaction time, event in to command out (seconds).
pub const REACTION_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Every session state, in flow order, as the `state` label (all are always exported, 0 or not).
pub const STATES: [State; 15] = [
    State::Idle,
    State::AwaitingAgentId,
    State::Moving,
    State::Holding,
    State::Masking,
    State::Dialling,
    State::Answered,
    State::SendingAgentId,
    State::Unholding,
    State::Ready,
    State::Arming,
    State::Capturing,
    State::Unwinding,
    State::Suspended,
    State::Done,
];

/// The engine's current state as the gauges show it, gathered at scrape time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Calls the engine knows.
    pub active_calls: usize,
    /// The state of each call's current session (running or just ended).
    pub sessions: Vec<State>,
}

/// The daemon's counters and histograms. Share it as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    esl_reconnects: AtomicU64,
    /// `-ERR` answers by command name (the first word of the command, a fixed vocabulary).
    refused: Mutex<BTreeMap<String, u64>>,
    command: Histogram,
    request_to_ready: Histogram,
    capture: Histogram,
    event_to_command: Histogram,
    webhooks_delivered: AtomicU64,
    webhook_attempts_failed: AtomicU64,
    webhooks_dropped: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            outcomes: Mutex::default(),
            esl_reconnects: AtomicU64::new(0),
            refused: Mutex::default(),
            command: Histogram::new(&COMMAND_BUCKETS),
            request_to_ready: Histogram::new(&READY_BUCKETS),
            capture: Histogram::new(&CAPTURE_BUCKETS),
            event_to_command: Histogram::new(&REACTION_BUCKETS),
            webhooks_delivered: AtomicU64::new(0),
            webhook_attempts_failed: AtomicU64::new(0),
            webhooks_dropped: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A payment session ended with this outcome code (`completed`, `cancelled`, `capture_timeout`, ...).
    pub fn outcome(&self, code: &'static str) {
        let mut map = self
            .outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *map.entry(code).or_insert(0) += 1;
    }

    /// The inbound ESL connection was re-established after a loss.
    pub fn esl_reconnected(&self) {
        self.esl_reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// One ESL `api` command took `took` from sending to its reply.
    pub fn observe_command(&self, took: Duration) {
        self.command.observe(took);
    }

    /// FreeSWITCH refused a command (`-ERR`, as a reply body or to the command frame). `command` is
    /// the command's name only (`uuid_transfer`, ...), never its arguments.
    pub fn command_refused(&self, command: &str) {
        let mut map = self
            .refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // A label value from our own command texts, kept to `[a-z0-9_]` so it needs no escaping.
        let name = if !command.is_empty()
            && command
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            command
        } else {
            "other"
        };
        *map.entry(name.to_owned()).or_insert(0) += 1;
    }

    /// A requested payment reached `Ready` this long after it was requested.
    pub fn observe_request_to_ready(&self, took: Duration) {
        self.request_to_ready.observe(took);
    }

    /// A capture ran this long (entering `Capturing` to leaving it).
    pub fn observe_capture(&self, took: Duration) {
        self.capture.observe(took);
    }

    /// A session sent its first command in reaction to an event this long after the engine got it.
    pub fn observe_event_to_command(&self, took: Duration) {
        self.event_to_command.observe(took);
    }

    /// A webhook notification was answered 2xx.
    pub fn webhook_delivered(&self) {
        self.webhooks_delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// One POST of a webhook notification failed (it is retried).
    pub fn webhook_attempt_failed(&self) {
        self.webhook_attempts_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// A webhook notification was given up: the spool was full (oldest dropped), or unwritable.
    pub fn webhook_dropped(&self) {
        self.webhooks_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// How many sessions ended with `code` so far.
    pub fn outcome_count(&self, code: &str) -> u64 {
        let map = self
            .outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(code).copied().unwrap_or(0)
    }

    /// The whole exposition text; `gauges` describe the engine now.
    pub fn render(&self, gauges: &Gauges) -> String {
        let mut out = String::with_capacity(2048);
        self.render_gauges(&mut out, gauges);
        self.render_counters(&mut out);
        self.render_histograms(&mut out);
        self.render_webhooks(&mut out);
        out
    }

    fn render_webhooks(&self, out: &mut String) {
        for (name, help, value) in [
            (
                "confpay_webhooks_delivered_total",
                "Webhook notifications answered 2xx.",
                &self.webhooks_delivered,
            ),
            (
                "confpay_webhook_attempts_failed_total",
                "Webhook POSTs that failed and will be retried.",
                &self.webhook_attempts_failed,
            ),
            (
                "confpay_webhooks_dropped_total",
                "Webhook notifications given up (spool full: oldest dropped; or unwritable).",
                &self.webhooks_dropped,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", value.load(Ordering::Relaxed));
        }
    }

    fn render_gauges(&self, out: &mut String, gauges: &Gauges) {
        out.push_str("# HELP confpay_active_calls Calls the engine currently knows.\n");
        out.push_str("# TYPE confpay_active_calls gauge\n");
        let _ = writeln!(out, "confpay_active_calls {}", gauges.active_calls);
        out.push_str("# HELP confpay_sessions Running payment sessions by state.\n");
        out.push_str("# TYPE confpay_sessions gauge\n");
        for state in STATES {
            let n = gauges.sessions.iter().filter(|s| **s == state).count();
            let _ = writeln!(
                out,
                "confpay_sessions{{state=\"{}\"}} {n}",
                state_label(&state)
            );
        }
    }

    fn render_counters(&self, out: &mut String) {
        out.push_str("# HELP confpay_session_outcomes_total Payment sessions ended, by outcome.\n");
        out.push_str("# TYPE confpay_session_outcomes_total counter\n");
        {
            let map = self
                .outcomes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for (code, n) in map.iter() {
                let _ = writeln!(
                    out,
                    "confpay_session_outcomes_total{{outcome=\"{code}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP confpay_esl_reconnects_total Inbound ESL reconnections after a loss.\n",
        );
        out.push_str("# TYPE confpay_esl_reconnects_total counter\n");
        let _ = writeln!(
            out,
            "confpay_esl_reconnects_total {}",
            self.esl_reconnects.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP confpay_esl_commands_refused_total Commands FreeSWITCH answered -ERR, by command name.\n",
        );
        out.push_str("# TYPE confpay_esl_commands_refused_total counter\n");
        let map = self
            .refused
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (command, n) in map.iter() {
            let _ = writeln!(
                out,
                "confpay_esl_commands_refused_total{{command=\"{command}\"}} {n}"
            );
        }
    }

    fn render_histograms(&self, out: &mut String) {
        self.command.render(
            out,
            "confpay_esl_command_duration_seconds",
            "Time from sending an ESL api command to its reply.",
        );
        self.request_to_ready.render(
            out,
            "confpay_request_to_ready_seconds",
            "Time from a payment request to the capture service being ready.",
        );
        self.capture.render(
            out,
            "confpay_capture_duration_seconds",
            "Time a capture ran, from its start to the session leaving capture.",
        );
        self.event_to_command.render(
            out,
            "confpay_event_to_command_seconds",
            "Time from the engine receiving a FreeSWITCH event to the first command a session sends in reaction.",
        );
    }
}

/// The `state` label (and API name) of a session state: snake_case.
pub fn state_label(state: &State) -> &'static str {
    match state {
        State::Idle => "idle",
        State::AwaitingAgentId => "awaiting_agent_id",
        State::Moving => "moving",
        State::Holding => "holding",
        State::Masking => "masking",
        State::Dialling => "dialling",
        State::Answered => "answered",
        State::SendingAgentId => "sending_agent_id",
        State::Unholding => "unholding",
        State::Ready => "ready",
        State::Arming => "arming",
        State::Capturing => "capturing",
        State::Unwinding => "unwinding",
        State::Suspended => "suspended",
        State::Done => "done",
    }
}

#[cfg(test)]
mod tests;
