//! The per-session actor: owns one [`Machine`], its timers and its command queue, and does the I/O the
//! machine asks for. Commands run one after another in the order the machine emitted them (FreeSWITCH
//! answers `api` in order on one connection anyway); the capture leg's `originate` runs beside them
//! (it lasts until the capture service answers) so a cancel is never stuck behind it.
//!
//! Every state change is one structured log line; the end of a session is one audit record (PCI DSS
//! 10.2: who, what, when, outcome — never card data; the machine never sees card digits).

use super::commands::{api_text, check, originate_result};
use super::machine::{Machine, State};
use super::switch::{Switch, SwitchError};
use super::types::*;
use crate::metrics::Metrics;
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_util::time::{DelayQueue, delay_queue};
use tracing::{info, warn};

/// A session still `Suspended` this long after it suspended reads FreeSWITCH's state back itself:
/// the engine's resync on reconnect (batched, [`super::engine`]) normally gets there first, but may
/// have gone out before this session suspended (a command lost with the connection reports late).
const SELF_RESYNC_AFTER: Duration = Duration::from_secs(5);
/// How often it then checks whether the connection answers again.
const SELF_RESYNC_EVERY: Duration = Duration::from_secs(1);

/// A public view of a session, published on every change (API, status stream, page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    pub id: String,
    pub state: State,
    pub customer: Uuid,
    pub agent: Uuid,
    pub capture: Option<Uuid>,
    pub agent_id: Option<String>,
    pub method: Option<StartMethod>,
    pub outcome: Option<Outcome>,
    pub started: SystemTime,
    /// When capture started ('1'), for the elapsed time shown to the agent.
    pub capture_started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
}

/// A handle on a running session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub id: String,
    tx: mpsc::Sender<Input>,
    view: watch::Receiver<SessionView>,
}

impl SessionHandle {
    /// Feeds an input; false if the session has ended.
    pub async fn send(&self, input: Input) -> bool {
        self.tx.send(input).await.is_ok()
    }

    pub fn try_send(&self, input: Input) -> bool {
        self.tx.try_send(input).is_ok()
    }

    pub fn view(&self) -> SessionView {
        self.view.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<SessionView> {
        self.view.clone()
    }

    pub fn is_finished(&self) -> bool {
        self.tx.is_closed()
    }
}

/// How a session starts besides its machine: what to carry out or feed first, where to count it.
#[derive(Default)]
pub struct SpawnOptions {
    /// Actions the machine already produced before the actor existed (a recovered session).
    pub actions: Vec<Action>,
    /// The first input, fed after `actions` (usually `Start`).
    pub first: Option<Input>,
    /// Where the session's outcome is counted when it ends.
    pub metrics: Option<Arc<Metrics>>,
}

/// Starts the actor for `machine`.
pub fn spawn(
    id: String,
    machine: Machine,
    switch: Arc<dyn Switch>,
    options: SpawnOptions,
) -> SessionHandle {
    let SpawnOptions {
        actions,
        first,
        metrics,
    } = options;
    let (tx, rx) = mpsc::channel(64);
    let view = view_of(&id, &machine, SystemTime::now());
    let (view_tx, view_rx) = watch::channel(view);
    let actor = Actor {
        id: id.clone(),
        machine,
        switch,
        inputs: tx.clone(),
        view: view_tx,
        timers: DelayQueue::new(),
        keys: Vec::new(),
        commands: None,
        metrics,
    };
    tokio::spawn(actor.run(rx, first, actions));
    SessionHandle {
        id,
        tx,
        view: view_rx,
    }
}

fn view_of(id: &str, m: &Machine, started: SystemTime) -> SessionView {
    SessionView {
        id: id.to_owned(),
        state: m.state().clone(),
        customer: m.legs().customer.clone(),
        agent: m.legs().agent.clone(),
        capture: (m.legs().capture_up || m.legs().dialling).then(|| m.legs().capture.clone()),
        agent_id: m.agent_id().map(|a| a.to_string()),
        method: m.method(),
        outcome: m.outcome().cloned(),
        started,
        capture_started: None,
        ended: None,
    }
}

struct Actor {
    id: String,
    machine: Machine,
    switch: Arc<dyn Switch>,
    inputs: mpsc::Sender<Input>,
    view: watch::Sender<SessionView>,
    timers: DelayQueue<TimerKind>,
    keys: Vec<(TimerKind, delay_queue::Key)>,
    /// The sequential command queue (started on first use).
    commands: Option<mpsc::UnboundedSender<(Step, Cmd)>>,
    /// Where the outcome is counted when the session ends.
    metrics: Option<Arc<Metrics>>,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Input>,
        first: Option<Input>,
        actions: Vec<Action>,
    ) {
        if self.apply(actions) {
            return;
        }
        if let Some(input) = first
            && self.feed(input)
        {
            return;
        }
        loop {
            let input = tokio::select! {
                Some(input) = rx.recv() => input,
                Some(expired) = self.timers.next(), if !self.timers.is_empty() => {
                    let kind = expired.into_inner();
                    self.keys.retain(|(k, _)| *k != kind);
                    Input::Timer(kind)
                }
                else => break,
            };
            if self.feed(input) {
                break;
            }
        }
    }

    /// Steps the machine; returns true when the session is over.
    fn feed(&mut self, input: Input) -> bool {
        let before = self.machine.state().clone();
        let actions = self.machine.step(input);
        let after = self.machine.state().clone();
        if before != after {
            info!(
                session = %self.id,
                call = %self.machine.legs().customer,
                agent_id = self.machine.agent_id().map(|a| a.as_str()).unwrap_or(""),
                from = ?before,
                to = ?after,
                "session state"
            );
        }
        let done = self.apply(actions);
        self.publish(&before, &after);
        if after == State::Suspended && before != State::Suspended && !done {
            self.resync_later();
        }
        done
    }

    /// Reads FreeSWITCH's state back once the connection answers again and feeds it in as a
    /// resync (ignored if the engine's resync got there first). Ends with the session.
    fn resync_later(&self) {
        let switch = self.switch.clone();
        let inputs = self.inputs.clone();
        let room = self.machine.room().to_owned();
        let legs = self.machine.legs();
        let (customer, agent) = (legs.customer.clone(), legs.agent.clone());
        let capture = (legs.capture_up || legs.dialling).then(|| legs.capture.clone());
        let view = self.view.subscribe();
        let still_suspended = move || view.borrow().state == State::Suspended;
        tokio::spawn(async move {
            tokio::time::sleep(SELF_RESYNC_AFTER).await;
            loop {
                // Resumed (or ended) meanwhile: nothing to do; a new suspension starts its own.
                if inputs.is_closed() || !still_suspended() {
                    return;
                }
                // A cheap probe first: while the connection is down every lookup fails at once.
                match switch.api(format!("uuid_exists {customer}")).await {
                    Err(SwitchError::NoConnection { .. }) => {
                        tokio::time::sleep(SELF_RESYNC_EVERY).await;
                        continue;
                    }
                    // Something answered: the connection is back.
                    Ok(_)
                    | Err(
                        SwitchError::Timeout { .. }
                        | SwitchError::JobTimeout { .. }
                        | SwitchError::Refused { .. }
                        | SwitchError::Unexpected { .. }
                        | SwitchError::Unsendable { .. }
                        | SwitchError::Unusable { .. },
                    ) => {}
                }
                let Some(snap) = super::recover::snapshot(
                    switch.as_ref(),
                    &room,
                    &customer,
                    &agent,
                    capture.as_deref(),
                )
                .await
                else {
                    tokio::time::sleep(SELF_RESYNC_EVERY).await;
                    continue;
                };
                let _ = inputs.send(Input::Resync(snap)).await;
                return;
            }
        });
    }

    /// Carries out the machine's actions; true when one of them ends the session.
    fn apply(&mut self, actions: Vec<Action>) -> bool {
        let mut done = false;
        for action in actions {
            match action {
                Action::Send { step, cmd } => self.send(step, cmd),
                Action::StartTimer { kind, after } => self.start_timer(kind, after),
                Action::StopTimer(kind) => self.stop_timer(kind),
                Action::Finished(outcome) => {
                    self.audit(&outcome);
                    done = true;
                }
            }
        }
        done
    }

    fn publish(&self, before: &State, after: &State) {
        let m = &self.machine;
        self.view.send_modify(|v| {
            v.state = after.clone();
            v.capture =
                (m.legs().capture_up || m.legs().dialling).then(|| m.legs().capture.clone());
            v.agent_id = m.agent_id().map(|a| a.to_string());
            v.method = m.method();
            v.outcome = m.outcome().cloned();
            let now = SystemTime::now();
            if *after == State::Capturing
                && *before != State::Capturing
                && v.capture_started.is_none()
            {
                v.capture_started = Some(now);
            }
            if *after == State::Done {
                v.ended = Some(now);
            }
        });
    }

    fn audit(&self, outcome: &Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics.outcome(outcome.code());
        }
        let v = self.view.borrow();
        let m = &self.machine;
        // One line per session, target `confpay::audit`: PCI DSS 10.2/10.3 fields, no card data.
        info!(
            target: "confpay::audit",
            session = %self.id,
            call = %m.legs().customer,
            agent = %m.legs().agent,
            agent_id = m.agent_id().map(|a| a.as_str()).unwrap_or(""),
            capture_leg = %m.legs().capture,
            method = ?m.method(),
            outcome = outcome.code(),
            detail = ?outcome,
            started = ?v.started,
            "payment session ended"
        );
    }

    fn start_timer(&mut self, kind: TimerKind, after: Duration) {
        self.stop_timer(kind);
        let key = self.timers.insert(kind, after);
        self.keys.push((kind, key));
    }

    fn stop_timer(&mut self, kind: TimerKind) {
        if let Some(i) = self.keys.iter().position(|(k, _)| *k == kind) {
            let (_, key) = self.keys.swap_remove(i);
            self.timers.remove(&key);
        }
    }

    fn send(&mut self, step: Step, cmd: Cmd) {
        if let Cmd::Originate { .. } = cmd {
            return self.originate(cmd);
        }
        let queue = self.commands.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run_commands(
                self.id.clone(),
                self.switch.clone(),
                rx,
                self.inputs.clone(),
            ));
            tx
        });
        // The queue holds at most the handful of commands one step emits; it ends with the session.
        let _ = queue.send((step, cmd));
    }

    fn originate(&self, cmd: Cmd) {
        let switch = self.switch.clone();
        let inputs = self.inputs.clone();
        let id = self.id.clone();
        tokio::spawn(async move {
            let input = match switch.bgapi(api_text(&cmd)).await {
                Ok(reply) => match originate_result(&reply) {
                    Ok(uuid) => Input::CaptureAnswered { uuid },
                    Err(cause) => Input::CaptureFailed { cause },
                },
                Err(why @ SwitchError::NoConnection { .. }) => {
                    // The result is lost with the connection; the resync reads whether the capture
                    // leg exists.
                    warn!(session = %id, error = %why, "capture originate result lost with the connection");
                    Input::ConnectionLost
                }
                Err(
                    why @ (SwitchError::Timeout { .. }
                    | SwitchError::JobTimeout { .. }
                    | SwitchError::Refused { .. }
                    | SwitchError::Unexpected { .. }
                    | SwitchError::Unsendable { .. }
                    | SwitchError::Unusable { .. }),
                ) => {
                    warn!(session = %id, error = %why, "capture originate got no result");
                    Input::CaptureFailed {
                        cause: why.to_string(),
                    }
                }
            };
            let _ = inputs.send(input).await;
        });
    }
}

async fn run_commands(
    id: String,
    switch: Arc<dyn Switch>,
    mut rx: mpsc::UnboundedReceiver<(Step, Cmd)>,
    inputs: mpsc::Sender<Input>,
) {
    while let Some((step, cmd)) = rx.recv().await {
        let text = api_text(&cmd);
        let (ok, reply) = match switch.call_api(text).await {
            Ok(reply) if matches!(cmd, Cmd::Verify { .. }) => {
                let ok = check(&cmd, &reply);
                // The member list is long and says nothing useful in a log line.
                let why = if ok {
                    "+OK"
                } else {
                    "-ERR the capture leg or the customer is not in the conference"
                };
                (ok, why.to_owned())
            }
            Ok(reply) => (check(&cmd, &reply), reply.trim_end().to_owned()),
            Err(why @ SwitchError::NoConnection { .. }) => {
                // Not FreeSWITCH's answer: the command may or may not have run. Suspend (the
                // engine's own notice may come later) and let the resync read the truth back.
                warn!(session = %id, step = ?step, error = %why, "command lost with the connection");
                let _ = inputs.send(Input::ConnectionLost).await;
                continue;
            }
            Err(
                why @ (SwitchError::Timeout { .. }
                | SwitchError::JobTimeout { .. }
                | SwitchError::Refused { .. }
                | SwitchError::Unexpected { .. }
                | SwitchError::Unsendable { .. }
                | SwitchError::Unusable { .. }),
            ) => (false, why.to_string()),
        };
        if !ok {
            warn!(session = %id, step = ?step, reply = %reply, "command refused");
        }
        // The session may have ended meanwhile; the commands it queued before ending (capture leg
        // down, the agent-hangup policy, restore steps) are still sent: the loop ends only once the
        // queue is empty and the session dropped its end of it.
        let _ = inputs.send(Input::Reply { step, ok, reply }).await;
    }
}
