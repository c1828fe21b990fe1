//! The standalone simulator (`confpay-sim`): its options (read by [`crate::cli`]), and a [`Simulator`] set up like the
//! payment deployment — the `confpay` extension handing calls to the outbound socket, the `attach`
//! extension, a scripted agent at the agent dial string and a capture service expecting the agent ID.
//!
//! The `confpay` extension gives every call the example agent ID ([`Options::agent_id`]);
//! [`ROUTED`] is the same socket extension for calls whose routing set `confpay_agent_id` itself
//! (`call {confpay_agent_id=1234}confpay-routed` on the console), as the shipped XML keeps a routed
//! call's own values. The capture service expects the agent ID of the call it is connected to (the
//! `confpay_agent_id` of its conference's other members), then `#`.
//!
//! Every listener binds loopback unless told otherwise.

use crate::PaymentDialplan;
use crate::party::Party;
use crate::{SimConfig, SimStartError, Simulator};
use std::net::SocketAddr;

/// The socket extension for calls that arrive with their own `confpay_agent_id`.
pub const ROUTED: &str = "confpay-routed";

/// Options of the standalone simulator.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    pub listen: SocketAddr,
    pub password: String,
    pub outbound: SocketAddr,
    pub agent_dial: String,
    pub agent_id: String,
    pub capture_dial: String,
    pub card_digits: usize,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("password", &"********")
            .field("outbound", &self.outbound)
            .field("agent_dial", &self.agent_dial)
            .field("agent_id", &self.agent_id)
            .field("capture_dial", &self.capture_dial)
            .field("card_digits", &self.card_digits)
            .finish()
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8021)),
            password: "ClueCon".into(),
            outbound: SocketAddr::from(([127, 0, 0, 1], 8084)),
            agent_dial: "user/agent".into(),
            agent_id: "4711".into(),
            capture_dial: "sofia/gateway/paytia/pay".into(),
            card_digits: 16,
        }
    }
}

/// Starts the simulator with the deployment's extensions and the scripted agent and capture service.
pub async fn start(o: &Options) -> Result<Simulator, SimStartError> {
    let sim = Simulator::start(SimConfig {
        esl_listen: o.listen,
        password: o.password.clone(),
        outbound_target: Some(o.outbound),
        ..SimConfig::default()
    })
    .await?;
    register(&sim, o);
    Ok(sim)
}

/// Registers the extensions and parties (a `restart` keeps them, like FreeSWITCH keeps its dialplan).
pub fn register(sim: &Simulator, o: &Options) {
    let core = sim.core();
    PaymentDialplan::new(o.outbound, &o.agent_dial, Some(&o.agent_id)).install(core);
    PaymentDialplan::new(o.outbound, &o.agent_dial, None)
        .socket_only(ROUTED)
        .install(core);
    core.register_party(&o.agent_dial, Party::agent("agent"));
    core.register_party(
        &o.capture_dial,
        Party::capture("capture", &format!("{}#", o.agent_id), o.card_digits)
            .checking_its_call("#"),
    );
}
