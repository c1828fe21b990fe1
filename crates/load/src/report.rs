//! What a load run measured, and its printed form.

use super::probe::Percentiles;
use std::fmt::Write as _;
use std::time::Duration;

/// CPU time of the three parties of a load run over one phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    /// The daemon's thread (its single-thread runtime: inbound client, engine, sessions, outbound).
    pub daemon_thread: Duration,
    /// The whole load-tool process: the daemon thread plus the tool's driver thread.
    pub process: Duration,
    /// The simulator process.
    pub sim: Duration,
}

impl Cpu {
    pub fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            daemon_thread: self.daemon_thread.saturating_sub(earlier.daemon_thread),
            process: self.process.saturating_sub(earlier.process),
            sim: self.sim.saturating_sub(earlier.sim),
        }
    }
}

/// What a run measured. Memory figures are of the load-tool process (the daemon; the simulator is
/// another process), in KiB.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub calls: usize,
    pub ready_calls: usize,
    pub completed: usize,
    pub failed: usize,
    /// First reason a call or payment failed, for the report.
    pub first_failure: Option<String>,
    /// Pause between successive payment starts.
    pub stagger: Duration,
    pub setup_elapsed: Duration,
    pub payments_elapsed: Duration,
    pub latency: Option<Percentiles>,
    /// The same per causing event kind.
    pub latency_by_cause: Vec<(&'static str, Option<Percentiles>)>,
    pub rss_start_kib: u64,
    pub rss_idle_kib: u64,
    pub peak_rss_kib: u64,
    pub sim_peak_rss_kib: u64,
    pub setup_cpu: Cpu,
    pub payment_cpu: Cpu,
}

impl LoadReport {
    pub fn sessions_per_s(&self) -> f64 {
        self.completed as f64 / self.payments_elapsed.as_secs_f64().max(1e-9)
    }

    /// RSS growth of the daemon process with all calls up and idle, per ready call.
    pub fn idle_kib_per_call(&self) -> f64 {
        self.rss_idle_kib.saturating_sub(self.rss_start_kib) as f64 / self.ready_calls.max(1) as f64
    }

    /// Daemon-thread CPU over the payment phase per completed session, in ms.
    pub fn daemon_cpu_ms_per_session(&self) -> f64 {
        self.payment_cpu.daemon_thread.as_secs_f64() * 1000.0 / self.completed.max(1) as f64
    }

    /// Daemon-thread CPU over the set-up phase per ready call, in ms.
    pub fn daemon_setup_cpu_ms_per_call(&self) -> f64 {
        self.setup_cpu.daemon_thread.as_secs_f64() * 1000.0 / self.ready_calls.max(1) as f64
    }

    /// The report as printed by the load example: one summary line, then indented details.
    pub fn render(&self) -> String {
        let (count, p50, p99, max) = self
            .latency
            .map_or((0, 0, 0, 0), |l| (l.count, l.p50_us, l.p99_us, l.max_us));
        let mut out = format!(
            "calls {} (stagger {} ms): ready {} in {:.2} s; payments completed {} failed {} in {:.2} s \
             = {:.0} sessions/s; event->command p50 {} us p99 {} us max {} us ({} samples); \
             daemon idle RSS +{:.2} KiB/call ({} -> {} KiB); daemon peak RSS {} KiB; \
             daemon CPU {:.3} ms/session\n",
            self.calls,
            self.stagger.as_millis(),
            self.ready_calls,
            self.setup_elapsed.as_secs_f64(),
            self.completed,
            self.failed,
            self.payments_elapsed.as_secs_f64(),
            self.sessions_per_s(),
            p50,
            p99,
            max,
            count,
            self.idle_kib_per_call(),
            self.rss_start_kib,
            self.rss_idle_kib,
            self.peak_rss_kib,
            self.daemon_cpu_ms_per_session(),
        );
        for (cause, p) in &self.latency_by_cause {
            if let Some(p) = p {
                let _ = writeln!(
                    out,
                    "  after {cause}: p50 {} us p99 {} us max {} us ({} samples)",
                    p.p50_us, p.p99_us, p.max_us, p.count
                );
            }
        }
        for (phase, c) in [("set-up", self.setup_cpu), ("payments", self.payment_cpu)] {
            let _ = writeln!(
                out,
                "  CPU {phase}: daemon thread {:.2} s, load process {:.2} s, simulator {:.2} s",
                c.daemon_thread.as_secs_f64(),
                c.process.as_secs_f64(),
                c.sim.as_secs_f64()
            );
        }
        let _ = writeln!(
            out,
            "  daemon CPU set-up {:.3} ms/call; simulator peak RSS {} KiB",
            self.daemon_setup_cpu_ms_per_call(),
            self.sim_peak_rss_kib
        );
        if let Some(why) = &self.first_failure {
            let _ = writeln!(out, "  first failure: {why}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_call_figures_and_rendering() {
        let r = LoadReport {
            calls: 4,
            ready_calls: 4,
            completed: 3,
            failed: 1,
            first_failure: Some("outcome None".into()),
            stagger: Duration::from_millis(2),
            setup_elapsed: Duration::from_secs(1),
            payments_elapsed: Duration::from_millis(1500),
            latency: None,
            latency_by_cause: vec![("DTMF", None)],
            rss_start_kib: 1000,
            rss_idle_kib: 1010,
            peak_rss_kib: 1100,
            sim_peak_rss_kib: 5000,
            setup_cpu: Cpu::default(),
            payment_cpu: Cpu {
                daemon_thread: Duration::from_millis(30),
                process: Duration::from_millis(40),
                sim: Duration::from_millis(90),
            },
        };
        assert_eq!(r.idle_kib_per_call(), 2.5);
        assert_eq!(r.sessions_per_s(), 2.0);
        assert_eq!(r.daemon_cpu_ms_per_session(), 10.0);
        let text = r.render();
        assert!(
            text.starts_with("calls 4 (stagger 2 ms): ready 4 in 1.00 s;"),
            "{text}"
        );
        assert!(text.contains("+2.50 KiB/call (1000 -> 1010 KiB)"), "{text}");
        assert!(text.contains("simulator 0.09 s"), "{text}");
        assert!(text.contains("first failure: outcome None"), "{text}");
    }
}
