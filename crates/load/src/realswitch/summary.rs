//! A real-switch load step's figures and their arithmetic: payments completed and failed, request →
//! Ready percentiles, and the CPU split between FreeSWITCH, confpayd, the load tool and the rest of
//! the machine (`/proc/stat`), with the load average at the start.

use std::fmt::Write as _;
use std::time::Duration;

/// CPU time used during one phase, by whom.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuSplit {
    pub wall: Duration,
    pub freeswitch: Duration,
    pub daemon: Duration,
    pub tool: Duration,
    /// Busy time of the whole machine (all cores), from `/proc/stat`.
    pub machine: Duration,
}

impl CpuSplit {
    /// Share of one core: `cpu / wall` in percent.
    pub fn core_pct(cpu: Duration, wall: Duration) -> f64 {
        match wall.is_zero() {
            true => 0.0,
            false => 100.0 * cpu.as_secs_f64() / wall.as_secs_f64(),
        }
    }

    /// Busy time of the machine that is none of the three (other helpers, the kernel's own work).
    pub fn others(&self) -> Duration {
        self.machine
            .saturating_sub(self.freeswitch + self.daemon + self.tool)
    }

    fn render(&self, label: &str, payments: usize, out: &mut String) {
        let pct = |d| Self::core_pct(d, self.wall);
        let per = |d: Duration| match payments {
            0 => 0.0,
            n => d.as_secs_f64() * 1000.0 / n as f64,
        };
        let _ = writeln!(
            out,
            "  {label}: wall {:.1} s; FreeSWITCH {:.0} % of a core ({:.1} ms/call), confpayd {:.0} % \
             ({:.1} ms/call), load tool {:.0} %, rest of the machine {:.0} %",
            self.wall.as_secs_f64(),
            pct(self.freeswitch),
            per(self.freeswitch),
            pct(self.daemon),
            per(self.daemon),
            pct(self.tool),
            pct(self.others()),
        );
    }
}

/// Nearest-rank percentile `p` (0–100) of `sorted` (ascending).
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// One step of the capacity run.
#[derive(Clone, Debug, Default)]
pub struct StepReport {
    pub calls: usize,
    pub ready_calls: usize,
    pub completed: usize,
    /// Calls that never got ready plus payments that did not complete.
    pub failed: usize,
    pub first_failure: Option<String>,
    /// Capture stand-in reports with exactly agent ID, '1', card; and other reports.
    pub captures_right: usize,
    pub captures_wrong: usize,
    /// Request → Ready of every payment that got there, ascending.
    pub to_ready: Vec<Duration>,
    pub setup: CpuSplit,
    /// The calls up, no payment yet.
    pub idle: CpuSplit,
    pub payments: CpuSplit,
    /// `/proc/loadavg` (1, 5, 15 min) when the step started.
    pub loadavg: Option<(f64, f64, f64)>,
}

impl StepReport {
    /// Every payment completed and the capture stand-in got exactly what was keyed each time.
    pub fn all_completed(&self) -> bool {
        self.failed == 0 && self.completed == self.calls && self.captures_wrong == 0
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let ms = |d: Option<Duration>| d.map_or("-".to_owned(), |d| format!("{}", d.as_millis()));
        let _ = writeln!(
            out,
            "real switch: {} calls, {} ready; payments completed {}, failed {}; capture reports right {}, \
             wrong {}",
            self.calls,
            self.ready_calls,
            self.completed,
            self.failed,
            self.captures_right,
            self.captures_wrong,
        );
        let _ = writeln!(
            out,
            "  request → ready ms: p50 {} p99 {} max {} (n={})",
            ms(percentile(&self.to_ready, 50.0)),
            ms(percentile(&self.to_ready, 99.0)),
            ms(self.to_ready.last().copied()),
            self.to_ready.len(),
        );
        self.setup
            .render("setup (calls in)", self.ready_calls, &mut out);
        self.idle
            .render("calls up, idle", self.ready_calls, &mut out);
        self.payments.render("payments", self.calls, &mut out);
        if let Some((a, b, c)) = self.loadavg {
            let _ = writeln!(out, "  load average at start: {a:.2} {b:.2} {c:.2}");
        }
        if let Some(why) = &self.first_failure {
            let _ = writeln!(out, "  first failure: {why}");
        }
        out
    }
}

/// `/proc/loadavg`'s three averages.
pub fn loadavg() -> Option<(f64, f64, f64)> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<(f64, f64, f64)> {
    let mut w = text.split_whitespace().map(str::parse::<f64>);
    Some((w.next()?.ok()?, w.next()?.ok()?, w.next()?.ok()?))
}

/// Busy CPU time of the whole machine (user, nice, system, irq, softirq, steal of `/proc/stat`'s
/// `cpu` line), summed over cores.
pub fn machine_busy() -> Option<Duration> {
    parse_machine_busy(&std::fs::read_to_string("/proc/stat").ok()?)
}

fn parse_machine_busy(stat: &str) -> Option<Duration> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal …
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).unwrap_or(&0);
    // USER_HZ is 100 on every Linux ABI in use (see procstat).
    Some(Duration::from_millis(busy * 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&v, 50.0), Some(ms(50)));
        assert_eq!(percentile(&v, 99.0), Some(ms(99)));
        assert_eq!(percentile(&v[..5], 99.0), Some(ms(5)));
        assert_eq!(percentile(&v[..1], 50.0), Some(ms(1)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn cpu_split_shares_and_the_rest_of_the_machine() {
        let s = CpuSplit {
            wall: ms(2000),
            freeswitch: ms(1500),
            daemon: ms(100),
            tool: ms(50),
            machine: ms(2000),
        };
        assert_eq!(CpuSplit::core_pct(s.freeswitch, s.wall), 75.0);
        assert_eq!(s.others(), ms(350));
        let mut out = String::new();
        s.render("payments", 10, &mut out);
        assert!(
            out.contains("FreeSWITCH 75 % of a core (150.0 ms/call)"),
            "{out}"
        );
        assert!(out.contains("confpayd 5 % (10.0 ms/call)"), "{out}");
        assert!(out.contains("rest of the machine 18 %"), "{out}");
    }

    #[test]
    fn proc_readings_parse() {
        assert_eq!(
            parse_loadavg("1.88 0.67 0.24 3/113 8350\n"),
            Some((1.88, 0.67, 0.24))
        );
        let stat = "cpu  100 5 50 9000 40 3 2 0 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\n";
        assert_eq!(parse_machine_busy(stat), Some(ms(1600)));
        assert!(machine_busy().is_some() && loadavg().is_some());
    }

    #[test]
    fn a_step_passes_only_when_every_payment_completed_with_the_right_capture() {
        let mut r = StepReport {
            calls: 2,
            ready_calls: 2,
            completed: 2,
            captures_right: 2,
            to_ready: vec![ms(900), ms(1400)],
            ..StepReport::default()
        };
        assert!(r.all_completed());
        assert!(
            r.render().contains("p50 900 p99 1400 max 1400 (n=2)"),
            "{}",
            r.render()
        );
        r.captures_wrong = 1;
        assert!(!r.all_completed());
        r.captures_wrong = 0;
        r.completed = 1;
        r.failed = 1;
        assert!(!r.all_completed());
    }
}
