//! Hanging a channel up (the recorded event sequence, its conference and bridge left, its loopback peer
//! following), and what a leg does when its bridge ends under it.

use super::Flow;
use crate::core::app_stack::complete_all;
use crate::core::channel::{CallState, ChannelState};
use crate::core::events::{channel_event, now_us};
use crate::core::lifecycle::{set_callstate, set_state, set_timestamps, unbridge};

impl Flow<'_> {
    /// Hangs a channel up: CHANNEL_HANGUP, leaves its conference/bridge, completes its apps, then the
    /// CS_HANGUP / HANGUP / CS_REPORTING / HANGUP_COMPLETE / DESTROY sequence; its loopback peer follows.
    pub(crate) fn hangup(&mut self, uuid: &str, cause: &str) {
        let Some(ch) = self.st.channels.get_mut(uuid) else {
            return;
        };
        if !ch.alive() {
            return;
        }
        ch.hangup_cause = Some(cause.to_owned());
        ch.profile.hangup_us = now_us();
        ch.set_var("hangup_cause", cause);
        let peer = ch.loopback_peer.clone();
        let partner = ch.bridged_to.clone();
        let party = ch.party.clone();
        channel_event(self.st, uuid, "CHANNEL_HANGUP", &[], &[]);
        self.leave(uuid);
        if let Some(partner) = partner {
            unbridge(self.st, uuid, &partner);
            self.after_bridge(&partner);
        }
        complete_all(self.st, uuid, true);
        set_state(self.st, uuid, ChannelState::Hangup);
        set_callstate(self.st, uuid, CallState::Hangup);
        set_state(self.st, uuid, ChannelState::Reporting);
        set_timestamps(self.st, uuid, cause);
        channel_event(
            self.st,
            uuid,
            "CHANNEL_HANGUP_COMPLETE",
            &[("Hangup-Cause", cause)],
            &[],
        );
        channel_event(self.st, uuid, "CHANNEL_DESTROY", &[], &[]);
        set_state(self.st, uuid, ChannelState::Destroy);
        if let Some(gone) = self.st.channels.remove(uuid) {
            self.st.remember_gone(gone);
        }
        if let Some(p) = party {
            p.mark_hung_up();
        }
        if let Some(peer) = peer {
            self.hangup(&peer, cause);
        }
    }

    /// What a leg does when its bridge ended under it: park_after_bridge, hangup_after_bridge, else its
    /// bridge app returns and its dialplan continues (hanging up if nothing is left).
    pub(crate) fn after_bridge(&mut self, uuid: &str) {
        let Some(ch) = self.st.channels.get(uuid) else {
            return;
        };
        if !ch.alive() {
            return;
        }
        if ch.var_true("park_after_bridge") {
            complete_all(self.st, uuid, false);
            self.run_app(uuid, "park", "", None);
        } else if ch.var_true("hangup_after_bridge") {
            self.hangup(uuid, "NORMAL_CLEARING");
        } else {
            complete_all(self.st, uuid, false);
            self.start_next(uuid);
        }
    }
}
