//! The JSON shapes of the API: sessions, calls, outcomes. Built from the engine's views; they hold
//! channel UUIDs, the agent ID (not card data), the caller's number and name as FreeSWITCH knows
//! them (signalling, not keyed digits), states, times and outcome codes — never a digit the
//! customer keyed (the engine never sees those).

use crate::metrics::state_label;
use crate::pay::engine::CallView;
use crate::pay::session::SessionView;
use crate::pay::{FailReason, Outcome, StartMethod};
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

/// One payment session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionJson {
    pub id: String,
    /// snake_case state: `holding`, `dialling`, `ready`, `capturing`, `done`, ...
    pub state: &'static str,
    /// A short human description of the state, for the agent page.
    pub status: String,
    pub customer: String,
    pub agent: String,
    pub capture: Option<String>,
    pub agent_id: Option<String>,
    /// `aca` or `keyphone` once capture started.
    pub method: Option<&'static str>,
    pub outcome: Option<OutcomeJson>,
    /// Unix epoch milliseconds.
    pub started_ms: u64,
    pub capture_started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// Capture time so far (or in total once ended), computed when this view was made.
    pub capture_elapsed_ms: Option<u64>,
    /// Grows with every change of the session's view: of two views, the higher is the newer
    /// (counted again from a daemon restart that recovered the session).
    pub revision: u64,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutcomeJson {
    /// Stable code ([`Outcome::code`]).
    pub code: &'static str,
    /// `completed`, `cancelled` or `failed`.
    pub kind: &'static str,
    pub message: String,
}

/// One call the engine knows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallJson {
    pub customer: String,
    pub agent: Option<String>,
    pub agent_id: Option<String>,
    pub room: String,
    /// The customer's caller number (`caller_id_number`), if the switch said.
    pub caller_number: Option<String>,
    /// The customer's caller name (`caller_id_name`), if the switch said.
    pub caller_name: Option<String>,
    /// When talking began (Unix epoch milliseconds): the customer answered (attached, recovered
    /// calls) or the agent answered (dialplan-driven calls).
    pub answered_ms: Option<u64>,
    /// Talking time so far, computed when this view was made (the page ticks on from it, so a
    /// browser's clock does not matter).
    pub talking_ms: Option<u64>,
    pub session: Option<SessionJson>,
    pub history: Vec<SessionJson>,
}

impl SessionJson {
    pub fn from_view(v: &SessionView) -> SessionJson {
        let now = SystemTime::now();
        let capture_elapsed_ms = v
            .capture_started
            .map(|start| ms_between(start, v.ended.unwrap_or(now)));
        SessionJson {
            id: v.id.clone(),
            state: state_label(&v.state),
            status: status_text(v),
            customer: v.customer.clone(),
            agent: v.agent.clone(),
            capture: v.capture.clone(),
            agent_id: v.agent_id.clone(),
            method: v.method.map(method_label),
            outcome: v.outcome.as_ref().map(OutcomeJson::from_outcome),
            started_ms: epoch_ms(v.started),
            capture_started_ms: v.capture_started.map(epoch_ms),
            ended_ms: v.ended.map(epoch_ms),
            capture_elapsed_ms,
            revision: v.revision,
        }
    }
}

impl CallJson {
    pub fn from_view(c: &CallView) -> CallJson {
        CallJson {
            customer: c.customer.clone(),
            agent: c.agent.clone(),
            agent_id: c.agent_id.clone(),
            room: c.room.clone(),
            caller_number: c.caller.number.clone(),
            caller_name: c.caller.name.clone(),
            answered_ms: c.caller.answered_at.map(epoch_ms),
            talking_ms: c
                .caller
                .answered_at
                .map(|at| ms_between(at, SystemTime::now())),
            session: c.session.as_ref().map(SessionJson::from_view),
            history: c.history.iter().map(SessionJson::from_view).collect(),
        }
    }
}

impl OutcomeJson {
    pub fn from_outcome(o: &Outcome) -> OutcomeJson {
        let (kind, message) = match o {
            Outcome::Completed { method } => (
                "completed",
                match method {
                    StartMethod::Aca => "payment capture completed (started by the agent)",
                    StartMethod::Keyphone => "payment capture completed (started by the customer)",
                }
                .to_owned(),
            ),
            Outcome::Cancelled => ("cancelled", "cancelled by the agent".to_owned()),
            Outcome::Failed(r) => ("failed", fail_message(r)),
        };
        OutcomeJson {
            code: o.code(),
            kind,
            message,
        }
    }
}

fn fail_message(r: &FailReason) -> String {
    match r {
        FailReason::NoAgentId => "no agent ID was given or keyed in time".to_owned(),
        FailReason::CaptureUnavailable { cause } => {
            format!("the capture service is unavailable ({cause})")
        }
        FailReason::CaptureLeftEarly => {
            "the capture service hung up before capture started".to_owned()
        }
        FailReason::CaptureTimeout => "capture took too long and was stopped".to_owned(),
        FailReason::CommandFailed { step, reply } => {
            format!("FreeSWITCH refused a command ({step:?}: {reply})")
        }
        FailReason::StepTimeout { step } => format!("FreeSWITCH did not answer in time ({step:?})"),
        FailReason::CustomerHungUp => "the customer hung up".to_owned(),
        FailReason::AgentHungUp => "the agent hung up".to_owned(),
        FailReason::ConnectionLost => "the connection to FreeSWITCH was lost".to_owned(),
    }
}

pub fn method_label(m: StartMethod) -> &'static str {
    match m {
        StartMethod::Keyphone => "keyphone",
        StartMethod::Aca => "aca",
    }
}

fn status_text(v: &SessionView) -> String {
    use crate::pay::State;
    let text = match &v.state {
        State::Idle => "starting",
        State::AwaitingAgentId => "waiting for the agent ID: key it on your phone, then #",
        State::Moving => "moving the call into the payment conference",
        State::Holding => "customer on hold",
        State::Masking => "pausing the call's recordings",
        State::Dialling => "capture service joining",
        State::Answered => "capture service joined",
        State::SendingAgentId => "sending the agent ID",
        State::Unholding => "agent ID sent; taking the customer off hold",
        State::Ready => "ready: the customer can press 1, or click Start capture",
        State::Arming => "starting capture",
        State::Capturing => "capturing: the customer is keying the card",
        State::Unwinding => "finishing",
        State::Suspended => "connection to FreeSWITCH lost; waiting for it to come back",
        State::Done => {
            return match &v.outcome {
                Some(o) => OutcomeJson::from_outcome(o).message,
                None => "ended".to_owned(),
            };
        }
    };
    text.to_owned()
}

/// Milliseconds from `start` to `end` (0 when the clock says `end` came first).
fn ms_between(start: SystemTime, end: SystemTime) -> u64 {
    end.duration_since(start)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
