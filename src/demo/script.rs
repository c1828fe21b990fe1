//! The scripted call: a customer calls in, the dialplan hands the call to confpayd, and the agent
//! takes two payments on it, one per start method — Keyphone (the customer presses '1') and ACA (the
//! agent starts capture; here the demo calls `engine.start_capture` as the page's button would).
//!
//! A recorder task follows each session's state (as published by the engine) and snapshots the
//! simulator's hearing matrix at every change it sees.

use super::DemoError;
use super::timeline::{Timeline, What, short};
use super::world::{CARD, World};
use crate::pay::engine::Target;
use crate::pay::session::SessionView;
use crate::pay::{Outcome, StartMethod, State};
use crate::sim::core::Core;
use crate::sim::hearing::DtmfOrigin;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::task::JoinHandle;

/// The shared timeline the script and the recorders write to.
#[derive(Clone)]
pub(crate) struct Log {
    started: Instant,
    timeline: Arc<Mutex<Timeline>>,
}

impl Log {
    pub(crate) fn new(started: Instant) -> Log {
        Log {
            started,
            timeline: Arc::new(Mutex::new(Timeline::default())),
        }
    }

    pub(crate) fn push(&self, what: What) {
        let at = self.started.elapsed();
        self.timeline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(at, what);
    }

    pub(crate) fn note(&self, text: impl Into<String>) {
        self.push(What::Note(text.into()));
    }

    pub(crate) fn take(&self) -> Timeline {
        std::mem::take(&mut *self.timeline.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Follows session `view` until it is done, logging each state seen with the hearing matrix.
fn record(world: &World, log: &Log, view: &SessionView) -> JoinHandle<()> {
    let engine = world.stack.engine.clone();
    let core: Core = world.sim.core().clone();
    let log = log.clone();
    let id = view.id.clone();
    let first = view.state.clone();
    log.push(What::State {
        session: short(&id),
        state: first.clone(),
        hearing: core.hearing(),
    });
    tokio::spawn(async move {
        let Some(mut rx) = engine.watch(&id).await else {
            return;
        };
        let mut last = first;
        loop {
            let state = rx.borrow_and_update().state.clone();
            if state != last {
                log.push(What::State {
                    session: short(&id),
                    state: state.clone(),
                    hearing: core.hearing(),
                });
                last = state.clone();
            }
            if state == State::Done || rx.changed().await.is_err() {
                break;
            }
        }
    })
}

/// Counts, per receiving party, the digits delivered since DTMF log index `from`:
/// `(keyed by a party, sent by the daemon)`.
fn delivered(core: &Core, from: usize) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for d in core.dtmf_log().iter().skip(from) {
        let slot = out.entry(d.party.clone()).or_default();
        match d.origin {
            DtmfOrigin::Party(_) => slot.0 += 1,
            DtmfOrigin::Api(_) => slot.1 += 1,
        }
    }
    out
}

/// The customer keys the card; logs how many digits reached whom (never the digits).
pub(crate) fn customer_keys_card(world: &World, log: &Log) -> Result<(), DemoError> {
    let core = world.sim.core();
    let channel = world.customer.channel().ok_or(DemoError::Script {
        step: "the customer has no channel",
    })?;
    let from = core.dtmf_log().len();
    core.press(&channel, CARD)
        .map_err(|e| DemoError::Simulator {
            reason: e.to_string(),
        })?;
    let mut reached: BTreeMap<String, usize> = BTreeMap::new();
    for d in core.dtmf_log().iter().skip(from) {
        if d.origin == DtmfOrigin::Party("customer".into()) {
            *reached.entry(d.party.clone()).or_default() += 1;
        }
    }
    log.push(What::Keyed {
        who: "customer".into(),
        count: CARD.len(),
        reached,
    });
    Ok(())
}

/// One payment on the current call with `method`; returns its outcome.
async fn payment(
    world: &World,
    log: &Log,
    customer: &str,
    agent: &str,
    method: StartMethod,
) -> Result<Outcome, DemoError> {
    let engine = &world.stack.engine;
    let core = world.sim.core();
    let from = core.dtmf_log().len();
    let target = match method {
        StartMethod::Keyphone => {
            log.note("agent presses Start payment (by customer leg); the customer will key '1'");
            Target::Customer(customer.to_owned())
        }
        StartMethod::Aca => {
            log.note("agent presses Start payment (by agent leg); the agent will start capture");
            Target::Agent(agent.to_owned())
        }
    };
    let view = engine
        .start_payment(target, None)
        .await
        .map_err(|e| DemoError::Refused {
            reason: e.to_string(),
        })?;
    let recorder = record(world, log, &view);
    let ready = world.reach(&view.id, State::Ready).await?;
    if ready.state == State::Ready {
        world.pause(800).await;
        match method {
            StartMethod::Keyphone => {
                log.note("customer presses 1 (Keyphone start)");
                core.press(customer, "1")
                    .map_err(|e| DemoError::Simulator {
                        reason: e.to_string(),
                    })?;
            }
            StartMethod::Aca => {
                log.note("agent clicks Start capture (ACA): confpayd isolates the legs, sends '1'");
                engine
                    .start_capture(&view.id)
                    .await
                    .map_err(|e| DemoError::Refused {
                        reason: e.to_string(),
                    })?;
            }
        }
        let capturing = world.reach(&view.id, State::Capturing).await?;
        if capturing.state == State::Capturing {
            world.pause(800).await;
            customer_keys_card(world, log)?;
        }
    }
    let done = world.reach(&view.id, State::Done).await?;
    let _ = recorder.await;
    log.push(What::Delivered {
        session: short(&view.id),
        per_party: delivered(core, from),
    });
    let outcome = done.outcome.ok_or(DemoError::Script {
        step: "a finished session without outcome",
    })?;
    log.push(What::Outcome {
        session: short(&view.id),
        outcome: outcome.clone(),
    });
    Ok(outcome)
}

/// Runs the scripted call on `world`: one Keyphone and one ACA payment, then the customer hangs up.
pub async fn run(world: &mut World) -> Result<Timeline, DemoError> {
    let log = Log::new(world.started);
    log.note(format!(
        "customer calls in; the dialplan's `socket` hands the call to confpayd ({})",
        world.stack.outbound_addr
    ));
    let call = world.call().await?;
    let agent = call.agent.clone().ok_or(DemoError::Script {
        step: "the call has no agent leg",
    })?;
    log.note(format!(
        "confpayd put customer and agent into conference {} (customer flags dist-dtmf, agent skip-dtmf)",
        call.room
    ));
    log.push(What::Snapshot {
        label: "call up".into(),
        hearing: world.sim.core().hearing(),
    });
    let mut outcomes = Vec::new();
    for method in [StartMethod::Keyphone, StartMethod::Aca] {
        world.pause(500).await;
        let outcome = payment(world, &log, &call.customer, &agent, method).await?;
        outcomes.push(outcome);
        world.fresh_capture();
    }
    log.push(What::Snapshot {
        label: "after both payments".into(),
        hearing: world.sim.core().hearing(),
    });
    let _ = world.sim.core().hangup(&call.customer, "NORMAL_CLEARING");
    log.note("customer hangs up");
    let timeline = log.take();
    for (method, outcome) in [StartMethod::Keyphone, StartMethod::Aca]
        .into_iter()
        .zip(outcomes)
    {
        if outcome != (Outcome::Completed { method }) {
            return Err(DemoError::NotCompleted {
                method,
                outcome: outcome.code(),
                timeline: Box::new(timeline),
            });
        }
    }
    Ok(timeline)
}
