//! The daemon's parts as the load tool runs them: assembled like [`confpay::daemon::stack::Stack`]
//! (inbound client, engine, event pump, outbound server running `pay::dialplan::handle_call`) but
//! with the [`LatencyProbe`] between the pump, the engine and the switch, and the
//! [`ReadyTracker`] after the engine in the pump. No HTTP API (it plays no part in a payment).
//! Everything is spawned on the caller's runtime: the load tool's single-thread "daemon core".

use super::probe::{LatencyProbe, ProbedSwitch};
use super::ready::ReadyTracker;
use confpay::config::PaymentConfig;
use confpay::daemon::stack::{ROOM_PREFIX, engine_config, subscription};
use confpay::pay::dialplan::{self, CallSetup, EslSwitch};
use confpay::pay::engine::Engine;
use confpay::pay::switch::Switch;
use confpay::pay::types::AgentHangupPolicy;
use confpay_esl::client_error::ClientError;
use confpay_esl::inbound::{ClientEvent, InboundClient, InboundConfig};
use confpay_esl::outbound::{OutboundConfig, OutboundServer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The capture service's dial string the daemon is configured with (the simulator's default).
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";

/// The running daemon parts.
pub struct Daemon {
    pub engine: Engine,
    pub client: InboundClient,
    pub shutdown: CancellationToken,
}

impl Daemon {
    pub fn stop(&self) {
        self.shutdown.cancel();
        self.client.shutdown();
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

/// Binds the outbound listener (loopback, kernel-chosen port) before the simulator starts, so the
/// simulator's `socket` extension can be pointed at it.
pub async fn bind_outbound() -> std::io::Result<(OutboundServer, SocketAddr)> {
    let server = OutboundServer::bind(OutboundConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        ..OutboundConfig::default()
    })
    .await?;
    let addr = server.local_addr()?;
    Ok((server, addr))
}

/// Connects to the simulator at `esl` and starts the engine, the event pump and the outbound server.
pub async fn start(
    esl: SocketAddr,
    server: OutboundServer,
    payment: &PaymentConfig,
    probe: Arc<LatencyProbe>,
    ready: Arc<ReadyTracker>,
) -> Result<Daemon, ClientError> {
    let inbound = InboundConfig {
        addr: esl.to_string(),
        event_buffer: 1024,
        subscription: subscription(&payment.start_event_subclass),
        ..InboundConfig::default()
    };
    let (client, mut events) = InboundClient::connect(inbound).await?;
    let switch: Arc<dyn Switch> = Arc::new(ProbedSwitch {
        inner: Arc::new(EslSwitch(client.clone())),
        probe: probe.clone(),
    });
    let engine = Engine::spawn(engine_config(payment), switch.clone());
    let shutdown = CancellationToken::new();
    {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    ev = events.recv() => ev,
                };
                match ev {
                    Some(ClientEvent::Event(e)) => {
                        probe.event_arrived(&e);
                        // Read before the engine takes the event, counted after it has it.
                        let joining = ready.joining(&e);
                        engine.event(e).await;
                        if let Some(customer) = joining {
                            ready.joined(customer);
                        }
                    }
                    Some(ClientEvent::Connected { .. }) => {}
                    Some(ClientEvent::Disconnected { .. }) => engine.connection_lost().await,
                    None => break,
                }
            }
        });
    }
    let setup = CallSetup {
        room_prefix: ROOM_PREFIX.to_owned(),
        profile: payment.conference_profile.clone(),
        on_agent_unreachable: AgentHangupPolicy::Hangup,
    };
    {
        let engine = engine.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            server
                .run(
                    move |call| {
                        dialplan::handle_call(engine.clone(), switch.clone(), setup.clone(), call)
                    },
                    shutdown,
                )
                .await;
        });
    }
    Ok(Daemon {
        engine,
        client,
        shutdown,
    })
}
