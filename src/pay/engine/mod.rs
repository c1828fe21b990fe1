//! The engine: one task that owns the call table, routes FreeSWITCH events to sessions by channel
//! UUID, starts payments (button, feature code, API), and resynchronises sessions with FreeSWITCH when
//! the ESL connection comes back. Cheap cloneable [`Engine`] handle for the API and the daemon.
//!
//! Card digits: the only DTMF the engine acts on are the agent's digits while the agent keys the
//! agent ID, and the customer's '1' while a session is `Ready`. Every other DTMF event is dropped
//! without being logged or stored (and during capture FreeSWITCH fires none for the customer:
//! `sensitive_dtmf=true`).

//!
//! Files: `routing` (what an event means, pure), `intake` (events and the connection applied to the
//! call table), `requests` (API requests: start, capture, cancel, views), `recovery` (adopting calls
//! after a restart), `scope` (the [`ChannelScope`] kept in step with the call table), `error`
//! ([`EngineError`]).

mod error;
mod intake;
mod recovery;
#[cfg(test)]
mod register_tests;
mod requests;
pub mod routing;
mod scope;

pub use error::{EngineError, RegisterError};

use super::audit::Initiator;
use super::calls::{Call, Calls};
use super::machine::{MachineConfig, State};
use super::scope::ChannelScope;
use super::session::SessionView;
use super::switch::Switch;
use super::types::*;
use crate::esl::Event;
use crate::metrics::{Gauges, Metrics};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

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
    /// An event, and when the engine was handed it.
    Event(Event, Instant),
    ConnectionLost,
    ConnectionBack,
    Register {
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
        reply: oneshot::Sender<Result<(), RegisterError>>,
    },
    /// The switch says the channel is gone though no hangup event was seen for it.
    Gone {
        customer: Uuid,
    },
    Start {
        target: Target,
        agent_id: Option<String>,
        initiator: Initiator,
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
        Engine::spawn_scoped(cfg, switch, metrics, None)
    }

    /// [`Engine::spawn_with_metrics`], telling `scope` which channels the engine controls (the
    /// customer and agent legs of its calls) whenever that changes.
    pub fn spawn_scoped(
        cfg: EngineConfig,
        switch: Arc<dyn Switch>,
        metrics: Option<Arc<Metrics>>,
        scope: Option<Arc<dyn ChannelScope>>,
    ) -> Engine {
        let (tx, rx) = mpsc::channel(1024);
        let task = Task {
            cfg,
            switch,
            calls: Calls::default(),
            tx: tx.clone(),
            metrics: metrics.clone(),
            scope,
            followed: HashSet::new(),
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
        let _ = self.tx.send(Msg::Event(event, Instant::now())).await;
    }

    pub async fn connection_lost(&self) {
        let _ = self.tx.send(Msg::ConnectionLost).await;
    }

    pub async fn connection_back(&self) {
        let _ = self.tx.send(Msg::ConnectionBack).await;
    }

    /// A dialplan-driven call: customer and agent are (being) joined to the call's conference.
    /// Refused when `customer` is already a leg of a known call: that call is left as it is.
    pub async fn register_call(
        &self,
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
    ) -> Result<(), RegisterError> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Register {
            customer,
            agent,
            agent_id,
            reply,
        };
        self.tx
            .send(msg)
            .await
            .map_err(|_| RegisterError::Stopped)?;
        rx.await.map_err(|_| RegisterError::Stopped)?
    }

    /// The switch says `customer`'s channel is gone (its hangup event was missed): the call is
    /// handled as hung up and forgotten once its session, if any, has ended.
    pub async fn channel_gone(&self, customer: Uuid) {
        let _ = self.tx.send(Msg::Gone { customer }).await;
    }

    /// The conference name for a customer leg.
    pub fn room_for(prefix: &str, customer: &str) -> String {
        format!("{prefix}{customer}")
    }

    /// [`Engine::start_payment_by`] an in-process caller ([`Initiator::Local`]).
    pub async fn start_payment(
        &self,
        target: Target,
        agent_id: Option<String>,
    ) -> Result<SessionView, EngineError> {
        self.start_payment_by(target, agent_id, Initiator::Local)
            .await
    }

    /// Starts a payment on the call `target` names; `initiator` goes into its audit record.
    pub async fn start_payment_by(
        &self,
        target: Target,
        agent_id: Option<String>,
        initiator: Initiator,
    ) -> Result<SessionView, EngineError> {
        self.ask(|reply| Msg::Start {
            target,
            agent_id,
            initiator,
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
    scope: Option<Arc<dyn ChannelScope>>,
    /// The legs `scope` was last told to follow.
    followed: HashSet<Uuid>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        while let Some(msg) = rx.recv().await {
            self.handle(msg).await;
            self.sync_scope().await;
        }
    }

    async fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(mut e, at) => {
                let dtmf = e.name() == Some("DTMF");
                self.on_event(&e, at);
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
                reply,
            } => {
                let _ = reply.send(self.register(customer, agent, agent_id));
            }
            Msg::Gone { customer } => self.on_hangup(&customer, false),
            Msg::Start {
                target,
                agent_id,
                initiator,
                reply,
            } => {
                let r = self.start(target, agent_id, initiator).await;
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
                self.calls.mark_legs_changed();
            }
            Msg::Configure(cfg) => {
                info!("payment settings reloaded; they apply to payments started from now on");
                self.cfg = *cfg;
            }
        }
    }

    fn register(
        &mut self,
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
    ) -> Result<(), RegisterError> {
        if let Some((call, leg)) = self.calls.find_by_leg(&customer) {
            return Err(RegisterError::KnownLeg {
                uuid: customer,
                call: call.customer.clone(),
                leg,
            });
        }
        let room = Engine::room_for(&self.cfg.room_prefix, &customer);
        let mut call = Call::new(customer.clone(), room, Topology::InConference);
        call.agent = Some(agent);
        call.agent_id = agent_id;
        self.calls.calls.insert(customer, call);
        self.calls.mark_legs_changed();
        Ok(())
    }
}
