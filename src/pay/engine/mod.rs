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
//! call table), `requests` (API requests: start, capture, cancel), `published` (the call table as
//! readers see it, without going through the queue), `recovery` (adopting calls after a restart),
//! `scope` (the [`ChannelScope`] kept in step with the call table), `feed` (the task's loop, and
//! the inbound client's events read by the task itself), `start` and `start_steps`
//! (starting a payment: the switch's answers come back as messages), `drain` (graceful shutdown),
//! `error` ([`EngineError`]).
//!
//! The engine's task never waits for the switch: whatever needs an answer runs in a task of its
//! own and reports back as a message, and the channel scope is told of changes without waiting.
//! The task is the only reader of the events (and so of the `filter` replies) of the inbound
//! connection: waiting there for a reply could wait behind events only it would read.

mod drain;
mod error;
mod feed;
mod intake;
mod published;
#[cfg(test)]
mod published_tests;
mod recovery;
#[cfg(test)]
mod register_tests;
mod requests;
pub mod routing;
mod scope;
mod start;
mod start_steps;
#[cfg(test)]
mod start_tests;

pub use error::{EngineError, RegisterError};
pub use feed::{AfterEvent, BATCH, Feed, Link};

use super::audit::Initiator;
use super::caller::Caller;
use super::calls::{Call, Calls};
use super::machine::MachineConfig;
use super::observer::SessionObserver;
use super::scope::ChannelScope;
use super::session::SessionView;
use super::switch::Switch;
use super::types::*;
use crate::esl::Event;
use crate::metrics::{Gauges, Metrics};
use published::Published;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::info;

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
    /// The customer's caller number and name and when talking began, as the switch said.
    pub caller: Caller,
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

enum Msg {
    /// An event, and when the engine was handed it.
    Event(Event, Instant),
    Register {
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
        caller: Caller,
        reply: oneshot::Sender<Result<(), RegisterError>>,
    },
    /// A dialplan-driven call's agent answered: the call talks from `at`.
    AgentJoined {
        customer: Uuid,
        at: std::time::SystemTime,
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
    /// The switch described the call a start request names (see [`start`]).
    Attached {
        req: start::StartRequest,
        found: Result<start_steps::Found, EngineError>,
    },
    /// The member list of a start request's call was read (see [`start`]).
    Members {
        customer: Uuid,
        req: start::StartRequest,
        members: Option<(u32, Option<u32>)>,
    },
    Capture {
        session: String,
        reply: Reply<SessionView>,
    },
    Cancel {
        session: String,
        reply: Reply<SessionView>,
    },
    /// Answered once every message sent before it has been handled.
    Settled {
        reply: oneshot::Sender<()>,
    },
    Adopt {
        call: Box<Call>,
    },
    Configure(Box<EngineConfig>),
    /// From now on the engine's task reads the inbound client's events itself.
    Feed(Box<Feed>),
}

/// Handle on the engine task.
#[derive(Clone)]
pub struct Engine {
    tx: mpsc::Sender<Msg>,
    metrics: Option<Arc<Metrics>>,
    published: Arc<Published>,
    observer: Option<Arc<dyn SessionObserver>>,
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
        Engine::spawn_observed(cfg, switch, metrics, scope, None)
    }

    /// [`Engine::spawn_scoped`], every session telling `observer` of its state changes.
    pub fn spawn_observed(
        cfg: EngineConfig,
        switch: Arc<dyn Switch>,
        metrics: Option<Arc<Metrics>>,
        scope: Option<Arc<dyn ChannelScope>>,
        observer: Option<Arc<dyn SessionObserver>>,
    ) -> Engine {
        let (tx, rx) = mpsc::channel(1024);
        let published = Arc::new(Published::default());
        let task = Task {
            published: published.clone(),
            cfg,
            switch,
            calls: Calls::default(),
            tx: tx.clone(),
            metrics: metrics.clone(),
            scope,
            followed: HashSet::new(),
            observer: observer.clone(),
        };
        tokio::spawn(task.run(rx));
        Engine {
            tx,
            metrics,
            published,
            observer,
        }
    }

    /// New settings (SIGHUP reload) for payments started from now on.
    pub async fn configure(&self, cfg: EngineConfig) {
        let _ = self.tx.send(Msg::Configure(Box::new(cfg))).await;
    }

    /// The engine's task reads `feed`'s events itself from now on (see [`Feed`]); an event handed
    /// over with [`Engine::event`] goes through the engine's message queue instead.
    pub async fn read_feed(&self, feed: Feed) {
        let _ = self.tx.send(Msg::Feed(Box::new(feed))).await;
    }

    /// A FreeSWITCH event from the inbound connection.
    pub async fn event(&self, event: Event) {
        let _ = self.tx.send(Msg::Event(event, Instant::now())).await;
    }

    /// A dialplan-driven call: customer and agent are (being) joined to the call's conference.
    /// Refused when `customer` is already a leg of a known call: that call is left as it is.
    /// `caller`: the customer as the switch confirmed them ([`crate::pay::peer::check`]).
    pub async fn register_call(
        &self,
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
        caller: Caller,
    ) -> Result<(), RegisterError> {
        let (reply, rx) = oneshot::channel();
        let msg = Msg::Register {
            customer,
            agent,
            agent_id,
            caller,
            reply,
        };
        self.tx
            .send(msg)
            .await
            .map_err(|_| RegisterError::Stopped)?;
        rx.await.map_err(|_| RegisterError::Stopped)?
    }

    /// The agent of `customer`'s dialplan-driven call answered at `at`: the agent page counts the
    /// talking time from then (kept if already known).
    pub async fn agent_joined(&self, customer: Uuid, at: std::time::SystemTime) {
        let _ = self.tx.send(Msg::AgentJoined { customer, at }).await;
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

    /// Every call, by customer UUID, as of the last message the engine handled (read without
    /// going through the engine's queue).
    pub async fn calls(&self) -> Vec<CallView> {
        self.published.calls()
    }

    /// The call whose customer leg is `customer`.
    pub fn call(&self, customer: &str) -> Option<CallView> {
        self.published.call(customer)
    }

    /// Changes whenever a call is added, changes or goes (a session's own progress is on its
    /// [`Engine::watch`]).
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.published.changes()
    }

    /// Waits until the engine has handled every message sent before (then [`Engine::calls`] shows
    /// their effect).
    pub async fn settled(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Msg::Settled { reply }).await.is_ok() {
            let _ = rx.await;
        }
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
        self.published.watch(session)
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
    published: Arc<Published>,
    /// Given to every session (webhooks).
    observer: Option<Arc<dyn SessionObserver>>,
}

impl Task {
    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Event(mut e, at) => {
                let dtmf = e.name() == Some("DTMF");
                self.on_event(&e, at);
                if dtmf {
                    // A DTMF event may hold a customer digit: scrub our copy once handled.
                    e.headers.zeroize();
                }
            }
            Msg::Register {
                customer,
                agent,
                agent_id,
                caller,
                reply,
            } => {
                let r = self.register(customer, agent, agent_id, caller);
                self.publish();
                let _ = reply.send(r);
            }
            Msg::AgentJoined { customer, at } => {
                if let Some(call) = self.calls.get_mut(&customer) {
                    call.caller.answered_at.get_or_insert(at);
                }
            }
            Msg::Gone { customer } => self.on_hangup(&customer, false),
            Msg::Start {
                target,
                agent_id,
                initiator,
                reply,
            } => self.start(target, agent_id, initiator, reply),
            Msg::Attached { req, found } => self.attached(req, found),
            Msg::Members {
                customer,
                req,
                members,
            } => self.members_read(customer, req, members),
            Msg::Capture { session, reply } => {
                let _ = reply.send(self.capture(&session));
            }
            Msg::Cancel { session, reply } => {
                let _ = reply.send(self.cancel(&session));
            }
            Msg::Settled { reply } => {
                self.publish();
                let _ = reply.send(());
            }
            Msg::Adopt { call } => self.calls.insert(*call),
            Msg::Configure(cfg) => {
                info!("payment settings reloaded; they apply to payments started from now on");
                self.cfg = *cfg;
            }
            // Taken by the task's loop ([`feed`]) before messages are handled.
            Msg::Feed(_) => {}
        }
    }

    fn register(
        &mut self,
        customer: Uuid,
        agent: Uuid,
        agent_id: Option<AgentId>,
        caller: Caller,
    ) -> Result<(), RegisterError> {
        if let Some((call, leg)) = self.calls.find_by_leg(&customer) {
            return Err(RegisterError::KnownLeg {
                uuid: customer,
                call: call.customer.clone(),
                leg,
            });
        }
        let room = Engine::room_for(&self.cfg.room_prefix, &customer);
        let mut call = Call::new(customer, room, Topology::InConference);
        call.agent = Some(agent);
        call.agent_id = agent_id;
        call.caller = caller;
        self.calls.insert(call);
        Ok(())
    }

    /// Publishes the calls the last message touched (see [`published`]).
    fn publish(&mut self) {
        self.calls.sweep();
        let (touched, forgotten) = self.calls.take_changes();
        if touched.is_empty() {
            return;
        }
        for customer in &touched {
            self.published.put(customer, self.calls.calls.get(customer));
        }
        for call in forgotten {
            self.published.keep_ended(call);
        }
        self.published.bump();
    }
}
