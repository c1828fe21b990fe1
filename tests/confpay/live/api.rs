//! The daemon's HTTP API as an agent's screen or a call-centre platform uses it.

use crate::http_harness::client::{Resp, get, post};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Api {
    pub addr: SocketAddr,
    /// Sent as `Authorization: Bearer` when the daemon has tokens configured.
    pub token: Option<String>,
}

impl Api {
    pub fn new(addr: SocketAddr, token: Option<&str>) -> Api {
        Api {
            addr,
            token: token.map(str::to_owned),
        }
    }

    /// `POST /api/v1/sessions` for a target `kind` (`customer`, `agent`, `agent_id`).
    pub async fn start(&self, kind: &str, id: &str, agent_id: Option<&str>) -> Resp {
        let mut body = json!({"target": {"type": kind, "id": id}});
        if let Some(a) = agent_id {
            body["agent_id"] = json!(a);
        }
        post(
            self.addr,
            "/api/v1/sessions",
            self.token.as_deref(),
            &body.to_string(),
        )
        .await
    }

    /// Starts a payment that must be accepted; its session id.
    pub async fn pay(&self, kind: &str, id: &str) -> String {
        let r = self.start(kind, id, None).await;
        assert_eq!(r.status, 201, "start payment on {kind} {id}: {}", r.body);
        r.json()["id"].as_str().expect("session id").to_owned()
    }

    pub async fn session(&self, id: &str) -> Value {
        let r = get(
            self.addr,
            &format!("/api/v1/sessions/{id}"),
            self.token.as_deref(),
        )
        .await;
        assert_eq!(r.status, 200, "session {id}: {}", r.body);
        r.json()
    }

    pub async fn calls(&self) -> Value {
        let r = get(self.addr, "/api/v1/calls", self.token.as_deref()).await;
        assert_eq!(r.status, 200, "calls: {}", r.body);
        r.json()
    }

    /// The call whose customer channel is `customer`, once the daemon knows it.
    pub async fn call(&self, customer: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let calls = self.calls().await;
            if let Some(c) = calls["calls"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["customer"] == customer)
            {
                return c.clone();
            }
            if tokio::time::Instant::now() > deadline {
                panic!("confpayd does not know call {customer} within {limit:?}: {calls}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `POST .../capture` (ACA start).
    pub async fn capture(&self, id: &str) -> Resp {
        post(
            self.addr,
            &format!("/api/v1/sessions/{id}/capture"),
            self.token.as_deref(),
            "",
        )
        .await
    }

    /// `POST .../cancel`.
    pub async fn cancel(&self, id: &str) -> Resp {
        post(
            self.addr,
            &format!("/api/v1/sessions/{id}/cancel"),
            self.token.as_deref(),
            "",
        )
        .await
    }

    /// Waits until session `id` is in `state`; panics if it ends elsewhere first.
    pub async fn reach(&self, id: &str, state: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let s = self.session(id).await;
            if s["state"] == state {
                return s;
            }
            if s["state"] == "done" {
                panic!("session {id} ended before {state}: {s}");
            }
            if tokio::time::Instant::now() > deadline {
                panic!("session {id} not {state} within {limit:?}: {s}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until session `id` is done; its outcome code.
    pub async fn outcome(&self, id: &str, limit: Duration) -> (String, Value) {
        let s = self.reach(id, "done", limit).await;
        let code = s["outcome"]["code"].as_str().unwrap_or("").to_owned();
        (code, s)
    }
}
