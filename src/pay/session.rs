//! The per-session actor: owns one [`Machine`], its timers and its command queue, and does the I/O the
//! machine asks for. Commands run one after another in the order the machine emitted them (FreeSWITCH
//! answers `api` in order on one connection anyway); the capture leg's `originate` runs beside them
//! (it lasts until the capture service answers) so a cancel is never stuck behind it.
//!
//! The actor and its tasks run in a `session` span (`session`, `call` = the customer's channel UUID as
//! FreeSWITCH names it, `agent_id` once known): every line they log — each state change, each command
//! and reply at `debug` ([`crate::daemon::stack::metered`]) — carries those fields (journald:
//! `CONFPAY_SESSION`, `CONFPAY_CALL`, `CONFPAY_AGENT_ID`). The end of a session is one audit record
//! ([`super::audit`]). The actor also times request→Ready, the capture, and its reaction to an event
//! (the event's arrival at the engine to the first command it causes) for `/metrics`.
//!
//! Files: `queue` (the command queue: one command in flight, the rest in order), `view`
//! ([`SessionView`], what readers see).

use super::audit::{AuditRecord, Initiator};
use super::commands::{api_text, originate_result};
use super::machine::{Machine, State};
use super::observer::SessionObserver;
use super::switch::{BoxFut, Switch, SwitchError};
use super::types::*;
use crate::metrics::{Metrics, state_label};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, watch};
use tokio_util::time::{DelayQueue, delay_queue};
use tracing::{Instrument, Span, field, info, info_span, warn};

mod queue;
mod view;
use queue::CommandQueue;
pub use view::SessionView;
use view::view_of;

/// An input, and when the engine received the FreeSWITCH event it came from (if it did).
type Envelope = (Input, Option<Instant>);

/// A session still `Suspended` this long after it suspended reads FreeSWITCH's state back itself:
/// the engine's resync on reconnect (batched, [`super::engine`]) normally gets there first, but may
/// have gone out before this session suspended (a command lost with the connection reports late).
const SELF_RESYNC_AFTER: Duration = Duration::from_secs(5);
/// How often it then checks whether the connection answers again.
const SELF_RESYNC_EVERY: Duration = Duration::from_secs(1);

/// A handle on a running session.
#[derive(Clone, Debug)]
pub struct SessionHandle {
    pub id: String,
    tx: mpsc::Sender<Envelope>,
    view: watch::Receiver<SessionView>,
}

impl SessionHandle {
    /// Feeds an input; false if the session has ended.
    pub async fn send(&self, input: Input) -> bool {
        self.tx.send((input, None)).await.is_ok()
    }

    pub fn try_send(&self, input: Input) -> bool {
        self.tx.try_send((input, None)).is_ok()
    }

    /// Feeds an input made from a FreeSWITCH event the engine received at `event_at`: the first
    /// command the session sends in reaction is timed from then.
    pub fn route(&self, input: Input, event_at: Instant) -> bool {
        self.tx.try_send((input, Some(event_at))).is_ok()
    }

    pub fn view(&self) -> SessionView {
        self.view.borrow().clone()
    }

    /// The session's state as last published (without copying its whole view).
    pub fn state(&self) -> State {
        self.view.borrow().state.clone()
    }

    pub fn watch(&self) -> watch::Receiver<SessionView> {
        self.view.clone()
    }

    /// Whether `uuid` is this session's capture leg (read in place: the engine asks for every
    /// event it routes).
    pub fn capture_is(&self, uuid: &str) -> bool {
        self.view.borrow().capture.as_deref() == Some(uuid)
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
    /// Where the session's outcome and latencies are counted.
    pub metrics: Option<Arc<Metrics>>,
    /// Told of every state change (webhooks).
    pub observer: Option<Arc<dyn SessionObserver>>,
    /// Who started the payment (the audit record's `started_via`, `token_subject`).
    pub initiator: Initiator,
    /// Awaited before the session does anything: a new payment's legs must be followed (their DTMF
    /// on its way, see [`super::scope`]) before the session asks for digits. Inputs sent meanwhile
    /// wait in the session's queue.
    pub gate: Option<BoxFut<()>>,
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
        observer,
        initiator,
        gate,
    } = options;
    let (tx, rx) = mpsc::channel(64);
    let view = view_of(&id, &machine, SystemTime::now());
    let (view_tx, view_rx) = watch::channel(view);
    let span = info_span!(
        "session",
        session = %id,
        call = %machine.legs().customer,
        agent_id = field::Empty
    );
    let agent_id_known = machine.agent_id().is_some();
    if let Some(a) = machine.agent_id() {
        span.record("agent_id", a.as_str());
    }
    let requested = matches!(first, Some(Input::Start { .. })).then(Instant::now);
    let actor = Actor {
        id: id.clone(),
        machine,
        switch: switch.clone(),
        inputs: tx.clone(),
        view: view_tx,
        timers: DelayQueue::new(),
        keys: Vec::new(),
        commands: CommandQueue::new(id.clone(), switch.clone(), metrics.clone()),
        metrics,
        observer,
        initiator,
        span: span.clone(),
        agent_id_known,
        requested,
        capture_began: None,
        capture_took: None,
    };
    tokio::spawn(actor.run(rx, gate, first, actions).instrument(span));
    SessionHandle {
        id,
        tx,
        view: view_rx,
    }
}

struct Actor {
    id: String,
    machine: Machine,
    switch: Arc<dyn Switch>,
    inputs: mpsc::Sender<Envelope>,
    view: watch::Sender<SessionView>,
    timers: DelayQueue<TimerKind>,
    keys: Vec<(TimerKind, delay_queue::Key)>,
    /// The sequential command queue, run inside this task; a command may carry the time of the
    /// event it reacts to.
    commands: CommandQueue,
    /// Where the outcome and latencies are counted.
    metrics: Option<Arc<Metrics>>,
    observer: Option<Arc<dyn SessionObserver>>,
    initiator: Initiator,
    span: Span,
    /// `agent_id` is recorded on the span (once: a span field is not replaced, only appended).
    agent_id_known: bool,
    /// When the payment was requested (not for a recovered session), until it reached `Ready`.
    requested: Option<Instant>,
    capture_began: Option<(Instant, SystemTime)>,
    capture_took: Option<Duration>,
}

impl Actor {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Envelope>,
        gate: Option<BoxFut<()>>,
        first: Option<Input>,
        actions: Vec<Action>,
    ) {
        if let Some(gate) = gate {
            gate.await;
        }
        let over = self.apply(actions, None) || first.is_some_and(|input| self.feed(input, None));
        if !over {
            self.serve(&mut rx).await;
        }
        // Commands queued before the end (capture leg down, restore steps) are still sent.
        self.commands.finish();
    }

    /// Feeds inputs, expired timers and command answers to the machine until the session is over
    /// or nothing can come any more.
    async fn serve(&mut self, rx: &mut mpsc::Receiver<Envelope>) {
        loop {
            let (input, event_at) = tokio::select! {
                Some(envelope) = rx.recv() => envelope,
                Some(expired) = self.timers.next(), if !self.timers.is_empty() => {
                    let kind = expired.into_inner();
                    self.keys.retain(|(k, _)| *k != kind);
                    (Input::Timer(kind), None)
                }
                input = self.commands.answered(), if self.commands.busy() => (input, None),
                else => return,
            };
            let seen = self.view.borrow().revision;
            if self.feed(input, event_at) {
                return;
            }
            // The view changed: its watchers (status streams, the page) get a chance to see it
            // before the next answer is read — best effort: a `watch` keeps the latest view only,
            // and a watcher woken late sees that (webhooks and the cluster feed are told every
            // change through the observer instead). The command the change caused is handed to
            // the switch first: the yield must not delay it.
            if self.view.borrow().revision != seen {
                self.commands.hand_over().await;
                tokio::task::yield_now().await;
            }
        }
    }

    /// Steps the machine; returns true when the session is over.
    fn feed(&mut self, input: Input, event_at: Option<Instant>) -> bool {
        let before = self.machine.state().clone();
        let actions = self.machine.step(input);
        let after = self.machine.state().clone();
        if !self.agent_id_known
            && let Some(a) = self.machine.agent_id()
        {
            self.span.record("agent_id", a.as_str());
            self.agent_id_known = true;
        }
        if before != after {
            info!(
                state = state_label(&after),
                from = ?before,
                to = ?after,
                "session state"
            );
            self.track(&before, &after);
        }
        let done = self.apply(actions, event_at);
        let updated = self.publish(&before, &after);
        if let Some(observer) = &self.observer {
            let view = self.view.borrow();
            if updated {
                observer.updated(&view);
            }
            // A session rebuilt after a restart that found no payment running (it had ended before
            // the restart, and its outcome was told then) is not announced a second time.
            if before != after && self.machine.found_nothing_running() {
                info!(
                    "rebuilt after a restart, found no payment running: its end is not announced"
                );
            } else if before != after {
                observer.changed(&before, &view);
            }
        }
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
        tokio::spawn(
            async move {
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
                    let _ = inputs.send((Input::Resync(snap), None)).await;
                    return;
                }
            }
            .in_current_span(),
        );
    }

    /// Carries out the machine's actions; true when one of them ends the session. The first command
    /// sent is timed from `event_at`, the event the actions react to.
    fn apply(&mut self, actions: Vec<Action>, mut event_at: Option<Instant>) -> bool {
        let mut done = false;
        for action in actions {
            match action {
                Action::Send { step, cmd } => self.send(step, cmd, event_at.take()),
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

    /// Times the state change: request → Ready, and the capture (entering `Capturing` to leaving it).
    fn track(&mut self, before: &State, after: &State) {
        let metrics = self.metrics.as_deref();
        if *after == State::Ready
            && let Some(requested) = self.requested.take()
            && let Some(m) = metrics
        {
            m.observe_request_to_ready(requested.elapsed());
        }
        if *after == State::Capturing && self.capture_began.is_none() {
            self.capture_began = Some((Instant::now(), SystemTime::now()));
        }
        if *before == State::Capturing
            && self.capture_took.is_none()
            && let Some((began, _)) = self.capture_began
        {
            let took = began.elapsed();
            self.capture_took = Some(took);
            if let Some(m) = metrics {
                m.observe_capture(took);
            }
        }
    }

    /// Publishes the view as the machine now is; true if it changed (its revision then grows).
    fn publish(&self, before: &State, after: &State) -> bool {
        let m = &self.machine;
        self.view.send_if_modified(|v| {
            let was = v.clone();
            v.state = after.clone();
            v.capture =
                (m.legs().capture_up || m.legs().dialling).then(|| m.legs().capture.clone());
            v.agent_id = m.agent_id().map(|a| a.to_string());
            v.method = m.method();
            v.outcome = m.outcome().cloned();
            let now = SystemTime::now();
            if *after == State::Capturing && *before != State::Capturing {
                v.capture_started = self.capture_began.map(|(_, at)| at);
            }
            if *after == State::Done {
                v.ended = Some(now);
            }
            let changed = *v != was;
            if changed {
                v.revision += 1;
            }
            changed
        })
    }

    fn audit(&self, outcome: &Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics.outcome(outcome.code());
        }
        let v = self.view.borrow();
        let m = &self.machine;
        AuditRecord {
            session: &self.id,
            call: &m.legs().customer,
            agent_leg: &m.legs().agent,
            capture_leg: &m.legs().capture,
            agent_id: m.agent_id().map(|a| a.as_str()),
            initiator: &self.initiator,
            method: m.method(),
            outcome,
            started: v.started,
            capture_started: self.capture_began.map(|(_, at)| at),
            ended: SystemTime::now(),
            capture: self.capture_took,
        }
        .emit();
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

    fn send(&mut self, step: Step, cmd: Cmd, event_at: Option<Instant>) {
        if let Cmd::Originate { .. } = cmd {
            return self.originate(cmd, event_at);
        }
        self.commands.push(step, cmd, event_at);
    }

    fn originate(&self, cmd: Cmd, event_at: Option<Instant>) {
        let switch = self.switch.clone();
        let inputs = self.inputs.clone();
        let id = self.id.clone();
        if let (Some(at), Some(m)) = (event_at, &self.metrics) {
            m.observe_event_to_command(at.elapsed());
        }
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
            let _ = inputs.send((input, None)).await;
        }.in_current_span());
    }
}
