//! The switch side of a real-switch load run: the load tool's own ESL connection to FreeSWITCH,
//! which places the calls, keys the customers' digits and watches what happens.
//!
//! A call is placed as the live suite places one (`tests/confpay/live/parties.rs`):
//! `originate {origination_uuid=PHONE,confpay_agent_dial=…,confpay_agent_id=…}loopback/8500/default
//! load_phone XML default`, each call with its own agent ID ([`crate::agents`]). The loopback's A leg (PHONE, extension `load_phone`) is the customer's
//! phone; its B leg runs the shipped socket extension 8500 and is the customer's channel that
//! confpayd controls; confpayd dials the agent over SIP on the same switch (extension `load_agent`) and
//! joins both to the call's conference. A call is ready once its room has two members
//! ([`ReadyTracker`], fed from this connection's `conference::maintenance` events).
//!
//! The capture stand-in (`pay`, the live suite's) reports what it collected in a CUSTOM
//! `confpay_live::capture` event, with its SIP Call-ID (`Live-Call-ID`). The load conf makes the
//! capture gateway's profile use the calling leg's UUID as Call-ID (`outbound-use-uuid-as-callid`),
//! so the report names the capture leg the daemon dialled — the `capture` of the session's view.
//! [`Captures`] counts reports that carry exactly the agent ID of *that* payment's call, the start
//! key and the card, and those that do not — never the digits themselves.

use crate::agents;
use crate::ready::ReadyTracker;
use confpay::daemon::stack::ROOM_PREFIX;
use confpay_esl::command::{EventFormat, EventSet};
use confpay_esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
use confpay_esl::secret::Secret;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The agent's phone: a SIP call to this switch's `internal` profile (see the live suite's
/// `AGENT_DIAL` for why SIP and PCMU).
pub const AGENT_DIAL: &str = "[absolute_codec_string=PCMU]sofia/internal/load_agent@127.0.0.1:5060";
/// A test card number (Luhn-valid), as the live suite keys it.
pub const CARD: &str = "4929738205461183";

/// One call ready for a payment.
#[derive(Clone, Debug)]
pub struct Call {
    /// The customer's phone (keys digits into the call).
    pub phone: String,
    /// The customer's channel (what a payment names).
    pub customer: String,
    /// This call's own agent ID (set by the routing, so nobody keys it).
    pub agent_id: String,
}

/// The outcome of placing a step's calls.
#[derive(Debug, Default)]
pub struct Setup {
    pub ready: Vec<Call>,
    /// Why calls did not get ready (originate errors), first ones first.
    pub failures: Vec<String>,
}

/// Capture reports seen: right (its call's agent ID, '1', card) and wrong.
#[derive(Debug, Default)]
pub struct Captures {
    pub right: AtomicUsize,
    pub wrong: AtomicUsize,
    /// Capture leg (= the stand-in's Call-ID) → the agent ID of the call it serves; an entry is
    /// taken by the leg's report, so a second report for one leg counts as wrong.
    expected: Mutex<HashMap<String, String>>,
}

impl Captures {
    /// The capture leg `capture` serves a call with `agent_id`: its report must carry that ID.
    pub fn expect(&self, capture: &str, agent_id: &str) {
        self.lock().insert(capture.to_owned(), agent_id.to_owned());
    }

    /// Counts one stand-in report (`Live-Call-ID`, `Live-Agent-ID`, `Live-Start`, `Live-Card`).
    pub fn report(
        &self,
        call_id: Option<&str>,
        agent_id: Option<&str>,
        start: Option<&str>,
        card: Option<&str>,
    ) {
        let want = call_id.and_then(|c| self.lock().remove(c));
        let right = want.is_some()
            && agent_id == want.as_deref()
            && start == Some("1")
            && card == Some(CARD);
        let n = if right { &self.right } else { &self.wrong };
        n.fetch_add(1, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.expected.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The load tool's connection to the switch.
pub struct SwitchSide {
    client: InboundClient,
    tracker: Arc<ReadyTracker>,
    ready_rx: mpsc::UnboundedReceiver<String>,
    pub captures: Arc<Captures>,
}

/// Why the switch could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    #[error("FreeSWITCH's event socket at {addr}: {why}")]
    Connect { addr: String, why: String },
    #[error("`{command}`: {why}")]
    Command { command: String, why: String },
    #[error("{0} channels still up 30 s after hupall")]
    NotIdle(u64),
}

impl SwitchSide {
    /// Connects and subscribes to conference membership and the capture stand-in's reports.
    pub async fn connect(addr: &str, password: &str) -> Result<SwitchSide, SwitchError> {
        let config = InboundConfig {
            addr: addr.to_owned(),
            password: Secret::new(password.to_owned()),
            event_buffer: 65536,
            subscription: Subscription {
                format: EventFormat::Plain,
                events: EventSet::new()
                    .custom("conference::maintenance")
                    .custom("confpay_live::capture"),
                filters: Vec::new(),
            },
            ..InboundConfig::default()
        };
        let (client, mut events) =
            InboundClient::connect(config)
                .await
                .map_err(|e| SwitchError::Connect {
                    addr: addr.to_owned(),
                    why: e.to_string(),
                })?;
        let (tracker, ready_rx) = ReadyTracker::new(ROOM_PREFIX);
        let tracker = Arc::new(tracker);
        let captures = Arc::new(Captures::default());
        let (t, c) = (tracker.clone(), captures.clone());
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                let ClientEvent::Event(e, _) = ev else {
                    continue;
                };
                if e.subclass() == Some("confpay_live::capture") {
                    c.report(
                        e.get("Live-Call-ID"),
                        e.get("Live-Agent-ID"),
                        e.get("Live-Start"),
                        e.get("Live-Card"),
                    );
                } else if let Some(customer) = t.joining(&e) {
                    t.joined(customer);
                }
            }
        });
        Ok(SwitchSide {
            client,
            tracker,
            ready_rx,
            captures,
        })
    }

    /// `api <command>`; its reply text.
    pub async fn api(&self, command: &str) -> Result<String, SwitchError> {
        let fail = |why: String| SwitchError::Command {
            command: command.split_whitespace().next().unwrap_or("").to_owned(),
            why,
        };
        let r = self
            .client
            .api(command)
            .await
            .map_err(|e| fail(e.to_string()))?;
        match r.is_err() {
            true => Err(fail(r.text().to_owned())),
            false => Ok(r.text().to_owned()),
        }
    }

    /// Keys `digits` on `phone` (RFC 2833 into the call), as a `bgapi` so that keying on many
    /// calls at once does not queue behind each other's `api` replies.
    pub async fn key(&self, phone: &str, digits: &str) -> Result<(), SwitchError> {
        let out = self
            .client
            .api_in_parallel(&format!("uuid_send_dtmf {phone} {digits}@120"))
            .await
            .map_err(|e| SwitchError::Command {
                command: "uuid_send_dtmf".into(),
                why: e.to_string(),
            })?;
        match out.starts_with("+OK") {
            true => Ok(()),
            false => Err(SwitchError::Command {
                command: "uuid_send_dtmf".into(),
                why: out.trim().to_owned(),
            }),
        }
    }

    /// Places `n` calls, `batch` at a time (each batch ready before the next), within `deadline`.
    pub async fn place(&mut self, n: usize, batch: usize, deadline: Duration) -> Setup {
        let until = Instant::now() + deadline;
        let (err_tx, mut err_rx) = mpsc::unbounded_channel();
        let mut phones = Vec::with_capacity(n);
        let mut ready = HashSet::new();
        let mut setup = Setup::default();
        self.tracker.arm(true);
        while phones.len() < n && Instant::now() < until {
            let take = batch.max(1).min(n - phones.len());
            for _ in 0..take {
                let phone = uuid::Uuid::new_v4().to_string();
                let agent_id = agents::agent_id(phones.len());
                self.originate(&phone, &agent_id, err_tx.clone());
                phones.push((phone, agent_id));
            }
            while ready.len() + setup.failures.len() < phones.len() {
                tokio::select! {
                    Some(c) = self.ready_rx.recv() => { ready.insert(c); }
                    Some(e) = err_rx.recv() => setup.failures.push(e),
                    () = tokio::time::sleep_until(until) => break,
                }
            }
        }
        self.tracker.arm(false);
        for (phone, agent_id) in phones {
            let var = format!("uuid_getvar {phone} other_loopback_leg_uuid");
            if let Ok(customer) = self.api(&var).await
                && ready.contains(&customer)
            {
                setup.ready.push(Call {
                    phone,
                    customer,
                    agent_id,
                });
            }
        }
        setup
    }

    fn originate(&self, phone: &str, agent_id: &str, errors: mpsc::UnboundedSender<String>) {
        let cmd = format!(
            "originate {{origination_uuid={phone},confpay_agent_dial={AGENT_DIAL},\
             confpay_agent_id={agent_id}}}loopback/8500/default load_phone XML default"
        );
        let client = self.client.clone();
        tokio::spawn(async move {
            let why = match client.bgapi(&cmd).await {
                Ok(out) if out.starts_with("+OK") => return,
                Ok(out) => out.trim().to_owned(),
                Err(e) => e.to_string(),
            };
            let _ = errors.send(format!("originate: {why}"));
        });
    }

    /// Channels up on the switch (`show channels count`).
    pub async fn channels(&self) -> Result<u64, SwitchError> {
        let text = self.api("show channels count").await?;
        Ok(first_number(&text).unwrap_or(0))
    }

    /// Hangs up every call on the switch and waits until none is left (30 s at most).
    pub async fn hang_up_all(&self) -> Result<(), SwitchError> {
        self.api("hupall NORMAL_CLEARING").await?;
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let left = self.channels().await?;
            if left == 0 {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(SwitchError::NotIdle(left));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn shutdown(&self) {
        self.client.shutdown();
    }
}

/// The first whole number in `text` (`show channels count` answers "\n12 total.\n").
pub fn first_number(text: &str) -> Option<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_counts_parse() {
        assert_eq!(first_number("\n12 total.\n"), Some(12));
        assert_eq!(first_number("0 total."), Some(0));
        assert_eq!(first_number("-ERR"), None);
    }

    #[test]
    fn a_report_is_right_only_with_the_agent_id_of_its_own_call() {
        let c = Captures::default();
        c.expect("leg-a", "100000");
        c.expect("leg-b", "100001");
        let count = |c: &Captures| {
            (
                c.right.load(Ordering::Relaxed),
                c.wrong.load(Ordering::Relaxed),
            )
        };
        // Leg b got call a's agent ID: a cross-call mix-up, wrong although the ID is a load call's.
        c.report(Some("leg-b"), Some("100000"), Some("1"), Some(CARD));
        assert_eq!(count(&c), (0, 1));
        c.report(Some("leg-a"), Some("100000"), Some("1"), Some(CARD));
        assert_eq!(count(&c), (1, 1));
        // A second report for the same leg, a leg nobody expected, no Call-ID: all wrong.
        c.report(Some("leg-a"), Some("100000"), Some("1"), Some(CARD));
        c.report(Some("leg-z"), Some("100000"), Some("1"), Some(CARD));
        c.report(None, Some("100000"), Some("1"), Some(CARD));
        assert_eq!(count(&c), (1, 4));
        // The right ID with a wrong start key or card is wrong too.
        c.expect("leg-c", "100002");
        c.report(Some("leg-c"), Some("100002"), Some("2"), Some(CARD));
        c.expect("leg-d", "100003");
        c.report(Some("leg-d"), Some("100003"), Some("1"), Some("4111"));
        assert_eq!(count(&c), (1, 6));
    }
}
