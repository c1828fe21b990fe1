//! The event pump: what the daemon does around the engine as the inbound client's events and
//! connection changes come — health, metrics, the FreeSWITCH log-level check after a reconnect, and
//! an optional [`EventTap`] that sees every event around the engine (the load tool's latency probe
//! and readiness count). The engine's task reads the events itself ([`crate::pay::engine::Feed`]):
//! the pump is its [`Link`], not a task of its own (one task wake-up less per event).

use crate::esl::Event;
use crate::esl::client_error::LossReason;
use crate::http::health::Health;
use crate::metrics::Metrics;
use crate::pay::engine::{AfterEvent, Link};
use crate::pay::switch::Switch;
use std::sync::Arc;
use std::time::Instant;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// Runs once the engine has an event.
pub type AfterEngine = AfterEvent;

/// Sees each event before the engine does (`at`: when the inbound client handed it on); what it
/// returns runs once the engine has the event.
pub trait EventTap: Send + Sync {
    fn seen(&self, event: &Event, at: Instant) -> Option<AfterEngine>;
}

/// What the daemon does as the engine's feed brings events and connection changes.
pub struct Pump {
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub switch: Arc<dyn Switch>,
    pub tap: Option<Arc<dyn EventTap>>,
    /// Where the FreeSWITCH log-level check after a reconnect runs.
    pub checks: TaskTracker,
}

impl Link for Pump {
    fn seen(&mut self, event: &Event, at: Instant) -> Option<AfterEvent> {
        self.tap.as_ref().and_then(|tap| tap.seen(event, at))
    }

    fn connected(&mut self, core_uuid: Option<&str>, again: bool) {
        self.health.set_esl_connected(true);
        if !again {
            return;
        }
        self.metrics.esl_reconnected();
        info!(
            core_uuid = core_uuid.unwrap_or(""),
            "ESL connection back; resynchronising sessions"
        );
        // FreeSWITCH may have restarted with another switch.conf.xml.
        let switch = self.switch.clone();
        self.checks.spawn(async move {
            crate::daemon::loglevel::check(switch.as_ref()).await;
        });
    }

    fn lost(&mut self, reason: &LossReason) {
        self.health.set_esl_connected(false);
        warn!(reason = ?reason, "ESL connection lost; reconnecting");
    }
}
