//! Keeping the [`ChannelScope`] in step with the call table: after a message that added a call or
//! changed its legs, the engine tells it which customer and agent legs appeared and which are gone. Capture legs are not followed:
//! the engine reads no digit of theirs, and the events it needs of them (hangup, conference
//! membership) are subscribed to for every channel.

use super::Task;
use crate::pay::calls::Calls;
use crate::pay::types::Uuid;
use std::collections::HashSet;

impl Task {
    /// Follows legs the call table gained and unfollows legs it lost since the last call.
    pub(super) async fn sync_scope(&mut self) {
        let Some(scope) = self.scope.clone() else {
            return;
        };
        // The whole leg set is only rebuilt when it may have changed: not on the events (DTMF,
        // conference, channel) that make up nearly all of the engine's messages.
        if !self.calls.take_legs_changed() {
            return;
        }
        let wanted = controlled_legs(&self.calls);
        let gained: Vec<Uuid> = wanted.difference(&self.followed).cloned().collect();
        let lost: Vec<Uuid> = self.followed.difference(&wanted).cloned().collect();
        for uuid in gained {
            scope.follow(uuid).await;
        }
        for uuid in lost {
            scope.unfollow(uuid).await;
        }
        self.followed = wanted;
    }
}

/// The customer and agent legs of every call in the table.
fn controlled_legs(calls: &Calls) -> HashSet<Uuid> {
    calls
        .calls
        .values()
        .flat_map(|c| std::iter::once(c.customer.clone()).chain(c.agent.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::calls::Call;
    use crate::pay::types::Topology;

    #[test]
    fn customer_and_agent_legs_of_every_call() {
        let mut calls = Calls::default();
        let mut c = Call::new("c1".into(), "confpay-c1".into(), Topology::Bridged);
        c.agent = Some("a1".into());
        calls.calls.insert("c1".into(), c);
        let alone = Call::new("c2".into(), "confpay-c2".into(), Topology::InConference);
        calls.calls.insert("c2".into(), alone);
        let legs = controlled_legs(&calls);
        let want: HashSet<Uuid> = ["c1", "a1", "c2"].map(String::from).into();
        assert_eq!(legs, want);
    }
}
