//! A channel's request to be controlled by an outbound event socket: what the `socket` application
//! hands to the ESL layer's dialler.

use std::net::SocketAddr;

/// The dialplan ran `socket host:port [async] [full]` on a channel: the ESL layer must dial out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    pub uuid: String,
    pub addr: SocketAddr,
    pub async_mode: bool,
    pub full: bool,
}
