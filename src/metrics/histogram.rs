//! [`Histogram`]: one Prometheus histogram over fixed bucket bounds, lock-free (atomics), rendered
//! in the text exposition format with cumulative `_bucket{le=...}` series, `_sum` and `_count`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A histogram of durations in seconds.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds (seconds), ascending.
    bounds: &'static [f64],
    /// One count per bound (non-cumulative), plus the +Inf overflow at the end.
    buckets: Vec<AtomicU64>,
    /// Sum of observed durations in microseconds (a u64 holds ~584,000 years of them).
    sum_us: AtomicU64,
}

impl Histogram {
    /// `bounds` must be ascending (checked by the tests of every histogram the daemon exports).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, took: Duration) {
        let secs = took.as_secs_f64();
        let i = self
            .bounds
            .iter()
            .position(|le| secs <= *le)
            .unwrap_or(self.bounds.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// HELP, TYPE and the series of the histogram `name` (which ends in `_seconds`).
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0u64;
        for (i, le) in self.bounds.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
        }
        // `_count` is the +Inf bucket, read once: the two never disagree, even mid-observation.
        cumulative += self.buckets[self.bounds.len()].load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1_000_000.0;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}
