//! `SessionObserver`: told of every session state change (webhooks, [`crate::webhooks`]) and of
//! every change of its view (cluster status streams, [`crate::cluster::feed`]). Called on the
//! session's own task, in order, so an observer must never block or wait: it enqueues and returns,
//! and a slow consumer costs the payment nothing.

use super::machine::State;
use super::session::SessionView;
use std::sync::Arc;

/// Something that wants every session state change.
pub trait SessionObserver: Send + Sync {
    /// Session `view.id` went from `from` to `view.state` (`view` is the view just published: on
    /// `Done` it holds the outcome and the end time). Must return at once.
    fn changed(&self, from: &State, view: &SessionView);

    /// The session's view changed (a new state, or within one: capture leg, agent ID, method);
    /// called before [`Self::changed`] for a change of state. Must return at once.
    fn updated(&self, _view: &SessionView) {}
}

/// Several observers, each told of everything in turn.
pub struct Fanout(pub Vec<Arc<dyn SessionObserver>>);

impl SessionObserver for Fanout {
    fn changed(&self, from: &State, view: &SessionView) {
        for o in &self.0 {
            o.changed(from, view);
        }
    }

    fn updated(&self, view: &SessionView) {
        for o in &self.0 {
            o.updated(view);
        }
    }
}
