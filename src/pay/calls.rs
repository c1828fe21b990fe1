//! The table of calls the engine knows: customer and agent legs, the per-call conference, member ids,
//! the current payment session and past ones; plus which channels the event stream showed carrying
//! an agent ID (hints for attach by agent ID, each checked with the switch: see [`super::attach`]).
//! Pure bookkeeping, no I/O.

use super::agent_ids::AgentIds;
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

    /// The running session, if any, read in place (a finished one stays where it is until the
    /// call is next changed: [`Call::active`]).
    pub fn running(&self) -> Option<&SessionHandle> {
        self.session.as_ref().filter(|s| !s.is_finished())
    }

    /// Whether this call is known by agent ID `id`.
    pub fn carries_agent_id(&self, id: &str) -> bool {
        self.agent_id.as_ref().is_some_and(|a| a.as_str() == id)
    }

    /// Which leg of this call `uuid` is (the capture leg of the running session included).
    pub fn leg_of(&self, uuid: &str) -> Option<Leg> {
        if self.customer == uuid {
            Some(Leg::Customer)
        } else if self.agent.as_deref() == Some(uuid) {
            Some(Leg::Agent)
        } else if self.session.as_ref().is_some_and(|s| s.capture_is(uuid)) {
            Some(Leg::Capture)
        } else {
            None
        }
    }
}

/// Everything the engine tracks. Lookups by leg, room and agent ID go through indexes kept beside
/// the table: with thousands of calls a scan per event would cost more than all else the engine
/// does with it. The indexes are hints, each checked against the call it names; a miss falls back
/// to a scan, so a call put into `calls` directly is still found.
#[derive(Debug, Default)]
pub struct Calls {
    /// By customer UUID.
    pub calls: HashMap<Uuid, Call>,
    /// Customer, agent and capture legs → the customer UUID of their call.
    legs: HashMap<Uuid, Uuid>,
    /// Conference name → the customer UUID of its call.
    rooms: HashMap<String, Uuid>,
    /// Channels seen carrying `confpay_agent_id` (see [`AgentIds`]).
    agent_ids: AgentIds,
    /// Calls (by customer UUID) that may have changed since the engine last published the table:
    /// every lookup that hands out a call to change marks it.
    touched: HashSet<Uuid>,
    /// Calls forgotten since the engine last published the table (their sessions are kept there).
    forgotten: Vec<Call>,
    /// Calls whose customer hung up, to forget once their session has finished ([`Calls::sweep`]).
    gone: HashSet<Uuid>,
    /// Customer and agent legs that came or went since the engine last looked: what the DTMF
    /// scope follows must be brought in step for them (checked after each engine message, so most
    /// messages cost nothing).
    legs_changed: Vec<Uuid>,
}

impl Calls {
    /// The call `uuid` belongs to, by any leg, to change (it is published again).
    pub fn find_by_leg(&mut self, uuid: &str) -> Option<(&mut Call, Leg)> {
        let key = self.leg(uuid)?.0.customer.clone();
        let call = self.get_mut(&key)?;
        let leg = call.leg_of(uuid)?;
        Some((call, leg))
    }

    /// The call `uuid` belongs to, by any leg, to read: not published again for this (an event
    /// that changes nothing in the call costs no publication).
    pub fn leg(&self, uuid: &str) -> Option<(&Call, Leg)> {
        self.indexed_leg(uuid).or_else(|| {
            let call = self.calls.values().find(|c| c.leg_of(uuid).is_some())?;
            Some((call, call.leg_of(uuid)?))
        })
    }

    /// The call the leg index names for `uuid`, while `uuid` is still one of its legs (no scan).
    fn indexed_leg(&self, uuid: &str) -> Option<(&Call, Leg)> {
        let call = self.calls.get(self.legs.get(uuid)?)?;
        Some((call, call.leg_of(uuid)?))
    }

    /// The call whose conference is `room`, to change (it is published again).
    pub fn find_by_room(&mut self, room: &str) -> Option<&mut Call> {
        let key = self.room(room)?.customer.clone();
        self.get_mut(&key)
    }

    /// The call whose conference is `room`, to read (not published again for this).
    pub fn room(&self, room: &str) -> Option<&Call> {
        let indexed = self.rooms.get(room).and_then(|c| self.calls.get(c));
        match indexed {
            Some(call) if call.room == room => Some(call),
            _ => self.calls.values().find(|c| c.room == room),
        }
    }

    pub fn find_by_agent_id(&mut self, id: &str) -> Option<&mut Call> {
        let key = self
            .calls
            .values()
            .find(|c| c.carries_agent_id(id))?
            .customer
            .clone();
        self.get_mut(&key)
    }

    /// `uuid` is a leg of the call of `customer` from now on (a session's capture leg).
    pub fn index_leg(&mut self, uuid: &str, customer: &str) {
        self.legs.insert(uuid.to_owned(), customer.to_owned());
        // Capture legs of forgotten calls are not removed one by one: the index is rebuilt once
        // it has grown well past the table.
        if self.legs.len() > 4 * self.calls.len() + 64 {
            let calls = &self.calls;
            self.legs
                .retain(|leg, c| calls.get(c).is_some_and(|call| call.leg_of(leg).is_some()));
        }
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
        let customer = call.customer.clone();
        self.legs_changed.push(customer.clone());
        self.legs_changed.extend(call.agent.clone());
        let capture = call.session.as_ref().and_then(|s| s.view().capture);
        for leg in std::iter::once(&call.customer)
            .chain(&call.agent)
            .chain(&capture)
        {
            self.legs.insert(leg.clone(), customer.clone());
        }
        self.rooms.insert(call.room.clone(), customer.clone());
        if let Some(id) = &call.agent_id {
            for leg in std::iter::once(&call.customer).chain(&call.agent) {
                self.agent_ids.forget(leg, id.as_str());
            }
        }
        if call.customer_gone {
            self.gone.insert(customer.clone());
        }
        self.calls.insert(customer, call);
    }

    /// The customer of the call of `customer` hung up: the call is forgotten once its session (if
    /// any) has finished.
    pub fn customer_left(&mut self, customer: &str) {
        if let Some(call) = self.get_mut(customer) {
            call.customer_gone = true;
            self.gone.insert(customer.to_owned());
        }
    }

    /// Forgets the call of `customer`, keeping its sessions' final views (its running session, if
    /// any, is left to finish: call this once it has).
    pub fn forget(&mut self, customer: &str) {
        let Some(call) = self.calls.remove(customer) else {
            return;
        };
        self.gone.remove(customer);
        let mut legs: Vec<&Uuid> = vec![&call.customer];
        legs.extend(&call.agent);
        legs.extend(call.history.iter().filter_map(|v| v.capture.as_ref()));
        for leg in legs {
            if self.legs.get(leg).is_some_and(|c| c == customer) {
                self.legs.remove(leg);
            }
        }
        if self.rooms.get(&call.room).is_some_and(|c| c == customer) {
            self.rooms.remove(&call.room);
        }
        self.legs_changed.push(call.customer.clone());
        self.legs_changed.extend(call.agent.clone());
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

    /// Records that `uuid` stopped (or started) being a customer or agent leg of a call.
    pub fn mark_leg_changed(&mut self, uuid: &str) {
        self.legs_changed.push(uuid.to_owned());
    }

    /// The legs that came or went since the last call (see `legs_changed`), resetting the list.
    pub fn take_legs_changed(&mut self) -> Vec<Uuid> {
        std::mem::take(&mut self.legs_changed)
    }

    /// Whether `uuid` is the customer or agent leg of a call in the table (the channels whose DTMF
    /// the engine wants). Calls taken in with [`Calls::insert`] only.
    pub fn controls(&self, uuid: &str) -> bool {
        self.indexed_leg(uuid)
            .is_some_and(|(_, leg)| matches!(leg, Leg::Customer | Leg::Agent))
    }

    /// Forgets every call whose customer is gone and whose session has finished.
    pub fn sweep(&mut self) {
        if self.gone.is_empty() {
            return;
        }
        let calls = &mut self.calls;
        let done: Vec<Uuid> = self
            .gone
            .iter()
            .filter(|c| {
                calls
                    .get_mut(*c)
                    .is_none_or(|call| call.customer_gone && call.active().is_none())
            })
            .cloned()
            .collect();
        for customer in done {
            self.gone.remove(&customer);
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

    /// Channel `uuid` was seen carrying agent ID `id`. Not kept for a leg of a call known by that
    /// very ID (the call is found by it: [`Calls::find_by_agent_id`]): every routed call's events
    /// carry its ID, and keeping them all would cost each controlled call some hundred bytes.
    pub fn saw_agent_id(&mut self, id: &str, uuid: &str) {
        let own = self
            .indexed_leg(uuid)
            .is_some_and(|(call, _)| call.carries_agent_id(id));
        if !own {
            self.agent_ids.saw(id, uuid);
        }
    }

    /// Channels seen carrying agent ID `id`, oldest first.
    pub fn agent_id_candidates(&self, id: &str) -> Vec<Uuid> {
        self.agent_ids.candidates(id)
    }

    /// A channel is gone: forget that it carried an agent ID.
    pub fn channel_gone(&mut self, uuid: &str) {
        self.agent_ids.gone(uuid);
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

    #[test]
    fn a_known_calls_own_agent_id_is_not_kept_per_channel() {
        let mut calls = Calls::default();
        // Seen before the call is taken in (CHANNEL_CREATE comes before the socket connects).
        calls.saw_agent_id("77", "c1");
        calls.saw_agent_id("77", "a1");
        let mut c = Call::new("c1".into(), "confpay-c1".into(), Topology::InConference);
        c.agent = Some("a1".into());
        c.agent_id = AgentId::parse("77");
        calls.insert(c);
        calls.saw_agent_id("77", "c1");
        assert!(calls.agent_id_candidates("77").is_empty());
        assert!(calls.agent_ids.is_empty());
        // The call is still found by its ID; another ID on its leg, or its ID elsewhere, is kept.
        assert!(calls.find_by_agent_id("77").is_some());
        calls.saw_agent_id("88", "a1");
        calls.saw_agent_id("77", "x");
        assert_eq!(calls.agent_id_candidates("88"), ["a1"]);
        assert_eq!(calls.agent_id_candidates("77"), ["x"]);
    }
}
