//! [`ChannelScope`]: where the engine says which channels it controls, so that FreeSWITCH sends the
//! daemon per-channel events (DTMF) of those channels only. A leaf like [`super::switch`]: the
//! engine calls it, the daemon implements it over the inbound connection's event filters.

use super::switch::BoxFut;

/// Told each channel (customer and agent leg of a known call) when the engine starts and stops
/// controlling it. Each call resolves once the change is in effect (or could not be made: the
/// implementation reports that itself; the engine has nothing to undo).
pub trait ChannelScope: Send + Sync + 'static {
    /// Events of channel `uuid` are wanted from now on.
    fn follow(&self, uuid: String) -> BoxFut<()>;
    /// Events of channel `uuid` are no longer wanted.
    fn unfollow(&self, uuid: String) -> BoxFut<()>;
}
