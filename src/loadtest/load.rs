//! The load tool: N concurrent calls against the simulator over loopback TCP, each running a full
//! payment (dialplan call → start → join → agent ID → '1' → capture → capture service hangs up →
//! restore), with the daemon's parts on the caller's (single-thread) runtime and the simulator plus
//! the scripted callers on their own thread.
//!
//! The daemon side is assembled like [`crate::daemon::stack::Stack`] (inbound client, engine, event
//! pump, outbound server with the dialplan handler) but with a [`LatencyProbe`] between the pump, the
//! engine and the switch; the HTTP API is left out (it plays no part in a payment).
//!
//! The capture service is a passive party here: the simulator's scripted capture party is one shared
//! state machine per dial string, so with many concurrent calls the tool itself plays the service —
//! after the card digits it hangs the capture leg up (`Hangup-Cause: NORMAL_CLEARING`), which is what
//! the daemon sees from a real one.

use super::probe::{LatencyProbe, Percentiles, ProbedSwitch};
use super::procstat;
use crate::config::PaymentConfig;
use crate::daemon::stack::{ROOM_PREFIX, engine_config, subscription};
use crate::esl::client_error::ClientError;
use crate::esl::inbound::{ClientEvent, InboundClient, InboundConfig};
use crate::esl::outbound::{OutboundConfig, OutboundServer};
use crate::pay::dialplan::{self, CallSetup, EslSwitch};
use crate::pay::engine::{Engine, Target};
use crate::pay::session::Switch;
use crate::pay::types::AgentHangupPolicy;
use crate::pay::{Outcome, State};
use crate::sim::core::{Core, Extension};
use crate::sim::party::Party;
use crate::sim::{SimConfig, Simulator};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub const AGENT_ID: &str = "4711";
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
pub const AGENT_DIAL: &str = "user/agent";
/// A test card number (never logged by the tool: it only presses it).
const CARD: &str = "4111111111111111";

/// One load run's settings.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub calls: usize,
    /// Limit for every call to get ready and for every payment to finish.
    pub deadline: Duration,
    /// The daemon's pause before keying the agent ID (production default 1000 ms).
    pub agent_id_delay: Duration,
    /// Calls placed at once while setting up (each batch gets ready before the next).
    pub batch: usize,
}

/// What a run measured.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub calls: usize,
    pub ready_calls: usize,
    pub completed: usize,
    pub failed: usize,
    /// First outcome that was not `Completed`, for the report.
    pub first_failure: Option<String>,
    pub setup_elapsed: Duration,
    pub payments_elapsed: Duration,
    pub latency: Option<Percentiles>,
    /// The same per causing event kind.
    pub latency_by_cause: Vec<(&'static str, Option<Percentiles>)>,
    pub rss_start_kib: u64,
    pub rss_idle_kib: u64,
    pub peak_rss_kib: u64,
    pub daemon_cpu: Duration,
    pub process_cpu: Duration,
}

impl LoadReport {
    pub fn sessions_per_s(&self) -> f64 {
        self.completed as f64 / self.payments_elapsed.as_secs_f64().max(1e-9)
    }

    /// RSS growth with all calls up and idle, per call (daemon and simulator together).
    pub fn idle_kib_per_call(&self) -> f64 {
        self.rss_idle_kib.saturating_sub(self.rss_start_kib) as f64 / self.calls.max(1) as f64
    }

    pub fn daemon_cpu_ms_per_session(&self) -> f64 {
        self.daemon_cpu.as_secs_f64() * 1000.0 / self.completed.max(1) as f64
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("simulator: {0}")]
    Sim(String),
    #[error("inbound client: {0}")]
    Client(#[from] ClientError),
    #[error("outbound listener: {0}")]
    Bind(#[from] std::io::Error),
}

/// The simulator on its own thread and runtime.
struct SimThread {
    core: Core,
    esl: SocketAddr,
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SimThread {
    fn start() -> Result<SimThread, LoadError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Simulator::start(SimConfig::default()).await {
                        Ok(sim) => {
                            let handle = tokio::runtime::Handle::current();
                            let _ = tx.send(Ok((sim.core().clone(), sim.esl_addr(), handle)));
                            let _ = stop_rx.await;
                            sim.shutdown();
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                });
            })?;
        let (core, esl, handle) = rx
            .recv()
            .map_err(|e| LoadError::Sim(e.to_string()))?
            .map_err(LoadError::Sim)?;
        Ok(SimThread {
            core,
            esl,
            handle,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The daemon's parts on the current runtime, with the probe in between.
struct Daemon {
    engine: Engine,
    client: InboundClient,
    outbound: SocketAddr,
    shutdown: CancellationToken,
}

async fn start_daemon(esl: SocketAddr, probe: Arc<LatencyProbe>) -> Result<Daemon, LoadError> {
    let payment = PaymentConfig::default();
    let inbound = InboundConfig {
        addr: esl.to_string(),
        event_buffer: 1024,
        subscription: subscription(&payment.start_event_subclass),
        ..InboundConfig::default()
    };
    let (client, mut events) = InboundClient::connect(inbound).await?;
    let switch: Arc<dyn Switch> = Arc::new(ProbedSwitch {
        inner: Arc::new(EslSwitch(client.clone())),
        probe: probe.clone(),
    });
    let mut payment_cfg = payment.clone();
    payment_cfg.capture_dial = CAPTURE_DIAL.to_owned();
    payment_cfg.capture_answer_timeout_s = 30;
    let ecfg = engine_config(&payment_cfg);
    let engine = Engine::spawn(ecfg, switch.clone());
    let shutdown = CancellationToken::new();
    {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    ev = events.recv() => ev,
                };
                match ev {
                    Some(ClientEvent::Event(e)) => {
                        probe.event_arrived(&e);
                        engine.event(e).await;
                    }
                    Some(ClientEvent::Connected { .. }) => {}
                    Some(ClientEvent::Disconnected { .. }) => engine.connection_lost().await,
                    None => break,
                }
            }
        });
    }
    let server = OutboundServer::bind(OutboundConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..OutboundConfig::default()
    })
    .await?;
    let outbound = server.local_addr()?;
    let setup = CallSetup {
        room_prefix: ROOM_PREFIX.to_owned(),
        profile: payment.conference_profile.clone(),
        on_agent_unreachable: AgentHangupPolicy::Hangup,
    };
    {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            server
                .run(
                    move |call| {
                        dialplan::handle_call(engine.clone(), switch.clone(), setup.clone(), call)
                    },
                    shutdown,
                )
                .await;
        });
    }
    Ok(Daemon {
        engine,
        client,
        outbound,
        shutdown,
    })
}

/// `freeswitch-dialplan/`'s socket extension with the tool's addresses and parties.
fn install(core: &Core, outbound: SocketAddr) -> Party {
    core.set_extension(Extension::new(
        "confpay",
        &[
            ("set", &format!("confpay_agent_dial={AGENT_DIAL}")),
            ("set", &format!("confpay_agent_id={AGENT_ID}")),
            ("set", "conference_controls=none"),
            ("set", "sensitive_dtmf=true"),
            ("set", "socket_resume=false"),
            ("socket", &format!("{outbound} async full")),
            ("bridge", AGENT_DIAL),
        ],
    ));
    core.register_party(AGENT_DIAL, Party::agent("agent"));
    core.register_party(CAPTURE_DIAL, Party::agent("capture"));
    Party::customer("customer")
}

/// Runs the load (call on a current-thread runtime: that thread is "the daemon's core").
pub async fn run(opts: &LoadOptions) -> Result<LoadReport, LoadError> {
    let daemon_tid = procstat::current_tid();
    let mut sim = SimThread::start()?;
    let probe = Arc::new(LatencyProbe::default());
    let daemon = start_daemon(sim.esl, probe.clone()).await?;
    daemon
        .engine
        .configure({
            let mut p = PaymentConfig {
                capture_dial: CAPTURE_DIAL.to_owned(),
                capture_answer_timeout_s: 30,
                ..PaymentConfig::default()
            };
            p.agent_id_delay_ms = u64::try_from(opts.agent_id_delay.as_millis()).unwrap_or(0);
            engine_config(&p)
        })
        .await;
    let customer = install(&sim.core, daemon.outbound);
    let rss_start_kib = procstat::memory().map_or(0, |m| m.rss_kib);
    let cpu0 = cpu(daemon_tid);

    // Phase 1: every call comes in and gets customer and agent into its conference.
    let setup_started = Instant::now();
    // The calls are placed on the simulator's runtime (its timers are tasks there), not the daemon's,
    // `batch` at a time, each batch ready before the next: a burst of thousands of calls at once
    // saturates the simulator (command timeouts), not the daemon.
    let mut ready = Vec::with_capacity(opts.calls);
    let mut left = opts.calls;
    while left > 0 {
        let n = left.min(opts.batch.max(1));
        left -= n;
        let (core, customer) = (sim.core.clone(), customer.clone());
        let placed = sim.handle.spawn(async move {
            (0..n)
                .map(|_| core.incoming_call(&customer, "confpay", "Customer", "1001"))
                .collect::<Result<Vec<String>, _>>()
        });
        let customers = match placed.await {
            Ok(Ok(customers)) => customers,
            Ok(Err(e)) => return Err(LoadError::Sim(e.to_string())),
            Err(e) => return Err(LoadError::Sim(e.to_string())),
        };
        ready.extend(wait_ready(&daemon.engine, &customers, opts.deadline).await);
    }
    let setup_elapsed = setup_started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_kib = procstat::memory().map_or(0, |m| m.rss_kib);
    probe.clear_stamps();

    // Phase 2: a payment on every ready call at once.
    let started = Instant::now();
    let ready_calls = ready.len();
    let mut drivers = Vec::with_capacity(ready_calls);
    for cu in ready {
        let engine = daemon.engine.clone();
        let core = sim.core.clone();
        let deadline = opts.deadline;
        drivers.push(sim.handle.spawn(async move {
            tokio::time::timeout(deadline, pay(&engine, &core, &cu))
                .await
                .unwrap_or_else(|_| Err("no outcome before the deadline".to_owned()))
        }));
    }
    // Calls that never got ready count as failed; `first_failure` names the first failed payment.
    let (mut completed, mut failed, mut first_failure) = (0, opts.calls - ready_calls, None);
    for d in drivers {
        match d.await {
            Ok(Ok(())) => completed += 1,
            Ok(Err(why)) => {
                failed += 1;
                first_failure.get_or_insert(why);
            }
            Err(e) => {
                failed += 1;
                first_failure.get_or_insert(e.to_string());
            }
        }
    }
    let payments_elapsed = started.elapsed();
    let cpu1 = cpu(daemon_tid);
    let report = LoadReport {
        calls: opts.calls,
        ready_calls,
        completed,
        failed,
        first_failure,
        setup_elapsed,
        payments_elapsed,
        latency: probe.percentiles(),
        latency_by_cause: probe.by_cause(),
        rss_start_kib,
        rss_idle_kib,
        peak_rss_kib: procstat::memory().map_or(0, |m| m.peak_kib),
        daemon_cpu: cpu1.0.saturating_sub(cpu0.0),
        process_cpu: cpu1.1.saturating_sub(cpu0.1),
    };
    daemon.shutdown.cancel();
    daemon.client.shutdown();
    sim.stop();
    Ok(report)
}

fn cpu(tid: Option<u32>) -> (Duration, Duration) {
    (
        tid.and_then(procstat::thread_cpu).unwrap_or_default(),
        procstat::process_cpu().unwrap_or_default(),
    )
}

/// Polls the engine (one view list per round, not per call) until every call is in its conference.
async fn wait_ready(engine: &Engine, customers: &[String], deadline: Duration) -> Vec<String> {
    let until = Instant::now() + deadline;
    let wanted: HashSet<&str> = customers.iter().map(String::as_str).collect();
    let mut ready: HashSet<String> = HashSet::new();
    while ready.len() < customers.len() && Instant::now() < until {
        for c in engine.calls().await {
            if c.customer_member.is_some()
                && c.agent_member.is_some()
                && wanted.contains(c.customer.as_str())
            {
                ready.insert(c.customer);
            }
        }
        if ready.len() < customers.len() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    customers
        .iter()
        .filter(|c| ready.contains(*c))
        .cloned()
        .collect()
}

/// One payment on customer channel `cu`, as the customer and the capture service play it.
async fn pay(engine: &Engine, core: &Core, cu: &str) -> Result<(), String> {
    let view = engine
        .start_payment(Target::Customer(cu.to_owned()), None)
        .await
        .map_err(|e| format!("start: {e}"))?;
    let mut w = engine
        .watch(&view.id)
        .await
        .ok_or_else(|| "session vanished".to_owned())?;
    reach(&mut w, State::Ready).await?;
    core.press(cu, "1").map_err(|e| format!("press 1: {e}"))?;
    reach(&mut w, State::Capturing).await?;
    core.press(cu, CARD)
        .map_err(|_| "card digits not delivered".to_owned())?;
    let capture = w
        .borrow()
        .capture
        .clone()
        .ok_or_else(|| "capturing without a capture leg".to_owned())?;
    core.hangup(&capture, "NORMAL_CLEARING")
        .map_err(|e| format!("capture hangup: {e}"))?;
    reach(&mut w, State::Done).await?;
    let outcome = w.borrow().outcome.clone();
    match outcome {
        Some(Outcome::Completed { .. }) => Ok(()),
        other => Err(format!("outcome {other:?}")),
    }
}

async fn reach(
    w: &mut watch::Receiver<crate::pay::session::SessionView>,
    state: State,
) -> Result<(), String> {
    let seen = w
        .wait_for(|v| v.state == state || v.state == State::Done)
        .await
        .map_err(|_| format!("session ended before {state:?}"))?
        .clone();
    if seen.state == state {
        Ok(())
    } else {
        Err(format!("ended before {state:?}: {:?}", seen.outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_few_concurrent_payments_all_complete() {
        let opts = LoadOptions {
            calls: 5,
            deadline: Duration::from_secs(20),
            agent_id_delay: Duration::from_millis(10),
            batch: 2,
        };
        let r = run(&opts).await.expect("load run");
        assert_eq!(r.ready_calls, 5, "{r:?}");
        assert_eq!((r.completed, r.failed), (5, 0), "{:?}", r.first_failure);
        let lat = r.latency.expect("latency samples");
        // Every payment's '1' (DTMF) makes the session send its capture commands at once; the
        // capture leg leaving usually adds samples too (del-member or hangup, whichever comes first).
        let dtmf = r.latency_by_cause[0];
        assert_eq!(
            (dtmf.0, dtmf.1.map(|p| p.count)),
            ("DTMF", Some(5)),
            "{r:?}"
        );
        assert!(lat.count >= 5, "{lat:?}");
        assert!(lat.p50_us <= lat.p99_us && lat.p99_us <= lat.max_us);
    }
}
