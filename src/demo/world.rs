//! The demo's world: the simulator (a stand-in FreeSWITCH, inbound ESL on 127.0.0.1:0) and the
//! daemon's real working parts ([`Stack::start`]) connected to it over loopback TCP, with the
//! dialplan of `freeswitch-dialplan/` (the `socket` extension) and scripted parties.

use super::{DemoError, DemoOptions};
use crate::config::Config;
use crate::daemon::stack::Stack;
use crate::pay::State;
use crate::pay::engine::CallView;
use crate::pay::session::SessionView;
use crate::secret::Secret;
use crate::sim::PaymentDialplan;
use crate::sim::party::Party;
use crate::sim::{SimConfig, Simulator};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The agent ID the demo's dialplan sets on every call (`confpay_agent_id`).
pub const AGENT_ID: &str = "4711";
/// The capture service's dial string (`payment.capture_dial`'s default).
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
/// Where the dialplan bridges the customer (the agent's phone).
pub const AGENT_DIAL: &str = "user/agent";
/// The test card the scripted customer keys. Never printed.
pub(crate) const CARD: &str = "4111111111111111";
/// Who the scripted customer is, as the switch knows them (the agent page shows it).
pub const CALLER_NAME: &str = "Ada Lovelace";
pub const CALLER_NUMBER: &str = "+442079460018";
/// Dialplan destination of the demo's inbound calls.
pub const DESTINATION: &str = "confpay";

/// A running demo: simulator + daemon parts + scripted parties.
pub struct World {
    pub sim: Simulator,
    pub stack: Stack,
    pub customer: Party,
    pub agent: Party,
    pub capture: Party,
    pub(crate) started: Instant,
    /// Scales every scripted pause (`--speed`).
    pub(crate) speed: f64,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// The daemon configuration of the demo: defaults, loopback addresses, the simulator's ESL.
pub fn config(esl: SocketAddr, opts: &DemoOptions) -> Config {
    let mut c = Config::default();
    c.esl.address = esl.to_string();
    c.outbound.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.listen = SocketAddr::from(([127, 0, 0, 1], opts.port));
    c.http.token = Secret::new(opts.token.clone().unwrap_or_default());
    c.http.agent_token_secret = Secret::new(opts.agent_secret.clone().unwrap_or_default());
    c.payment.capture_dial = CAPTURE_DIAL.to_owned();
    c.payment.agent_id_delay_ms = 300;
    c.payment.capture_answer_timeout_s = 5;
    c.payment.max_capture_s = 120;
    c
}

fn capture_party() -> Party {
    // The simulated capture service wants the agent ID with its '#' suffix, then '1', then the card.
    Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len())
}

impl World {
    /// Starts the simulator and the daemon parts; installs the dialplan and the parties.
    pub async fn start(opts: &DemoOptions) -> Result<World, DemoError> {
        let sim =
            Simulator::start(SimConfig::default())
                .await
                .map_err(|e| DemoError::Simulator {
                    reason: e.to_string(),
                })?;
        let cfg = config(sim.esl_addr(), opts);
        let tracker = TaskTracker::new();
        let shutdown = CancellationToken::new();
        let stack =
            Stack::start(&cfg, &tracker, &shutdown)
                .await
                .map_err(|e| DemoError::Daemon {
                    reason: e.to_string(),
                })?;
        let core = sim.core();
        PaymentDialplan::new(stack.outbound_addr, AGENT_DIAL, Some(AGENT_ID)).install(core);
        let customer = Party::customer("customer");
        let agent = Party::agent("agent");
        let capture = capture_party();
        core.register_party(AGENT_DIAL, agent.clone());
        core.register_party(CAPTURE_DIAL, capture.clone());
        Ok(World {
            sim,
            stack,
            customer,
            agent,
            capture,
            started: Instant::now(),
            speed: opts.speed,
            tracker,
            shutdown,
        })
    }

    /// Time since the demo started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// A scripted pause of `ms` milliseconds, scaled by `--speed`.
    pub async fn pause(&self, ms: u64) {
        let d = Duration::from_millis(ms).div_f64(self.speed.max(0.01));
        tokio::time::sleep(d).await;
    }

    /// A fresh capture service for the next payment (the last one hung up when it had the card).
    pub fn fresh_capture(&mut self) {
        self.capture = capture_party();
        self.sim
            .core()
            .register_party(CAPTURE_DIAL, self.capture.clone());
    }

    /// The customer calls the `confpay` extension; waits until the engine has both legs in the
    /// call's conference. Returns the call.
    pub async fn call(&mut self) -> Result<CallView, DemoError> {
        self.customer = Party::customer("customer");
        self.agent = Party::agent("agent");
        self.sim
            .core()
            .register_party(AGENT_DIAL, self.agent.clone());
        let customer = self
            .sim
            .core()
            .incoming_call(&self.customer, DESTINATION, CALLER_NAME, CALLER_NUMBER)
            .map_err(|e| DemoError::Simulator {
                reason: e.to_string(),
            })?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let found = self.stack.engine.calls().await.into_iter().find(|c| {
                c.customer == customer && c.customer_member.is_some() && c.agent_member.is_some()
            });
            if let Some(call) = found {
                return Ok(call);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DemoError::Timeout {
                    what: "the call to reach its conference",
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits (at most 20 s) until session `id` is in `state` or done; returns its view.
    pub async fn reach(&self, id: &str, state: State) -> Result<SessionView, DemoError> {
        let mut w = self
            .stack
            .engine
            .watch(id)
            .await
            .ok_or(DemoError::Timeout {
                what: "the session to exist",
            })?;
        let seen = tokio::time::timeout(
            Duration::from_secs(20),
            w.wait_for(|v| v.state == state || v.state == State::Done),
        )
        .await
        .map(|r| r.map(|v| v.clone()));
        match seen {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) => Ok(w.borrow().clone()),
            Err(_) => Err(DemoError::Timeout {
                what: "a session state",
            }),
        }
    }

    /// The HTTP address of the agent page and API.
    pub fn http_addr(&self) -> SocketAddr {
        self.stack.http_addr
    }

    /// Stops the daemon parts and the simulator.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(3), self.tracker.wait()).await;
        self.sim.shutdown();
    }
}
