//! Members leaving a conference (hangup, kick, transfer, bridge, caller-control) and conferences
//! ending (empty, `endconf`, `mintwo`), with the recorded floor hand-over and event order.

use super::Flow;
use crate::core::channel::switch_true;
use crate::core::conference_events::{fire, floor_change};

impl Flow<'_> {
    /// Removes `uuid` from its conference. Fires del-member and, when the conference ends,
    /// conference-destroy; ends the other members' `conference` apps (hanging them up unless
    /// `hangup_after_conference=false`) when it is destroyed with members left.
    pub(crate) fn leave(&mut self, uuid: &str) {
        let Some((name, id)) = self.st.channels.get_mut(uuid).and_then(|c| c.member.take()) else {
            return;
        };
        let Some(c) = self.st.conferences.get(&name) else {
            return;
        };
        let leaver_ends_it = c.member(id).is_some_and(|m| m.endconf);
        let had_floor = c.floor == Some(id);
        if had_floor {
            // Recorded: the floor is released with `Old-ID: none`, before del-member.
            floor_change(self.st, &name, None, None);
            if let Some(c) = self.st.conferences.get_mut(&name) {
                c.floor = None;
            }
        }
        fire(self.st, &name, "del-member", Some(id), &[]);
        let Some(c) = self.st.conferences.get_mut(&name) else {
            return;
        };
        c.members.retain(|m| m.id != id);
        // The floor passes to the newest remaining member (recorded).
        let heir = c.members.last().map(|m| m.id).filter(|_| had_floor);
        if let Some(heir) = heir {
            c.floor = Some(heir);
            floor_change(self.st, &name, None, Some(heir));
        }
        let Some(c) = self.st.conferences.get_mut(&name) else {
            return;
        };
        for m in &mut c.members {
            m.relations.retain(|(o, _)| *o != id);
        }
        let mintwo = c.members.len() < 2 && c.members.iter().any(|m| m.mintwo);
        if c.members.is_empty() || leaver_ends_it || mintwo {
            self.destroy(&name);
        }
    }

    /// Ends a conference: each remaining member's channel is hung up (CHANNEL_HANGUP first, its
    /// del-member after, as recorded on FreeSWITCH 1.11), unless its `hangup_after_conference` is
    /// false: such a member leaves, and its `conference` app returns so its dialplan continues.
    fn destroy(&mut self, name: &str) {
        let remaining: Vec<String> = self
            .st
            .conferences
            .get(name)
            .map(|c| c.members.iter().map(|m| m.uuid.clone()).collect())
            .unwrap_or_default();
        let (kept, hung): (Vec<String>, Vec<String>) = remaining.into_iter().partition(|uuid| {
            self.st
                .channels
                .get(uuid)
                .and_then(|c| c.var("hangup_after_conference"))
                .is_some_and(|v| !switch_true(v))
        });
        for uuid in &kept {
            self.leave_quietly(uuid, name);
        }
        // Each hangup leaves the conference (del-member); the last one destroys it.
        for uuid in &hung {
            self.hangup(uuid, "NORMAL_CLEARING");
        }
        fire(self.st, name, "conference-destroy", None, &[]);
        self.st.conferences.remove(name);
        for uuid in kept {
            self.finish_top(&uuid, "conference", "_none_");
        }
    }

    /// A member kept alive by a destroyed conference leaves it without ending it again.
    fn leave_quietly(&mut self, uuid: &str, name: &str) {
        let id = self
            .st
            .channels
            .get_mut(uuid)
            .and_then(|c| c.member.take())
            .map(|(_, id)| id);
        if let Some(id) = id {
            fire(self.st, name, "del-member", Some(id), &[]);
            if let Some(c) = self.st.conferences.get_mut(name) {
                c.members.retain(|m| m.id != id);
            }
        }
    }
}
