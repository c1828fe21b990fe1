//! Interactive part of the demo (`confpayd demo --serve`): one fresh scripted call stays up, and the
//! agent page is served until Ctrl-C, so a person can press Start payment and Start capture
//! themselves. The scripted customer keys the test card about three seconds after capture starts
//! (time to watch the page's capture timer tick); the simulated capture service hangs up once it
//! has all digits, and a fresh one is registered for the next payment. Card digits are never
//! printed.

use super::world::{CAPTURE_DIAL, CARD, World};
use crate::pay::State;
use crate::pay::engine::Engine;
use crate::sim::core::Core;
use crate::sim::party::Party;
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Follows one session: keys the card once it captures, then readies a fresh capture service.
fn follow(engine: Engine, core: Core, customer: String, id: String, delay: Duration) {
    tokio::spawn(async move {
        let Some(mut rx) = engine.watch(&id).await else {
            return;
        };
        let capturing = rx
            .wait_for(|v| v.state == State::Capturing || v.state == State::Done)
            .await
            .map(|v| v.state == State::Capturing)
            .unwrap_or(false);
        if capturing {
            tokio::time::sleep(delay).await;
            // The customer may have gone meanwhile; nothing to do then.
            let _ = core.press(&customer, CARD);
        }
        let _ = rx.wait_for(|v| v.state == State::Done).await;
        core.register_party(
            CAPTURE_DIAL,
            Party::capture(
                "capture",
                &format!("{}#", super::world::AGENT_ID),
                CARD.len(),
            ),
        );
    });
}

/// Serves until `stop` is cancelled: every new session on the engine gets a scripted customer.
pub async fn run(world: &World, customer: &str, stop: CancellationToken) {
    let engine = world.stack.engine.clone();
    let core = world.sim.core().clone();
    let delay = Duration::from_millis(3000).div_f64(world.speed.max(0.01));
    let mut seen = HashSet::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        for call in engine.calls().await {
            if let Some(s) = call.session
                && seen.insert(s.id.clone())
            {
                follow(
                    engine.clone(),
                    core.clone(),
                    customer.to_owned(),
                    s.id,
                    delay,
                );
            }
        }
    }
}
