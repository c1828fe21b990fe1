//! What the supervisor needs from a component (inbound ESL client, outbound socket server, engine,
//! HTTP API): a [`Context`] to start from, and a [`ComponentError`] when it cannot run.
//!
//! Contract: a component's `start(ctx: Context) -> Result<(), ComponentError>` spawns its tasks with
//! `ctx.tracker.spawn(..)`, returns `Ok(())` only once it is *up* (listener bound, ESL authenticated),
//! stops when `ctx.shutdown` is cancelled, reads keys marked `Apply::Live` from `ctx.config` at the
//! moment it uses them, and reports a failure after start-up with `ctx.fatal(..)`.

use crate::config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Everything a component gets from the supervisor.
#[derive(Clone)]
pub struct Context {
    /// The current configuration; a new value is published on every successful SIGHUP reload.
    pub config: watch::Receiver<Arc<Config>>,
    /// Cancelled when the daemon shuts down.
    pub shutdown: CancellationToken,
    /// Spawn every long-running task here; shutdown waits for them.
    pub tracker: TaskTracker,
    fatal: mpsc::Sender<ComponentError>,
}

impl Context {
    pub fn new(
        config: watch::Receiver<Arc<Config>>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
        fatal: mpsc::Sender<ComponentError>,
    ) -> Context {
        Context {
            config,
            shutdown,
            tracker,
            fatal,
        }
    }

    /// Reports a failure the daemon cannot run without; the supervisor shuts down and exits with the
    /// error's code.
    pub async fn fatal(&self, error: ComponentError) {
        // The supervisor holds the receiver until it exits; if it is gone we are shutting down anyway.
        let _ = self.fatal.send(error).await;
    }
}

/// A component that cannot start or keep running.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// FreeSWITCH refused `esl.password` (exit code 78: retrying will not help).
    #[error("ESL authentication refused by {address}")]
    EslAuthRefused { address: String },
    #[error("{component}: cannot listen on {address}: {source}")]
    Bind {
        component: &'static str,
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{component}: {reason}")]
    Failed {
        component: &'static str,
        reason: String,
    },
}
