//! The daemon's working parts, started in order: inbound ESL client (a refused password is exit 78
//! before anything listens), the engine (with recovery of payments found in FreeSWITCH), the outbound
//! socket server, the cluster membership (only with `[cluster]`), the HTTP API and page. One [`StackBuilder`] builds them for `confpayd`, the demo,
//! the integration tests against the simulator and the load tool (which adds its probe through
//! [`StackBuilder::switch_layer`] and [`StackBuilder::event_tap`]).
//!
//! | module | job |
//! |---|---|
//! | [`settings`] | every part's settings from the one `Config` |
//! | [`metered`] | `MeteredSwitch`: commands timed and counted for `/metrics`, logged at `debug` |
//! | [`pump`] | the event pump: what the daemon does around the engine's event feed; `EventTap` |
//! | [`scope`] | `FilterScope`: the engine's controlled channels as `Unique-ID` event filters |
//!
//! Webhooks ([`crate::webhooks`]) start before the engine, whose sessions report to them.

pub mod metered;
pub mod pump;
pub mod scope;
pub mod settings;

pub use pump::{AfterEngine, EventTap};
pub use settings::{ROOM_PREFIX, engine_config, subscription};

use super::component::ComponentError;
use crate::cluster::Cluster;
use crate::config::Config;
use crate::esl::client_error::ClientError;
use crate::esl::inbound::{ClientEvent, InboundClient, InboundConfig};
use crate::esl::outbound::OutboundServer;
use crate::http::{self, AppState, health::Health};
use crate::metrics::Metrics;
use crate::pay::dialplan::{self, EslSwitch};
use crate::pay::engine::{Engine, Feed};
use crate::pay::observer::{Fanout, SessionObserver};
use crate::pay::switch::Switch;
use crate::webhooks;
use metered::MeteredSwitch;
use pump::Pump;
use scope::FilterScope;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

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
    /// Cluster mode (`[cluster]`), else `None` (no NATS connection).
    pub cluster: Option<Cluster>,
    /// Keeps the configuration channel open when the stack was started from a fixed config.
    _config: Option<watch::Sender<Arc<Config>>>,
}

/// A layer around the engine's [`Switch`] (the load tool's latency probe).
pub type SwitchLayer = Box<dyn FnOnce(Arc<dyn Switch>) -> Arc<dyn Switch> + Send>;

/// How to start a [`Stack`]: the configuration, and what a caller adds to the daemon's parts.
pub struct StackBuilder {
    live: watch::Receiver<Arc<Config>>,
    fixed: Option<watch::Sender<Arc<Config>>>,
    outbound: Option<OutboundServer>,
    switch_layer: Option<SwitchLayer>,
    tap: Option<Arc<dyn EventTap>>,
}

impl StackBuilder {
    /// Keys applied live (e.g. `http.token`, `[payment]`) are read from `live`.
    pub fn live(live: watch::Receiver<Arc<Config>>) -> StackBuilder {
        StackBuilder {
            live,
            fixed: None,
            outbound: None,
            switch_layer: None,
            tap: None,
        }
    }

    /// A configuration that never changes (tests, demo, load tool).
    pub fn fixed(config: &Config) -> StackBuilder {
        let (tx, rx) = watch::channel(Arc::new(config.clone()));
        StackBuilder {
            fixed: Some(tx),
            ..StackBuilder::live(rx)
        }
    }

    /// An outbound server already bound with [`bind_outbound`] (so its address can be handed to
    /// FreeSWITCH before the stack starts), instead of binding `outbound.listen` at start.
    pub fn outbound_server(mut self, server: OutboundServer) -> StackBuilder {
        self.outbound = Some(server);
        self
    }

    /// Wraps the engine's switch (every command the engine and the call setup send).
    pub fn switch_layer(mut self, layer: SwitchLayer) -> StackBuilder {
        self.switch_layer = Some(layer);
        self
    }

    /// Shows every event to `tap` around the engine.
    pub fn event_tap(mut self, tap: Arc<dyn EventTap>) -> StackBuilder {
        self.tap = Some(tap);
        self
    }

    /// Starts every part in order; returns once all are up. Tasks go to `tracker` and stop on
    /// `shutdown` (running payments are drained first, at most [`DRAIN_LIMIT`]).
    pub async fn start(
        self,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Stack, ComponentError> {
        let config = self.live.borrow().clone();
        let health = Arc::new(Health::new());
        let metrics = Arc::new(Metrics::new());
        let (client, events) = connect_inbound(&config).await?;
        let jobs = connect_jobs(&config).await?;
        health.set_esl_connected(true);
        let metered: Arc<dyn Switch> = Arc::new(MeteredSwitch {
            inner: EslSwitch(jobs),
            metrics: metrics.clone(),
        });
        let switch = match self.switch_layer {
            Some(layer) => layer(metered),
            None => metered,
        };
        let scope = Arc::new(FilterScope::new(client.clone()));
        // Cancelled once running payments are drained after `shutdown` (see `Engine::drain`).
        let drained = CancellationToken::new();
        let webhooks = start_webhooks(&config, &metrics, tracker, shutdown, &drained)?;
        // Cluster mode: every session's view changes are also published for other nodes.
        let (observer, views) = match (webhooks, config.cluster.enabled()) {
            (w, false) => (w, None),
            (w, true) => {
                let (feed, views) = crate::cluster::feed::feed();
                let all: Vec<Arc<dyn SessionObserver>> = w.into_iter().chain([feed as _]).collect();
                (
                    Some(Arc::new(Fanout(all)) as Arc<dyn SessionObserver>),
                    Some(views),
                )
            }
        };
        let engine = start_engine(&config, &switch, &metrics, scope, observer).await;
        let pump = Pump {
            health: health.clone(),
            metrics: metrics.clone(),
            switch: switch.clone(),
            tap: self.tap,
            checks: tracker.clone(),
        };
        engine
            .read_feed(Feed {
                events,
                link: Box::new(pump),
                stop: drained.clone(),
            })
            .await;
        let server = match self.outbound {
            Some(server) => server,
            None => bind_outbound(&config).await?,
        };
        let outbound_addr = serve_outbound(
            &config, server, &engine, &switch, &health, tracker, shutdown,
        )?;
        tracker.spawn(drain_on_shutdown(engine.clone(), shutdown.clone(), drained));
        tracker.spawn(apply_payment_reloads(
            engine.clone(),
            self.live.clone(),
            shutdown.clone(),
        ));
        let cluster = join_cluster(&config, &engine, views, tracker, shutdown).await?;
        let app = AppState {
            engine: engine.clone(),
            config: self.live,
            metrics: metrics.clone(),
            health: health.clone(),
            cluster: cluster.clone(),
        };
        let http_addr = serve_http(&config, app, tracker, shutdown).await?;
        Ok(Stack {
            engine,
            client,
            switch,
            outbound_addr,
            http_addr,
            health,
            metrics,
            cluster,
            _config: self.fixed,
        })
    }
}

impl Stack {
    /// Starts every part from a fixed configuration (tests, demo); returns once all are up.
    pub async fn start(
        config: &Config,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Stack, ComponentError> {
        StackBuilder::fixed(config).start(tracker, shutdown).await
    }

    /// Starts every part; keys applied live (e.g. `http.token`) are read from `live`.
    pub async fn start_live(
        live: watch::Receiver<Arc<Config>>,
        tracker: &TaskTracker,
        shutdown: &CancellationToken,
    ) -> Result<Stack, ComponentError> {
        StackBuilder::live(live).start(tracker, shutdown).await
    }
}

/// Connects and authenticates the inbound client; a refused password is its own error (exit 78).
async fn connect_inbound(
    config: &Config,
) -> Result<(InboundClient, mpsc::Receiver<ClientEvent>), ComponentError> {
    connect_with(config, settings::inbound_config(config)).await
}

async fn connect_with(
    config: &Config,
    settings: InboundConfig,
) -> Result<(InboundClient, mpsc::Receiver<ClientEvent>), ComponentError> {
    let address = &config.esl.address;
    let connect = tokio::time::timeout(
        config.esl.connect_timeout() * 2,
        InboundClient::connect(settings),
    );
    match connect.await {
        Ok(Ok(pair)) => Ok(pair),
        Ok(Err(ClientError::AuthFailed)) => Err(ComponentError::EslAuthRefused {
            address: address.clone(),
        }),
        Ok(Err(e)) => Err(ComponentError::Failed {
            component: "esl",
            reason: format!("{address} ({e})"),
        }),
        Err(_) => Err(ComponentError::Failed {
            component: "esl",
            reason: format!("{address}: no answer in time"),
        }),
    }
}

/// Connects the command connection ([`EslSwitch`]): a second inbound client that subscribes to
/// nothing but BACKGROUND_JOB and hands its callers their answers and their own jobs' results; what
/// else it reports (connected, lost) nobody needs and is drained here. It ends once the last
/// [`EslSwitch`] holding it is dropped.
async fn connect_jobs(config: &Config) -> Result<InboundClient, ComponentError> {
    let mut settings = settings::inbound_config(config);
    settings.subscription = Default::default();
    settings.jobs = true;
    settings.event_buffer = 16;
    let (jobs, mut reports) = connect_with(config, settings).await?;
    tokio::spawn(async move { while reports.recv().await.is_some() {} });
    Ok(jobs)
}

/// Spawns the engine (its calls' legs followed through `scope`), checks FreeSWITCH's log ceiling,
/// and takes over the payments of a previous run still found in FreeSWITCH.
async fn start_engine(
    config: &Config,
    switch: &Arc<dyn Switch>,
    metrics: &Arc<Metrics>,
    scope: Arc<FilterScope>,
    observer: Option<Arc<dyn SessionObserver>>,
) -> Engine {
    let ecfg = engine_config(&config.payment);
    let engine = Engine::spawn_observed(
        ecfg.clone(),
        switch.clone(),
        Some(metrics.clone()),
        Some(scope),
        observer,
    );
    super::loglevel::check(switch.as_ref()).await;
    let recovered = engine.recover(switch.clone(), &ecfg).await;
    if recovered > 0 {
        info!(
            calls = recovered,
            "found calls of a previous run in FreeSWITCH"
        );
    }
    engine
}

/// Starts the webhook delivery of `[webhooks]` (none without endpoints), its spool under
/// `webhooks.spool_dir` or systemd's `$STATE_DIRECTORY`.
fn start_webhooks(
    config: &Config,
    metrics: &Arc<Metrics>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
    drained: &CancellationToken,
) -> Result<Option<Arc<dyn SessionObserver>>, ComponentError> {
    let state_directory = std::env::var("STATE_DIRECTORY").ok();
    let dir = config.webhooks.spool_path(state_directory.as_deref());
    webhooks::start(&config.webhooks, &dir, metrics, tracker, shutdown, drained).map_err(|e| {
        ComponentError::Failed {
            component: "webhooks",
            reason: e.to_string(),
        }
    })
}

/// Binds the outbound socket server on `outbound.listen`.
pub async fn bind_outbound(config: &Config) -> Result<OutboundServer, ComponentError> {
    let bind_error = |source| ComponentError::Bind {
        component: "outbound",
        address: config.outbound.listen,
        source,
    };
    OutboundServer::bind(settings::outbound_config(config))
        .await
        .map_err(bind_error)
}

/// Serves calls handed over by the dialplan's `socket` until `shutdown`; returns the listening address.
fn serve_outbound(
    config: &Config,
    server: OutboundServer,
    engine: &Engine,
    switch: &Arc<dyn Switch>,
    health: &Arc<Health>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<SocketAddr, ComponentError> {
    let outbound_addr = server.local_addr().map_err(|source| ComponentError::Bind {
        component: "outbound",
        address: config.outbound.listen,
        source,
    })?;
    health.set_outbound_listening(true);
    info!(address = %outbound_addr, "outbound socket server listening");
    let setup = settings::call_setup(&config.payment);
    let (engine, switch, health) = (engine.clone(), switch.clone(), health.clone());
    let shutdown = shutdown.clone();
    tracker.spawn(async move {
        let handle =
            move |call| dialplan::handle_call(engine.clone(), switch.clone(), setup.clone(), call);
        server.run(handle, shutdown).await;
        health.set_outbound_listening(false);
    });
    Ok(outbound_addr)
}

/// SIGTERM: lets a running capture finish (bounded), restores the rest, then stops the engine's
/// reading of events.
async fn drain_on_shutdown(
    engine: Engine,
    shutdown: CancellationToken,
    drained: CancellationToken,
) {
    shutdown.cancelled().await;
    engine.drain(DRAIN_LIMIT).await;
    drained.cancel();
}

/// `[payment]` keys apply live to payments started after a reload.
async fn apply_payment_reloads(
    engine: Engine,
    mut live: watch::Receiver<Arc<Config>>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = live.changed() => if changed.is_err() { break },
        }
        let payment = live.borrow_and_update().payment.clone();
        engine.configure(engine_config(&payment)).await;
    }
}

/// Joins the cluster when `[cluster]` names NATS servers (never waits for NATS to be up).
async fn join_cluster(
    config: &Config,
    engine: &Engine,
    views: Option<crate::cluster::feed::FeedQueue>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<Option<Cluster>, ComponentError> {
    let Some(views) = views.filter(|_| config.cluster.enabled()) else {
        return Ok(None);
    };
    Cluster::start(&config.cluster, engine, views, (tracker, shutdown))
        .await
        .map(Some)
        .map_err(|e| ComponentError::Failed {
            component: "cluster",
            reason: e.to_string(),
        })
}

/// Binds and serves the HTTP API and agent page; returns the listening address.
async fn serve_http(
    config: &Config,
    app: AppState,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> Result<SocketAddr, ComponentError> {
    let bind_error = |source| ComponentError::Bind {
        component: "http",
        address: config.http.listen,
        source,
    };
    let listener = http::bind(config.http.listen).await.map_err(bind_error)?;
    let http_addr = listener.local_addr().map_err(bind_error)?;
    tracker.spawn(http::serve(listener, app, shutdown.clone()));
    Ok(http_addr)
}
