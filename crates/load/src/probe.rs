//! The event→command latency probe of the load tool.
//!
//! The daemon's event tap files every event that can make a session act (DTMF, hangup, answer,
//! bridge, conference and start events) under each channel uuid it names (`Unique-ID`, and the
//! customer uuid inside a `confpay-<uuid>` conference name), stamped with when the inbound client
//! handed it on (so a wait in the client's channel counts). The [`Switch`] wrapper, when a
//! command's future is first polled (it goes to the ESL connection then), looks up the uuids the
//! command names; the newest unused stamp among them is the event that caused it, and the
//! difference is one sample. Every stamp of those uuids is then used up, so commands that follow
//! a reply (not an event) are not counted.
//!
//! The probe lives only in the load tool's own daemon assembly: production (`Stack`) has no probe
//! and pays nothing. Samples are kept in microseconds.

use confpay::pay::switch::{BoxFut, Switch, SwitchError};
use confpay_esl::frame::Event;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Stamps of events not yet answered by a command, and the latencies measured.
#[derive(Debug, Default)]
pub struct LatencyProbe {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// uuid → the stamp of the newest causing event naming it.
    stamps: HashMap<String, u64>,
    /// stamp id → (arrival, cause index, the uuids it was filed under).
    events: HashMap<u64, (Instant, usize, Vec<String>)>,
    next: u64,
    /// (latency µs, cause index).
    samples: Vec<(u32, usize)>,
}

/// p50/p99/max of the samples, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Percentiles {
    pub count: usize,
    pub p50_us: u32,
    pub p99_us: u32,
    pub max_us: u32,
}

/// Events that make a session send a command at once (see `pay::engine`): a DTMF (agent digit,
/// customer start key), a hangup, a member leaving a conference. A member joining is not one: in the
/// payment flow the capture leg joining only arms the agent-ID timer, and the command that follows is
/// the timer's, so it would measure `payment.agent_id_delay_ms`, not the daemon.
pub const CAUSES: [&str; 3] = ["DTMF", "CHANNEL_HANGUP", "conference del-member"];

fn cause_of(event: &Event) -> Option<usize> {
    match event.name()? {
        "DTMF" => Some(0),
        "CHANNEL_HANGUP" => Some(1),
        "CUSTOM" if event.subclass() == Some("conference::maintenance") => {
            (event.get("Action")? == "del-member").then_some(2)
        }
        _ => None,
    }
}

impl LatencyProbe {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The daemon's inbound client handed `event` on at `now` (the start of the reaction).
    pub fn event_arrived(&self, event: &Event, now: Instant) {
        let Some(cause) = cause_of(event) else {
            return;
        };
        let mut keys: Vec<String> = event.unique_id().map(str::to_owned).into_iter().collect();
        if let Some(room) = event.get("Conference-Name") {
            keys.extend(uuids_in(room).map(str::to_owned));
        }
        let mut inner = self.lock();
        inner.next += 1;
        let id = inner.next;
        for k in &keys {
            inner.stamps.insert(k.clone(), id);
        }
        inner.events.insert(id, (now, cause, keys));
    }

    /// A session hands `cmd` to the connection now. The newest causing event among the uuids it
    /// names is measured; every event filed under those uuids is used up (with all its uuids).
    pub fn command_sent(&self, cmd: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        let mut cause: Option<(Instant, usize)> = None;
        for u in uuids_in(cmd) {
            let Some(id) = inner.stamps.remove(u) else {
                continue;
            };
            let Some((at, kind, keys)) = inner.events.remove(&id) else {
                continue;
            };
            for k in keys {
                if inner.stamps.get(&k) == Some(&id) {
                    inner.stamps.remove(&k);
                }
            }
            if cause.is_none_or(|(c, _)| at > c) {
                cause = Some((at, kind));
            }
        }
        if let Some((at, kind)) = cause {
            let us = u32::try_from(now.duration_since(at).as_micros()).unwrap_or(u32::MAX);
            inner.samples.push((us, kind));
        }
    }

    /// Forgets stamps (e.g. of the call set-up phase) without measuring them.
    pub fn clear_stamps(&self) {
        let mut inner = self.lock();
        inner.stamps.clear();
        inner.events.clear();
    }

    /// Over all samples.
    pub fn percentiles(&self) -> Option<Percentiles> {
        percentiles(self.lock().samples.iter().map(|(us, _)| *us).collect())
    }

    /// Per causing event kind ([`CAUSES`] order).
    pub fn by_cause(&self) -> Vec<(&'static str, Option<Percentiles>)> {
        let inner = self.lock();
        CAUSES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let s = inner.samples.iter().filter(|(_, k)| *k == i);
                (*name, percentiles(s.map(|(us, _)| *us).collect()))
            })
            .collect()
    }
}

fn percentiles(mut s: Vec<u32>) -> Option<Percentiles> {
    if s.is_empty() {
        return None;
    }
    s.sort_unstable();
    let at = |q: usize| s[(s.len() * q / 100).min(s.len() - 1)];
    Some(Percentiles {
        count: s.len(),
        p50_us: at(50),
        p99_us: at(99),
        max_us: s[s.len() - 1],
    })
}

/// Every uuid-shaped (8-4-4-4-12 hex) substring of `text`.
pub fn uuids_in(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i + 36 <= b.len() {
            let w = &b[i..i + 36];
            let ok = w.iter().enumerate().all(|(k, c)| match k {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
            if ok {
                i += 36;
                return text.get(i - 36..i);
            }
            i += 1;
        }
        None
    })
}

/// A [`Switch`] that tells the probe about every command as it goes to the connection: when its
/// future is first polled (the daemon's switches do nothing before), not when it is made.
pub struct ProbedSwitch {
    pub inner: Arc<dyn Switch>,
    pub probe: Arc<LatencyProbe>,
}

impl ProbedSwitch {
    fn probed(
        &self,
        cmd: String,
        send: impl FnOnce(String) -> BoxFut<Result<String, SwitchError>>,
    ) -> BoxFut<Result<String, SwitchError>> {
        let probe = self.probe.clone();
        let reply = send(cmd.clone());
        Box::pin(async move {
            probe.command_sent(&cmd);
            reply.await
        })
    }
}

impl Switch for ProbedSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.probed(cmd, |c| self.inner.api(c))
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.probed(cmd, |c| self.inner.bgapi(c))
    }

    fn call_api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.probed(cmd, |c| self.inner.call_api(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confpay_esl::frame::Headers;

    const A: &str = "119782ef-9d4b-42b6-b594-a2e77f39f247";
    const B: &str = "79837521-6229-4110-a749-9697d6abe461";

    fn event(name: &str, uuid: &str) -> Event {
        let mut headers = Headers::new();
        headers.push("Event-Name", name);
        headers.push("Unique-ID", uuid);
        Event {
            headers,
            body: None,
        }
    }

    #[test]
    fn finds_uuids_in_commands() {
        let cmd = format!("conference confpay-{A} kick 3 x{B}");
        assert_eq!(uuids_in(&cmd).collect::<Vec<_>>(), [A, B]);
        assert_eq!(uuids_in("uuid_kill 1234-not-a-uuid").count(), 0);
    }

    #[test]
    fn one_sample_per_causing_event() {
        let p = LatencyProbe::default();
        p.event_arrived(&event("DTMF", A), Instant::now());
        p.event_arrived(&event("CHANNEL_ANSWER", B), Instant::now());
        p.command_sent(&format!("uuid_setvar {A} sensitive_dtmf true"));
        // The next command of the same step follows a reply, not an event: not counted.
        p.command_sent(&format!("conference confpay-{A} relate 1 2 clear"));
        p.command_sent(&format!("uuid_kill {B}"));
        let got = p.percentiles().expect("one sample");
        assert_eq!(got.count, 1);
        assert!(got.max_us < 1_000_000, "{got:?}");
        let by = p.by_cause();
        assert_eq!(by[0].0, "DTMF");
        assert_eq!(by[0].1.map(|p| p.count), Some(1));
        assert_eq!(by[1].1, None);
    }

    struct Echo;

    impl Switch for Echo {
        fn api(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
            Box::pin(async { Ok("+OK\n".to_owned()) })
        }
        fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
            Box::pin(async { Ok("+OK\n".to_owned()) })
        }
    }

    #[tokio::test]
    async fn a_command_counts_when_it_goes_out_not_when_it_is_made() {
        let probe = Arc::new(LatencyProbe::default());
        let switch = ProbedSwitch {
            inner: Arc::new(Echo),
            probe: probe.clone(),
        };
        probe.event_arrived(&event("DTMF", A), Instant::now());
        let reply = switch.call_api(format!("uuid_setvar {A} sensitive_dtmf true"));
        assert!(probe.percentiles().is_none(), "made, not yet sent");
        assert_eq!(reply.await.expect("answer"), "+OK\n");
        assert_eq!(probe.percentiles().map(|p| p.count), Some(1));
    }
}
