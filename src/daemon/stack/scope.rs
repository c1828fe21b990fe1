//! [`FilterScope`]: the engine's [`ChannelScope`] as `Unique-ID` event filters on the inbound
//! connection. With the subscription's `Event-Name` filters (see [`super::settings::subscription`])
//! FreeSWITCH then sends DTMF only of channels the engine controls; the inbound client re-applies
//! the filters after a reconnect.

use crate::esl::inbound::InboundClient;
use crate::pay::scope::ChannelScope;
use crate::pay::switch::BoxFut;
use tracing::warn;

/// The header FreeSWITCH names an event's channel by.
const CHANNEL_HEADER: &str = "Unique-ID";

/// [`ChannelScope`] over the inbound client's filters.
pub struct FilterScope {
    pub client: InboundClient,
}

impl ChannelScope for FilterScope {
    fn follow(&self, uuid: String) -> BoxFut<()> {
        let client = self.client.clone();
        Box::pin(async move {
            if let Err(e) = client.add_filter(CHANNEL_HEADER, &uuid).await {
                // Kept in the client's set: the next reconnect applies it.
                warn!(channel = %uuid, error = %e, "could not ask FreeSWITCH for the channel's events");
            }
        })
    }

    fn unfollow(&self, uuid: String) -> BoxFut<()> {
        let client = self.client.clone();
        Box::pin(async move {
            if let Err(e) = client.delete_filter(CHANNEL_HEADER, &uuid).await {
                warn!(channel = %uuid, error = %e, "could not drop the channel's event filter");
            }
        })
    }
}
