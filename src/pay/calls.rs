//! The table of calls the engine knows: customer and agent legs, the per-call conference, member ids,
//! the current payment session and past ones; plus what the event stream says about channels the
//! engine may attach to later (bridged pairs, agent IDs). Pure bookkeeping, no I/O.

use super::session::{SessionHandle, SessionView};
use super::types::{AgentId, Leg, Topology, Uuid};
use std::collections::HashMap;

/// One customer call under the engine's control (dialplan-driven) or attached to.
#[derive(Debug)]
pub struct Call {
    /// The customer's channel UUID; also the call's id.
    pub customer: Uuid,
    pub agent: Option<Uuid>,
    pub agent_id: Option<AgentId>,
    /// The per-call conference, `<prefix><customer uuid>`.
    pub room: String,
    pub topology: Topology,
    pub customer_member: Option<u32>,
    pub agent_member: Option<u32>,
    pub session: Option<SessionHandle>,
    /// Ended sessions of this call, oldest first.
    pub history: Vec<SessionView>,
}

impl Call {
    pub fn new(customer: Uuid, room: String, topology: Topology) -> Call {
        Call {
            customer,
            agent: None,
            agent_id: None,
            room,
            topology,
            customer_member: None,
            agent_member: None,
            session: None,
            history: Vec::new(),
        }
    }

    /// The running session, if any (a finished one is moved to `history`).
    pub fn active(&mut self) -> Option<&SessionHandle> {
        if self.session.as_ref().is_some_and(|s| s.is_finished()) {
            if let Some(done) = self.session.take() {
                self.history.push(done.view());
            }
        }
        self.session.as_ref()
    }

    /// Which leg of this call `uuid` is (the capture leg of the running session included).
    pub fn leg_of(&self, uuid: &str) -> Option<Leg> {
        if self.customer == uuid {
            Some(Leg::Customer)
        } else if self.agent.as_deref() == Some(uuid) {
            Some(Leg::Agent)
        } else if self
            .session
            .as_ref()
            .and_then(|s| s.view().capture)
            .is_some_and(|c| c == uuid)
        {
            Some(Leg::Capture)
        } else {
            None
        }
    }
}

/// Everything the engine tracks.
#[derive(Debug, Default)]
pub struct Calls {
    /// By customer UUID.
    pub calls: HashMap<Uuid, Call>,
    /// Bridged pairs seen on the event stream (both directions), for attach.
    pub bridges: HashMap<Uuid, Uuid>,
    /// `confpay_agent_id` channel variable seen on channels, for attach by agent ID.
    pub agent_ids: HashMap<String, Uuid>,
}

impl Calls {
    /// The call `uuid` belongs to, by any leg.
    pub fn find_by_leg(&mut self, uuid: &str) -> Option<(&mut Call, Leg)> {
        let key = self
            .calls
            .iter()
            .find_map(|(k, c)| c.leg_of(uuid).map(|_| k.clone()))?;
        let call = self.calls.get_mut(&key)?;
        let leg = call.leg_of(uuid)?;
        Some((call, leg))
    }

    pub fn find_by_room(&mut self, room: &str) -> Option<&mut Call> {
        self.calls.values_mut().find(|c| c.room == room)
    }

    pub fn find_by_agent_id(&mut self, id: &str) -> Option<&mut Call> {
        self.calls
            .values_mut()
            .find(|c| c.agent_id.as_ref().is_some_and(|a| a.as_str() == id))
    }

    pub fn bridged(&mut self, a: &str, b: &str) {
        self.bridges.insert(a.to_owned(), b.to_owned());
        self.bridges.insert(b.to_owned(), a.to_owned());
    }

    /// A channel is gone: forget what it was bridged to and its agent ID.
    pub fn channel_gone(&mut self, uuid: &str) {
        if let Some(peer) = self.bridges.remove(uuid) {
            if self.bridges.get(&peer).is_some_and(|p| p == uuid) {
                self.bridges.remove(&peer);
            }
        }
        self.agent_ids.retain(|_, u| u != uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_and_bridges() {
        let mut calls = Calls::default();
        let mut c = Call::new("c1".into(), "confpay-c1".into(), Topology::Bridged);
        c.agent = Some("a1".into());
        calls.calls.insert("c1".into(), c);
        assert_eq!(calls.find_by_leg("a1").map(|(_, l)| l), Some(Leg::Agent));
        assert_eq!(calls.find_by_leg("c1").map(|(_, l)| l), Some(Leg::Customer));
        assert!(calls.find_by_leg("zz").is_none());
        assert!(calls.find_by_room("confpay-c1").is_some());
        calls.bridged("x", "y");
        assert_eq!(calls.bridges.get("y").map(String::as_str), Some("x"));
        calls.agent_ids.insert("77".into(), "x".into());
        calls.channel_gone("x");
        assert!(calls.bridges.is_empty());
        assert!(calls.agent_ids.is_empty());
    }
}
