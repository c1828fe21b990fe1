//! Scripted far-end parties: the people and services at the other end of the simulator's channels.
//!
//! A [`Party`] is registered with the core under a dial string (or places a call in with
//! [`crate::core::Core::incoming_call`]). The core asks it how to answer, tells it what it receives
//! (DTMF) and lets it hang up; tests read its observable state.
//!
//! One registered party may be on many channels at once (every call that dials its dial string): the
//! capture service keeps its progress per channel, so concurrent payments to the same service each
//! get their own agent-ID check and digit count. The observable state (`channel`, `received`, the
//! capture phase) describes the latest call, or all calls for `received`. A capture service
//! [`Party::checking_its_call`] expects, on each channel, the agent ID of the call that channel serves
//! (as the core finds it) rather than one fixed ID.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How a party answers an incoming call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// Answers at once.
    Immediately,
    /// Rings, then answers after the delay.
    After(Duration),
    /// `USER_BUSY`.
    Busy,
    /// `CALL_REJECTED`.
    Reject,
    /// Rings forever (`NO_ANSWER` when the originate times out).
    Never,
}

/// What kind of party this is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Customer,
    Agent,
    /// The card-capture service: expects the agent ID digits then `1`, then collects `collect` digits
    /// and hangs up.
    Capture {
        agent_id: String,
        collect: usize,
    },
}

/// The capture service's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CapturePhase {
    /// Waiting for the agent ID and `1`; holds the digits so far.
    AwaitingAgent(String),
    /// Collecting card digits; holds how many so far (never the digits themselves).
    Collecting(usize),
    /// Got everything.
    Done,
}

/// What the core must do after a party received a digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    Nothing,
    HangUp,
}

#[derive(Debug)]
struct PartyState {
    name: String,
    role: Role,
    answer: AnswerMode,
    hangup_after: Option<Duration>,
    channel: Option<String>,
    answered: bool,
    hung_up: bool,
    received: Vec<char>,
    /// The capture service's progress per channel uuid (empty for other roles).
    phases: HashMap<String, CapturePhase>,
    /// Expect the agent ID of each channel's own call, then this suffix (capture service only).
    its_call_suffix: Option<String>,
}

/// A scripted party. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Party {
    inner: Arc<Mutex<PartyState>>,
}

impl Party {
    fn new(name: &str, role: Role) -> Party {
        Party {
            inner: Arc::new(Mutex::new(PartyState {
                name: name.to_owned(),
                role,
                answer: AnswerMode::Immediately,
                hangup_after: None,
                channel: None,
                answered: false,
                hung_up: false,
                received: Vec::new(),
                phases: HashMap::new(),
                its_call_suffix: None,
            })),
        }
    }

    pub fn customer(name: &str) -> Party {
        Party::new(name, Role::Customer)
    }

    pub fn agent(name: &str) -> Party {
        Party::new(name, Role::Agent)
    }

    pub fn capture(name: &str, agent_id: &str, collect: usize) -> Party {
        Party::new(
            name,
            Role::Capture {
                agent_id: agent_id.to_owned(),
                collect,
            },
        )
    }

    fn lock(&self) -> MutexGuard<'_, PartyState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets how the party answers (builder style).
    pub fn answering(self, mode: AnswerMode) -> Party {
        self.lock().answer = mode;
        self
    }

    /// The capture service expects, on each channel, the agent ID of the call it serves followed by
    /// `suffix` (and the fixed ID only where the call carries none) (builder style).
    pub fn checking_its_call(self, suffix: &str) -> Party {
        self.lock().its_call_suffix = Some(suffix.to_owned());
        self
    }

    /// Hangs up this long after answering (builder style).
    pub fn hanging_up_after(self, d: Duration) -> Party {
        self.lock().hangup_after = Some(d);
        self
    }

    pub fn name(&self) -> String {
        self.lock().name.clone()
    }

    pub fn role(&self) -> Role {
        self.lock().role.clone()
    }

    pub fn answer_mode(&self) -> AnswerMode {
        self.lock().answer
    }

    pub fn hangup_after(&self) -> Option<Duration> {
        self.lock().hangup_after
    }

    /// The channel this party is on (the latest call).
    pub fn channel(&self) -> Option<String> {
        self.lock().channel.clone()
    }

    pub fn is_answered(&self) -> bool {
        self.lock().answered
    }

    pub fn is_hung_up(&self) -> bool {
        self.lock().hung_up
    }

    /// Every digit this party received, in order.
    pub fn received(&self) -> String {
        self.lock().received.iter().collect()
    }

    /// The capture service's phase on its latest channel (`None` for other roles). Before any call
    /// it is waiting for the agent ID.
    pub fn capture_phase(&self) -> Option<CapturePhase> {
        let p = self.lock();
        match &p.role {
            Role::Capture { .. } => Some(
                p.channel
                    .as_ref()
                    .and_then(|c| p.phases.get(c).cloned())
                    .unwrap_or(CapturePhase::AwaitingAgent(String::new())),
            ),
            Role::Customer | Role::Agent => None,
        }
    }

    /// The capture service's phase on channel `uuid` (`None` for other roles or unknown channels).
    pub fn capture_phase_on(&self, uuid: &str) -> Option<CapturePhase> {
        self.lock().phases.get(uuid).cloned()
    }

    pub(crate) fn attach(&self, uuid: &str) {
        let mut p = self.lock();
        p.channel = Some(uuid.to_owned());
        p.answered = false;
        p.hung_up = false;
        if matches!(p.role, Role::Capture { .. }) {
            p.phases
                .insert(uuid.to_owned(), CapturePhase::AwaitingAgent(String::new()));
        }
    }

    pub(crate) fn mark_answered(&self) {
        self.lock().answered = true;
    }

    pub(crate) fn mark_hung_up(&self) {
        self.lock().hung_up = true;
    }

    /// The party hears digit `d` on channel `uuid`, whose call carries agent ID `its_call` (if the
    /// core found one); returns what it does about it.
    pub(crate) fn receive(&self, uuid: &str, d: char, its_call: Option<&str>) -> Reaction {
        let mut p = self.lock();
        p.received.push(d);
        let (agent_id, collect) = match (&p.role, &p.its_call_suffix, its_call) {
            (Role::Capture { collect, .. }, Some(suffix), Some(id)) => {
                (format!("{id}{suffix}"), *collect)
            }
            (Role::Capture { agent_id, collect }, _, _) => (agent_id.clone(), *collect),
            (Role::Customer | Role::Agent, _, _) => return Reaction::Nothing,
        };
        let phase = p
            .phases
            .remove(uuid)
            .unwrap_or(CapturePhase::AwaitingAgent(String::new()));
        let next = match phase {
            CapturePhase::AwaitingAgent(mut got) => {
                got.push(d);
                let want = format!("{agent_id}1");
                if got == want {
                    if collect == 0 {
                        CapturePhase::Done
                    } else {
                        CapturePhase::Collecting(0)
                    }
                } else if want.starts_with(&got) {
                    CapturePhase::AwaitingAgent(got)
                } else {
                    // Wrong digit: start over (this digit may begin a fresh attempt).
                    let restart = if want.starts_with(d) {
                        d.to_string()
                    } else {
                        String::new()
                    };
                    CapturePhase::AwaitingAgent(restart)
                }
            }
            CapturePhase::Collecting(n) if n + 1 >= collect => CapturePhase::Done,
            CapturePhase::Collecting(n) => CapturePhase::Collecting(n + 1),
            CapturePhase::Done => CapturePhase::Done,
        };
        let done_now = next == CapturePhase::Done;
        p.phases.insert(uuid.to_owned(), next);
        if done_now {
            Reaction::HangUp
        } else {
            Reaction::Nothing
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C1: &str = "c1";

    fn capture(agent_id: &str, collect: usize) -> Party {
        let p = Party::capture("capture", agent_id, collect);
        p.attach(C1);
        p
    }

    #[test]
    fn capture_wants_agent_id_then_one_then_n_digits() {
        let p = capture("42", 3);
        assert_eq!(p.receive(C1, '4', None), Reaction::Nothing);
        assert_eq!(p.receive(C1, '2', None), Reaction::Nothing);
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent("42".into()))
        );
        assert_eq!(p.receive(C1, '1', None), Reaction::Nothing);
        assert_eq!(p.capture_phase(), Some(CapturePhase::Collecting(0)));
        assert_eq!(p.receive(C1, '5', None), Reaction::Nothing);
        assert_eq!(p.receive(C1, '5', None), Reaction::Nothing);
        assert_eq!(p.receive(C1, '5', None), Reaction::HangUp);
        assert_eq!(p.capture_phase(), Some(CapturePhase::Done));
        assert_eq!(p.received(), "421555");
    }

    #[test]
    fn capture_restarts_on_a_wrong_agent_digit() {
        let p = capture("42", 1);
        p.receive(C1, '9', None);
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent(String::new()))
        );
        p.receive(C1, '4', None);
        p.receive(C1, '4', None);
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent("4".into()))
        );
    }

    #[test]
    fn concurrent_calls_to_one_capture_service_progress_apart() {
        let p = capture("7", 2);
        p.attach("c2");
        // Interleaved: c1 keys the agent ID and '1', c2 only the agent ID so far.
        for (ch, d) in [(C1, '7'), ("c2", '7'), (C1, '1'), (C1, '5')] {
            assert_eq!(p.receive(ch, d, None), Reaction::Nothing);
        }
        assert_eq!(p.capture_phase_on(C1), Some(CapturePhase::Collecting(1)));
        assert_eq!(
            p.capture_phase_on("c2"),
            Some(CapturePhase::AwaitingAgent("7".into()))
        );
        assert_eq!(p.receive(C1, '5', None), Reaction::HangUp);
        assert_eq!(p.receive("c2", '1', None), Reaction::Nothing);
        assert_eq!(p.capture_phase_on("c2"), Some(CapturePhase::Collecting(0)));
        // A new call after one finished starts from the beginning, not from `Done`.
        p.attach("c3");
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent(String::new()))
        );
        assert_eq!(p.receive("c3", '7', None), Reaction::Nothing);
    }

    #[test]
    fn checking_its_call_expects_each_channels_own_agent_id() {
        let p = Party::capture("capture", "4711#", 1).checking_its_call("#");
        p.attach(C1);
        p.attach("c2");
        // c1's call carries 100000, c2's 100001: each expects its own, then '#', '1'.
        for d in "100000#1".chars() {
            assert_eq!(p.receive(C1, d, Some("100000")), Reaction::Nothing);
        }
        assert_eq!(p.capture_phase_on(C1), Some(CapturePhase::Collecting(0)));
        // Another call's ID on c2 — a cross-call mix-up — never starts the capture.
        for d in "100000#1".chars() {
            p.receive("c2", d, Some("100001"));
        }
        assert!(matches!(
            p.capture_phase_on("c2"),
            Some(CapturePhase::AwaitingAgent(_))
        ));
        // A call that carries no agent ID: the fixed one.
        p.attach("c3");
        for d in "4711#1".chars() {
            p.receive("c3", d, None);
        }
        assert_eq!(p.capture_phase_on("c3"), Some(CapturePhase::Collecting(0)));
    }
}
