//! `SessionObserver`: told of every session state change (webhooks, [`crate::webhooks`]). Called on
//! the session's own task, so an observer must never block or wait: it enqueues and returns, and a
//! slow consumer costs the payment nothing.

use super::machine::State;
use super::session::SessionView;

/// Something that wants every session state change.
pub trait SessionObserver: Send + Sync {
    /// Session `view.id` went from `from` to `view.state` (`view` is the view just published: on
    /// `Done` it holds the outcome and the end time). Must return at once.
    fn changed(&self, from: &State, view: &SessionView);
}
