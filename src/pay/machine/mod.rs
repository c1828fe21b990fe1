//! The per-session state machine: `step(input) -> actions`. Pure: no I/O, no clock, no randomness
//! (the capture leg's UUID is chosen by the caller). The actor in `session.rs` does the I/O.
//!
//! Flow: `Idle` → (`AwaitingAgentId`) → (`Moving`, attach only) → `Holding` → `Masking` → `Dialling` →
//! `Answered` → `SendingAgentId` → `Unholding` → `Ready` → (`Arming`, ACA only) → `Capturing` →
//! `Unwinding` → `Done`.
//!
//! Safety rules the machine keeps in every state (and the tests check exhaustively):
//! - agent↔customer isolation is never cleared while a capture leg may still be present: unwinding
//!   hangs the capture leg up and waits for its hangup before `relate … clear`;
//! - whenever a session ends with both parties alive, isolation is cleared and the customer unheld;
//! - the only customer key the machine knows of is the start key;
//! - the capture leg is dialled only once every recording of the call FreeSWITCH reported is masked
//!   (confirmed `+OK`), and recordings are unmasked only once the capture leg is gone.
//!
//! Files: `flow` (the way to a capture), `recordings` (keeping the capture out of recordings),
//! `replies` (FreeSWITCH's answers and the session's timers), `unwind` (ending safely), `steps` (what
//! each command step means to the machine, in one table).

mod flow;
mod recordings;
mod replies;
mod steps;
mod unwind;

use super::types::*;
use std::time::Duration;

/// The settings a session needs (from `[payment]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    pub capture_dial: String,
    pub profile: String,
    pub hold_music: String,
    pub agent_id_prefix: String,
    pub agent_id_suffix: String,
    pub dtmf_duration_ms: u32,
    pub agent_id_delay: Duration,
    pub capture_answer_timeout: Duration,
    pub max_capture: Duration,
    pub agent_id_entry_timeout: Duration,
    pub step_timeout: Duration,
    pub on_agent_hangup: AgentHangupPolicy,
}

/// Where a session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Idle,
    /// The agent is keying the agent ID on the phone, ended by '#'.
    AwaitingAgentId,
    /// Attach: both legs are being transferred from their bridge into the conference.
    Moving,
    /// The customer is being put on hold (conference hold with music).
    Holding,
    /// The call's recordings are being listed and masked (see `recordings`), before any capture leg.
    Masking,
    /// The capture service is being dialled into the conference.
    Dialling,
    /// The capture service answered; waiting `agent_id_delay` before sending the agent ID.
    Answered,
    SendingAgentId,
    /// The customer is being taken off hold.
    Unholding,
    /// Capture service present with the agent ID; waiting for '1' (customer) or start (agent).
    Ready,
    /// Isolating agent and customer (after the customer's '1', or before the daemon sends it for ACA).
    Arming,
    /// The customer is keying the card to the capture service; agent and customer are isolated.
    Capturing,
    /// Putting things back (capture leg down, isolation cleared, customer unheld) before finishing.
    Unwinding,
    /// Lost the ESL connection; waiting for a resync.
    Suspended,
    Done,
}

/// Facts about the legs as far as the session knows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Legs {
    pub customer: Uuid,
    pub agent: Uuid,
    /// The capture leg's UUID, fixed before dialling (`origination_uuid`).
    pub capture: Uuid,
    pub customer_member: Option<u32>,
    pub agent_member: Option<u32>,
    pub capture_member: Option<u32>,
    pub agent_alive: bool,
    pub customer_alive: bool,
    /// The capture leg may exist (answered or being killed, not yet seen hanging up).
    pub capture_up: bool,
    /// An originate of the capture leg is in flight (no result yet).
    pub dialling: bool,
    pub customer_held: bool,
    pub isolated: bool,
    /// `sensitive_dtmf` as last set by the session.
    pub sensitive: bool,
    /// The customer's keys may show in FreeSWITCH's events (the session turned `sensitive_dtmf` off
    /// to see the start key, or a turn-on was lost in flight): it must be turned back on.
    pub keys_exposed: bool,
    /// The call's recordings may be masked or paused by the session: unmask once the capture leg is
    /// gone.
    pub masked: bool,
}

/// One payment session.
#[derive(Clone, Debug)]
pub struct Machine {
    cfg: MachineConfig,
    room: String,
    topology: Topology,
    state: State,
    legs: Legs,
    agent_id: Option<AgentId>,
    /// Digits keyed so far while the agent enters the agent ID (not card data).
    keyed: String,
    method: Option<StartMethod>,
    /// Commands whose replies are awaited.
    pending: Vec<Step>,
    /// The outcome decided when unwinding started.
    outcome: Option<Outcome>,
    /// The customer must be handed to the agent-hangup policy once the capture leg is gone.
    apply_agent_policy: bool,
    /// State before `Suspended`.
    suspended_from: Option<State>,
    cancel_requested: bool,
    /// Restore steps already sent a second time after a failure (each is retried once).
    retried: Vec<Step>,
    /// The call's recordings FreeSWITCH reported (masked before capture, unmasked after).
    recordings: Vec<Recording>,
    /// A recording started while the lists were being read: read them once more when they are in.
    relist: bool,
    /// Rebuilt after a daemon restart ([`Machine::recovered`]).
    recovered: bool,
    /// FreeSWITCH showed something of a payment in progress at the rebuild: a capture leg, the
    /// customer on hold, or the agent cut off from the customer (`relate … clear` answers `+OK`
    /// whether or not there was anything to clear, so only the listing shows it).
    in_progress_seen: bool,
}

impl Machine {
    /// A session on `room` for customer/agent legs; `capture` is the UUID the capture leg will get.
    pub fn new(
        cfg: MachineConfig,
        room: String,
        topology: Topology,
        legs: Legs,
        agent_id: Option<AgentId>,
    ) -> Machine {
        Machine {
            cfg,
            room,
            topology,
            state: State::Idle,
            legs: Legs {
                agent_alive: true,
                customer_alive: true,
                ..legs
            },
            agent_id,
            keyed: String::new(),
            method: None,
            pending: Vec::new(),
            outcome: None,
            apply_agent_policy: false,
            suspended_from: None,
            cancel_requested: false,
            retried: Vec::new(),
            recordings: Vec::new(),
            relist: false,
            recovered: false,
            in_progress_seen: false,
        }
    }

    /// A session rebuilt after a daemon restart from what FreeSWITCH reports: it makes things safe
    /// (re-isolates while a capture leg is present, restores once it is gone).
    pub fn recovered(
        cfg: MachineConfig,
        room: String,
        legs: Legs,
        snap: Snapshot,
    ) -> (Machine, Vec<Action>) {
        let mut m = Machine::new(cfg, room, Topology::InConference, legs, None);
        m.state = State::Suspended;
        m.suspended_from = Some(State::Capturing);
        // After a restart nothing is known of what was set. With a capture leg present, isolate
        // (again); without one, undo everything a session may have left behind. The customer may
        // be on hold either way (killed while the capture service was being set up): unhold and
        // turn `sensitive_dtmf` back on when restoring.
        let leftovers = !snap.capture_alive;
        m.legs.isolated = leftovers;
        m.legs.keys_exposed = true;
        m.legs.customer_held = true;
        // Whether the session had masked the recordings FreeSWITCH reports is not known (a mask
        // leaves no mark FreeSWITCH shows): believe it did, so that they are unmasked once the
        // capture leg is gone (and masked again while it is there).
        m.legs.masked = !snap.recordings.is_empty();
        m.recovered = true;
        m.in_progress_seen = snap.capture_alive || snap.customer_held || snap.agent_isolated;
        let actions = m.step(Input::Resync(snap));
        (m, actions)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn legs(&self) -> &Legs {
        &self.legs
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    pub fn agent_id(&self) -> Option<&AgentId> {
        self.agent_id.as_ref()
    }

    /// The call's recordings the session knows of.
    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    pub fn method(&self) -> Option<StartMethod> {
        self.method
    }

    /// A session rebuilt after a restart for which FreeSWITCH showed no payment in progress: no
    /// capture leg, the customer not on hold, the agent not cut off from the customer. Its call's
    /// payment had ended before the restart (its outcome was told then), so this one's outcome is
    /// no payment's: it is not announced (webhooks; README, "Webhooks").
    pub fn found_nothing_running(&self) -> bool {
        self.recovered && !self.in_progress_seen && self.state == State::Done
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref().filter(|_| self.state == State::Done)
    }

    /// Feeds one input; returns what to do. Inputs that don't apply in the current state are ignored
    /// (an empty action list), never a panic.
    pub fn step(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Done {
            return out;
        }
        // Facts first: whatever the state, a hangup or a join changes what we know.
        if let Input::Hangup { leg } = &input {
            self.mark_gone(*leg);
        }
        if let Input::Joined { leg, member } = &input {
            self.mark_joined(*leg, *member);
        }
        if self.state == State::Suspended {
            self.suspended(input, &mut out);
        } else {
            self.active(input, &mut out);
        }
        out
    }

    fn mark_gone(&mut self, leg: Leg) {
        match leg {
            Leg::Customer => {
                self.legs.customer_alive = false;
                self.legs.customer_member = None;
            }
            Leg::Agent => {
                self.legs.agent_alive = false;
                self.legs.agent_member = None;
            }
            Leg::Capture => {
                self.legs.capture_up = false;
                self.legs.capture_member = None;
            }
        }
    }

    fn mark_joined(&mut self, leg: Leg, member: u32) {
        match leg {
            Leg::Customer => self.legs.customer_member = Some(member),
            Leg::Agent => self.legs.agent_member = Some(member),
            Leg::Capture => self.legs.capture_member = Some(member),
        }
    }
}

#[cfg(test)]
mod tests;
