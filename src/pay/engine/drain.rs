//! Graceful shutdown: payments in progress are let finish or cancelled, never left half-done.

use super::Engine;
use crate::pay::machine::State;
use crate::pay::session::SessionView;
use tracing::{info, warn};

impl Engine {
    /// Graceful shutdown: a capture in progress may finish within `limit`; then every running
    /// session is cancelled, which restores agent and customer (capture leg down, isolation
    /// cleared). Calls are never hung up by this.
    pub async fn drain(&self, limit: std::time::Duration) {
        let running: Vec<SessionView> = self
            .calls()
            .await
            .into_iter()
            .filter_map(|c| c.session)
            .filter(|s| s.state != State::Done)
            .collect();
        if running.is_empty() {
            return;
        }
        info!(sessions = running.len(), limit = ?limit, "draining payments before shutdown");
        let deadline = tokio::time::Instant::now() + limit;
        for s in &running {
            let Some(mut w) = self.watch(&s.id).await else {
                continue;
            };
            if s.state == State::Capturing {
                let _ =
                    tokio::time::timeout_at(deadline, w.wait_for(|v| v.state == State::Done)).await;
            }
            if w.borrow().state != State::Done {
                warn!(session = %s.id, state = ?w.borrow().state, "cancelling payment for shutdown");
                let _ = self.cancel(&s.id).await;
                let restore = std::time::Duration::from_secs(5);
                let _ = tokio::time::timeout(restore, w.wait_for(|v| v.state == State::Done)).await;
            }
        }
    }
}
