//! API requests on the engine task: start a payment (resolving or attaching the call it names),
//! start capture, cancel.

use super::{Engine, EngineError, Target, Task};
use crate::pay::attach::{self, AttachError, Claim};
use crate::pay::audit::Initiator;
use crate::pay::caller;
use crate::pay::calls::Call;
use crate::pay::machine::{Legs, Machine, State};
use crate::pay::recover;
use crate::pay::session::{self, SessionHandle, SessionView, SpawnOptions};
use crate::pay::types::*;
use tracing::info;

/// A payment requested the moment a call was set up: how long its legs may take to appear in the
/// member list (`MEMBER_POLLS` reads, `MEMBER_POLL_EVERY` apart).
const MEMBER_POLLS: u32 = 20;
const MEMBER_POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Task {
    pub(super) fn find_session(&mut self, id: &str) -> Option<SessionHandle> {
        self.calls.calls.values_mut().find_map(|c| {
            c.active();
            c.session.as_ref().filter(|s| s.id == id).cloned()
        })
    }

    pub(super) fn find_ended(&self, id: &str) -> Option<SessionView> {
        self.calls
            .ended(id)
            .or_else(|| self.published.ended_view(id))
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

    pub(super) fn capture(&mut self, id: &str) -> Result<SessionView, EngineError> {
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

    pub(super) fn cancel(&mut self, id: &str) -> Result<SessionView, EngineError> {
        let s = self.session_or_err(id)?;
        s.try_send(Input::Cancel);
        Ok(s.view())
    }

    pub(super) async fn start(
        &mut self,
        target: Target,
        agent_id: Option<String>,
        initiator: Initiator,
    ) -> Result<SessionView, EngineError> {
        let agent_id = match agent_id.as_deref().filter(|s| !s.is_empty()) {
            Some(s) => Some(AgentId::parse(s).ok_or(EngineError::BadAgentId)?),
            None => None,
        };
        let customer = self.resolve(&target).await?;
        self.confirm_members(&customer).await?;
        // The legs' DTMF (agent ID, start key) must be on its way before the session asks for it.
        self.sync_scope().await;
        let call = self
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
        info!(session = %id, call = %customer, agent_id = agent_id.as_ref().map(|a| a.as_str()).unwrap_or(""), started_via = initiator.via(), "payment requested");
        let handle = session::spawn(
            id,
            machine,
            self.switch.clone(),
            SpawnOptions {
                first: Some(Input::Start { agent_id }),
                metrics: self.metrics.clone(),
                observer: self.observer.clone(),
                initiator,
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
        // Display only: a call is attached to even if the switch does not say who is calling.
        call.caller = caller::read(self.switch.as_ref(), &customer)
            .await
            .unwrap_or_default();
        info!(call = %customer, agent = %pair.agent, "attaching to bridged call");
        self.calls.insert(call);
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
                if let Some(call) = self.calls.get_mut(customer) {
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
}

fn wrong_leg(uuid: &str, said: &'static str, is: &'static str) -> EngineError {
    EngineError::Attach(AttachError::WrongLeg {
        uuid: uuid.to_owned(),
        said,
        is,
    })
}
