//! [`MeteredSwitch`]: the engine's [`Switch`] over the inbound client, timing every `api` command
//! for `/metrics`.

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
