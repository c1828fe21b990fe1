//! A session's sequential command queue ([`CommandQueue`]): the machine's commands sent one after
//! another, each once the previous one was answered, the reply fed back to the session; the first
//! command reacting to an event timed for `/metrics` from when the engine got the event.

use super::Envelope;
use crate::metrics::Metrics;
use crate::pay::commands::{api_text, check};
use crate::pay::switch::{Switch, SwitchError};
use crate::pay::types::{Cmd, Input, Step};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::warn;

/// A session's sequential command queue: each command sent once the previous one was answered, its
/// reply fed back to the session.
pub(super) struct CommandQueue {
    pub(super) id: String,
    pub(super) switch: Arc<dyn Switch>,
    pub(super) inputs: mpsc::Sender<Envelope>,
    pub(super) metrics: Option<Arc<Metrics>>,
}

impl CommandQueue {
    pub(super) async fn run(self, mut rx: mpsc::UnboundedReceiver<(Step, Cmd, Option<Instant>)>) {
        let CommandQueue {
            id,
            switch,
            inputs,
            metrics,
        } = self;
        while let Some((step, cmd, event_at)) = rx.recv().await {
            let text = api_text(&cmd);
            if let (Some(at), Some(m)) = (event_at, &metrics) {
                m.observe_event_to_command(at.elapsed());
            }
            let (ok, reply) = match switch.call_api(text).await {
                Ok(reply) if matches!(cmd, Cmd::Verify { .. }) => {
                    let ok = check(&cmd, &reply);
                    // The member list is long and says nothing useful in a log line.
                    let why = if ok {
                        "+OK"
                    } else {
                        "-ERR the capture leg or the customer is not in the conference"
                    };
                    (ok, why.to_owned())
                }
                Ok(reply) => (check(&cmd, &reply), reply.trim_end().to_owned()),
                Err(why @ SwitchError::NoConnection { .. }) => {
                    // Not FreeSWITCH's answer: the command may or may not have run. Suspend (the
                    // engine's own notice may come later) and let the resync read the truth back.
                    warn!(session = %id, step = ?step, error = %why, "command lost with the connection");
                    let _ = inputs.send((Input::ConnectionLost, None)).await;
                    continue;
                }
                Err(
                    why @ (SwitchError::Timeout { .. }
                    | SwitchError::JobTimeout { .. }
                    | SwitchError::Refused { .. }
                    | SwitchError::Unexpected { .. }
                    | SwitchError::Unsendable { .. }
                    | SwitchError::Unusable { .. }),
                ) => (false, why.to_string()),
            };
            if !ok {
                warn!(session = %id, step = ?step, reply = %reply, "command refused");
            }
            // The session may have ended meanwhile; the commands it queued before ending (capture leg
            // down, the agent-hangup policy, restore steps) are still sent: the loop ends only once the
            // queue is empty and the session dropped its end of it.
            let _ = inputs.send((Input::Reply { step, ok, reply }, None)).await;
        }
    }
}
