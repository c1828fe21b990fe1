//! What nodes say to each other over NATS (JSON), and on which subjects.
//!
//! | subject | message | from → to |
//! |---|---|---|
//! | `confpay.node.<node>.alive` | [`Heartbeat`] | every node → every node, each `cluster.heartbeat_ms` and on change |
//! | `confpay.node.<node>.api` | [`ForwardRequest`] → [`ForwardReply`] | front node → owner (request/reply) |
//! | `confpay.node.<node>.view.<customer>.<session>` | [`ViewPush`] | owner → front nodes following it, on every change of the session's view |
//!
//! None of them carries card data: the engine never sees a digit the customer keys, and these are
//! built from the same views the HTTP API returns.

use crate::http::Authority;
use serde::{Deserialize, Serialize};

/// Subject of a node's heartbeats.
pub fn alive_subject(node: &str) -> String {
    format!("confpay.node.{node}.alive")
}

/// Every node's heartbeats.
pub const ALIVE_ALL: &str = "confpay.node.*.alive";

/// Subject a node serves forwarded API requests on.
pub fn api_subject(node: &str) -> String {
    format!("confpay.node.{node}.api")
}

/// Subject of one session's view changes (`customer`: the call's customer leg).
pub fn view_subject(node: &str, customer: &str, session: &str) -> String {
    format!("confpay.node.{node}.view.{customer}.{session}")
}

/// Every view change of session `id` held by `node`.
pub fn session_views(node: &str, id: &str) -> String {
    format!("confpay.node.{node}.view.*.{id}")
}

/// Every view change of the sessions of the call whose customer leg is `customer`.
pub fn call_views(node: &str, customer: &str) -> String {
    format!("confpay.node.{node}.view.{customer}.*")
}

/// One change of a session's view, as the owner's API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewPush {
    /// The owner daemon's instance (its `revision`s count again after a restart).
    pub instance: String,
    /// The session's JSON view (`GET /api/v1/sessions/{id}`).
    pub session: serde_json::Value,
}

/// "I am up, and these are the calls my switch holds."
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub node: String,
    /// Random per daemon start: tells a restart, and two daemons wrongly sharing a node name.
    pub instance: String,
    pub calls: Vec<CallSummary>,
}

/// What other nodes need to find a call's owner, and to list it while the owner is unreachable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSummary {
    pub customer: String,
    pub agent: Option<String>,
    pub agent_id: Option<String>,
    /// The call's conference.
    pub room: String,
    /// The running session first (if any), then ended ones still known.
    pub sessions: Vec<String>,
    /// Each of `sessions`' view revision, in the same order: a node relaying a session's pushed
    /// changes that sees a higher one than it relayed missed a push (a NATS blip) and reads again.
    #[serde(default)]
    pub revisions: Vec<u64>,
}

/// Who asked, as the front node verified it (the owner trusts it: nodes trust each other through
/// NATS credentials/TLS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WireAuthority {
    Admin,
    Agent { agent_id: String },
}

impl From<&Authority> for WireAuthority {
    fn from(a: &Authority) -> Self {
        match a {
            Authority::Admin => WireAuthority::Admin,
            Authority::Agent { agent_id } => WireAuthority::Agent {
                agent_id: agent_id.clone(),
            },
        }
    }
}

impl From<WireAuthority> for Authority {
    fn from(a: WireAuthority) -> Self {
        match a {
            WireAuthority::Admin => Authority::Admin,
            WireAuthority::Agent { agent_id } => Authority::Agent { agent_id },
        }
    }
}

/// An API request for something the owner holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardRequest {
    pub method: String,
    /// Path and query, e.g. `/api/v1/sessions/ID/capture`.
    pub path: String,
    /// The JSON body as sent (empty for GET).
    pub body: String,
    pub authority: WireAuthority,
}

/// The owner's answer: the HTTP status and JSON body its own API gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardReply {
    pub status: u16,
    pub body: String,
    /// The answering daemon's instance (as in its heartbeats).
    #[serde(default)]
    pub instance: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_round_trips() {
        for a in [
            Authority::Admin,
            Authority::Agent {
                agent_id: "4711".to_owned(),
            },
        ] {
            let wire = serde_json::to_string(&WireAuthority::from(&a)).expect("json");
            let back: WireAuthority = serde_json::from_str(&wire).expect("parse");
            assert_eq!(Authority::from(back), a);
        }
        assert_eq!(api_subject("b"), "confpay.node.b.api");
        assert_eq!(alive_subject("b"), "confpay.node.b.alive");
        assert_eq!(view_subject("b", "cu", "s1"), "confpay.node.b.view.cu.s1");
        assert_eq!(session_views("b", "s1"), "confpay.node.b.view.*.s1");
        assert_eq!(call_views("b", "cu"), "confpay.node.b.view.cu.*");
    }
}
