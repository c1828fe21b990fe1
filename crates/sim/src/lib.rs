//! The FreeSWITCH simulator: a protocol-faithful stand-in used to test the daemon.
//!
//! | module | job |
//! |---|---|
//! | [`core`] | the switch model: channels, bridges, conferences, dialplan, API commands, events |
//! | [`esl`] | the event socket: inbound server, outbound dialler, serialization, faults on demand |
//! | [`hearing`] | who hears whom, and the DTMF delivery log |
//! | [`party`] | scripted far-end parties (customer, agent, capture service) |
//! | [`payment_dialplan`] | the deployment's `socket` and attach extensions, shared by every user |
//! | [`standalone`] | `confpay-sim` options and a simulator set up like the payment deployment |
//! | [`console`] | `confpay-sim`'s stdin line commands |
//! | [`process`] | the `confpay-sim` process (banner, runtime, console loop), also run by the load tool |
//!
//! Using it (inside a tokio runtime):
//!
//! ```text
//! let sim = Simulator::start(SimConfig { outbound_target: Some(daemon_outbound_addr), ..SimConfig::default() }).await?;
//! sim.core().register_party("customer", Party::customer("customer"));  // far ends, by dial string
//! // the daemon connects to sim.esl_addr() (password ClueCon) and drives calls over ESL;
//! // `socket` dialplan extensions dial daemon_outbound_addr;
//! sim.core().hearing(); sim.core().dtmf_log();                         // assertions
//! sim.faults().delay_replies(Some(Duration::from_millis(200)));        // faults on demand
//! sim.restart();                                                       // new Core-UUID, all dropped
//! ```
pub mod cli;
pub mod console;
pub mod core;
pub mod esl;
pub mod hearing;
pub mod party;
pub mod payment_dialplan;
pub mod process;
pub mod standalone;

pub use payment_dialplan::PaymentDialplan;

use crate::core::{Core, CoreConfig};
use crate::esl::faults::Faults;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How to start a [`Simulator`].
#[derive(Clone)]
pub struct SimConfig {
    /// Inbound event socket address (FreeSWITCH: 127.0.0.1:8021; tests: port 0).
    pub esl_listen: SocketAddr,
    /// Inbound password (`ClueCon`).
    pub password: String,
    /// Where the `socket` extension connects (the daemon's outbound listener).
    pub outbound_target: Option<SocketAddr>,
    /// The switch model's settings (hostname, addresses, extra dialplan extensions, queue length).
    /// Its `outbound_target` is overwritten by the field above.
    pub core: CoreConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            esl_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            password: "ClueCon".into(),
            outbound_target: None,
            core: CoreConfig::default(),
        }
    }
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("esl_listen", &self.esl_listen)
            .field("password", &"********")
            .field("outbound_target", &self.outbound_target)
            .field("core", &self.core)
            .finish()
    }
}

/// What can stop the simulator from starting.
#[derive(Debug, thiserror::Error)]
pub enum SimStartError {
    #[error("cannot bind the inbound event socket on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running simulated FreeSWITCH: the core, the inbound event socket and the outbound dialler.
#[derive(Debug)]
pub struct Simulator {
    core: Core,
    faults: Faults,
    esl_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    /// Binds the inbound event socket and starts serving. Must run inside a tokio runtime.
    pub async fn start(cfg: SimConfig) -> Result<Simulator, SimStartError> {
        let mut core_cfg = cfg.core.clone();
        core_cfg.outbound_target = cfg.outbound_target;
        let core = Core::new(core_cfg);
        let faults = Faults::default();
        let listener =
            TcpListener::bind(cfg.esl_listen)
                .await
                .map_err(|source| SimStartError::Bind {
                    addr: cfg.esl_listen,
                    source,
                })?;
        let esl_addr = listener
            .local_addr()
            .map_err(|source| SimStartError::Bind {
                addr: cfg.esl_listen,
                source,
            })?;
        let tasks = vec![
            esl::inbound::serve(listener, core.clone(), faults.clone(), cfg.password.clone()),
            esl::outbound::run(core.clone(), faults.clone()),
        ];
        tracing::info!(addr = %esl_addr, core_uuid = %core.core_uuid(), "simulator started");
        Ok(Simulator {
            core,
            faults,
            esl_addr,
            tasks,
        })
    }

    /// The inbound event socket's address.
    pub fn esl_addr(&self) -> SocketAddr {
        self.esl_addr
    }

    /// The switch model (scripted parties, assertions, direct control).
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Faults on demand for the event socket.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// "FreeSWITCH restarts": every connection drops, all calls are gone, a new Core-UUID.
    pub fn restart(&self) {
        self.faults.drop_connections();
        self.core.restart();
    }

    /// A FreeSWITCH stopped and started again: it first says so (SHUTDOWN, every channel hung up
    /// with `SYSTEM_SHUTDOWN`), those events reach the listeners, then it is [`Simulator::restart`]ed.
    pub async fn restart_gracefully(&self) {
        self.core.shutdown_events();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        self.restart();
    }

    /// Stops accepting and dialling; open connections are dropped.
    pub fn shutdown(self) {
        self.faults.drop_connections();
        for t in &self.tasks {
            t.abort();
        }
    }
}
