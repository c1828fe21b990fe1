//! The daemon's parts as the load tool runs them: the daemon's own [`StackBuilder`], with the
//! [`LatencyProbe`] around the switch and, as the event tap, before the engine, and the
//! [`ReadyTracker`] after the engine takes each event. Everything is spawned on the caller's
//! runtime: the load tool's single-thread "daemon core".

use super::probe::{LatencyProbe, ProbedSwitch};
use super::ready::ReadyTracker;
use confpay::config::{Config, PaymentConfig};
use confpay::daemon::component::ComponentError;
use confpay::daemon::stack::{self, AfterEngine, EventTap, Stack, StackBuilder};
use confpay::pay::switch::Switch;
use confpay_esl::Event;
use confpay_esl::outbound::OutboundServer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The capture service's dial string the daemon is configured with (the simulator's default).
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";

/// The running daemon parts.
pub struct Daemon {
    pub stack: Stack,
    pub shutdown: CancellationToken,
}

impl Daemon {
    pub fn stop(&self) {
        self.shutdown.cancel();
        self.stack.client.shutdown();
    }
}

/// The payment settings of a load run: production defaults, the simulator's capture dial string,
/// a 30 s answer timeout, and the given pause before the agent ID.
pub fn payment_config(agent_id_delay: Duration) -> PaymentConfig {
    PaymentConfig {
        capture_dial: CAPTURE_DIAL.to_owned(),
        capture_answer_timeout_s: 30,
        agent_id_delay_ms: u64::try_from(agent_id_delay.as_millis()).unwrap_or(u64::MAX),
        ..PaymentConfig::default()
    }
}

/// The daemon's configuration for a load run: production defaults, [`payment_config`], every
/// listener on loopback with a kernel-chosen port. The ESL address is set once the simulator is up.
pub fn config(agent_id_delay: Duration) -> Config {
    let mut c = Config::default();
    c.outbound.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.http.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    c.payment = payment_config(agent_id_delay);
    c
}

/// Binds the outbound listener before the simulator starts, so the simulator's `socket` extension
/// can be pointed at it.
pub async fn bind_outbound(
    config: &Config,
) -> Result<(OutboundServer, SocketAddr), ComponentError> {
    let server = stack::bind_outbound(config).await?;
    let addr = server.local_addr().map_err(|source| ComponentError::Bind {
        component: "outbound",
        address: config.outbound.listen,
        source,
    })?;
    Ok((server, addr))
}

/// The probe and the readiness count, seeing every event around the engine.
struct LoadTap {
    probe: Arc<LatencyProbe>,
    ready: Arc<ReadyTracker>,
}

impl EventTap for LoadTap {
    fn seen(&self, event: &Event, at: Instant) -> Option<AfterEngine> {
        self.probe.event_arrived(event, at);
        // Read before the engine takes the event, counted after it has it.
        let customer = self.ready.joining(event)?;
        let ready = self.ready.clone();
        Some(Box::new(move || ready.joined(customer)))
    }
}

/// Starts the daemon's parts against the simulator named by `config.esl.address`, serving calls on
/// the already bound `server`.
pub async fn start(
    config: &Config,
    server: OutboundServer,
    probe: Arc<LatencyProbe>,
    ready: Arc<ReadyTracker>,
) -> Result<Daemon, ComponentError> {
    let shutdown = CancellationToken::new();
    let layer_probe = probe.clone();
    let stack = StackBuilder::fixed(config)
        .outbound_server(server)
        .switch_layer(Box::new(move |inner: Arc<dyn Switch>| {
            Arc::new(ProbedSwitch {
                inner,
                probe: layer_probe,
            }) as Arc<dyn Switch>
        }))
        .event_tap(Arc::new(LoadTap { probe, ready }))
        .start(&TaskTracker::new(), &shutdown)
        .await?;
    Ok(Daemon { stack, shutdown })
}
