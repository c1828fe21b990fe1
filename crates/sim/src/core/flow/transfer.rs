//! Transferring a channel to an extension or an inline application list (`uuid_transfer`, the
//! `transfer` application).

use super::Flow;
use crate::core::app_stack::complete_all;
use crate::core::channel::ChannelState;
use crate::core::hold::start_hold_music;
use crate::core::lifecycle::{set_state, transferred_profile, unbridge};
use std::collections::VecDeque;

impl Flow<'_> {
    /// Transfers a channel to `dest` (an extension or an `app:arg` inline list): it leaves bridge and
    /// conference, its running apps end and the new actions run. A new caller profile records the
    /// transfer (`Caller-Transfer-Source` `<epoch>:<uuid>:bl_xfer:<dest>/<context>/<dialplan>`,
    /// `Caller-RDNIS`).
    pub(crate) fn transfer(&mut self, uuid: &str, dest: &str, dialplan: Option<&str>) {
        let actions = if dialplan == Some("inline") {
            inline_actions(dest)
        } else {
            self.st.extension_actions(dest).unwrap_or_default()
        };
        let partner = self
            .st
            .channels
            .get(uuid)
            .and_then(|c| c.bridged_to.clone());
        self.leave(uuid);
        if let Some(ch) = self.st.channels.get_mut(uuid) {
            ch.profile = transferred_profile(ch, dest, dialplan);
            // The new profile has no originator/originatee: no `Other-Leg-*` from now on (recorded).
            ch.other_leg = None;
            ch.dialplan = actions;
            ch.orphaned = false;
            ch.socket = None;
        }
        if let Some(p) = partner {
            unbridge(self.st, uuid, &p);
            // The transferred leg's own apps (hold music) end before the abandoned partner reacts.
            complete_all(self.st, uuid, false);
            self.after_bridge(&p);
        }
        complete_all(self.st, uuid, false);
        let nothing_to_run = self
            .st
            .channels
            .get(uuid)
            .is_none_or(|c| c.dialplan.is_empty());
        if nothing_to_run {
            self.hangup(uuid, "NO_ROUTE_DESTINATION");
            return;
        }
        set_state(self.st, uuid, ChannelState::Execute);
        self.start_next(uuid);
        // A queued hold-music broadcast plays on top of the new dialplan (recorded).
        let next = self
            .st
            .channels
            .get_mut(uuid)
            .filter(|c| c.alive())
            .and_then(|c| c.queued_broadcasts.pop_front());
        if let Some(music) = next {
            start_hold_music(self.st, uuid, &music);
        }
    }
}

/// `app:arg,app:arg` of an `inline` transfer.
fn inline_actions(dest: &str) -> VecDeque<(String, String)> {
    dest.split(',')
        .map(|a| match a.split_once(':') {
            Some((app, arg)) => (app.to_owned(), arg.to_owned()),
            None => (a.to_owned(), String::new()),
        })
        .collect()
}
