//! The call flow: every step that can set further steps going. A hangup can end a conference, which
//! hangs up or releases the other members; a bridge coming down runs the partner's next application;
//! an application completing runs the next one, which may hang up, transfer or bridge. That recursion
//! is the switch's own, so these steps are methods of one type, [`Flow`], split by concern across the
//! files below; everything they build on (data, state, events, plain transitions) sits in the layers
//! underneath and never calls back up.
//!
//! | module | job |
//! |---|---|
//! | `hangup` | hanging a channel up, and what a leg does when its bridge ends |
//! | `transfer` | moving a channel to another extension or an inline application list |
//! | `incoming` | a call arriving from a far-end party and entering the dialplan |
//! | `apps` | running, completing and continuing dialplan applications |
//! | `socket` | the `socket` application, `sendmsg execute`, and the outbound socket's lifecycle |
//! | `conference_exit` | members leaving and conferences ending |
//! | `originate` | `originate` and the `bridge` application: dialling legs and what follows |

mod apps;
mod conference_exit;
mod hangup;
mod incoming;
mod originate;
mod socket;
mod transfer;

pub(crate) use incoming::incoming_call;
pub(crate) use originate::{dial, run_target};
pub(crate) use socket::{queue_execute, socket_closed, socket_connected, socket_failed};

use super::Core;
use super::state::State;

/// One step of the call flow, taken under the core's lock.
pub(crate) struct Flow<'a> {
    core: &'a Core,
    st: &'a mut State,
}

impl<'a> Flow<'a> {
    pub(crate) fn new(core: &'a Core, st: &'a mut State) -> Flow<'a> {
        Flow { core, st }
    }

    /// Locks `core` and takes one step: for timers and spawned tasks that come back later.
    fn locked<R>(core: &Core, step: impl FnOnce(&mut Flow<'_>) -> R) -> R {
        let mut st = core.lock();
        step(&mut Flow::new(core, &mut st))
    }
}
