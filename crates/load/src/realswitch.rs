//! Real-switch mode of the load tool: capacity on a real FreeSWITCH (issue 15, point 4).
//!
//! Against a FreeSWITCH running the load conf tree (`crates/load/freeswitch/install.py`: the live
//! suite's tree with raised session limits and load parties), for each N of a rising list (5, 10, 20,
//! 40, …): a fresh `confpayd` ([`daemon`]) connects to the switch; the tool places N customer calls
//! through the shipped socket extension ([`calls`]), each with an agent on a SIP phone, and waits until
//! every call has customer and agent in its conference; then starts N payments at once over the API
//! ([`payment`]), Keyphone or ACA or both alternating; the live suite's capture stand-in collects agent
//! ID, start key and card and hangs up. The step reports ([`summary`]) payments completed and failed,
//! request → Ready p50/p99, and the CPU FreeSWITCH, confpayd, the tool and the rest of the machine used
//! in each phase; then every call is hung up. Stepping stops after the first step where a payment did
//! not complete: the step before it is the largest N this machine sustains.
//!
//! Opt-in: it runs only when given the switch's address (`--switch`), and it hangs up every call on
//! that switch — a test switch, never a production one. Its command line: [`crate::cli`].

pub mod calls;
pub mod daemon;
pub mod http;
pub mod payment;
pub mod summary;

use crate::procstat;
use calls::{SwitchError, SwitchSide};
use daemon::{DaemonError, DaemonProcess, DaemonSettings};
use payment::Method;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;
use summary::{CpuSplit, StepReport};
use tokio::time::Instant;

/// Where the test install's `start.sh` (the one CI's live lane uses) keeps the switch's pid.
pub const STARTED_PID: &str = "/usr/local/freeswitch/var/run/freeswitch/started.pid";

/// How long a step's calls stay up idle before the payments (measured as the `idle` phase).
const IDLE: Duration = Duration::from_secs(3);

/// Which capture start the payments use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Methods {
    Keyphone,
    Aca,
    /// Even-numbered calls Keyphone, odd ones ACA.
    Both,
}

impl Methods {
    pub fn for_call(self, i: usize) -> Method {
        match self {
            Methods::Keyphone => Method::Keyphone,
            Methods::Aca => Method::Aca,
            Methods::Both if i % 2 == 0 => Method::Keyphone,
            Methods::Both => Method::Aca,
        }
    }
}

/// A capacity run's settings.
#[derive(Clone, Debug)]
pub struct RealOptions {
    /// The daemon's settings (`calls` is set per step).
    pub daemon: DaemonSettings,
    pub freeswitch_pid: u32,
    pub steps: Vec<usize>,
    pub methods: Methods,
    /// Calls placed at once while setting up.
    pub batch: usize,
    /// Limit for a step's calls to get ready, and for each payment.
    pub deadline: Duration,
    /// Where each step's daemon keeps its configuration and log.
    pub workdir: PathBuf,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RealError {
    #[error(transparent)]
    Switch(#[from] SwitchError),
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

/// CPU readings at one instant.
#[derive(Clone, Copy, Debug)]
struct Snap {
    at: Instant,
    freeswitch: Option<Duration>,
    daemon: Option<Duration>,
    tool: Option<Duration>,
    machine: Option<Duration>,
}

impl Snap {
    fn now(fs: u32, daemon: Option<u32>) -> Snap {
        Snap {
            at: Instant::now(),
            freeswitch: procstat::pid_cpu(fs),
            daemon: daemon.and_then(procstat::pid_cpu),
            tool: procstat::process_cpu(),
            machine: summary::machine_busy(),
        }
    }

    fn until(&self, later: &Snap) -> CpuSplit {
        let d = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        };
        CpuSplit {
            wall: later.at - self.at,
            freeswitch: d(self.freeswitch, later.freeswitch),
            daemon: d(self.daemon, later.daemon),
            tool: d(self.tool, later.tool),
            machine: d(self.machine, later.machine),
        }
    }
}

/// Runs real-switch mode on a single-thread runtime (the tool's own load stays on one core);
/// true when every step's payments all completed.
pub fn main(opts: &RealOptions) -> Result<bool, Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reports = rt.block_on(run(opts))?;
    let best = reports
        .iter()
        .filter(|r| r.all_completed())
        .map(|r| r.calls)
        .max();
    match best {
        Some(n) => println!("real switch: largest step with every payment completed: {n}"),
        None => println!("real switch: no step completed every payment"),
    }
    Ok(reports.iter().all(|r| r.all_completed()))
}

/// Runs the steps, printing each step's report as it ends; stops after the first step in which a
/// payment did not complete.
pub async fn run(opts: &RealOptions) -> Result<Vec<StepReport>, RealError> {
    let mut sw = SwitchSide::connect(&opts.daemon.esl, &opts.daemon.password).await?;
    sw.hang_up_all().await?;
    let mut reports = Vec::new();
    for &n in &opts.steps {
        let r = step(opts, &mut sw, n).await;
        // Whatever happened, the next step (or the next user of the switch) starts from no calls.
        let idle = sw.hang_up_all().await;
        let r = r?;
        idle?;
        print!("{}", r.render());
        let ok = r.all_completed();
        reports.push(r);
        if !ok {
            break;
        }
    }
    sw.shutdown();
    Ok(reports)
}

async fn step(opts: &RealOptions, sw: &mut SwitchSide, n: usize) -> Result<StepReport, RealError> {
    let loadavg = summary::loadavg();
    let settings = DaemonSettings {
        calls: n,
        ..opts.daemon.clone()
    };
    let daemon = DaemonProcess::start(&settings, &opts.workdir.join(format!("step-{n}"))).await?;
    let (fs, pid) = (opts.freeswitch_pid, daemon.pid());
    let s0 = Snap::now(fs, pid);
    let setup = sw.place(n, opts.batch, opts.deadline).await;
    let s1 = Snap::now(fs, pid);
    // N calls up, no payment: what the calls alone cost (media, conferences); also lets the last
    // joins settle in the daemon before the payments start.
    tokio::time::sleep(IDLE).await;
    let s_idle = Snap::now(fs, pid);
    let right0 = sw.captures.right.load(Ordering::Relaxed);
    let wrong0 = sw.captures.wrong.load(Ordering::Relaxed);
    let s2 = Snap::now(fs, pid);
    let payments = setup.ready.iter().enumerate().map(|(i, call)| {
        let method = opts.methods.for_call(i);
        payment::pay(&daemon.api, sw, call, method, opts.deadline)
    });
    let results = futures_util::future::join_all(payments).await;
    let s3 = Snap::now(fs, pid);
    // The stand-in's report is the event it fires just before it hangs up; give the last one a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut r = StepReport {
        calls: n,
        ready_calls: setup.ready.len(),
        first_failure: setup.failures.first().cloned(),
        captures_right: sw.captures.right.load(Ordering::Relaxed) - right0,
        captures_wrong: sw.captures.wrong.load(Ordering::Relaxed) - wrong0,
        setup: s0.until(&s1),
        idle: s1.until(&s_idle),
        payments: s2.until(&s3),
        loadavg,
        ..StepReport::default()
    };
    for p in results {
        r.to_ready.extend(p.to_ready);
        match p.outcome {
            Ok(()) => r.completed += 1,
            Err(why) => {
                r.failed += 1;
                if r.first_failure.is_none() {
                    r.first_failure = Some(format!("{} payment: {why}", p.method.name()));
                }
            }
        }
    }
    r.failed += n - setup.ready.len();
    if r.first_failure.is_none() && setup.ready.len() < n {
        r.first_failure = Some(format!(
            "{} of {n} calls not ready within {:?}",
            n - setup.ready.len(),
            opts.deadline
        ));
    }
    r.to_ready.sort();
    if r.failed > 0 {
        eprintln!("load: step {n}: confpayd's log is {}", daemon.log.display());
    }
    daemon.stop().await;
    Ok(r)
}
