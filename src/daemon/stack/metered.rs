//! [`MeteredSwitch`]: the engine's [`Switch`] over the inbound client, timing every `api` command
//! (per-call ones included) for `/metrics`.

use crate::metrics::Metrics;
use crate::pay::dialplan::EslSwitch;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use std::sync::Arc;
use std::time::Instant;

/// [`Switch`] over the inbound client that times every command for `/metrics`.
pub struct MeteredSwitch {
    pub inner: EslSwitch,
    pub metrics: Arc<Metrics>,
}

impl Switch for MeteredSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.timed(self.inner.api(cmd))
    }

    fn call_api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.timed(self.inner.call_api(cmd))
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.inner.bgapi(cmd)
    }
}

impl MeteredSwitch {
    fn timed(
        &self,
        fut: BoxFut<Result<String, SwitchError>>,
    ) -> BoxFut<Result<String, SwitchError>> {
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let started = Instant::now();
            let r = fut.await;
            metrics.observe_command(started.elapsed());
            r
        })
    }
}
