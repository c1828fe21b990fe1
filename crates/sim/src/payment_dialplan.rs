//! The payment deployment's dialplan as the simulator runs it: the extensions of
//! `freeswitch-dialplan/dialplan/default/10_confpay_socket.xml` (hand the call to confpayd over the
//! outbound socket, with the plain bridge to the agent as fallback) and `11_confpay_attach.xml` (an
//! ordinary bridge confpayd can take over). `confpay-sim`, the demo and the tests install this one
//! description, so they cannot drift from each other.
//!
//! The simulator expands no `${variables}`, so where the XML reads one (`${confpay_agent_dial}`) the
//! value is written in; the XML's "example values only when none were set" condition is the caller's
//! [`PaymentDialplan::agent_dial`] / [`PaymentDialplan::agent_id`]. The attach extension's last
//! action (`hangup ${originate_disposition}` after a failed bridge) is left out: with nothing left
//! to run the simulator hangs the leg up anyway.

use crate::core::{Core, Extension};
use std::net::SocketAddr;

/// What differs between users of the payment dialplan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentDialplan {
    /// Where `socket` connects: the daemon's outbound listener.
    pub outbound: SocketAddr,
    /// The agent's dial string (`confpay_agent_dial`), bridged to by the daemon or the fallback.
    pub agent_dial: String,
    /// `confpay_agent_id`; `None`: the call arrives without one and the agent keys it on the phone.
    pub agent_id: Option<String>,
    /// Destinations that hand the call to the daemon (the XML's `8500`).
    pub socket_destinations: Vec<String>,
    /// Destinations of the plain bridge the daemon can attach to (the XML's `8501`).
    pub attach_destinations: Vec<String>,
}

impl PaymentDialplan {
    /// The shipped destinations: `confpay` and `8500` hand the call over, `attach` and `8501` bridge.
    pub fn new(outbound: SocketAddr, agent_dial: &str, agent_id: Option<&str>) -> PaymentDialplan {
        PaymentDialplan {
            outbound,
            agent_dial: agent_dial.to_owned(),
            agent_id: agent_id.map(str::to_owned),
            socket_destinations: vec!["confpay".into(), "8500".into()],
            attach_destinations: vec!["attach".into(), "8501".into()],
        }
    }

    /// Only the socket extension, on `destination` (no attach extension).
    pub fn socket_only(mut self, destination: &str) -> PaymentDialplan {
        self.socket_destinations = vec![destination.to_owned()];
        self.attach_destinations = Vec::new();
        self
    }

    /// Every extension, one per destination.
    pub fn extensions(&self) -> Vec<Extension> {
        let socket = self.socket_actions();
        let attach = self.attach_actions();
        let at = |destinations: &[String], actions: &[(String, String)]| {
            destinations
                .iter()
                .map(|d| Extension {
                    destination: d.clone(),
                    actions: actions.to_vec(),
                })
                .collect::<Vec<_>>()
        };
        let mut all = at(&self.socket_destinations, &socket);
        all.extend(at(&self.attach_destinations, &attach));
        all
    }

    /// Adds (or replaces) every extension in `core`'s dialplan.
    pub fn install(&self, core: &Core) {
        for extension in self.extensions() {
            core.set_extension(extension);
        }
    }

    /// `10_confpay_socket.xml`.
    fn socket_actions(&self) -> Vec<(String, String)> {
        let mut actions = vec![set(format!("confpay_agent_dial={}", self.agent_dial))];
        if let Some(id) = &self.agent_id {
            actions.push(set(format!("confpay_agent_id={id}")));
        }
        actions.extend([
            set("conference_controls=none"),
            set("sensitive_dtmf=true"),
            set("digits_dialed_filter=^(.+)$"),
            set("hangup_after_bridge=false"),
            set("park_after_bridge=true"),
            set("socket_resume=false"),
            app("bind_meta_app", META_APP),
            set(NONCE),
            app("socket", format!("{} async full", self.outbound)),
            // The fallback: reached when `socket` returns (daemon unreachable, gone while parked, `resume`).
            app(
                "log",
                "WARNING confpay: socket returned, plain bridge to the agent",
            ),
            set("park_after_bridge=false"),
            set("hangup_after_bridge=true"),
            set("continue_on_fail=true"),
            app("bridge", &self.agent_dial),
            app("hangup", "NORMAL_TEMPORARY_FAILURE"),
        ]);
        actions
    }

    /// `11_confpay_attach.xml`.
    fn attach_actions(&self) -> Vec<(String, String)> {
        let mut actions = vec![
            set("confpay_role=customer"),
            set("conference_controls=none"),
            set("sensitive_dtmf=true"),
            set("digits_dialed_filter=^(.+)$"),
        ];
        if let Some(id) = &self.agent_id {
            actions.push(app("export", format!("confpay_agent_id={id}")));
        }
        actions.extend([
            app("bind_meta_app", META_APP),
            app(
                "bridge",
                format!(
                    "{{confpay_role=agent,conference_controls=none}}{}",
                    self.agent_dial
                ),
            ),
        ]);
        actions
    }
}

/// The socket's one-time nonce; the simulator expands `${create_uuid()}` as FreeSWITCH does.
const NONCE: &str = "confpay_nonce=${create_uuid()}";

/// The agent's `*9` feature code (`confpay_features.xml`); the simulator accepts the binding only.
const META_APP: &str = "9 b s execute_extension::confpay_start XML confpay_features";

fn app(name: &str, data: impl Into<String>) -> (String, String) {
    (name.to_owned(), data.into())
}

fn set(data: impl Into<String>) -> (String, String) {
    app("set", data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialplan() -> PaymentDialplan {
        PaymentDialplan::new(
            SocketAddr::from(([127, 0, 0, 1], 8084)),
            "user/agent",
            Some("4711"),
        )
    }

    #[test]
    fn shipped_destinations_with_socket_then_fallback() {
        let all = dialplan().extensions();
        let names: Vec<&str> = all.iter().map(|e| e.destination.as_str()).collect();
        assert_eq!(names, ["confpay", "8500", "attach", "8501"]);
        let socket = &all[0].actions;
        let at = socket
            .iter()
            .position(|(a, _)| a == "socket")
            .expect("socket");
        assert_eq!(socket[at].1, "127.0.0.1:8084 async full");
        assert!(socket[..at].contains(&app("set", "confpay_agent_id=4711")));
        assert!(socket[..at].contains(&app("set", "socket_resume=false")));
        assert_eq!(socket[at - 1], set(NONCE));
        assert_eq!(socket[socket.len() - 2], app("bridge", "user/agent"));
        let attach = &all[2].actions;
        assert!(attach.contains(&app("export", "confpay_agent_id=4711")));
        assert_eq!(
            attach.last(),
            Some(&app(
                "bridge",
                "{confpay_role=agent,conference_controls=none}user/agent"
            ))
        );
    }

    #[test]
    fn without_agent_id_no_extension_names_one() {
        let all = PaymentDialplan {
            agent_id: None,
            ..dialplan()
        }
        .socket_only("confpay-noid")
        .extensions();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].destination, "confpay-noid");
        assert!(
            !all[0]
                .actions
                .iter()
                .any(|(_, d)| d.contains("confpay_agent_id"))
        );
    }
}
