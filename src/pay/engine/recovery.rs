//! Adopting calls found in FreeSWITCH after a daemon restart (see [`recover`]).

use super::{Engine, EngineConfig, Msg};
use crate::pay::audit::Initiator;
use crate::pay::calls::Call;
use crate::pay::machine::{Legs, Machine};
use crate::pay::recover;
use crate::pay::session::{self, SpawnOptions};
use crate::pay::switch::Switch;
use crate::pay::types::*;
use std::sync::Arc;
use tracing::info;

/// Adopts calls found in FreeSWITCH after a daemon restart (see [`recover`]).
impl Engine {
    /// Adopts every payment call FreeSWITCH has; returns how many.
    pub async fn recover(&self, switch: Arc<dyn Switch>, cfg: &EngineConfig) -> usize {
        let found = recover::find_calls(switch.as_ref(), &cfg.room_prefix).await;
        let n = found.len();
        for f in found {
            let mut call = Call::new(f.customer.clone(), f.room.clone(), Topology::InConference);
            call.agent = f.agent.clone();
            call.customer_member = f.snapshot.customer_member;
            call.agent_member = f.snapshot.agent_member;
            call.caller = f.caller.clone();
            {
                let legs = Legs {
                    customer: f.customer.clone(),
                    agent: f.agent.clone().unwrap_or_default(),
                    capture: f.capture.clone().unwrap_or_default(),
                    customer_member: f.snapshot.customer_member,
                    agent_member: f.snapshot.agent_member,
                    capture_member: f.snapshot.capture_member,
                    capture_up: f.capture.is_some(),
                    ..Legs::default()
                };
                let (m, actions) = Machine::recovered(
                    cfg.machine.clone(),
                    f.room.clone(),
                    legs,
                    f.snapshot.clone(),
                );
                let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
                info!(session = %id, call = %f.customer, "recovered a payment in progress after restart");
                call.session = Some(session::spawn(
                    id,
                    m,
                    switch.clone(),
                    SpawnOptions {
                        actions,
                        metrics: self.metrics.clone(),
                        observer: self.observer.clone(),
                        initiator: Initiator::Recovered,
                        ..SpawnOptions::default()
                    },
                ));
            }
            let _ = self
                .tx
                .send(Msg::Adopt {
                    call: Box::new(call),
                })
                .await;
        }
        // Adopted calls are listed once this returns.
        self.settled().await;
        n
    }
}
