//! What readers see of a session (API, status stream, page): the view published on every change.

use crate::pay::machine::{Machine, State};
use crate::pay::types::*;
use std::time::SystemTime;

/// A public view of a session, published on every change (API, status stream, page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionView {
    pub id: String,
    pub state: State,
    pub customer: Uuid,
    pub agent: Uuid,
    pub capture: Option<Uuid>,
    pub agent_id: Option<String>,
    pub method: Option<StartMethod>,
    pub outcome: Option<Outcome>,
    pub started: SystemTime,
    /// When capture started ('1'), for the elapsed time shown to the agent.
    pub capture_started: Option<SystemTime>,
    pub ended: Option<SystemTime>,
    /// How many times this view changed since the session (or, after a restart, its recovery)
    /// began: a reader holding two views of one session knows which is newer.
    pub revision: u64,
}

pub(super) fn view_of(id: &str, m: &Machine, started: SystemTime) -> SessionView {
    SessionView {
        id: id.to_owned(),
        state: m.state().clone(),
        customer: m.legs().customer.clone(),
        agent: m.legs().agent.clone(),
        capture: (m.legs().capture_up || m.legs().dialling).then(|| m.legs().capture.clone()),
        agent_id: m.agent_id().map(|a| a.to_string()),
        method: m.method(),
        outcome: m.outcome().cloned(),
        started,
        capture_started: None,
        ended: None,
        revision: 0,
    }
}
