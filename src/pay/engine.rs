//! The engine: one task that owns the call table, routes FreeSWITCH events to sessions by channel
//! UUID, starts payments (button, feature code, API), and resynchronises sessions with FreeSWITCH when
//! the ESL connection comes back. Cheap cloneable [`Engine`] handle for the API and the daemon.
//!
//! Card digits: the only DTMF the engine acts on are the agent's digits while the agent keys the
//! agent ID, and the customer's '1' while a session is `Ready`. Every other DTMF event is dropped
//! without being logged or stored (and during capture FreeSWITCH fires none for the customer:
//! `sensitive_dtmf=true`).

use super::attach::{self, AttachError, Claim};
use super::calls::{Call, Calls};
use super::machine::{Legs, Machine, MachineConfig, State};
use super::recover;
use super::session::{self, SessionHandle, SessionView, SpawnOptions};
use super::switch::Switch;
use super::types::*;
use crate::esl::Event;
use crate::metrics::{Gauges, Metrics};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

/// How many sessions read FreeSWITCH's state back at once after a reconnect.
const RESYNC_AT_ONCE: usize = 8;
/// A payment requested the moment a call was set up: how long its legs may take to appear in the
/// member list (`MEMBER_POLLS` reads, `MEMBER_POLL_EVERY` apart).
const MEMBER_POLLS: u32 = 20;
const MEMBER_POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// How long FreeSWITCH gets to end the conference (and the agent's leg) after the customer left.
const AGENT_RELEASE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub machine: MachineConfig,
    /// CUSTOM subclass of the agent's feature-code event.
    pub start_subclass: String,
    /// Prefix of the per-call conference names (`<prefix><customer uuid>`).
    pub room_prefix: String,
}

/// Which call a request is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Customer(Uuid),
    Agent(Uuid),
    AgentId(String),
}

/// Why an engine request was refused. `code()` is stable (API error codes).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EngineError {
    #[error("no call found for {what}")]
    UnknownCall { what: String },
    #[error("no session {id}")]
    UnknownSession { id: String },
    #[error("session {id} is {state:?}; {op} is possible only when {needs}")]
    WrongState {
        id: String,
        state: State,
        op: &'static str,
        needs: &'static str,
    },
    #[error("a payment ({session}) is already running on call {call}")]
    Busy { call: String, session: String },
    #[error("call {call} has no agent leg")]
    NoAgent { call: String },
    #[error("invalid agent ID (1 to 32 digits 0-9)")]
    BadAgentId,
    #[error("call {call} is not in its payment conference (yet)")]
    NotInConference { call: String },
    #[error(transparent)]
    Attach(#[from] AttachError),
    #[error("the engine has stopped")]
    Stopped,
}

impl EngineError {
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::UnknownCall { .. } => "unknown_call",
            EngineError::UnknownSession { .. } => "unknown_session",
            EngineError::WrongState { .. } => "wrong_state",
            EngineError::Busy { .. } => "busy",
            EngineError::NoAgent { .. } => "no_agent",
            EngineError::BadAgentId => "bad_agent_id",
            EngineError::NotInConference { .. } => "not_in_conference",
            EngineError::Attach(e) => match e {
                AttachError::NoSuchChannel { .. }
                | AttachError::NotBridged { .. }
                | AttachError::NoCallForAgentId { .. } => "unknown_call",
                AttachError::WrongLeg { .. } => "wrong_leg",
                AttachError::Ambiguous { .. } => "ambiguous_roles",
                AttachError::NotAttachable { .. } => "not_attachable",
                AttachError::AgentIdOnSeveralCalls { .. } => "agent_id_on_several_calls",
                AttachError::Switch { .. } => "switch_unavailable",
            },
            EngineError::Stopped => "stopped",
        }
    }
}

/// A call as the API lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallView {
    pub customer: Uuid,
    pub agent: Option<Uuid>,
    pub agent_id: Option<String>,
    pub room: String,
    /// Conference member ids, once the legs are in the call's conference.
    pub customer_member: Option<u32>,
    pub agent_member: Option<u32>,
    pub session: Option<SessionView>,
    pub history: Vec<SessionView>,
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

enum Msg {
    Event(Event),
    ConnectionLost,
    ConnectionBack,
    Register {
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
    },
    Start {
        target: Target,
        agent_id: Option<String>,
        reply: Reply<SessionView>,
    },
    Capture {
        session: String,
        reply: Reply<SessionView>,
    },
    Cancel {
        session: String,
        reply: Reply<SessionView>,
    },
    Calls {
        reply: oneshot::Sender<Vec<CallView>>,
    },
    Watch {
        session: String,
        reply: oneshot::Sender<Option<watch::Receiver<SessionView>>>,
    },
    Adopt {
        call: Box<Call>,
    },
    Configure(Box<EngineConfig>),
}

/// Handle on the engine task.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::Sender<Msg>,
    metrics: Option<Arc<Metrics>>,
}

impl Engine {
    pub fn spawn(cfg: EngineConfig, switch: Arc<dyn Switch>) -> Engine {
        Engine::spawn_with_metrics(cfg, switch, None)
    }

    /// [`Engine::spawn`], counting every session's outcome in `metrics` when it ends.
    pub fn spawn_with_metrics(
        cfg: EngineConfig,
        switch: Arc<dyn Switch>,
        metrics: Option<Arc<Metrics>>,
    ) -> Engine {
        let (tx, rx) = mpsc::channel(1024);
        let task = Task {
            cfg,
            switch,
            calls: Calls::default(),
            tx: tx.clone(),
            metrics: metrics.clone(),
        };
        tokio::spawn(task.run(rx));
        Engine { tx, metrics }
    }

    /// New settings (SIGHUP reload) for payments started from now on.
    pub async fn configure(&self, cfg: EngineConfig) {
        let _ = self.tx.send(Msg::Configure(Box::new(cfg))).await;
    }

    /// A FreeSWITCH event from the inbound connection.
    pub async fn event(&self, event: Event) {
        let _ = self.tx.send(Msg::Event(event)).await;
    }

    pub async fn connection_lost(&self) {
        let _ = self.tx.send(Msg::ConnectionLost).await;
    }

    pub async fn connection_back(&self) {
        let _ = self.tx.send(Msg::ConnectionBack).await;
    }

    /// A dialplan-driven call: customer and agent are (being) joined to the call's conference.
    pub async fn register_call(&self, customer: Uuid, agent: Uuid, agent_id: Option<AgentId>) {
        let _ = self
            .tx
            .send(Msg::Register {
                customer,
                agent,
                agent_id,
            })
            .await;
    }

    /// The conference name for a customer leg.
    pub fn room_for(prefix: &str, customer: &str) -> String {
        format!("{prefix}{customer}")
    }

    pub async fn start_payment(
        &self,
        target: Target,
        agent_id: Option<String>,
    ) -> Result<SessionView, EngineError> {
        self.ask(|reply| Msg::Start {
            target,
            agent_id,
            reply,
        })
        .await
    }

    /// ACA: the agent starts capture; the daemon sends '1' once agent and customer are isolated.
    pub async fn start_capture(&self, session: &str) -> Result<SessionView, EngineError> {
        let session = session.to_owned();
        self.ask(|reply| Msg::Capture { session, reply }).await
    }

    pub async fn cancel(&self, session: &str) -> Result<SessionView, EngineError> {
        let session = session.to_owned();
        self.ask(|reply| Msg::Cancel { session, reply }).await
    }

    pub async fn calls(&self) -> Vec<CallView> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Msg::Calls { reply: tx }).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    /// The call table as the `/metrics` gauges show it.
    pub async fn gauges(&self) -> Gauges {
        let calls = self.calls().await;
        Gauges {
            active_calls: calls.len(),
            sessions: calls
                .into_iter()
                .filter_map(|c| c.session)
                .map(|s| s.state)
                .collect(),
        }
    }

    /// A live view of one session (running or ended).
    pub async fn watch(&self, session: &str) -> Option<watch::Receiver<SessionView>> {
        let (tx, rx) = oneshot::channel();
        let msg = Msg::Watch {
            session: session.to_owned(),
            reply: tx,
        };
        self.tx.send(msg).await.ok()?;
        rx.await.ok().flatten()
    }

    /// Graceful shutdown: a capture in progress may finish within `limit`; then every running
    /// session is cancelled, which restores agent and customer (capture leg down, isolation
    /// cleared). Calls are never hung up by this.
    pub async fn drain(&self, limit: std::time::Duration) {
        let running: Vec<SessionView> = self
            .calls()
            .await
            .into_iter()
            .filter_map(|c| c.session)
            .filter(|s| s.state != State::Done)
            .collect();
        if running.is_empty() {
            return;
        }
        info!(sessions = running.len(), limit = ?limit, "draining payments before shutdown");
        let deadline = tokio::time::Instant::now() + limit;
        for s in &running {
            let Some(mut w) = self.watch(&s.id).await else {
                continue;
            };
            if s.state == State::Capturing {
                let _ =
                    tokio::time::timeout_at(deadline, w.wait_for(|v| v.state == State::Done)).await;
            }
            if w.borrow().state != State::Done {
                warn!(session = %s.id, state = ?w.borrow().state, "cancelling payment for shutdown");
                let _ = self.cancel(&s.id).await;
                let restore = std::time::Duration::from_secs(5);
                let _ = tokio::time::timeout(restore, w.wait_for(|v| v.state == State::Done)).await;
            }
        }
    }

    async fn ask<T>(&self, msg: impl FnOnce(Reply<T>) -> Msg) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(msg(tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
}

struct Task {
    cfg: EngineConfig,
    switch: Arc<dyn Switch>,
    calls: Calls,
    tx: mpsc::Sender<Msg>,
    metrics: Option<Arc<Metrics>>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(msg) = rx.recv().await {
            match msg {
                Msg::Event(mut e) => {
                    let dtmf = e.name() == Some("DTMF");
                    self.on_event(&e);
                    if dtmf {
                        // A DTMF event may hold a customer digit: scrub our copy once handled.
                        e.headers.zeroize();
                    }
                }
                Msg::ConnectionLost => self.broadcast(Input::ConnectionLost),
                Msg::ConnectionBack => self.resync_all(),
                Msg::Register {
                    customer,
                    agent,
                    agent_id,
                } => self.register(customer, agent, agent_id),
                Msg::Start {
                    target,
                    agent_id,
                    reply,
                } => {
                    let r = self.start(target, agent_id).await;
                    let _ = reply.send(r);
                }
                Msg::Capture { session, reply } => {
                    let _ = reply.send(self.capture(&session));
                }
                Msg::Cancel { session, reply } => {
                    let _ = reply.send(self.cancel(&session));
                }
                Msg::Calls { reply } => {
                    let _ = reply.send(self.views());
                }
                Msg::Watch { session, reply } => {
                    let w = match self.find_session(&session) {
                        Some(s) => Some(s.watch()),
                        // An ended session: its final view, which never changes again.
                        None => self.find_ended(&session).map(|v| watch::channel(v).1),
                    };
                    let _ = reply.send(w);
                }
                Msg::Adopt { call } => {
                    self.calls.calls.insert(call.customer.clone(), *call);
                }
                Msg::Configure(cfg) => {
                    info!("payment settings reloaded; they apply to payments started from now on");
                    self.cfg = *cfg;
                }
            }
        }
    }

    fn register(&mut self, customer: Uuid, agent: Uuid, agent_id: Option<AgentId>) {
        let room = Engine::room_for(&self.cfg.room_prefix, &customer);
        let call = self
            .calls
            .calls
            .entry(customer.clone())
            .or_insert_with(|| Call::new(customer, room, Topology::InConference));
        call.agent = Some(agent);
        if agent_id.is_some() {
            call.agent_id = agent_id;
        }
    }

    fn views(&mut self) -> Vec<CallView> {
        self.calls.sweep();
        let mut out: Vec<CallView> = self
            .calls
            .calls
            .values_mut()
            .map(|c| {
                let session = c.active().map(|s| s.view());
                CallView {
                    customer: c.customer.clone(),
                    agent: c.agent.clone(),
                    agent_id: c.agent_id.as_ref().map(|a| a.to_string()),
                    room: c.room.clone(),
                    customer_member: c.customer_member,
                    agent_member: c.agent_member,
                    session,
                    history: c.history.clone(),
                }
            })
            .collect();
        out.sort_by(|a, b| a.customer.cmp(&b.customer));
        out
    }

    fn find_session(&mut self, id: &str) -> Option<SessionHandle> {
        self.calls.calls.values_mut().find_map(|c| {
            c.active();
            c.session.as_ref().filter(|s| s.id == id).cloned()
        })
    }

    fn find_ended(&self, id: &str) -> Option<SessionView> {
        self.calls.ended(id)
    }

    fn session_or_err(&mut self, id: &str) -> Result<SessionHandle, EngineError> {
        match self.find_session(id) {
            Some(s) => Ok(s),
            None => Err(match self.find_ended(id) {
                Some(v) => EngineError::WrongState {
                    id: id.to_owned(),
                    state: v.state,
                    op: "this",
                    needs: "the session is running",
                },
                None => EngineError::UnknownSession { id: id.to_owned() },
            }),
        }
    }

    fn capture(&mut self, id: &str) -> Result<SessionView, EngineError> {
        let s = self.session_or_err(id)?;
        let view = s.view();
        if view.state != State::Ready {
            return Err(EngineError::WrongState {
                id: id.to_owned(),
                state: view.state,
                op: "start capture",
                needs: "the capture service is ready",
            });
        }
        s.try_send(Input::StartCapture);
        Ok(view)
    }

    fn cancel(&mut self, id: &str) -> Result<SessionView, EngineError> {
        let s = self.session_or_err(id)?;
        s.try_send(Input::Cancel);
        Ok(s.view())
    }

    async fn start(
        &mut self,
        target: Target,
        agent_id: Option<String>,
    ) -> Result<SessionView, EngineError> {
        let agent_id = match agent_id.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(AgentId::parse(s).ok_or(EngineError::BadAgentId)?),
            None => None,
        };
        let customer = self.resolve(&target).await?;
        self.confirm_members(&customer).await?;
        let call = self
            .calls
            .calls
            .get_mut(&customer)
            .ok_or_else(|| EngineError::UnknownCall {
                what: format!("{target:?}"),
            })?;
        if let Some(s) = call.active() {
            return Err(EngineError::Busy {
                call: customer,
                session: s.id.clone(),
            });
        }
        let agent = call.agent.clone().ok_or_else(|| EngineError::NoAgent {
            call: customer.clone(),
        })?;
        let legs = Legs {
            customer: customer.clone(),
            agent,
            capture: uuid::Uuid::new_v4().to_string(),
            customer_member: call.customer_member,
            agent_member: call.agent_member,
            ..Legs::default()
        };
        let agent_id = agent_id.or_else(|| call.agent_id.clone());
        let machine = Machine::new(
            self.cfg.machine.clone(),
            call.room.clone(),
            call.topology,
            legs,
            agent_id.clone(),
        );
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        info!(session = %id, call = %customer, agent_id = agent_id.as_ref().map(|a| a.as_str()).unwrap_or(""), "payment requested");
        let handle = session::spawn(
            id,
            machine,
            self.switch.clone(),
            SpawnOptions {
                first: Some(Input::Start { agent_id }),
                metrics: self.metrics.clone(),
                ..SpawnOptions::default()
            },
        );
        let view = handle.view();
        call.session = Some(handle);
        Ok(view)
    }

    /// The customer UUID of the call `target` names; attaches to a bridged pair not yet known.
    async fn resolve(&mut self, target: &Target) -> Result<Uuid, EngineError> {
        let known = match target {
            Target::Customer(u) | Target::Agent(u) => match self.calls.find_by_leg(u) {
                Some((_, Leg::Agent)) if matches!(target, Target::Customer(_)) => {
                    return Err(wrong_leg(u, "customer", "agent"));
                }
                Some((_, Leg::Customer)) if matches!(target, Target::Agent(_)) => {
                    return Err(wrong_leg(u, "agent", "customer"));
                }
                Some((c, _)) => Some(c.customer.clone()),
                None => None,
            },
            Target::AgentId(id) => self.calls.find_by_agent_id(id).map(|c| c.customer.clone()),
        };
        if let Some(c) = known {
            return Ok(c);
        }
        // Attach: the switch says which leg is whose.
        let pair = match target {
            Target::Customer(c) => {
                attach::resolve(self.switch.as_ref(), &Claim::Customer, c).await?
            }
            Target::Agent(a) => attach::resolve(self.switch.as_ref(), &Claim::Agent, a).await?,
            Target::AgentId(id) => self.resolve_agent_id(id).await?,
        };
        for leg in [&pair.customer, &pair.agent] {
            if let Some((call, _)) = self.calls.find_by_leg(leg) {
                return Ok(call.customer.clone());
            }
        }
        let customer = pair.customer.clone();
        let room = Engine::room_for(&self.cfg.room_prefix, &customer);
        let mut call = Call::new(customer.clone(), room, Topology::Bridged);
        call.agent = Some(pair.agent.clone());
        call.agent_id = pair.agent_id;
        info!(call = %customer, agent = %pair.agent, "attaching to bridged call");
        self.calls.calls.insert(customer.clone(), call);
        Ok(customer)
    }

    /// Attach by agent ID: the channels seen carrying it, each checked with the switch; when none
    /// is (e.g. the daemon started after the call was bridged), every channel the switch has.
    async fn resolve_agent_id(&mut self, id: &str) -> Result<attach::Pair, EngineError> {
        let seen = self.calls.agent_id_candidates(id);
        match attach::resolve_agent_id(self.switch.as_ref(), id, &seen).await {
            Err(AttachError::NoCallForAgentId { .. }) => {
                let all = attach::all_channels(self.switch.as_ref()).await?;
                let unseen: Vec<Uuid> = all.into_iter().filter(|u| !seen.contains(u)).collect();
                Ok(attach::resolve_agent_id(self.switch.as_ref(), id, &unseen).await?)
            }
            other => Ok(other?),
        }
    }

    /// A call already in its conference: its member ids as FreeSWITCH lists them now (an
    /// `add-member` event may still be on its way). The customer must be a member.
    async fn confirm_members(&mut self, customer: &str) -> Result<(), EngineError> {
        let Some(call) = self.calls.calls.get(customer) else {
            return Ok(());
        };
        if call.topology != Topology::InConference {
            return Ok(());
        }
        let (room, agent) = (call.room.clone(), call.agent.clone());
        for _ in 0..MEMBER_POLLS {
            let members = recover::members(self.switch.as_ref(), &room).await;
            let id_of = |u: &str| members.iter().find(|(_, m)| m == u).map(|(id, _)| *id);
            if let Some(c) = id_of(customer) {
                let a = agent.as_deref().and_then(id_of);
                if let Some(call) = self.calls.calls.get_mut(customer) {
                    call.customer_member = Some(c);
                    call.agent_member = a;
                }
                return Ok(());
            }
            tokio::time::sleep(MEMBER_POLL_EVERY).await;
        }
        Err(EngineError::NotInConference {
            call: customer.to_owned(),
        })
    }

    fn broadcast(&mut self, input: Input) {
        for c in self.calls.calls.values_mut() {
            if let Some(s) = c.active() {
                s.try_send(input.clone());
            }
        }
    }

    fn resync_all(&mut self) {
        // A few sessions read FreeSWITCH's state back at a time: hundreds of lookups queued at once
        // on the one connection would wait past the command timeout.
        let permits = Arc::new(tokio::sync::Semaphore::new(RESYNC_AT_ONCE));
        for c in self.calls.calls.values_mut() {
            let Some(s) = c.active().cloned() else {
                continue;
            };
            let switch = self.switch.clone();
            let room = c.room.clone();
            let view = s.view();
            let permits = permits.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await;
                // Without a connection (gone again already) the session waits for the next one.
                if let Some(snap) = recover::snapshot(
                    switch.as_ref(),
                    &room,
                    &view.customer,
                    &view.agent,
                    view.capture.as_deref(),
                )
                .await
                {
                    s.send(Input::Resync(snap)).await;
                }
            });
        }
    }

    fn on_event(&mut self, e: &Event) {
        match e.name().unwrap_or("") {
            "CUSTOM" => self.on_custom(e),
            "CHANNEL_HANGUP" => self.on_hangup(e),
            "DTMF" => self.on_dtmf(e),
            "CHANNEL_BRIDGE" | "CHANNEL_ANSWER" | "CHANNEL_CREATE" => self.note_agent_id(e),
            _ => {}
        }
    }

    fn note_agent_id(&mut self, e: &Event) {
        if let (Some(id), Some(u)) = (e.get("variable_confpay_agent_id"), e.unique_id()) {
            if AgentId::parse(id).is_some() {
                self.calls.saw_agent_id(id, u);
            }
        }
    }

    fn on_custom(&mut self, e: &Event) {
        let subclass = e.subclass().unwrap_or("");
        if subclass == "conference::maintenance" {
            return self.on_conference(e);
        }
        if subclass == self.cfg.start_subclass {
            let Some(agent) = e.unique_id().map(str::to_owned) else {
                warn!(
                    "start event without Unique-ID: fire it from the agent's channel (bind_meta_app)"
                );
                return;
            };
            let agent_id = e
                .get("confpay_agent_id")
                .or_else(|| e.get("variable_confpay_agent_id"))
                .map(str::to_owned);
            let engine = Engine {
                tx: self.tx.clone(),
                metrics: self.metrics.clone(),
            };
            tokio::spawn(async move {
                match engine
                    .start_payment(Target::Agent(agent.clone()), agent_id)
                    .await
                {
                    Ok(v) => {
                        info!(session = %v.id, agent = %agent, "payment started from the agent's phone")
                    }
                    Err(err) => {
                        warn!(agent = %agent, error = %err, code = err.code(), "feature-code payment refused")
                    }
                }
            });
        }
    }

    fn on_conference(&mut self, e: &Event) {
        let (Some(room), Some(action)) = (e.get("Conference-Name"), e.get("Action")) else {
            return;
        };
        if !room.starts_with(&self.cfg.room_prefix) {
            return;
        }
        let member = e.get("Member-ID").and_then(|m| m.parse::<u32>().ok());
        let uuid = e.unique_id().unwrap_or("");
        let Some(call) = self.calls.find_by_room(room) else {
            return;
        };
        let Some(leg) = call.leg_of(uuid) else {
            // A member no session expects. While a session dials, it may be its capture leg
            // (FreeSWITCH may pick another uuid); otherwise a capture leg here is a stray (an
            // originate the daemon gave up on, or started before a restart) and must not stay.
            let dialling = call
                .active()
                .is_some_and(|s| s.view().state == State::Dialling);
            if action == "add-member" && !uuid.is_empty() && !dialling {
                self.kill_stray_capture(uuid.to_owned(), room.to_owned());
            }
            return;
        };
        match (action, member) {
            ("add-member", Some(member)) => {
                match leg {
                    Leg::Customer => call.customer_member = Some(member),
                    Leg::Agent => call.agent_member = Some(member),
                    Leg::Capture => {}
                }
                if call.customer_member.is_some() && call.agent_member.is_some() {
                    call.topology = Topology::InConference;
                }
                if let Some(s) = call.active() {
                    s.try_send(Input::Joined { leg, member });
                }
            }
            ("del-member", _) => {
                match leg {
                    Leg::Customer => call.customer_member = None,
                    Leg::Agent => call.agent_member = None,
                    Leg::Capture => {
                        // The capture service left the conference: capture is over for us.
                        if let Some(s) = call.active() {
                            s.try_send(Input::Hangup { leg: Leg::Capture });
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Hangs `uuid` up if it is a capture leg (`confpay_role=capture`) no session owns.
    fn kill_stray_capture(&self, uuid: Uuid, room: String) {
        let switch = self.switch.clone();
        tokio::spawn(async move {
            let role = switch
                .api(format!("uuid_getvar {uuid} confpay_role"))
                .await
                .unwrap_or_default();
            if role.trim() != "capture" {
                return;
            }
            warn!(capture_leg = %uuid, room = %room, "capture leg joined with no payment running; hanging it up");
            if let Err(e) = switch
                .api(format!("uuid_kill {uuid} NORMAL_CLEARING"))
                .await
            {
                warn!(capture_leg = %uuid, error = %e, "could not hang up the stray capture leg");
            }
        });
    }

    fn on_hangup(&mut self, e: &Event) {
        let Some(uuid) = e.unique_id() else { return };
        let uuid = uuid.to_owned();
        // FreeSWITCH is shutting down (it hangs every channel up with this cause right after its
        // SHUTDOWN event, in no fixed order): no leg's hangup says anything about the payment, and
        // the connection goes next. The session waits as for a lost connection and is resolved by
        // the resync (after the restart: everything gone).
        let shutdown = e.get("Hangup-Cause") == Some("SYSTEM_SHUTDOWN");
        if let Some((call, leg)) = self.calls.find_by_leg(&uuid) {
            if let Some(s) = call.active() {
                s.try_send(if shutdown {
                    Input::ConnectionLost
                } else {
                    Input::Hangup { leg }
                });
            }
            match leg {
                Leg::Agent => {
                    call.agent = None;
                    call.agent_member = None;
                }
                Leg::Customer => {
                    let customer = call.customer.clone();
                    if let Some(agent) = call.agent.clone() {
                        let session = call.active().map(SessionHandle::watch);
                        release_agent(self.switch.clone(), customer.clone(), agent, session);
                    }
                    // Kept while its session unwinds; forgotten once it has ended.
                    call.customer_gone = true;
                }
                Leg::Capture => {}
            }
        }
        self.calls.sweep();
        self.calls.channel_gone(&uuid);
    }

    fn on_dtmf(&mut self, e: &Event) {
        let Some(uuid) = e.unique_id() else { return };
        let Some((call, leg)) = self.calls.find_by_leg(uuid) else {
            return;
        };
        let Some(s) = call.active() else { return };
        let state = s.view().state;
        // The digit is read only where it is needed, and never logged or kept.
        let digit = e.get("DTMF-Digit").and_then(|d| d.chars().next());
        match (leg, &state, digit) {
            (Leg::Agent, State::AwaitingAgentId, Some(d)) => {
                s.try_send(Input::AgentDigit(d));
            }
            (Leg::Customer, State::Ready, Some('1')) => {
                s.try_send(Input::CustomerStartKey);
            }
            _ => debug!(call = %call.customer, leg = ?leg, "DTMF ignored"),
        }
    }
}

fn wrong_leg(uuid: &str, said: &'static str, is: &'static str) -> EngineError {
    EngineError::Attach(AttachError::WrongLeg {
        uuid: uuid.to_owned(),
        said,
        is,
    })
}

/// The customer hung up: the call is over for the agent too. Usually the conference ends with the
/// customer (`endconf`) and FreeSWITCH hangs the agent's leg up itself, a moment after the
/// customer's hangup event; a leg it did not take (an attach whose customer left before joining:
/// the agent parked or alone in the room) is hung up here, [`AGENT_RELEASE_GRACE`] after the
/// running session, if any, has finished unwinding.
fn release_agent(
    switch: Arc<dyn Switch>,
    call: Uuid,
    agent: Uuid,
    session: Option<watch::Receiver<SessionView>>,
) {
    tokio::spawn(async move {
        if let Some(mut s) = session {
            let _ = s.wait_for(|v| v.state == State::Done).await;
        }
        tokio::time::sleep(AGENT_RELEASE_GRACE).await;
        let exists = switch.api(format!("uuid_exists {agent}")).await;
        if exists.is_ok_and(|r| r.trim() == "true") {
            let r = switch
                .api(format!("uuid_kill {agent} NORMAL_CLEARING"))
                .await;
            if r.is_ok_and(|r| r.starts_with("+OK")) {
                info!(call = %call, agent = %agent, "customer gone: hung up the agent's leg");
            }
        }
    });
}

/// Adopts calls found in FreeSWITCH after a daemon restart (see [`recover`]).
impl Engine {
    pub async fn recover(&self, switch: Arc<dyn Switch>, cfg: &EngineConfig) -> usize {
        let found = recover::find_calls(switch.as_ref(), &cfg.room_prefix).await;
        let n = found.len();
        for f in found {
            let mut call = Call::new(f.customer.clone(), f.room.clone(), Topology::InConference);
            call.agent = f.agent.clone();
            call.customer_member = f.snapshot.customer_member;
            call.agent_member = f.snapshot.agent_member;
            {
                let legs = Legs {
                    customer: f.customer.clone(),
                    agent: f.agent.clone().unwrap_or_default(),
                    capture: f.capture.clone().unwrap_or_default(),
                    customer_member: f.snapshot.customer_member,
                    agent_member: f.snapshot.agent_member,
                    capture_member: f.snapshot.capture_member,
                    capture_up: f.capture.is_some(),
                    ..Legs::default()
                };
                let (m, actions) = Machine::recovered(
                    cfg.machine.clone(),
                    f.room.clone(),
                    legs,
                    f.snapshot.clone(),
                );
                let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                info!(session = %id, call = %f.customer, "recovered a payment in progress after restart");
                call.session = Some(session::spawn(
                    id,
                    m,
                    switch.clone(),
                    SpawnOptions {
                        actions,
                        metrics: self.metrics.clone(),
                        ..SpawnOptions::default()
                    },
                ));
            }
            let _ = self
                .tx
                .send(Msg::Adopt {
                    call: Box::new(call),
                })
                .await;
        }
        n
    }
}
