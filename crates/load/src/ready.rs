//! Per-call readiness for the load tool: a call is ready for a payment once its customer and its
//! agent are both members of the call's conference (`<room prefix><customer uuid>`).
//!
//! The load tool's event pump reads [`ReadyTracker::joining`] off each event, hands the event to
//! the engine, and then calls [`ReadyTracker::joined`], which counts conference `add-member`s per call room and signals
//! the customer uuid at the second one. The engine processes its messages in order, so a payment
//! requested after the signal finds both member ids known — the same condition the engine's call list
//! shows, without polling that O(N) list. Only calls not yet ready are tracked, and only while
//! [`ReadyTracker::arm`]ed (the set-up phase): the tracker holds nothing per idle call.

use confpay_esl::frame::Event;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Counts members per call room and signals ready customers.
#[derive(Debug)]
pub struct ReadyTracker {
    prefix: String,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    armed: bool,
    /// customer uuid → members seen joining its room so far (only calls not yet ready).
    joining: HashMap<String, u8>,
    ready: mpsc::UnboundedSender<String>,
}

impl ReadyTracker {
    /// A disarmed tracker for rooms named `<prefix><customer uuid>`, and where ready customers go.
    pub fn new(prefix: &str) -> (ReadyTracker, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let t = ReadyTracker {
            prefix: prefix.to_owned(),
            inner: Mutex::new(Inner {
                armed: false,
                joining: HashMap::new(),
                ready: tx,
            }),
        };
        (t, rx)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts (`true`) or stops (`false`, which forgets calls still joining) tracking.
    pub fn arm(&self, on: bool) {
        let mut inner = self.lock();
        inner.armed = on;
        if !on {
            inner.joining = HashMap::new();
        }
    }

    /// The customer uuid of the call room `event` adds a member to, if armed (read before the engine
    /// takes the event; pass it to [`ReadyTracker::joined`] once the engine has it).
    pub fn joining(&self, event: &Event) -> Option<String> {
        // The name first: it heads the event, the subclass may be far down the list of headers,
        // and this runs inside the latency probe's window for every event.
        if event.name() != Some("CUSTOM")
            || event.subclass() != Some("conference::maintenance")
            || event.get("Action") != Some("add-member")
        {
            return None;
        }
        let customer = event
            .get("Conference-Name")?
            .strip_prefix(self.prefix.as_str())?;
        self.lock().armed.then(|| customer.to_owned())
    }

    /// The engine has been handed an add-member event for `customer`'s room.
    pub fn joined(&self, customer: String) {
        let mut inner = self.lock();
        if !inner.armed {
            return;
        }
        let seen = match inner.joining.get_mut(&customer) {
            Some(n) => {
                *n += 1;
                *n
            }
            None => 1,
        };
        if seen >= 2 {
            inner.joining.remove(&customer);
            let _ = inner.ready.send(customer);
        } else {
            inner.joining.insert(customer, seen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confpay_esl::frame::Headers;

    fn member(action: &str, room: &str) -> Event {
        let mut headers = Headers::new();
        headers.push("Event-Name", "CUSTOM");
        headers.push("Event-Subclass", "conference::maintenance");
        headers.push("Action", action);
        headers.push("Conference-Name", room);
        Event {
            headers,
            body: None,
        }
    }

    #[test]
    fn second_member_makes_a_call_ready_once() {
        let (t, mut rx) = ReadyTracker::new("confpay-");
        let feed = |action: &str, room: &str| {
            if let Some(c) = t.joining(&member(action, room)) {
                t.joined(c);
            }
        };
        feed("add-member", "confpay-a");
        t.arm(true);
        feed("add-member", "confpay-a");
        feed("add-member", "confpay-b");
        feed("del-member", "confpay-b");
        feed("add-member", "other-b");
        assert!(rx.try_recv().is_err(), "one member each so far");
        feed("add-member", "confpay-a");
        assert_eq!(rx.try_recv().ok().as_deref(), Some("a"));
        feed("add-member", "confpay-a");
        assert!(
            rx.try_recv().is_err(),
            "signalled once; a third member starts a new count"
        );
        t.arm(false);
        feed("add-member", "confpay-b");
        assert!(rx.try_recv().is_err(), "disarmed: b forgotten");
        assert!(t.lock().joining.is_empty());
    }
}
