//! [`EngineError`]: why an engine request was refused, with stable API error codes; [`RegisterError`]:
//! why a dialplan-driven call was not registered.

use crate::pay::attach::AttachError;
use crate::pay::machine::State;
use crate::pay::types::{Leg, Uuid};

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

/// Why a dialplan-driven call was not registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    /// The channel is already a leg of a known call: a second socket speaking for it is refused,
    /// and the known call is not touched.
    #[error("{uuid} is already the {leg:?} leg of call {call}")]
    KnownLeg { uuid: Uuid, call: Uuid, leg: Leg },
    #[error("the engine has stopped")]
    Stopped,
}
