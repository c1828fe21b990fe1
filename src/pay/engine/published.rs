//! The call table as API readers see it, published by the engine task and read without going
//! through the engine's queue: a flood of FreeSWITCH events never delays a reader (the API, status
//! streams, `/metrics`), and readers never delay the events that drive isolation.
//!
//! Cost: after each engine message, only the calls that message touched are republished (one map
//! entry each, O(log n)); most events touch none. A reader pays for what it reads: one call is a
//! lookup, the list is one pass under a read lock that only the engine task ever contends for.
//! Sessions are published by handle, so a session's own changes (state, outcome) reach readers
//! through its `watch` without the engine doing anything.

use super::CallView;
use crate::pay::caller::Caller;
use crate::pay::calls::Call;
use crate::pay::session::{SessionHandle, SessionView};
use crate::pay::types::Uuid;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// How many sessions of calls that are gone are kept for `GET /api/v1/sessions/{id}`.
const KEEP_ENDED: usize = 1000;

/// One call as last published.
#[derive(Debug)]
struct Entry {
    customer: Uuid,
    agent: Option<Uuid>,
    agent_id: Option<String>,
    room: String,
    customer_member: Option<u32>,
    agent_member: Option<u32>,
    session: Option<SessionHandle>,
    history: Vec<SessionView>,
    /// The customer hung up: listed no more once its session has finished.
    customer_gone: bool,
    caller: Caller,
}

impl Entry {
    fn of(call: &Call) -> Entry {
        Entry {
            customer: call.customer.clone(),
            agent: call.agent.clone(),
            agent_id: call.agent_id.as_ref().map(|a| a.to_string()),
            room: call.room.clone(),
            customer_member: call.customer_member,
            agent_member: call.agent_member,
            session: call.session.clone(),
            history: call.history.clone(),
            customer_gone: call.customer_gone,
            caller: call.caller.clone(),
        }
    }

    /// The running session, if it has not finished since it was published.
    fn running(&self) -> Option<&SessionHandle> {
        self.session.as_ref().filter(|s| !s.is_finished())
    }

    /// Ended sessions, oldest first: the history, then the published session once it finished.
    fn ended(&self) -> impl Iterator<Item = SessionView> + '_ {
        let finished = self.session.as_ref().filter(|s| s.is_finished());
        self.history
            .iter()
            .cloned()
            .chain(finished.map(SessionHandle::view))
    }

    /// The engine forgets such a call at its next sweep; readers already do.
    fn forgotten(&self) -> bool {
        self.customer_gone && self.running().is_none()
    }

    fn view(&self) -> CallView {
        CallView {
            customer: self.customer.clone(),
            agent: self.agent.clone(),
            agent_id: self.agent_id.clone(),
            room: self.room.clone(),
            customer_member: self.customer_member,
            agent_member: self.agent_member,
            session: self.running().map(SessionHandle::view),
            history: self.ended().collect(),
            caller: self.caller.clone(),
        }
    }
}

/// The published call table (shared by the engine task and every [`super::Engine`] handle).
#[derive(Debug)]
pub(super) struct Published {
    calls: RwLock<BTreeMap<Uuid, Arc<Entry>>>,
    /// Sessions of calls that are gone, oldest first: a platform still asks for the outcome after
    /// the customer hung up.
    ended: RwLock<VecDeque<SessionView>>,
    /// Bumped whenever a call was added, changed or removed: status streams wait on it.
    version: watch::Sender<u64>,
}

impl Default for Published {
    fn default() -> Self {
        Published {
            calls: RwLock::default(),
            ended: RwLock::default(),
            version: watch::channel(0).0,
        }
    }
}

impl Published {
    /// Engine side: republishes `customer`'s call as it is now, or removes it when it is gone.
    pub(super) fn put(&self, customer: &str, call: Option<&Call>) {
        let mut calls = self.calls.write().unwrap_or_else(|p| p.into_inner());
        match call {
            Some(call) => {
                calls.insert(customer.to_owned(), Arc::new(Entry::of(call)));
            }
            None => {
                calls.remove(customer);
            }
        }
    }

    /// Engine side: the sessions of a call the engine forgot, kept for lookups by id.
    pub(super) fn keep_ended(&self, mut call: Call) {
        call.active();
        let mut ended = self.ended.write().unwrap_or_else(|p| p.into_inner());
        for view in call.history {
            if ended.len() == KEEP_ENDED {
                ended.pop_front();
            }
            ended.push_back(view);
        }
    }

    /// Engine side: tells status streams that the table changed.
    pub(super) fn bump(&self) {
        self.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Every call, by customer UUID.
    pub(super) fn calls(&self) -> Vec<CallView> {
        let entries: Vec<Arc<Entry>> = {
            let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
            calls.values().cloned().collect()
        };
        entries
            .iter()
            .filter(|e| !e.forgotten())
            .map(|e| e.view())
            .collect()
    }

    /// The call whose customer leg is `customer`.
    pub(super) fn call(&self, customer: &str) -> Option<CallView> {
        let entry = self.entry(customer)?;
        (!entry.forgotten()).then(|| entry.view())
    }

    /// A running session's live view, or an ended session's final one.
    pub(super) fn watch(&self, session: &str) -> Option<watch::Receiver<SessionView>> {
        let entries: Vec<Arc<Entry>> = {
            let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
            calls.values().cloned().collect()
        };
        if let Some(s) = entries
            .iter()
            .filter_map(|e| e.session.as_ref())
            .find(|s| s.id == session)
        {
            return Some(s.watch());
        }
        let ended = entries
            .iter()
            .flat_map(|e| e.ended())
            .find(|v| v.id == session)
            .or_else(|| self.ended_view(session))?;
        // A final view never changes again.
        Some(watch::channel(ended).1)
    }

    /// An ended session of a call that is gone.
    pub(super) fn ended_view(&self, session: &str) -> Option<SessionView> {
        let ended = self.ended.read().unwrap_or_else(|p| p.into_inner());
        ended.iter().find(|v| v.id == session).cloned()
    }

    /// Changes each time the table does.
    pub(super) fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    fn entry(&self, customer: &str) -> Option<Arc<Entry>> {
        let calls = self.calls.read().unwrap_or_else(|p| p.into_inner());
        calls.get(customer).cloned()
    }
}
