//! [`ChannelScope`]: where the engine says which channels it controls, so that FreeSWITCH sends the
//! daemon per-channel events (DTMF) of those channels only. A leaf like [`super::switch`]: the
//! engine calls it, the daemon implements it over the inbound connection's event filters.

use super::switch::BoxFut;

/// Told each channel (customer and agent leg of a known call) when the engine starts and stops
/// controlling it. Telling it returns at once: the engine's task must never wait for the switch
/// (the filters' replies travel on the connection whose events only that task drains). The
/// implementation makes the changes in the order asked, in the background, and reports a change
/// it could not make itself (the engine has nothing to undo).
pub trait ChannelScope: Send + Sync + 'static {
    /// Events of channel `uuid` are wanted from now on.
    fn follow(&self, uuid: String);
    /// Events of channel `uuid` are no longer wanted.
    fn unfollow(&self, uuid: String);
    /// Resolves once every change asked for before this call is in effect (or could not be made).
    fn settled(&self) -> BoxFut<()>;
}
