//! The daemon's working parts, started in order: inbound ESL client (a refused password is exit 78
//! before anything listens), the engine (with recovery of payments found in FreeSWITCH), the outbound
//! socket server, the HTTP API and page. The same [`Stack::start`] runs under `confpayd`, in
//! integration tests against the simulator, and in the demo.

use super::component::ComponentError;
use crate::config::{Config, OnAgentHangup, PaymentConfig};
use crate::esl::client_error::ClientError;
use crate::esl::command::{EventFormat, EventSet};
use crate::esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
use crate::esl::outbound::{AllowList, OutboundConfig, OutboundServer};
use crate::http::{self, AppState, health::Health};
use crate::metrics::Metrics;
use crate::pay::dialplan::{self, CallSetup, EslSwitch};
use crate::pay::engine::{Engine, EngineConfig};
use crate::pay::machine::MachineConfig;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use crate::pay::types::AgentHangupPolicy;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Prefix of the per-call conference names.
pub const ROOM_PREFIX: &str = "confpay-";

/// How long shutdown lets a running capture go on before cancelling (and restoring) it; within the
/// supervisor's grace period.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(6);

/// The running parts.
pub struct Stack {
    pub engine: Engine,
    pub client: InboundClient,
    pub switch: Arc<dyn Switch>,
    pub outbound_addr: SocketAddr,
    pub http_addr: SocketAddr,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Keeps the configuration channel open when the stack was started from a fixed config.
    _config: Option<watch::Sender<Arc<Config>>>,
}

/// [`Switch`] over the inbound client that times every command for `/metrics`.
struct MeteredSwitch {
    inner: EslSwitch,
    metrics: Arc<Metrics>,
}

impl Switch for MeteredSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let fut = self.inner.api(cmd);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let started = Instant::now();
            let r = fut.await;
            metrics.observe_command(started.elapsed());
            r
        })
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.inner.bgapi(cmd)
    }
}

/// The engine's settings from `[payment]`.
pub fn engine_config(p: &PaymentConfig) -> EngineConfig {
    EngineConfig {
        machine: MachineConfig {
            capture_dial: p.capture_dial.clone(),
            profile: p.conference_profile.clone(),
            hold_music: p.hold_music.clone(),
            agent_id_prefix: p.agent_id_prefix.clone(),
            agent_id_suffix: p.agent_id_suffix.clone(),
            dtmf_duration_ms: u32::try_from(p.dtmf_duration_ms).unwrap_or(100),
            agent_id_delay: p.agent_id_delay(),
            capture_answer_timeout: p.capture_answer_timeout(),
            max_capture: p.max_capture(),
            agent_id_entry_timeout: p.agent_id_entry_timeout(),
            step_timeout: Duration::from_secs(10),
            on_agent_hangup: agent_policy(p),
        },
        start_subclass: p.start_event_subclass.clone(),
        room_prefix: ROOM_PREFIX.to_owned(),
    }
}

fn agent_policy(p: &PaymentConfig) -> AgentHangupPolicy {
    match p.on_agent_hangup {
        OnAgentHangup::Hangup => AgentHangupPolicy::Hangup,
        OnAgentHangup::Transfer => AgentHangupPolicy::Transfer(p.agent_hangup_transfer.clone()),
    }
}

/// What the engine subscribes to. No CHANNEL_* noise it does not use; DTMF because the agent keys
/// the agent ID and the customer the start key (customer digits during capture fire no event:
/// `sensitive_dtmf=true`).
pub fn subscription(start_subclass: &str) -> Subscription {
    Subscription {
        format: EventFormat::Plain,
        events: EventSet::new()
            .events([
                "CHANNEL_CREATE",
                "CHANNEL_ANSWER",
                "CHANNEL_BRIDGE",
                "CHANNEL_UNBRIDGE",
                "CHANNEL_HANGUP",
                "DTMF",
                "BACKGROUND_JOB",
            ])
            .custom("conference::maintenance")
            .custom(start_subclass),
        filters: Vec::new(),
    }
}

impl Stack {
    /// Starts every part from a fixed configuration (tests, demo); returns once all are up.
    pub async fn start(
        config: &Config,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Stack, ComponentError> {
        let (tx, rx) = watch::channel(Arc::new(config.clone()));
        let mut stack = Stack::start_live(rx, tracker, shutdown).await?;
        stack._config = Some(tx);
        Ok(stack)
    }

    /// Starts every part; keys applied live (e.g. `http.token`) are read from `live`.
    pub async fn start_live(
        live: watch::Receiver<Arc<Config>>,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Stack, ComponentError> {
        let config = live.borrow().clone();
        let config = config.as_ref();
        let health = Arc::new(Health::new());
        let metrics = Arc::new(Metrics::new());
        let inbound = InboundConfig {
            addr: config.esl.address.clone(),
            password: config.esl.password.clone(),
            command_timeout: config.esl.command_timeout(),
            job_timeout: config.payment.capture_answer_timeout() + Duration::from_secs(30),
            reconnect_initial: config.esl.reconnect_initial(),
            reconnect_max: config.esl.reconnect_max(),
            max_frame_bytes: config.esl.max_frame_bytes,
            event_buffer: 1024,
            subscription: subscription(&config.payment.start_event_subclass),
        };
        let connect = tokio::time::timeout(
            config.esl.connect_timeout() * 2,
            InboundClient::connect(inbound),
        );
        let (client, mut events) = match connect.await {
            Ok(Ok(pair)) => pair,
            Ok(Err(ClientError::AuthFailed)) => {
                return Err(ComponentError::EslAuthRefused {
                    address: config.esl.address.clone(),
                });
            }
            Ok(Err(e)) => {
                return Err(ComponentError::Failed {
                    component: "esl",
                    reason: format!("{} ({e})", config.esl.address),
                });
            }
            Err(_) => {
                return Err(ComponentError::Failed {
                    component: "esl",
                    reason: format!("{}: no answer in time", config.esl.address),
                });
            }
        };
        health.set_esl_connected(true);
        // Cancelled once running payments are drained after `shutdown` (see `Engine::drain`).
        let drained = CancellationToken::new();
        let ecfg = engine_config(&config.payment);
        let switch: Arc<dyn Switch> = Arc::new(MeteredSwitch {
            inner: EslSwitch(client.clone()),
            metrics: metrics.clone(),
        });
        let engine =
            Engine::spawn_with_metrics(ecfg.clone(), switch.clone(), Some(metrics.clone()));
        super::loglevel::check(switch.as_ref()).await;
        let recovered = engine.recover(switch.clone(), &ecfg).await;
        if recovered > 0 {
            info!(
                calls = recovered,
                "found calls of a previous run in FreeSWITCH"
            );
        }
        {
            let engine = engine.clone();
            let health = health.clone();
            let metrics = metrics.clone();
            let switch = switch.clone();
            let checks = tracker.clone();
            // Events keep flowing while payments drain after a shutdown request.
            let shutdown = drained.clone();
            tracker.spawn(async move {
                // The first `Connected` is the start-up connection; later ones are reconnects.
                let mut first = true;
                loop {
                    let ev = tokio::select! {
                        _ = shutdown.cancelled() => break,
                        ev = events.recv() => ev,
                    };
                    match ev {
                        Some(ClientEvent::Event(e)) => engine.event(e).await,
                        Some(ClientEvent::Connected { core_uuid }) => {
                            health.set_esl_connected(true);
                            if std::mem::take(&mut first) {
                                continue;
                            }
                            metrics.esl_reconnected();
                            info!(
                                core_uuid = core_uuid.as_deref().unwrap_or(""),
                                "ESL connection back; resynchronising sessions"
                            );
                            engine.connection_back().await;
                            // FreeSWITCH may have restarted with another switch.conf.xml.
                            let switch = switch.clone();
                            checks.spawn(async move {
                                super::loglevel::check(switch.as_ref()).await;
                            });
                        }
                        Some(ClientEvent::Disconnected { reason }) => {
                            health.set_esl_connected(false);
                            warn!(reason = ?reason, "ESL connection lost; reconnecting");
                            engine.connection_lost().await;
                        }
                        None => break,
                    }
                }
            });
        }
        let allow =
            AllowList::parse(config.outbound.allow.iter().map(|c| c.to_string())).map_err(|e| {
                ComponentError::Failed {
                    component: "outbound",
                    reason: e.to_string(),
                }
            })?;
        let ocfg = OutboundConfig {
            listen: config.outbound.listen,
            allow,
            command_timeout: config.esl.command_timeout(),
            job_timeout: config.payment.capture_answer_timeout() + Duration::from_secs(30),
            max_frame_bytes: config.esl.max_frame_bytes,
            ..OutboundConfig::default()
        };
        let server = OutboundServer::bind(ocfg)
            .await
            .map_err(|source| ComponentError::Bind {
                component: "outbound",
                address: config.outbound.listen,
                source,
            })?;
        let outbound_addr = server.local_addr().map_err(|source| ComponentError::Bind {
            component: "outbound",
            address: config.outbound.listen,
            source,
        })?;
        health.set_outbound_listening(true);
        info!(address = %outbound_addr, "outbound socket server listening");
        let setup = CallSetup {
            room_prefix: ROOM_PREFIX.to_owned(),
            profile: config.payment.conference_profile.clone(),
            on_agent_unreachable: agent_policy(&config.payment),
        };
        {
            let engine = engine.clone();
            let switch = switch.clone();
            let health = health.clone();
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                server
                    .run(
                        move |call| {
                            dialplan::handle_call(
                                engine.clone(),
                                switch.clone(),
                                setup.clone(),
                                call,
                            )
                        },
                        shutdown,
                    )
                    .await;
                health.set_outbound_listening(false);
            });
        }
        {
            // SIGTERM: let a running capture finish (bounded), restore the rest.
            let engine = engine.clone();
            let shutdown = shutdown.clone();
            let drained = drained.clone();
            tracker.spawn(async move {
                shutdown.cancelled().await;
                engine.drain(DRAIN_LIMIT).await;
                drained.cancel();
            });
        }
        {
            // `[payment]` keys apply live to payments started after a reload.
            let engine = engine.clone();
            let mut live = live.clone();
            let shutdown = shutdown.clone();
            tracker.spawn(async move {
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        changed = live.changed() => if changed.is_err() { break },
                    }
                    let payment = live.borrow_and_update().payment.clone();
                    engine.configure(engine_config(&payment)).await;
                }
            });
        }
        let listener =
            http::bind(config.http.listen)
                .await
                .map_err(|source| ComponentError::Bind {
                    component: "http",
                    address: config.http.listen,
                    source,
                })?;
        let http_addr = listener
            .local_addr()
            .map_err(|source| ComponentError::Bind {
                component: "http",
                address: config.http.listen,
                source,
            })?;
        let app = AppState {
            engine: engine.clone(),
            config: live.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
        };
        tracker.spawn(http::serve(listener, app, shutdown.clone()));
        Ok(Stack {
            engine,
            client,
            switch,
            outbound_addr,
            http_addr,
            health,
            metrics,
            _config: None,
        })
    }
}
