//! Scripted far-end parties: the people and services at the other end of the simulator's channels.
//!
//! A [`Party`] is registered with the core under a dial string (or places a call in with
//! [`crate::sim::core::Core::incoming_call`]). The core asks it how to answer, tells it what it receives
//! (DTMF) and lets it hang up; tests read its observable state.

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
    phase: Option<CapturePhase>,
}

/// A scripted party. Cheap to clone; clones share state.
#[derive(Debug, Clone)]
pub struct Party {
    inner: Arc<Mutex<PartyState>>,
}

impl Party {
    fn new(name: &str, role: Role) -> Party {
        let phase = match &role {
            Role::Capture { .. } => Some(CapturePhase::AwaitingAgent(String::new())),
            Role::Customer | Role::Agent => None,
        };
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
                phase,
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

    /// The capture service's phase (`None` for other roles).
    pub fn capture_phase(&self) -> Option<CapturePhase> {
        self.lock().phase.clone()
    }

    pub(crate) fn attach(&self, uuid: &str) {
        let mut p = self.lock();
        p.channel = Some(uuid.to_owned());
        p.answered = false;
        p.hung_up = false;
    }

    pub(crate) fn mark_answered(&self) {
        self.lock().answered = true;
    }

    pub(crate) fn mark_hung_up(&self) {
        self.lock().hung_up = true;
    }

    /// The party hears digit `d`; returns what it does about it.
    pub(crate) fn receive(&self, d: char) -> Reaction {
        let mut p = self.lock();
        p.received.push(d);
        let (agent_id, collect) = match &p.role {
            Role::Capture { agent_id, collect } => (agent_id.clone(), *collect),
            Role::Customer | Role::Agent => return Reaction::Nothing,
        };
        let next = match p.phase.take() {
            Some(CapturePhase::AwaitingAgent(mut got)) => {
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
            Some(CapturePhase::Collecting(n)) if n + 1 >= collect => CapturePhase::Done,
            Some(CapturePhase::Collecting(n)) => CapturePhase::Collecting(n + 1),
            Some(CapturePhase::Done) | None => CapturePhase::Done,
        };
        let done_now = next == CapturePhase::Done;
        p.phase = Some(next);
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

    #[test]
    fn capture_wants_agent_id_then_one_then_n_digits() {
        let p = Party::capture("capture", "42", 3);
        assert_eq!(p.receive('4'), Reaction::Nothing);
        assert_eq!(p.receive('2'), Reaction::Nothing);
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent("42".into()))
        );
        assert_eq!(p.receive('1'), Reaction::Nothing);
        assert_eq!(p.capture_phase(), Some(CapturePhase::Collecting(0)));
        assert_eq!(p.receive('5'), Reaction::Nothing);
        assert_eq!(p.receive('5'), Reaction::Nothing);
        assert_eq!(p.receive('5'), Reaction::HangUp);
        assert_eq!(p.capture_phase(), Some(CapturePhase::Done));
        assert_eq!(p.received(), "421555");
    }

    #[test]
    fn capture_restarts_on_a_wrong_agent_digit() {
        let p = Party::capture("capture", "42", 1);
        p.receive('9');
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent(String::new()))
        );
        p.receive('4');
        p.receive('4');
        assert_eq!(
            p.capture_phase(),
            Some(CapturePhase::AwaitingAgent("4".into()))
        );
    }
}
