//! Shared by `http_api`, `http_auth` and `metrics` (and the HTTP client by `demo` and `live`): the engine
//! driven by the simulator's switch model (no ESL wire in between: `api`/`bgapi` go straight to the
//! sim core and its events straight to the engine), the HTTP server on `127.0.0.1`, scripted parties,
//! and a tiny HTTP/1.1 client (no extra dependency).
//! The same HTTP API over the real stack (ESL over TCP to the simulator) is exercised through
//! `confpayd demo --serve` by `demo` and the browser test (`tests/browser/`).

use confpay::config::Config;
use confpay::http::{self, AppState, Health};
use confpay::metrics::Metrics;
use confpay::pay::caller::Caller;
use confpay::pay::engine::{Engine, EngineConfig};
use confpay::pay::switch::{BoxFut, Switch, SwitchError};
use confpay::pay::{AgentHangupPolicy, AgentId, MachineConfig};
use confpay::secret::Secret;
use confpay::sim::core::{Core, CoreConfig};
use confpay::sim::party::Party;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The card number the scripted customer keys. Must never appear in anything the daemon says.
pub const CARD: &str = "4111111111111111";
/// The agent ID of the rig's call (what the capture service expects before '1').
pub const AGENT_ID: &str = "31";
pub const ROOM_PREFIX: &str = "confpay-";

/// The engine's switch: the simulator core, in process.
pub struct SimSwitch(pub Core);

impl Switch for SimSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let core = self.0.clone();
        Box::pin(async move {
            let (name, args) = cmd.split_once(' ').unwrap_or((cmd.as_str(), ""));
            Ok(core.api(name, args).await)
        })
    }
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.api(cmd)
    }
}

pub fn machine_config() -> MachineConfig {
    MachineConfig {
        capture_dial: "sofia/gateway/pstn/capture".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: String::new(),
        // The simulated capture service expects the agent ID then '1', no terminator.
        agent_id_suffix: String::new(),
        dtmf_duration_ms: 100,
        agent_id_delay: Duration::from_millis(200),
        capture_answer_timeout: Duration::from_secs(5),
        max_capture: Duration::from_secs(120),
        agent_id_entry_timeout: Duration::from_secs(20),
        step_timeout: Duration::from_secs(5),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    }
}

/// One running engine + HTTP server on a simulated switch.
pub struct Rig {
    pub core: Core,
    pub engine: Engine,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub config: watch::Sender<Arc<Config>>,
    pub addr: SocketAddr,
    pub capture: Party,
    pub shutdown: CancellationToken,
}

impl Rig {
    /// Starts everything; `token` is `http.token` ("" = no auth); `listen` usually `127.0.0.1:0`.
    pub async fn start(token: &str, listen: SocketAddr, capture: Party) -> Rig {
        let mut config = Config::default();
        config.http.token = Secret::new(token);
        Rig::start_with(config, listen, capture).await
    }

    /// [`Rig::start`] with a whole configuration (HTTP limits, agent tokens, allowed origins).
    pub async fn start_with(config: Config, listen: SocketAddr, capture: Party) -> Rig {
        let core = Core::new(CoreConfig::default());
        core.register_party("capture", capture.clone());
        let metrics = Arc::new(Metrics::new());
        let cfg = EngineConfig {
            machine: machine_config(),
            start_subclass: "confpay::start".into(),
            room_prefix: ROOM_PREFIX.into(),
        };
        let engine = Engine::spawn_with_metrics(
            cfg,
            Arc::new(SimSwitch(core.clone())),
            Some(metrics.clone()),
        );
        let mut events = core.subscribe();
        let pump = engine.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                pump.event((*e).clone()).await;
            }
        });
        let config = watch::Sender::new(Arc::new(config));
        let health = Arc::new(Health::new());
        health.set_esl_connected(true);
        health.set_outbound_listening(true);
        let listener = http::bind(listen).await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let app = AppState {
            engine: engine.clone(),
            config: config.subscribe(),
            metrics: metrics.clone(),
            health: health.clone(),
            cluster: None,
        };
        tokio::spawn(http::serve(listener, app, shutdown.clone()));
        Rig {
            core,
            engine,
            metrics,
            health,
            config,
            addr,
            capture,
            shutdown,
        }
    }

    /// A dialplan-driven call: customer and agent parties joined to the call's conference and
    /// registered with the engine. Returns `(customer uuid, agent uuid)`.
    pub async fn call(&self, n: u32, agent_id: Option<&str>) -> (String, String) {
        let customer = format!("cust-{n:04}-0000-4000-8000-000000000000");
        let agent = format!("agnt-{n:04}-0000-4000-8000-000000000000");
        let cname = format!("customer{n}");
        let aname = format!("agent{n}");
        self.core.register_party(&cname, Party::customer(&cname));
        self.core.register_party(&aname, Party::agent(&aname));
        self.engine
            .register_call(
                customer.clone(),
                agent.clone(),
                agent_id.and_then(AgentId::parse),
                Caller {
                    number: Some(format!("+4930{n:06}")),
                    name: Some(format!("Customer {n}")),
                    answered_at: Some(SystemTime::now()),
                },
            )
            .await
            .expect("call registered");
        let room = format!("{ROOM_PREFIX}{customer}");
        // As the dialplan joins them: the customer relays DTMF to the capture service, the agent's
        // ears get none.
        for (uuid, who, flags) in [
            (&customer, &cname, confpay::pay::CUSTOMER_FLAGS),
            (&agent, &aname, confpay::pay::AGENT_FLAGS),
        ] {
            let reply = self
                .core
                .api(
                    "originate",
                    &format!("{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference({room}@confpay+flags{{{flags}}})"),
                )
                .await;
            assert!(reply.starts_with("+OK"), "originate {who}: {reply}");
        }
        (customer, agent)
    }

    /// The scripted customer: once session `id` is capturing, keys the card (after `delay`).
    pub fn customer_keys_card_when_capturing(&self, id: &str, customer: &str, delay: Duration) {
        let engine = self.engine.clone();
        let core = self.core.clone();
        let id = id.to_owned();
        let customer = customer.to_owned();
        tokio::spawn(async move {
            let Some(mut rx) = engine.watch(&id).await else {
                return;
            };
            let capturing = rx
                .wait_for(|v| v.state == confpay::pay::State::Capturing)
                .await
                .is_ok();
            if capturing {
                tokio::time::sleep(delay).await;
                let _ = core.press(&customer, CARD);
            }
        });
    }
}

pub mod client;
pub use client::*;
