//! Keeping the [`ChannelScope`] in step with the call table: after a message that added a call or
//! changed its legs, the engine tells it which customer and agent legs appeared and which are gone.
//! Telling it never waits: the scope makes the changes in the background, in order (a session
//! waits for them instead: see [`super::start`]). Only the legs that came or went are looked at, so
//! a new call costs the same with 10 calls in the table as with 10,000. Capture legs are not
//! followed: the engine reads no digit of theirs, and the events it needs of them (hangup,
//! conference membership) are subscribed to for every channel.

use super::Task;
use crate::pay::calls::Calls;
use crate::pay::types::Uuid;
use std::collections::HashSet;

/// What to tell the scope: legs to follow and legs to unfollow.
type Changes = (Vec<Uuid>, Vec<Uuid>);

impl Task {
    /// Follows legs the call table gained and unfollows legs it lost since the last call.
    pub(super) fn sync_scope(&mut self) {
        let changed = self.calls.take_legs_changed();
        let Some(scope) = self.scope.as_ref() else {
            return;
        };
        if changed.is_empty() {
            return;
        }
        let (gained, lost) = changes(&self.calls, &mut self.followed, changed);
        for uuid in gained {
            scope.follow(uuid);
        }
        for uuid in lost {
            scope.unfollow(uuid);
        }
    }
}

/// For each leg in `changed`: follow it if the table controls it and it is not followed yet,
/// unfollow it if it is followed and the table no longer controls it; `followed` is updated.
fn changes(calls: &Calls, followed: &mut HashSet<Uuid>, changed: Vec<Uuid>) -> Changes {
    let (mut gained, mut lost) = (Vec::new(), Vec::new());
    for uuid in changed {
        let wanted = calls.controls(&uuid);
        if wanted && !followed.contains(&uuid) {
            followed.insert(uuid.clone());
            gained.push(uuid);
        } else if !wanted && followed.remove(&uuid) {
            lost.push(uuid);
        }
    }
    (gained, lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::calls::Call;
    use crate::pay::types::Topology;

    #[test]
    fn customer_and_agent_legs_come_and_go_once() {
        let mut calls = Calls::default();
        let mut c = Call::new("c1".into(), "confpay-c1".into(), Topology::Bridged);
        c.agent = Some("a1".into());
        calls.insert(c);
        calls.insert(Call::new(
            "c2".into(),
            "confpay-c2".into(),
            Topology::InConference,
        ));
        let mut followed = HashSet::new();
        let (gained, lost) = sync(&mut calls, &mut followed);
        assert_eq!(gained, ["c1", "a1", "c2"].map(String::from));
        assert!(lost.is_empty());
        // Told twice: followed once.
        calls.mark_leg_changed("c1");
        let again = sync(&mut calls, &mut followed);
        assert_eq!(again, (vec![], vec![]));
        // The agent hangs up, then the first call is forgotten.
        if let Some((call, _)) = calls.find_by_leg("a1") {
            call.agent = None;
        }
        calls.mark_leg_changed("a1");
        let (gained, lost) = sync(&mut calls, &mut followed);
        assert!(gained.is_empty());
        assert_eq!(lost, ["a1"]);
        calls.forget("c1");
        let (_, lost) = sync(&mut calls, &mut followed);
        assert_eq!(lost, ["c1"]);
        let want: HashSet<Uuid> = ["c2"].map(String::from).into();
        assert_eq!(followed, want);
    }

    fn sync(calls: &mut Calls, followed: &mut HashSet<Uuid>) -> Changes {
        let changed = calls.take_legs_changed();
        changes(calls, followed, changed)
    }
}
