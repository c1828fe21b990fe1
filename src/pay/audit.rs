//! The audit record: one line per payment session, target `confpay::audit`, written when the session
//! ends (PCI DSS 10.2/10.3: who, what, when, where, outcome — never card data; the machine never sees
//! a card digit). Machine-readable: every value is a plain field, timestamps RFC 3339 (UTC), the
//! capture duration in seconds. [`Initiator`] is who started the payment.

use super::types::{Outcome, StartMethod, Uuid};
use crate::logging::rfc3339;
use std::time::{Duration, SystemTime};
use tracing::info;

/// Who started a payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Initiator {
    /// The agent's feature code on the phone (FreeSWITCH's start event).
    Switch,
    /// An API request, with the subject of its token: `admin` for the admin token (or an API
    /// without tokens), `agent:<agent ID>` for a per-agent token.
    Api { subject: String },
    /// A session found running in FreeSWITCH after a restart and carried on: who started it was
    /// recorded by the daemon that did.
    Recovered,
    /// An in-process caller (the demo, the load tool, tests).
    #[default]
    Local,
}

impl Initiator {
    /// The `started_via` field: `switch`, `api`, `recovered`, `local`.
    pub fn via(&self) -> &'static str {
        match self {
            Initiator::Switch => "switch",
            Initiator::Api { .. } => "api",
            Initiator::Recovered => "recovered",
            Initiator::Local => "local",
        }
    }

    /// The `token_subject` field: the API token's subject, empty when not started through the API.
    pub fn subject(&self) -> &str {
        match self {
            Initiator::Api { subject } => subject,
            Initiator::Switch | Initiator::Recovered | Initiator::Local => "",
        }
    }
}

/// What the audit record says about one ended session.
#[derive(Clone, Debug)]
pub struct AuditRecord<'a> {
    pub session: &'a str,
    pub call: &'a Uuid,
    pub agent_leg: &'a Uuid,
    pub capture_leg: &'a Uuid,
    pub agent_id: Option<&'a str>,
    pub initiator: &'a Initiator,
    pub method: Option<StartMethod>,
    pub outcome: &'a Outcome,
    pub started: SystemTime,
    pub capture_started: Option<SystemTime>,
    pub ended: SystemTime,
    /// How long the capture ran (from `Capturing` to leaving it), if it started.
    pub capture: Option<Duration>,
}

impl AuditRecord<'_> {
    /// Writes the record (one `info` line, target `confpay::audit`).
    pub fn emit(&self) {
        let capture_s = self
            .capture
            .map(|d| format!("{:.3}", d.as_secs_f64()))
            .unwrap_or_default();
        // A root event (the text formats then write no span prefix repeating these fields); the
        // record names its session and call itself, whatever the formatter adds.
        info!(
            target: "confpay::audit",
            parent: None,
            session = self.session,
            call = %self.call,
            agent = %self.agent_leg,
            agent_id = self.agent_id.unwrap_or(""),
            capture_leg = %self.capture_leg,
            started_via = self.initiator.via(),
            token_subject = self.initiator.subject(),
            method = self.method.map_or("", method_code),
            outcome = self.outcome.code(),
            detail = ?self.outcome,
            started = %rfc3339::format(self.started),
            capture_started = %self.capture_started.map(rfc3339::format).unwrap_or_default(),
            ended = %rfc3339::format(self.ended),
            capture_s = %capture_s,
            "payment session ended"
        );
    }
}

/// `keyphone` or `aca`.
pub fn method_code(m: StartMethod) -> &'static str {
    match m {
        StartMethod::Keyphone => "keyphone",
        StartMethod::Aca => "aca",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::types::FailReason;
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::UNIX_EPOCH;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// The record as the JSON log format writes it (its `fields` object), checking that the text
    /// format writes it without the span's prefix.
    fn emitted(record: &AuditRecord<'_>) -> serde_json::Value {
        let (json, text) = (Buffer::default(), Buffer::default());
        let (j, t) = (json.clone(), text.clone());
        let as_json = tracing_subscriber::fmt()
            .json()
            .with_writer(move || j.clone())
            .finish();
        let as_text = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || t.clone())
            .finish();
        for subscriber in [
            tracing::Dispatch::new(as_json),
            tracing::Dispatch::new(as_text),
        ] {
            tracing::dispatcher::with_default(&subscriber, || {
                // Emitted inside a span, as in a session.
                let _in = tracing::info_span!("session", session = "x").entered();
                record.emit();
            });
        }
        let read =
            |b: &Buffer| String::from_utf8(b.0.lock().expect("lock").clone()).expect("UTF-8");
        let text = read(&text);
        assert!(
            text.contains(" confpay::audit: payment session ended"),
            "no span prefix: {text}"
        );
        let line: serde_json::Value =
            serde_json::from_str(read(&json).trim()).expect("one JSON line");
        assert_eq!(line["target"], "confpay::audit");
        line["fields"].clone()
    }

    fn at(secs: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn a_completed_api_payment_reads_as_plain_fields() {
        let (call, agent, capture) = (
            "cust-1".to_owned(),
            "agent-1".to_owned(),
            "capt-1".to_owned(),
        );
        let initiator = Initiator::Api {
            subject: "agent:4711".to_owned(),
        };
        let outcome = Outcome::Completed {
            method: StartMethod::Aca,
        };
        let f = emitted(&AuditRecord {
            session: "a1b2c3",
            call: &call,
            agent_leg: &agent,
            capture_leg: &capture,
            agent_id: Some("4711"),
            initiator: &initiator,
            method: Some(StartMethod::Aca),
            outcome: &outcome,
            started: at(1_700_000_000, 250),
            capture_started: Some(at(1_700_000_012, 0)),
            ended: at(1_700_000_054, 500),
            capture: Some(Duration::from_millis(41_250)),
        });
        assert_eq!(f["message"], "payment session ended");
        assert_eq!(f["session"], "a1b2c3");
        assert_eq!(f["call"], "cust-1");
        assert_eq!(f["agent_id"], "4711");
        assert_eq!(f["started_via"], "api");
        assert_eq!(f["token_subject"], "agent:4711");
        assert_eq!(f["method"], "aca");
        assert_eq!(f["outcome"], "completed");
        assert_eq!(f["started"], "2023-11-14T22:13:20.250Z");
        assert_eq!(f["capture_started"], "2023-11-14T22:13:32.000Z");
        assert_eq!(f["ended"], "2023-11-14T22:14:14.500Z");
        assert_eq!(f["capture_s"], "41.250");
    }

    #[test]
    fn a_failed_switch_payment_has_empty_capture_fields() {
        let u = "u".to_owned();
        let outcome = Outcome::Failed(FailReason::CustomerHungUp);
        let f = emitted(&AuditRecord {
            session: "s",
            call: &u,
            agent_leg: &u,
            capture_leg: &u,
            agent_id: None,
            initiator: &Initiator::Switch,
            method: None,
            outcome: &outcome,
            started: at(0, 0),
            capture_started: None,
            ended: at(3, 0),
            capture: None,
        });
        assert_eq!(f["started_via"], "switch");
        assert_eq!(f["token_subject"], "");
        assert_eq!(f["outcome"], "customer_hung_up");
        assert_eq!(f["method"], "");
        assert_eq!(f["capture_started"], "");
        assert_eq!(f["capture_s"], "");
        assert_eq!(f["ended"], "1970-01-01T00:00:03.000Z");
    }
}
