//! Starting a payment without holding the engine up: every question for the switch (who the legs
//! of an unknown call are, whether the legs are in their conference) is asked by a step spawned
//! beside the engine's task ([`super::start_steps`]), which hands its answer back as a message; the
//! engine meanwhile goes on routing events and answering other requests. The stages:
//!
//! 1. [`Task::start`]: the agent ID is checked and the call looked up in the table; a call not yet
//!    known is attached to ([`super::start_steps::attach`] → [`Msg::Attached`](super::Msg)).
//! 2. [`Task::confirm`]: a call in its conference has its member ids read from FreeSWITCH
//!    ([`super::start_steps::members`] → [`Msg::Members`](super::Msg)).
//! 3. [`Task::launch`]: the call is checked again as it is now (it may have hung up or got a
//!    session meanwhile), the session spawned and the request answered.
//!
//! The legs' DTMF (agent ID, start key) must be followed before the session asks for it: the
//! session waits for the [`ChannelScope`](crate::pay::scope::ChannelScope) to have made every change
//! asked for so far ([`SpawnOptions::gate`]) before it does anything.

use super::start_steps::{self, Found};
use super::{Engine, EngineError, Reply, Target, Task};
use crate::pay::audit::Initiator;
use crate::pay::calls::Call;
use crate::pay::machine::{Legs, Machine};
use crate::pay::session::{self, SessionView, SpawnOptions};
use crate::pay::types::*;
use tracing::info;

/// A payment request on its way through the stages.
pub(super) struct StartRequest {
    pub target: Target,
    pub agent_id: Option<AgentId>,
    pub initiator: Initiator,
    pub reply: Reply<SessionView>,
}

impl StartRequest {
    fn fail(self, e: EngineError) {
        let _ = self.reply.send(Err(e));
    }
}

impl Task {
    /// Stage 1: a known call goes on to [`Task::confirm`]; an unknown one is looked up.
    pub(super) fn start(
        &mut self,
        target: Target,
        agent_id: Option<String>,
        initiator: Initiator,
        reply: Reply<SessionView>,
    ) {
        let agent_id = match agent_id.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => match AgentId::parse(s) {
                Some(a) => Some(a),
                None => {
                    let _ = reply.send(Err(EngineError::BadAgentId));
                    return;
                }
            },
            None => None,
        };
        let req = StartRequest {
            target,
            agent_id,
            initiator,
            reply,
        };
        match self.known(&req.target) {
            Ok(Some(customer)) => self.confirm(customer, req),
            Ok(None) => {
                let seen = match &req.target {
                    Target::AgentId(id) => self.calls.agent_id_candidates(id),
                    Target::Customer(_) | Target::Agent(_) => Vec::new(),
                };
                start_steps::attach(self.switch.clone(), self.tx.clone(), req, seen);
            }
            Err(e) => req.fail(e),
        }
    }

    /// The customer UUID of the known call `target` names (`None`: not known, attach).
    fn known(&mut self, target: &Target) -> Result<Option<Uuid>, EngineError> {
        Ok(match target {
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
        })
    }

    /// The switch named the legs of an unknown call: the call joins the table (unless one of its
    /// legs is a call taken in meanwhile), then stage 2.
    pub(super) fn attached(&mut self, req: StartRequest, found: Result<Found, EngineError>) {
        let found = match found {
            Ok(f) => f,
            Err(e) => return req.fail(e),
        };
        let pair = found.pair;
        for leg in [&pair.customer, &pair.agent] {
            if let Some((call, _)) = self.calls.find_by_leg(leg) {
                let customer = call.customer.clone();
                return self.confirm(customer, req);
            }
        }
        let customer = pair.customer.clone();
        let room = Engine::room_for(&self.cfg.room_prefix, &customer);
        let mut call = Call::new(customer.clone(), room, Topology::Bridged);
        call.agent = Some(pair.agent.clone());
        call.agent_id = pair.agent_id;
        call.caller = found.caller;
        info!(call = %customer, agent = %pair.agent, "attaching to bridged call");
        self.calls.insert(call);
        self.confirm(customer, req);
    }

    /// Stage 2: a call already in its conference has its member ids read from FreeSWITCH (an
    /// `add-member` event may still be on its way); others go on at once.
    fn confirm(&mut self, customer: Uuid, req: StartRequest) {
        match self.calls.calls.get(&customer) {
            Some(call) if call.topology == Topology::InConference => {
                let (room, agent) = (call.room.clone(), call.agent.clone());
                start_steps::members(
                    self.switch.clone(),
                    self.tx.clone(),
                    req,
                    customer,
                    room,
                    agent,
                );
            }
            Some(_) | None => self.launch(customer, req),
        }
    }

    /// The member list answered (`None`: the customer never showed up in it).
    pub(super) fn members_read(
        &mut self,
        customer: Uuid,
        req: StartRequest,
        members: Option<(u32, Option<u32>)>,
    ) {
        let Some((c, a)) = members else {
            return req.fail(EngineError::NotInConference { call: customer });
        };
        if let Some(call) = self.calls.get_mut(&customer) {
            call.customer_member = Some(c);
            call.agent_member = a;
        }
        self.launch(customer, req);
    }

    /// Stage 3: the session, on the call as it is now.
    fn launch(&mut self, customer: Uuid, req: StartRequest) {
        // Legs a stage added are asked for now; the session waits until they are followed.
        self.sync_scope();
        let result = self.spawn_session(&customer, &req);
        // The caller may look the session up as soon as it has the reply.
        self.publish();
        let _ = req.reply.send(result);
    }

    fn spawn_session(
        &mut self,
        customer: &str,
        req: &StartRequest,
    ) -> Result<SessionView, EngineError> {
        let gate = self.scope.as_ref().map(|s| s.settled());
        let call = self
            .calls
            .get_mut(customer)
            .filter(|c| !c.customer_gone)
            .ok_or_else(|| EngineError::UnknownCall {
                what: format!("{:?}", req.target),
            })?;
        if let Some(s) = call.active() {
            return Err(EngineError::Busy {
                call: customer.to_owned(),
                session: s.id.clone(),
            });
        }
        let agent = call.agent.clone().ok_or_else(|| EngineError::NoAgent {
            call: customer.to_owned(),
        })?;
        let capture = uuid::Uuid::new_v4().to_string();
        let legs = Legs {
            customer: customer.to_owned(),
            agent,
            capture: capture.clone(),
            customer_member: call.customer_member,
            agent_member: call.agent_member,
            ..Legs::default()
        };
        let agent_id = req.agent_id.clone().or_else(|| call.agent_id.clone());
        let machine = Machine::new(
            self.cfg.machine.clone(),
            call.room.clone(),
            call.topology,
            legs,
            agent_id.clone(),
        );
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
        info!(session = %id, call = %customer, agent_id = agent_id.as_ref().map(|a| a.as_str()).unwrap_or(""), started_via = req.initiator.via(), "payment requested");
        let handle = session::spawn(
            id,
            machine,
            self.switch.clone(),
            SpawnOptions {
                first: Some(Input::Start { agent_id }),
                metrics: self.metrics.clone(),
                observer: self.observer.clone(),
                initiator: req.initiator.clone(),
                gate,
                ..SpawnOptions::default()
            },
        );
        let view = handle.view();
        call.session = Some(handle);
        // Its events are looked up by leg (FreeSWITCH may name it otherwise: a lookup then scans).
        self.calls.index_leg(&capture, customer);
        Ok(view)
    }
}

fn wrong_leg(uuid: &str, said: &'static str, is: &'static str) -> EngineError {
    EngineError::Attach(crate::pay::attach::AttachError::WrongLeg {
        uuid: uuid.to_owned(),
        said,
        is,
    })
}
