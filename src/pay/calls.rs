//! The table of calls the engine knows: customer and agent legs, the per-call conference, member ids,
//! the current payment session and past ones; plus which channels the event stream showed carrying
//! an agent ID (hints for attach by agent ID, each checked with the switch: see [`super::attach`]).
//! Pure bookkeeping, no I/O.

use super::caller::Caller;
use super::session::{SessionHandle, SessionView};
use super::types::{AgentId, Leg, Topology, Uuid};
use std::collections::{HashMap, HashSet};

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
    /// The customer hung up: the call is forgotten once its session has finished.
    pub customer_gone: bool,
    /// Who the customer is and since when the call talks, as the switch said (display only).
    pub caller: Caller,
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
            customer_gone: false,
            caller: Caller::default(),
        }
    }

    /// The running session, if any (a finished one is moved to `history`).
    pub fn active(&mut self) -> Option<&SessionHandle> {
        if self.session.as_ref().is_some_and(|s| s.is_finished())
            && let Some(done) = self.session.take()
        {
            self.history.push(done.view());
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
    /// Channels seen carrying `confpay_agent_id`, by agent ID. An `export` puts it on both legs of
    /// a bridge, so an ID usually names two channels: every one is kept, none is trusted alone.
    agent_ids: HashMap<String, Vec<Uuid>>,
    /// Calls (by customer UUID) that may have changed since the engine last published the table:
    /// every lookup that hands out a call to change marks it.
    touched: HashSet<Uuid>,
    /// Calls forgotten since the engine last published the table (their sessions are kept there).
    forgotten: Vec<Call>,
    /// Set when a call's customer or agent leg came or went: what the DTMF scope follows must be
    /// brought in step (checked after each engine message, so most messages cost nothing).
    legs_changed: bool,
}

impl Calls {
    /// The call `uuid` belongs to, by any leg.
    pub fn find_by_leg(&mut self, uuid: &str) -> Option<(&mut Call, Leg)> {
        let key = self
            .calls
            .iter()
            .find_map(|(k, c)| c.leg_of(uuid).map(|_| k.clone()))?;
        let call = self.get_mut(&key)?;
        let leg = call.leg_of(uuid)?;
        Some((call, leg))
    }

    pub fn find_by_room(&mut self, room: &str) -> Option<&mut Call> {
        let key = self
            .calls
            .values()
            .find(|c| c.room == room)?
            .customer
            .clone();
        self.get_mut(&key)
    }

    pub fn find_by_agent_id(&mut self, id: &str) -> Option<&mut Call> {
        let key = self
            .calls
            .values()
            .find(|c| c.agent_id.as_ref().is_some_and(|a| a.as_str() == id))?
            .customer
            .clone();
        self.get_mut(&key)
    }

    /// The call of `customer`, to change.
    pub fn get_mut(&mut self, customer: &str) -> Option<&mut Call> {
        let call = self.calls.get_mut(customer)?;
        self.touched.insert(call.customer.clone());
        Some(call)
    }

    /// Takes a new call into the table.
    pub fn insert(&mut self, call: Call) {
        self.touched.insert(call.customer.clone());
        self.legs_changed = true;
        self.calls.insert(call.customer.clone(), call);
    }

    /// Forgets the call of `customer`, keeping its sessions' final views (its running session, if
    /// any, is left to finish: call this once it has).
    pub fn forget(&mut self, customer: &str) {
        let Some(call) = self.calls.remove(customer) else {
            return;
        };
        self.legs_changed = true;
        self.touched.insert(call.customer.clone());
        self.forgotten.push(call);
    }

    /// The calls touched and the calls forgotten since the last call, resetting both.
    pub fn take_changes(&mut self) -> (HashSet<Uuid>, Vec<Call>) {
        (
            std::mem::take(&mut self.touched),
            std::mem::take(&mut self.forgotten),
        )
    }

    /// Records that a call was added or a leg of one changed (see `legs_changed`).
    pub fn mark_legs_changed(&mut self) {
        self.legs_changed = true;
    }

    /// Whether legs came or went since the last call, resetting the mark.
    pub fn take_legs_changed(&mut self) -> bool {
        std::mem::take(&mut self.legs_changed)
    }

    /// Forgets every call whose customer is gone and whose session has finished.
    pub fn sweep(&mut self) {
        let done: Vec<Uuid> = self
            .calls
            .values_mut()
            .filter_map(|c| (c.customer_gone && c.active().is_none()).then(|| c.customer.clone()))
            .collect();
        for customer in done {
            self.forget(&customer);
        }
    }

    /// An ended session by id, of a call still known.
    pub fn ended(&self, id: &str) -> Option<SessionView> {
        self.calls
            .values()
            .flat_map(|c| c.history.iter())
            .find(|v| v.id == id)
            .cloned()
    }

    /// Channel `uuid` was seen carrying agent ID `id`.
    pub fn saw_agent_id(&mut self, id: &str, uuid: &str) {
        let seen = self.agent_ids.entry(id.to_owned()).or_default();
        if !seen.iter().any(|u| u == uuid) {
            seen.push(uuid.to_owned());
        }
    }

    /// Channels seen carrying agent ID `id`, oldest first.
    pub fn agent_id_candidates(&self, id: &str) -> Vec<Uuid> {
        self.agent_ids.get(id).cloned().unwrap_or_default()
    }

    /// A channel is gone: forget that it carried an agent ID.
    pub fn channel_gone(&mut self, uuid: &str) {
        for seen in self.agent_ids.values_mut() {
            seen.retain(|u| u != uuid);
        }
        self.agent_ids.retain(|_, seen| !seen.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legs_and_agent_id_candidates() {
        let mut calls = Calls::default();
        let mut c = Call::new("c1".into(), "confpay-c1".into(), Topology::Bridged);
        c.agent = Some("a1".into());
        calls.calls.insert("c1".into(), c);
        assert_eq!(calls.find_by_leg("a1").map(|(_, l)| l), Some(Leg::Agent));
        assert_eq!(calls.find_by_leg("c1").map(|(_, l)| l), Some(Leg::Customer));
        assert!(calls.find_by_leg("zz").is_none());
        assert!(calls.find_by_room("confpay-c1").is_some());
        // Both legs of an exported variable, seen in any order and more than once: all kept.
        for u in ["y", "x", "y"] {
            calls.saw_agent_id("77", u);
        }
        assert_eq!(calls.agent_id_candidates("77"), ["y", "x"]);
        calls.channel_gone("y");
        assert_eq!(calls.agent_id_candidates("77"), ["x"]);
        calls.channel_gone("x");
        assert!(calls.agent_id_candidates("77").is_empty());
        assert!(calls.agent_ids.is_empty());
    }
}
