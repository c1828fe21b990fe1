//! Event routing: what a FreeSWITCH event means to the engine, read from its headers alone
//! ([`classify`]), and which machine input it makes for a leg of a session ([`member_input`],
//! [`hangup_input`], [`dtmf_input`]). Pure: the engine looks the call up and applies the result.
//!
//! Card digits: a DTMF event's digit is read only by [`dtmf_input`], for a leg of a running session,
//! and only the agent's digits while the agent keys the agent ID and the customer's '1' while `Ready`
//! become inputs.

use crate::esl::Event;
use crate::pay::machine::State;
use crate::pay::types::{AgentId, Input, Leg};

/// A change of one member of a conference (`conference::maintenance` `Action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberAction {
    /// `add-member`.
    Added,
    /// `del-member`.
    Left,
    /// Any other action (talking, muting, ...).
    Other,
}

/// Where a recording started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded<'e> {
    /// On the channel with this UUID.
    Leg(&'e str),
    /// In the conference of this name.
    Room(&'e str),
}

/// What an event is to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intake<'e> {
    /// The agent's feature code (the configured CUSTOM subclass): start a payment on the agent's
    /// call. `agent` is the channel it was fired from, if it says.
    StartRequest {
        agent: Option<&'e str>,
        agent_id: Option<&'e str>,
    },
    /// A member of one of the daemon's conferences changed.
    Member {
        room: &'e str,
        /// The member's channel (`""` when the event names none).
        uuid: &'e str,
        action: MemberAction,
        member: Option<u32>,
    },
    /// A channel hung up; `shutdown` when FreeSWITCH itself is stopping (`SYSTEM_SHUTDOWN`).
    Hangup { uuid: &'e str, shutdown: bool },
    /// A key pressed on a channel (its digit is not read here).
    Dtmf { uuid: &'e str },
    /// A recording started: on a channel (`RECORD_START`, from `uuid_record` or `record_session`)
    /// or in one of the daemon's conferences (`start-recording`). Its path is not read: only
    /// FreeSWITCH's lists are believed (see [`crate::pay::machine`]).
    RecordingStarted(Recorded<'e>),
    /// A channel carrying a valid agent ID: a hint for attach by agent ID.
    AgentIdSeen { id: &'e str, uuid: &'e str },
    /// Nothing for the engine.
    Ignored,
}

/// What `e` is to the engine: `start_subclass` is the feature code's CUSTOM subclass, `room_prefix`
/// the prefix of the daemon's conference names.
pub fn classify<'e>(e: &'e Event, start_subclass: &str, room_prefix: &str) -> Intake<'e> {
    match e.name().unwrap_or("") {
        "CUSTOM" => custom(e, start_subclass, room_prefix),
        "CHANNEL_HANGUP" => match e.unique_id() {
            Some(uuid) => Intake::Hangup {
                uuid,
                // FreeSWITCH hangs every channel up with this cause right after its SHUTDOWN event.
                shutdown: e.get("Hangup-Cause") == Some("SYSTEM_SHUTDOWN"),
            },
            None => Intake::Ignored,
        },
        "DTMF" => match e.unique_id() {
            Some(uuid) => Intake::Dtmf { uuid },
            None => Intake::Ignored,
        },
        "RECORD_START" => match e.unique_id() {
            Some(uuid) => Intake::RecordingStarted(Recorded::Leg(uuid)),
            None => Intake::Ignored,
        },
        "CHANNEL_BRIDGE" | "CHANNEL_ANSWER" | "CHANNEL_CREATE" => {
            match (e.get("variable_confpay_agent_id"), e.unique_id()) {
                (Some(id), Some(uuid)) if AgentId::parse(id).is_some() => {
                    Intake::AgentIdSeen { id, uuid }
                }
                _ => Intake::Ignored,
            }
        }
        _ => Intake::Ignored,
    }
}

fn custom<'e>(e: &'e Event, start_subclass: &str, room_prefix: &str) -> Intake<'e> {
    let subclass = e.subclass().unwrap_or("");
    if subclass == "conference::maintenance" {
        return conference(e, room_prefix);
    }
    if subclass == start_subclass {
        return Intake::StartRequest {
            agent: e.unique_id(),
            agent_id: e
                .get("confpay_agent_id")
                .or_else(|| e.get("variable_confpay_agent_id")),
        };
    }
    Intake::Ignored
}

fn conference<'e>(e: &'e Event, room_prefix: &str) -> Intake<'e> {
    let (Some(room), Some(action)) = (e.get("Conference-Name"), e.get("Action")) else {
        return Intake::Ignored;
    };
    if !room.starts_with(room_prefix) {
        return Intake::Ignored;
    }
    if action == "start-recording" {
        return Intake::RecordingStarted(Recorded::Room(room));
    }
    let action = match action {
        "add-member" => MemberAction::Added,
        "del-member" => MemberAction::Left,
        _ => MemberAction::Other,
    };
    Intake::Member {
        room,
        uuid: e.unique_id().unwrap_or(""),
        action,
        member: e.get("Member-ID").and_then(|m| m.parse::<u32>().ok()),
    }
}

/// The input a member change of a session's `leg` makes.
pub fn member_input(leg: Leg, action: MemberAction, member: Option<u32>) -> Option<Input> {
    match (action, member, leg) {
        (MemberAction::Added, Some(member), _) => Some(Input::Joined { leg, member }),
        // The capture service left the conference: capture is over for us.
        (MemberAction::Left, _, Leg::Capture) => Some(Input::Hangup { leg: Leg::Capture }),
        (MemberAction::Left, _, Leg::Customer | Leg::Agent)
        | (MemberAction::Added, None, _)
        | (MemberAction::Other, _, _) => None,
    }
}

/// The input a hangup of a session's `leg` makes. FreeSWITCH shutting down says nothing about the
/// payment (every channel goes, in no fixed order, and the connection next): the session waits as
/// for a lost connection and is resolved by the resync.
pub fn hangup_input(leg: Leg, shutdown: bool) -> Input {
    if shutdown {
        Input::ConnectionLost
    } else {
        Input::Hangup { leg }
    }
}

/// The input a DTMF event `e` on a session's `leg` makes while the session is in `state`. The digit
/// is read only here and never logged or kept.
pub fn dtmf_input(leg: Leg, state: &State, e: &Event) -> Option<Input> {
    let digit = e.get("DTMF-Digit").and_then(|d| d.chars().next());
    match (leg, state, digit) {
        (Leg::Agent, State::AwaitingAgentId, Some(d)) => Some(Input::AgentDigit(d)),
        (Leg::Customer, State::Ready, Some('1')) => Some(Input::CustomerStartKey),
        _ => None,
    }
}

#[cfg(test)]
#[path = "routing_tests.rs"]
mod tests;
