//! The load tool's driver: runs on its own thread and runtime (not the daemon's), places the calls
//! through the simulator's console — each with its own agent ID ([`crate::agents`]), set by the
//! call's routing — waits for each call's readiness signal, then runs one payment per call the way
//! the agent's screen and the customer play it:
//!
//! 1. the agent presses "take payment" (`Engine::start_payment`, as the HTTP API would);
//! 2. the daemon dials the scripted capture service on the simulator, which answers and checks the
//!    agent ID the daemon keys against the ID of the call it joined; the session becomes `Ready`
//!    (and must carry the call's own agent ID);
//! 3. the agent, seeing `Ready`, tells the customer to press 1: `press <customer> 1` on the console;
//! 4. once `Capturing`, the customer keys the card (`press <customer> <digits>`); the simulator's
//!    capture service collects the digits and hangs up by itself;
//! 5. the daemon restores the call; the session must end `Completed`.
//!
//! The card number is a test number and is never logged or put into an error.

use super::agents;
use super::procstat;
use super::report::Cpu;
use super::simproc::{Control, SimProcError};
use confpay::pay::engine::{Engine, Target};
use confpay::pay::session::SessionView;
use confpay::pay::{Outcome, State};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// A test card number (the tool only presses it).
const CARD: &str = "4111111111111111";

/// The calls that got ready (customer channel, the call's agent ID), and why the first one that
/// did not.
pub struct Setup {
    pub ready: Vec<(uuid::Uuid, String)>,
    pub first_failure: Option<String>,
}

/// CPU of the daemon thread `tid`, this process and the simulator `sim`.
pub fn cpu(tid: Option<u32>, sim: Option<u32>) -> Cpu {
    Cpu {
        daemon_thread: tid.and_then(procstat::thread_cpu).unwrap_or_default(),
        process: procstat::process_cpu().unwrap_or_default(),
        sim: sim.and_then(procstat::pid_cpu).unwrap_or_default(),
    }
}

/// Places `calls` calls to `destination`, each with its own `confpay_agent_id`, `batch` at a time,
/// each batch ready (or out of time) before the next.
pub async fn place_calls(
    ctl: &Control,
    ready_rx: &mut mpsc::UnboundedReceiver<String>,
    calls: usize,
    batch: usize,
    destination: &str,
    deadline: Duration,
) -> Result<Setup, SimProcError> {
    let until = tokio::time::Instant::now() + deadline;
    let mut setup = Setup {
        ready: Vec::with_capacity(calls),
        first_failure: None,
    };
    let (mut left, mut placed) = (calls, 0usize);
    let mut agent_ids: HashMap<uuid::Uuid, String> = HashMap::with_capacity(calls);
    while left > 0 {
        let n = left.min(batch.max(1));
        let first = calls - left;
        left -= n;
        let answers: Vec<_> = (first..first + n)
            .map(|i| {
                let id = agents::agent_id(i);
                let answer = ctl.send(format!("call {{confpay_agent_id={id}}}{destination}"));
                answer.map(|a| (a, id))
            })
            .collect::<Result<_, _>>()?;
        for (a, id) in answers {
            let line = a.await.map_err(|_| SimProcError::Closed)?;
            if let Ok(u) = uuid::Uuid::parse_str(line.trim()) {
                agent_ids.insert(u, id);
                placed += 1;
            } else {
                setup.first_failure.get_or_insert(format!("call: {line}"));
            }
        }
        while setup.ready.len() < placed {
            match tokio::time::timeout_at(until, ready_rx.recv()).await {
                Ok(Some(customer)) => {
                    if let Some((u, id)) = uuid::Uuid::parse_str(&customer)
                        .ok()
                        .and_then(|u| agent_ids.remove_entry(&u))
                    {
                        setup.ready.push((u, id));
                    }
                }
                Ok(None) | Err(_) => {
                    let missing = placed - setup.ready.len();
                    setup.first_failure.get_or_insert(format!(
                        "{missing} calls not in their conference within {deadline:?}"
                    ));
                    return Ok(setup);
                }
            }
        }
    }
    Ok(setup)
}

/// Hangs the ready calls up, `batch` at a time, each batch forgotten by the daemon (or out of
/// time) before the next: the calls end as they would one by one in production, and the
/// daemon's memory falls from the idle state instead of every call's teardown (each asks the
/// switch whether its channel is gone) piling up at once above it, so that a heap profile's peak
/// of an `--idle-only` run is the idle state. Returns how many the daemon had not forgotten in
/// time.
pub async fn hang_up_all(
    engine: &Engine,
    ctl: &Control,
    ready: &[(uuid::Uuid, String)],
    batch: usize,
    deadline: Duration,
) -> Result<usize, SimProcError> {
    let until = tokio::time::Instant::now() + deadline;
    let mut left = 0;
    for chunk in ready.chunks(batch.max(1)) {
        let answers: Vec<_> = chunk
            .iter()
            .map(|(cu, _)| ctl.send(format!("hangup {cu}")))
            .collect::<Result<_, _>>()?;
        for a in answers {
            a.await.map_err(|_| SimProcError::Closed)?;
        }
        let known = |(cu, _): &(uuid::Uuid, String)| engine.call(&cu.to_string()).is_some();
        while chunk.iter().any(known) && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        left += chunk.iter().filter(|c| known(c)).count();
    }
    Ok(left)
}

/// Starts one payment per ready call, the i-th `stagger × i` after the first; returns
/// (completed, failed, first failure).
pub async fn pay_all(
    engine: &Engine,
    ctl: &Control,
    ready: &[(uuid::Uuid, String)],
    stagger: Duration,
    deadline: Duration,
) -> (usize, usize, Option<String>) {
    let start = tokio::time::Instant::now();
    let mut drivers = Vec::with_capacity(ready.len());
    for (i, (cu, agent_id)) in ready.iter().enumerate() {
        let (engine, ctl, cu) = (engine.clone(), ctl.clone(), cu.to_string());
        let agent_id = agent_id.clone();
        let at = start + stagger.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
        drivers.push(tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            tokio::time::timeout(deadline, pay(&engine, &ctl, &cu, &agent_id))
                .await
                .unwrap_or_else(|_| Err("no outcome before the deadline".to_owned()))
        }));
    }
    let (mut completed, mut failed, mut first) = (0, 0, None);
    for d in drivers {
        match d.await {
            Ok(Ok(())) => completed += 1,
            Ok(Err(why)) => {
                failed += 1;
                first.get_or_insert(why);
            }
            Err(e) => {
                failed += 1;
                first.get_or_insert(e.to_string());
            }
        }
    }
    (completed, failed, first)
}

/// One payment on customer channel `cu`, whose call carries `agent_id`.
async fn pay(engine: &Engine, ctl: &Control, cu: &str, agent_id: &str) -> Result<(), String> {
    let view = engine
        .start_payment(Target::Customer(cu.to_owned()), None)
        .await
        .map_err(|e| format!("start: {e}"))?;
    let mut w = engine
        .watch(&view.id)
        .await
        .ok_or_else(|| "session vanished".to_owned())?;
    reach(&mut w, State::Ready).await?;
    let carried = w.borrow().agent_id.clone();
    if carried.as_deref() != Some(agent_id) {
        return Err(format!(
            "the session carries agent ID {carried:?}, its call {agent_id:?}"
        ));
    }
    press(ctl, cu, "1")
        .await
        .map_err(|e| format!("press 1: {e}"))?;
    reach(&mut w, State::Capturing).await?;
    press(ctl, cu, CARD)
        .await
        .map_err(|_| "card digits not delivered".to_owned())?;
    reach(&mut w, State::Done).await?;
    let outcome = w.borrow().outcome.clone();
    match outcome {
        Some(Outcome::Completed { .. }) => Ok(()),
        other => Err(format!("outcome {other:?}")),
    }
}

async fn press(ctl: &Control, cu: &str, digits: &str) -> Result<(), String> {
    let answer = ctl
        .command(format!("press {cu} {digits}"))
        .await
        .map_err(|e| e.to_string())?;
    if answer.starts_with("+OK") {
        Ok(())
    } else {
        Err(answer)
    }
}

async fn reach(w: &mut watch::Receiver<SessionView>, state: State) -> Result<(), String> {
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
