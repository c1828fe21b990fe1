//! Prometheus metrics, hand-written in the text exposition format (version 0.0.4).
//!
//! Counters and the histogram live here (atomics, cheap to bump from any task); gauges that describe
//! the engine's current state (active calls, sessions by state) are gathered at scrape time by the
//! engine ([`Gauges`]) and passed to [`Metrics::render`]: metrics knows nothing of the engine.
//!
//! The tiny API the rest of the daemon calls:
//! - [`Metrics::outcome`]: a session ended (label `outcome` = [`Outcome::code`](crate::pay::Outcome::code));
//! - [`Metrics::esl_reconnected`]: the inbound ESL connection came back after a loss;
//! - [`Metrics::observe_command`]: how long one ESL `api`/`bgapi` command took.
//!
//! No label ever carries a call UUID, an agent ID or a digit: only fixed codes and state names.

use crate::pay::State;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the command latency histogram buckets.
pub const COMMAND_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

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

/// The daemon's counters and histogram. Share it as `Arc<Metrics>`.
#[derive(Debug, Default)]
pub struct Metrics {
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    esl_reconnects: AtomicU64,
    /// One count per bucket of [`COMMAND_BUCKETS`] (non-cumulative), plus the +Inf overflow.
    command_buckets: [AtomicU64; COMMAND_BUCKETS.len() + 1],
    command_count: AtomicU64,
    /// Sum of observed durations in microseconds.
    command_sum_us: AtomicU64,
    webhooks_delivered: AtomicU64,
    webhook_attempts_failed: AtomicU64,
    webhooks_dropped: AtomicU64,
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

    /// One ESL command took `took` from sending to its reply.
    pub fn observe_command(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = COMMAND_BUCKETS
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(COMMAND_BUCKETS.len());
        self.command_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.command_count.fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.command_sum_us.fetch_add(us, Ordering::Relaxed);
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
        self.render_histogram(&mut out);
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
    }

    fn render_histogram(&self, out: &mut String) {
        let name = "confpay_esl_command_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from sending an ESL command to its reply."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (i, le) in COMMAND_BUCKETS.iter().enumerate() {
            cumulative += self.command_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        let count = self.command_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.command_sum_us.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
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
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.observe_command(Duration::from_millis(3));
        m.observe_command(Duration::from_millis(40));
        m.observe_command(Duration::from_secs(9));
        let text = m.render(&Gauges::default());
        assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"0.05\"} 2\n"));
        assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("confpay_esl_command_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("confpay_esl_command_duration_seconds_count 3\n"));
        assert!(text.contains("confpay_esl_command_duration_seconds_sum 9.043\n"));
    }

    #[test]
    fn outcomes_and_reconnects_are_counted() {
        let m = Metrics::new();
        m.outcome("completed");
        m.outcome("completed");
        m.outcome("cancelled");
        m.esl_reconnected();
        assert_eq!(m.outcome_count("completed"), 2);
        let text = m.render(&Gauges::default());
        assert!(text.contains("confpay_session_outcomes_total{outcome=\"completed\"} 2\n"));
        assert!(text.contains("confpay_session_outcomes_total{outcome=\"cancelled\"} 1\n"));
        assert!(text.contains("confpay_esl_reconnects_total 1\n"));
        assert!(text.contains("confpay_active_calls 0\n"));
        assert!(text.contains("confpay_sessions{state=\"ready\"} 0\n"));
    }
}
