//! The event pump: the inbound client's events into the engine, connection changes into health,
//! metrics and resynchronisation. An optional [`EventTap`] sees every event around the engine (the
//! load tool's latency probe and readiness count).

use crate::esl::Event;
use crate::esl::inbound::ClientEvent;
use crate::http::health::Health;
use crate::metrics::Metrics;
use crate::pay::engine::Engine;
use crate::pay::switch::Switch;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Runs once the engine has an event.
pub type AfterEngine = Box<dyn FnOnce() + Send>;

/// Sees each event before the engine does; what it returns runs once the engine has the event.
pub trait EventTap: Send + Sync {
    fn seen(&self, event: &Event) -> Option<AfterEngine>;
}

/// What the pump hands events and connection changes to.
pub struct Pump {
    pub engine: Engine,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub switch: Arc<dyn Switch>,
    pub tap: Option<Arc<dyn EventTap>>,
    /// Where the FreeSWITCH log-level check after a reconnect runs.
    pub checks: TaskTracker,
}

impl Pump {
    /// Pumps until `stop` (events keep flowing while payments drain after a shutdown request, so
    /// this is the drained token, not the shutdown one) or the client is gone.
    pub async fn run(self, mut events: mpsc::Receiver<ClientEvent>, stop: CancellationToken) {
        // The first `Connected` is the start-up connection; later ones are reconnects.
        let mut first = true;
        loop {
            let ev = tokio::select! {
                _ = stop.cancelled() => break,
                ev = events.recv() => ev,
            };
            match ev {
                Some(ClientEvent::Event(e)) => self.event(e).await,
                Some(ClientEvent::Connected { core_uuid }) => {
                    self.health.set_esl_connected(true);
                    if !std::mem::take(&mut first) {
                        self.reconnected(core_uuid.as_deref()).await;
                    }
                }
                Some(ClientEvent::Disconnected { reason }) => {
                    self.health.set_esl_connected(false);
                    warn!(reason = ?reason, "ESL connection lost; reconnecting");
                    self.engine.connection_lost().await;
                }
                None => break,
            }
        }
    }

    async fn event(&self, event: Event) {
        let after = self.tap.as_ref().and_then(|tap| tap.seen(&event));
        self.engine.event(event).await;
        if let Some(after) = after {
            after();
        }
    }

    async fn reconnected(&self, core_uuid: Option<&str>) {
        self.metrics.esl_reconnected();
        info!(
            core_uuid = core_uuid.unwrap_or(""),
            "ESL connection back; resynchronising sessions"
        );
        self.engine.connection_back().await;
        // FreeSWITCH may have restarted with another switch.conf.xml.
        let switch = self.switch.clone();
        self.checks.spawn(async move {
            crate::daemon::loglevel::check(switch.as_ref()).await;
        });
    }
}
