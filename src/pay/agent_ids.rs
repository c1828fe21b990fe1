//! [`AgentIds`]: which channels the event stream showed carrying an agent ID (hints for attach by
//! agent ID, each checked with the switch: see [`super::attach`]). An `export` puts the ID on both
//! legs of a bridge, so an ID usually names two channels, and many agents' calls may carry one
//! shared ID: every channel is kept, none is trusted alone.
//!
//! Seeing a channel and forgetting it cost O(1) on average whatever the number of channels per ID
//! (the engine does both for events of every call): a gone channel leaves its ID's list lazily and
//! the list is compacted once it is mostly gone channels.

use super::types::Uuid;
use std::collections::{HashMap, HashSet};

/// Channels per agent ID, oldest first.
#[derive(Debug, Default)]
pub struct AgentIds {
    /// ID → channels seen with it (some possibly gone since) and how many of them are not.
    by_id: HashMap<String, (Vec<Uuid>, usize)>,
    /// Channel → the IDs it was seen with (channels not gone only).
    by_channel: HashMap<Uuid, Vec<String>>,
}

impl AgentIds {
    /// Channel `uuid` was seen carrying agent ID `id`.
    pub fn saw(&mut self, id: &str, uuid: &str) {
        let ids = self.by_channel.entry(uuid.to_owned()).or_default();
        if ids.iter().any(|i| i == id) {
            return;
        }
        ids.push(id.to_owned());
        let (list, live) = self.by_id.entry(id.to_owned()).or_default();
        list.push(uuid.to_owned());
        *live += 1;
    }

    /// Channels seen carrying `id` and not gone, oldest first.
    pub fn candidates(&self, id: &str) -> Vec<Uuid> {
        let Some((list, _)) = self.by_id.get(id) else {
            return Vec::new();
        };
        // A channel gone and seen again is listed where it was seen last (its older entry is one
        // the lazy removal left).
        let mut seen = HashSet::new();
        let mut out: Vec<Uuid> = list
            .iter()
            .rev()
            .filter(|u| self.carries(u, id) && seen.insert(u.as_str()))
            .cloned()
            .collect();
        out.reverse();
        out
    }

    /// Channel `uuid` is gone.
    pub fn gone(&mut self, uuid: &str) {
        let Some(ids) = self.by_channel.remove(uuid) else {
            return;
        };
        for id in ids {
            self.unlink(&id);
        }
    }

    /// Channel `uuid` no longer counts as carrying `id` (it is a leg of a call known by that ID).
    pub fn forget(&mut self, uuid: &str, id: &str) {
        let Some(ids) = self.by_channel.get_mut(uuid) else {
            return;
        };
        let Some(at) = ids.iter().position(|i| i == id) else {
            return;
        };
        ids.swap_remove(at);
        if ids.is_empty() {
            self.by_channel.remove(uuid);
        }
        self.unlink(id);
    }

    /// One channel fewer carries `id` (already out of `by_channel`): its list is left lazily.
    fn unlink(&mut self, id: &str) {
        let Some((list, live)) = self.by_id.get_mut(id) else {
            return;
        };
        *live = live.saturating_sub(1);
        if *live == 0 {
            self.by_id.remove(id);
        } else if list.len() > 2 * *live + 8 {
            let by_channel = &self.by_channel;
            list.retain(|u| {
                by_channel
                    .get(u)
                    .is_some_and(|ids| ids.iter().any(|i| i == id))
            });
        }
    }

    /// Whether no channel is known to carry any ID.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty() && self.by_channel.is_empty()
    }

    fn carries(&self, uuid: &str, id: &str) -> bool {
        self.by_channel
            .get(uuid)
            .is_some_and(|ids| ids.iter().any(|i| i == id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_channels_of_one_id_come_and_go() {
        let mut ids = AgentIds::default();
        for i in 0..1000 {
            ids.saw("4711", &format!("c{i}"));
            ids.saw("4711", &format!("c{i}"));
        }
        ids.saw("99", "c5");
        for i in (0..1000).filter(|i| i % 3 != 0) {
            ids.gone(&format!("c{i}"));
        }
        let left = ids.candidates("4711");
        let want: Vec<String> = (0..1000)
            .filter(|i| i % 3 == 0)
            .map(|i| format!("c{i}"))
            .collect();
        assert_eq!(left, want);
        assert!(ids.candidates("99").is_empty(), "c5 is gone");
        assert!(ids.by_id["4711"].0.len() <= 2 * want.len() + 8, "compacted");
        for u in want {
            ids.gone(&u);
        }
        assert!(ids.is_empty());
    }

    #[test]
    fn a_forgotten_pair_leaves_the_channels_other_ids_and_the_ids_other_channels() {
        let mut ids = AgentIds::default();
        ids.saw("1", "a");
        ids.saw("2", "a");
        ids.saw("1", "b");
        ids.forget("a", "1");
        ids.forget("a", "7");
        assert_eq!(ids.candidates("1"), ["b"].map(String::from));
        assert_eq!(ids.candidates("2"), ["a"].map(String::from));
        ids.forget("a", "2");
        ids.forget("b", "1");
        assert!(ids.is_empty());
    }

    #[test]
    fn a_channel_seen_again_after_it_was_gone_is_listed_once() {
        let mut ids = AgentIds::default();
        ids.saw("1", "a");
        ids.saw("1", "b");
        ids.gone("a");
        ids.saw("1", "a");
        assert_eq!(ids.candidates("1"), ["b", "a"].map(String::from));
    }
}
