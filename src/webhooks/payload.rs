//! The JSON body of one notification: which session, which call, which agent, the state it went
//! from and to, the outcome once it ended, RFC 3339 timestamps. Built from the session's public
//! view only, which holds no card data: the session never learns a card digit.

use crate::http::views::method_label;
use crate::metrics::state_label;
use crate::pay::machine::State;
use crate::pay::session::SessionView;
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

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
        created: rfc3339(at),
        session: Session {
            id: &view.id,
            call: &view.customer,
            agent_leg: &view.agent,
            agent_id: view.agent_id.as_deref(),
            method: view.method.map(method_label),
            state: state_label(&view.state),
            previous_state: state_label(from),
            outcome: view.outcome.as_ref().map(|o| o.code()),
            started: rfc3339(view.started),
            capture_started: view.capture_started.map(rfc3339),
            ended: view.ended.map(rfc3339),
        },
    };
    // Serialising plain strings and options into a Vec cannot fail.
    serde_json::to_vec(&n).unwrap_or_default()
}

/// `2026-12-03T21:14:05.123Z`: UTC, milliseconds. A time before 1970 reads as the epoch.
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`, for days >= 0).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::{Outcome, StartMethod};
    use std::time::Duration;

    #[test]
    fn rfc3339_of_known_instants() {
        let at = |s: u64, ms: u64| UNIX_EPOCH + Duration::from_millis(s * 1000 + ms);
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.789
        assert_eq!(rfc3339(at(951_827_696, 789)), "2000-02-29T12:34:56.789Z");
        assert_eq!(rfc3339(at(1_798_761_599, 5)), "2026-12-31T23:59:59.005Z");
        assert_eq!(rfc3339(at(4_107_542_400, 0)), "2100-03-01T00:00:00.000Z");
    }

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
