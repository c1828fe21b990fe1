//! The JSON body of one notification: which session, which call, which agent, the state it went
//! from and to, the outcome once it ended, RFC 3339 timestamps. Built from the session's public
//! view only, which holds no card data: the session never learns a card digit.

use crate::http::views::method_label;
use crate::logging::rfc3339;
use crate::metrics::state_label;
use crate::pay::machine::State;
use crate::pay::session::SessionView;
use serde::Serialize;
use std::time::SystemTime;

/// One notification as sent.
#[derive(Debug, Serialize)]
struct Notification<'a> {
    /// The idempotency key (also the `Idempotency-Key` header): the same on every retry.
    id: &'a str,
    /// `session.<state>`, e.g. `session.capturing`, `session.done`.
    #[serde(rename = "type")]
    kind: String,
    /// When the change happened.
    created: String,
    session: Session<'a>,
}

#[derive(Debug, Serialize)]
struct Session<'a> {
    id: &'a str,
    /// The customer's channel UUID, as FreeSWITCH names it.
    call: &'a str,
    /// The agent's channel UUID.
    agent_leg: &'a str,
    agent_id: Option<&'a str>,
    /// `keyphone` or `aca`, once capture started.
    method: Option<&'static str>,
    state: &'static str,
    previous_state: &'static str,
    /// [`crate::pay::Outcome::code`], once the session is `done`.
    outcome: Option<&'static str>,
    started: String,
    capture_started: Option<String>,
    ended: Option<String>,
}

/// The event name of a change to `state`: `session.<state>`.
pub fn event_name(state: &State) -> String {
    format!("session.{}", state_label(state))
}

/// The body for the change of `view` from `from`, happened at `at`, keyed `key`.
pub fn body(key: &str, from: &State, view: &SessionView, at: SystemTime) -> Vec<u8> {
    let n = Notification {
        id: key,
        kind: event_name(&view.state),
        created: rfc3339::format(at),
        session: Session {
            id: &view.id,
            call: &view.customer,
            agent_leg: &view.agent,
            agent_id: view.agent_id.as_deref(),
            method: view.method.map(method_label),
            state: state_label(&view.state),
            previous_state: state_label(from),
            outcome: view.outcome.as_ref().map(|o| o.code()),
            started: rfc3339::format(view.started),
            capture_started: view.capture_started.map(rfc3339::format),
            ended: view.ended.map(rfc3339::format),
        },
    };
    // Serialising plain strings and options into a Vec cannot fail.
    serde_json::to_vec(&n).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::{Outcome, StartMethod};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn body_carries_ids_states_outcome_and_times() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_796_256_000);
        let view = SessionView {
            id: "a1b2c3d4e5f6".to_owned(),
            state: State::Done,
            customer: "cust-uuid".to_owned(),
            agent: "agent-uuid".to_owned(),
            capture: None,
            agent_id: Some("4711".to_owned()),
            method: Some(StartMethod::Keyphone),
            outcome: Some(Outcome::Completed {
                method: StartMethod::Keyphone,
            }),
            started: t0,
            capture_started: Some(t0 + Duration::from_secs(20)),
            ended: Some(t0 + Duration::from_secs(65)),
            revision: 12,
        };
        let b = body(
            "key-1",
            &State::Unwinding,
            &view,
            t0 + Duration::from_secs(65),
        );
        let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
        assert_eq!(v["id"], "key-1");
        assert_eq!(v["type"], "session.done");
        assert_eq!(v["created"], "2026-12-03T00:01:05.000Z");
        let s = &v["session"];
        assert_eq!(s["id"], "a1b2c3d4e5f6");
        assert_eq!(s["call"], "cust-uuid");
        assert_eq!(s["agent_leg"], "agent-uuid");
        assert_eq!(s["agent_id"], "4711");
        assert_eq!(s["method"], "keyphone");
        assert_eq!(s["state"], "done");
        assert_eq!(s["previous_state"], "unwinding");
        assert_eq!(s["outcome"], "completed");
        assert_eq!(s["started"], "2026-12-03T00:00:00.000Z");
        assert_eq!(s["capture_started"], "2026-12-03T00:00:20.000Z");
        assert_eq!(s["ended"], "2026-12-03T00:01:05.000Z");
    }
}
