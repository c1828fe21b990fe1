//! The load tool: N concurrent calls against the simulator over loopback TCP, each running a full
//! payment (dialplan call → start → join → agent ID → '1' → capture → capture service hangs up →
//! restore), measuring the daemon alone.
//!
//! Three places, so that the daemon's CPU, memory and latency are its own:
//! - the **daemon** ([`daemon_side`]): the daemon's own stack (inbound client, engine, sessions,
//!   outbound server, HTTP API), on the caller's single-thread runtime — "one core";
//! - the **simulator** ([`simproc`]): a separate process (`confpay-sim` or the load example in
//!   `--sim-side` mode) with the switch model and the scripted parties — the agent, and the capture
//!   service that answers, checks the agent ID (each call's own), collects the card digits and
//!   hangs up, per call;
//! - the **driver** ([`driver`]): a thread of the tool's process with its own runtime that places the
//!   calls and plays the agent's screen and the customer's key presses through the simulator's console.
//!
//! The daemon talks ESL to the simulator over loopback TCP exactly as in production (inbound event
//! socket, and one outbound socket connection per call).

use super::daemon_side::{self, Daemon};
use super::driver;
use super::probe::LatencyProbe;
use super::procstat;
use super::ready::ReadyTracker;
use super::report::{Cpu, LoadReport};
use super::simproc::{SimCommand, SimProcError, SimProcess};
use confpay::daemon::component::ComponentError;
use confpay::daemon::stack::ROOM_PREFIX;
use confpay::pay::engine::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The simulator's extension that hands a call to the daemon's outbound socket, keeping the agent
/// ID the call's routing set (each load call its own).
pub const DESTINATION: &str = confpay_sim::standalone::ROUTED;

/// Calls hung up at once after an `--idle-only` measurement: few, so that their teardown adds
/// next to nothing to the idle state (see [`driver::hang_up_all`]).
const HANGUP_BATCH: usize = 10;

/// One load run's settings.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub calls: usize,
    /// Limit for the calls to get ready, and for each payment to finish.
    pub deadline: Duration,
    /// The daemon's pause before keying the agent ID (production default 1000 ms).
    pub agent_id_delay: Duration,
    /// Calls placed at once while setting up (each batch gets ready before the next).
    pub batch: usize,
    /// Pause between successive payment starts (zero: all at once).
    pub stagger: Duration,
    /// How to start the simulator process.
    pub sim: SimCommand,
    /// Set the calls up and measure them idle, then hang them up a batch at a time, starting no
    /// payment (for a heap profile of idle calls: the profiler's peak is then the idle state).
    pub idle_only: bool,
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("simulator process: {0}")]
    Sim(#[from] SimProcError),
    #[error("the daemon's parts: {0}")]
    Daemon(#[from] ComponentError),
    #[error("cannot start the load tool's driver thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("the load tool's driver thread: {why}")]
    Driver { why: String },
}

/// What the daemon side hands the driver once it is connected.
struct Handover {
    engine: Engine,
    probe: Arc<LatencyProbe>,
    tracker: Arc<ReadyTracker>,
    ready_rx: mpsc::UnboundedReceiver<String>,
    daemon_tid: Option<u32>,
}

/// Runs the load. Call on a current-thread runtime: that thread is the daemon's core.
pub async fn run(opts: &LoadOptions) -> Result<LoadReport, LoadError> {
    let daemon_tid = procstat::current_tid();
    let mut config = daemon_side::config(opts.agent_id_delay);
    let (server, outbound) = daemon_side::bind_outbound(&config).await?;
    let (esl_tx, esl_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let driver_opts = opts.clone();
    let thread = std::thread::Builder::new()
        .name("load-driver".into())
        .spawn(move || {
            let r = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(drive(driver_opts, outbound, esl_tx, go_rx)),
                Err(e) => Err(LoadError::Driver { why: e.to_string() }),
            };
            let _ = done_tx.send(r);
        })?;
    let result = async {
        let esl = esl_rx.await.map_err(|_| LoadError::Driver {
            why: "ended before the simulator was up".into(),
        })?;
        let probe = Arc::new(LatencyProbe::default());
        let (tracker, ready_rx) = ReadyTracker::new(ROOM_PREFIX);
        let tracker = Arc::new(tracker);
        config.esl.address = esl.to_string();
        let daemon = daemon_side::start(&config, server, probe.clone(), tracker.clone()).await?;
        let handover = Handover {
            engine: daemon.stack.engine.clone(),
            probe,
            tracker,
            ready_rx,
            daemon_tid,
        };
        Ok::<(Daemon, Handover), LoadError>((daemon, handover))
    }
    .await;
    // On error `go_tx` is dropped here, and the driver stops the simulator.
    let report = match result {
        Ok((daemon, handover)) => {
            let _ = go_tx.send(handover);
            let r = done_rx.await.unwrap_or_else(|_| {
                Err(LoadError::Driver {
                    why: "ended without a report".into(),
                })
            });
            daemon.stop();
            r
        }
        Err(e) => {
            drop(go_tx);
            let _ = done_rx.await;
            Err(e)
        }
    };
    let _ = thread.join();
    report
}

/// The driver thread's part: the simulator process, then both phases.
async fn drive(
    opts: LoadOptions,
    outbound: SocketAddr,
    esl_tx: oneshot::Sender<SocketAddr>,
    go: oneshot::Receiver<Handover>,
) -> Result<LoadReport, LoadError> {
    let sim = SimProcess::spawn(&opts.sim, outbound).await?;
    let _ = esl_tx.send(sim.esl_addr());
    let Ok(h) = go.await else {
        sim.stop().await;
        return Err(LoadError::Driver {
            why: "the daemon side did not start".into(),
        });
    };
    let r = phases(&opts, &sim, h).await;
    sim.stop().await;
    r
}

async fn phases(
    opts: &LoadOptions,
    sim: &SimProcess,
    h: Handover,
) -> Result<LoadReport, LoadError> {
    let Handover {
        engine,
        probe,
        tracker,
        mut ready_rx,
        daemon_tid,
    } = h;
    let ctl = sim.control();
    let sim_pid = sim.pid();
    let rss_start_kib = procstat::memory().map_or(0, |m| m.rss_kib);

    // Phase 1: every call comes in and gets customer and agent into its conference.
    tracker.arm(true);
    let cpu0 = driver::cpu(daemon_tid, sim_pid);
    let t0 = Instant::now();
    let setup = driver::place_calls(
        &ctl,
        &mut ready_rx,
        opts.calls,
        opts.batch,
        DESTINATION,
        opts.deadline,
    )
    .await?;
    let setup_elapsed = t0.elapsed();
    let cpu1 = driver::cpu(daemon_tid, sim_pid);
    tracker.arm(false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_kib = procstat::memory().map_or(0, |m| m.rss_kib);
    probe.clear_stamps();

    // Phase 2: a payment on every ready call.
    let cpu2 = driver::cpu(daemon_tid, sim_pid);
    let t2 = Instant::now();
    let (completed, failed, first) = if opts.idle_only {
        let ready = &setup.ready;
        let left = driver::hang_up_all(&engine, &ctl, ready, HANGUP_BATCH, opts.deadline).await?;
        let why = (left > 0).then(|| format!("{left} hung-up calls not forgotten in time"));
        (0, 0, why)
    } else {
        driver::pay_all(&engine, &ctl, &setup.ready, opts.stagger, opts.deadline).await
    };
    let payments_elapsed = t2.elapsed();
    let cpu3 = driver::cpu(daemon_tid, sim_pid);
    let ready_calls = setup.ready.len();
    Ok(LoadReport {
        calls: opts.calls,
        ready_calls,
        completed,
        // Calls that never got ready count as failed sessions.
        failed: failed + (opts.calls - ready_calls),
        first_failure: setup.first_failure.or(first),
        stagger: opts.stagger,
        setup_elapsed,
        payments_elapsed,
        // An idle-only run's reactions are those of the hang-ups: not what is measured.
        latency: probe.percentiles().filter(|_| !opts.idle_only),
        latency_by_cause: if opts.idle_only {
            Vec::new()
        } else {
            probe.by_cause()
        },
        rss_start_kib,
        rss_idle_kib,
        peak_rss_kib: procstat::memory().map_or(0, |m| m.peak_kib),
        sim_peak_rss_kib: sim_pid
            .and_then(procstat::pid_memory)
            .map_or(0, |m| m.peak_kib),
        setup_cpu: cpu1.since(cpu0),
        // An idle-only run starts no payment: the hang-ups' CPU is not reported as theirs.
        payment_cpu: if opts.idle_only {
            Cpu::default()
        } else {
            cpu3.since(cpu2)
        },
    })
}
