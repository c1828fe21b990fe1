//! [`FilterScope`]: the engine's [`ChannelScope`] as `Unique-ID` event filters on the inbound
//! connection. With the subscription's `Event-Name` filters (see [`super::settings::subscription`])
//! FreeSWITCH then sends DTMF only of channels the engine controls; the inbound client re-applies
//! the filters after a reconnect.
//!
//! The engine tells the scope of a change and goes on at once: the `filter` commands are sent by a
//! writer task of their own, one after another in the order asked, each reply awaited there. The
//! replies travel on the connection whose events the engine's task drains, so that task waiting
//! for one could wait behind events only it would read (a full event channel stops the connection
//! reading: a stall until the command timeout, 22 × 5 s in a 5,000-call load run).

use crate::esl::inbound::InboundClient;
use crate::pay::scope::ChannelScope;
use crate::pay::switch::BoxFut;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// The header FreeSWITCH names an event's channel by.
const CHANNEL_HEADER: &str = "Unique-ID";

/// One change for the writer, or a question about them.
enum Op {
    Follow(String),
    Unfollow(String),
    /// Answered once every change queued before it is made.
    Settled(oneshot::Sender<()>),
}

/// [`ChannelScope`] over the inbound client's filters.
pub struct FilterScope {
    /// Unbounded: the engine must never wait to queue a change; there is one per leg that comes or
    /// goes, and the writer takes them as fast as the switch answers.
    ops: mpsc::UnboundedSender<Op>,
}

impl FilterScope {
    /// Starts the writer over `client`; it ends once the scope is dropped.
    pub fn new(client: InboundClient) -> FilterScope {
        let (ops, rx) = mpsc::unbounded_channel();
        tokio::spawn(write(client, rx));
        FilterScope { ops }
    }
}

impl ChannelScope for FilterScope {
    fn follow(&self, uuid: String) {
        let _ = self.ops.send(Op::Follow(uuid));
    }

    fn unfollow(&self, uuid: String) {
        let _ = self.ops.send(Op::Unfollow(uuid));
    }

    fn settled(&self) -> BoxFut<()> {
        let (tx, rx) = oneshot::channel();
        let _ = self.ops.send(Op::Settled(tx));
        // Gone writer: nothing is pending any more.
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

/// Sends the changes in order, each once the previous one is answered.
async fn write(client: InboundClient, mut ops: mpsc::UnboundedReceiver<Op>) {
    while let Some(op) = ops.recv().await {
        match op {
            Op::Follow(uuid) => {
                if let Err(e) = client.add_filter(CHANNEL_HEADER, &uuid).await {
                    // Kept in the client's set: the next reconnect applies it.
                    warn!(channel = %uuid, error = %e, "could not ask FreeSWITCH for the channel's events");
                }
            }
            Op::Unfollow(uuid) => {
                if let Err(e) = client.delete_filter(CHANNEL_HEADER, &uuid).await {
                    warn!(channel = %uuid, error = %e, "could not drop the channel's event filter");
                }
            }
            Op::Settled(done) => {
                let _ = done.send(());
            }
        }
    }
}
