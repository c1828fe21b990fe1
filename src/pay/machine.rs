//! The per-session state machine: `step(input) -> actions`. Pure: no I/O, no clock, no randomness
//! (the capture leg's UUID is chosen by the caller). The actor in `session.rs` does the I/O.
//!
//! Flow: `Idle` → (`AwaitingAgentId`) → (`Moving`, attach only) → `Holding` → `Dialling` →
//! `Answered` → `SendingAgentId` → `Unholding` → `Ready` → (`Arming`, ACA only) → `Capturing` →
//! `Unwinding` → `Done`.
//!
//! Safety rules the machine keeps in every state (and the tests check exhaustively):
//! - agent↔customer isolation is never cleared while a capture leg may still be present: unwinding
//!   hangs the capture leg up and waits for its hangup before `relate … clear`;
//! - whenever a session ends with both parties alive, isolation is cleared and the customer unheld;
//! - the only customer key the machine knows of is the start key.

use super::types::*;
use super::unwind::gone_by_reply;
use std::time::Duration;

/// The settings a session needs (from `[payment]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    pub capture_dial: String,
    pub profile: String,
    pub hold_music: String,
    pub agent_id_prefix: String,
    pub agent_id_suffix: String,
    pub dtmf_duration_ms: u32,
    pub agent_id_delay: Duration,
    pub capture_answer_timeout: Duration,
    pub max_capture: Duration,
    pub agent_id_entry_timeout: Duration,
    pub step_timeout: Duration,
    pub on_agent_hangup: AgentHangupPolicy,
}

/// Where a session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Idle,
    /// The agent is keying the agent ID on the phone, ended by '#'.
    AwaitingAgentId,
    /// Attach: both legs are being transferred from their bridge into the conference.
    Moving,
    /// The customer is being put on hold (conference hold with music).
    Holding,
    /// The capture service is being dialled into the conference.
    Dialling,
    /// The capture service answered; waiting `agent_id_delay` before sending the agent ID.
    Answered,
    SendingAgentId,
    /// The customer is being taken off hold.
    Unholding,
    /// Capture service present with the agent ID; waiting for '1' (customer) or start (agent).
    Ready,
    /// Isolating agent and customer (after the customer's '1', or before the daemon sends it for ACA).
    Arming,
    /// The customer is keying the card to the capture service; agent and customer are isolated.
    Capturing,
    /// Putting things back (capture leg down, isolation cleared, customer unheld) before finishing.
    Unwinding,
    /// Lost the ESL connection; waiting for a resync.
    Suspended,
    Done,
}

/// Facts about the legs as far as the session knows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Legs {
    pub customer: Uuid,
    pub agent: Uuid,
    /// The capture leg's UUID, fixed before dialling (`origination_uuid`).
    pub capture: Uuid,
    pub customer_member: Option<u32>,
    pub agent_member: Option<u32>,
    pub capture_member: Option<u32>,
    pub agent_alive: bool,
    pub customer_alive: bool,
    /// The capture leg may exist (answered or being killed, not yet seen hanging up).
    pub capture_up: bool,
    /// An originate of the capture leg is in flight (no result yet).
    pub dialling: bool,
    pub customer_held: bool,
    pub isolated: bool,
    /// `sensitive_dtmf` as last set by the session.
    pub sensitive: bool,
    /// The customer's keys may show in FreeSWITCH's events (the session turned `sensitive_dtmf` off
    /// to see the start key, or a turn-on was lost in flight): it must be turned back on.
    pub keys_exposed: bool,
}

/// One payment session.
#[derive(Clone, Debug)]
pub struct Machine {
    pub(super) cfg: MachineConfig,
    pub(super) room: String,
    pub(super) topology: Topology,
    pub(super) state: State,
    pub(super) legs: Legs,
    pub(super) agent_id: Option<AgentId>,
    /// Digits keyed so far while the agent enters the agent ID (not card data).
    pub(super) keyed: String,
    pub(super) method: Option<StartMethod>,
    /// Commands whose replies are awaited.
    pub(super) pending: Vec<Step>,
    /// The outcome decided when unwinding started.
    pub(super) outcome: Option<Outcome>,
    /// The customer must be handed to the agent-hangup policy once the capture leg is gone.
    pub(super) apply_agent_policy: bool,
    /// State before `Suspended`.
    pub(super) suspended_from: Option<State>,
    pub(super) cancel_requested: bool,
    /// Restore steps already sent a second time after a failure (each is retried once).
    pub(super) retried: Vec<Step>,
}

impl Machine {
    /// A session on `room` for customer/agent legs; `capture` is the UUID the capture leg will get.
    pub fn new(
        cfg: MachineConfig,
        room: String,
        topology: Topology,
        legs: Legs,
        agent_id: Option<AgentId>,
    ) -> Machine {
        Machine {
            cfg,
            room,
            topology,
            state: State::Idle,
            legs: Legs {
                agent_alive: true,
                customer_alive: true,
                ..legs
            },
            agent_id,
            keyed: String::new(),
            method: None,
            pending: Vec::new(),
            outcome: None,
            apply_agent_policy: false,
            suspended_from: None,
            cancel_requested: false,
            retried: Vec::new(),
        }
    }

    /// A session rebuilt after a daemon restart from what FreeSWITCH reports: it makes things safe
    /// (re-isolates while a capture leg is present, restores once it is gone).
    pub fn recovered(
        cfg: MachineConfig,
        room: String,
        legs: Legs,
        snap: Snapshot,
    ) -> (Machine, Vec<Action>) {
        let mut m = Machine::new(cfg, room, Topology::InConference, legs, None);
        m.state = State::Suspended;
        m.suspended_from = Some(State::Capturing);
        // After a restart nothing is known of what was set. With a capture leg present, isolate
        // (again); without one, undo everything a session may have left behind. The customer may
        // be on hold either way (killed while the capture service was being set up): unhold and
        // turn `sensitive_dtmf` back on when restoring.
        let leftovers = !snap.capture_alive;
        m.legs.isolated = leftovers;
        m.legs.keys_exposed = true;
        m.legs.customer_held = true;
        let actions = m.step(Input::Resync(snap));
        (m, actions)
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn legs(&self) -> &Legs {
        &self.legs
    }

    pub fn room(&self) -> &str {
        &self.room
    }

    pub fn agent_id(&self) -> Option<&AgentId> {
        self.agent_id.as_ref()
    }

    pub fn method(&self) -> Option<StartMethod> {
        self.method
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref().filter(|_| self.state == State::Done)
    }

    /// Feeds one input; returns what to do. Inputs that don't apply in the current state are ignored
    /// (an empty action list), never a panic.
    pub fn step(&mut self, input: Input) -> Vec<Action> {
        let mut out = Vec::new();
        if self.state == State::Done {
            return out;
        }
        // Facts first: whatever the state, a hangup or a join changes what we know.
        if let Input::Hangup { leg } = &input {
            self.mark_gone(*leg);
        }
        if let Input::Joined { leg, member } = &input {
            self.mark_joined(*leg, *member);
        }
        if self.state == State::Suspended {
            self.suspended(input, &mut out);
        } else {
            self.active(input, &mut out);
        }
        out
    }

    pub(super) fn mark_gone(&mut self, leg: Leg) {
        match leg {
            Leg::Customer => {
                self.legs.customer_alive = false;
                self.legs.customer_member = None;
            }
            Leg::Agent => {
                self.legs.agent_alive = false;
                self.legs.agent_member = None;
            }
            Leg::Capture => {
                self.legs.capture_up = false;
                self.legs.capture_member = None;
            }
        }
    }

    pub(super) fn mark_joined(&mut self, leg: Leg, member: u32) {
        match leg {
            Leg::Customer => self.legs.customer_member = Some(member),
            Leg::Agent => self.legs.agent_member = Some(member),
            Leg::Capture => self.legs.capture_member = Some(member),
        }
    }

    pub(super) fn active(&mut self, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Hangup { leg: Leg::Customer } => self.customer_gone(out),
            Input::Hangup { leg: Leg::Agent } => self.agent_gone(out),
            Input::Hangup { leg: Leg::Capture } => self.capture_gone(out),
            Input::Cancel => {
                if self.state != State::Unwinding {
                    self.unwind(Outcome::Cancelled, out);
                }
            }
            Input::ConnectionLost => {
                self.in_flight_may_have_run();
                self.pending.clear();
                out.push(Action::StopTimer(TimerKind::Step));
                self.suspended_from = Some(self.state.clone());
                self.state = State::Suspended;
            }
            Input::Resync(_) => {}
            Input::Timer(kind) => self.timer(kind, out),
            Input::Reply { step, ok, reply } => self.reply(step, ok, reply, out),
            Input::Start { agent_id } => self.start(agent_id, out),
            Input::AgentDigit(d) => self.agent_digit(d, out),
            Input::CustomerStartKey => {
                if self.state == State::Ready {
                    self.method = Some(StartMethod::Keyphone);
                    // '1' already reached the capture service through the conference (dist-dtmf):
                    // isolate at once; `Capturing` once FreeSWITCH confirmed it.
                    self.isolate(out);
                    self.state = State::Arming;
                }
            }
            Input::StartCapture => {
                if self.state == State::Ready {
                    self.method = Some(StartMethod::Aca);
                    self.isolate(out);
                    self.state = State::Arming;
                }
            }
            Input::CaptureAnswered { uuid } => {
                self.legs.dialling = false;
                self.legs.capture = uuid;
                self.legs.capture_up = true;
                if self.state == State::Unwinding {
                    // Answered after we gave up on it: it must not stay.
                    let kill = self.kill_capture();
                    self.push_pending(kill, out);
                } else if self.state == State::Dialling {
                    // A colliding origination_uuid makes FreeSWITCH pick another one: the reply's
                    // uuid (stored above) is the one to use.
                    out.push(Action::StopTimer(TimerKind::CaptureAnswer));
                    self.state = State::Answered;
                    out.push(Action::StartTimer {
                        kind: TimerKind::AgentIdDelay,
                        after: self.cfg.agent_id_delay,
                    });
                }
            }
            Input::CaptureFailed { cause } => {
                self.legs.dialling = false;
                out.push(Action::StopTimer(TimerKind::CaptureAnswer));
                if self.state == State::Dialling {
                    self.unwind(
                        Outcome::Failed(FailReason::CaptureUnavailable { cause }),
                        out,
                    );
                } else if self.state == State::Unwinding {
                    self.try_finish(out);
                }
            }
            Input::Joined { .. } => {
                if self.state == State::Moving
                    && self.legs.customer_member.is_some()
                    && self.legs.agent_member.is_some()
                {
                    out.push(Action::StopTimer(TimerKind::Join));
                    self.hold_customer(out);
                }
            }
        }
    }

    pub(super) fn start(&mut self, agent_id: Option<AgentId>, out: &mut Vec<Action>) {
        if self.state != State::Idle {
            return;
        }
        if agent_id.is_some() {
            self.agent_id = agent_id;
        }
        if self.agent_id.is_some() {
            self.join(out);
        } else {
            self.state = State::AwaitingAgentId;
            out.push(Action::StartTimer {
                kind: TimerKind::AgentIdEntry,
                after: self.cfg.agent_id_entry_timeout,
            });
        }
    }

    pub(super) fn agent_digit(&mut self, d: char, out: &mut Vec<Action>) {
        if self.state != State::AwaitingAgentId {
            return;
        }
        match d {
            '#' => match AgentId::parse(&self.keyed) {
                Some(id) => {
                    self.agent_id = Some(id);
                    self.keyed.clear();
                    out.push(Action::StopTimer(TimerKind::AgentIdEntry));
                    self.join(out);
                }
                // '#' with nothing (or too much) keyed: start over.
                None => self.keyed.clear(),
            },
            '*' => self.keyed.clear(),
            '0'..='9' if self.keyed.len() < 32 => self.keyed.push(d),
            _ => {}
        }
    }

    /// Gets both legs into the conference (attach), then holds the customer.
    pub(super) fn join(&mut self, out: &mut Vec<Action>) {
        match self.topology {
            Topology::InConference => self.hold_customer(out),
            Topology::Bridged => {
                self.state = State::Moving;
                let vars = |role| {
                    vec![
                        ("park_after_bridge", "true"),
                        ("hangup_after_bridge", "false"),
                        ("conference_controls", "none"),
                        ("confpay_role", role),
                    ]
                };
                self.send(
                    Step::PrepareCustomer,
                    Cmd::SetVars {
                        uuid: self.legs.customer.clone(),
                        vars: vars("customer"),
                    },
                    out,
                );
                self.send(
                    Step::PrepareAgent,
                    Cmd::SetVars {
                        uuid: self.legs.agent.clone(),
                        vars: vars("agent"),
                    },
                    out,
                );
                self.send(
                    Step::TransferCustomer,
                    Cmd::TransferToConference {
                        uuid: self.legs.customer.clone(),
                        room: self.room.clone(),
                        profile: self.cfg.profile.clone(),
                        flags: CUSTOMER_FLAGS,
                    },
                    out,
                );
                self.send(
                    Step::TransferAgent,
                    Cmd::TransferToConference {
                        uuid: self.legs.agent.clone(),
                        room: self.room.clone(),
                        profile: self.cfg.profile.clone(),
                        flags: AGENT_FLAGS,
                    },
                    out,
                );
                out.push(Action::StartTimer {
                    kind: TimerKind::Join,
                    after: self.cfg.step_timeout,
                });
            }
        }
    }

    /// Attach: a leg's transfer into the conference was refused while the other leg's goes ahead
    /// (it was sent beside it): giving up now would leave one leg in the conference and the other
    /// parked, apart. The refused transfer is sent once more. True when sent.
    fn retry_transfer(&mut self, step: Step, out: &mut Vec<Action>) -> bool {
        let (uuid, flags) = match step {
            Step::TransferCustomer => (self.legs.customer.clone(), CUSTOMER_FLAGS),
            Step::TransferAgent => (self.legs.agent.clone(), AGENT_FLAGS),
            Step::PrepareCustomer
            | Step::PrepareAgent
            | Step::HoldCustomer
            | Step::DialCapture
            | Step::SendAgentId
            | Step::UnholdCustomer
            | Step::Isolate
            | Step::Sensitive
            | Step::Verify
            | Step::SendStart
            | Step::KillCapture
            | Step::Restore
            | Step::WatchStartKey
            | Step::AfterAgentHangup => return false,
        };
        if self.state != State::Moving || self.retried.contains(&step) {
            return false;
        }
        self.retried.push(step);
        self.send(
            step,
            Cmd::TransferToConference {
                uuid,
                room: self.room.clone(),
                profile: self.cfg.profile.clone(),
                flags,
            },
            out,
        );
        true
    }

    pub(super) fn hold_customer(&mut self, out: &mut Vec<Action>) {
        let Some(member) = self.legs.customer_member else {
            return self.unwind(
                Outcome::Failed(FailReason::StepTimeout {
                    step: Step::HoldCustomer,
                }),
                out,
            );
        };
        self.state = State::Holding;
        // A hold that times out may still happen in FreeSWITCH (late): assume it did, so that
        // unwinding unholds (FreeSWITCH runs commands in order: the unhold comes after it).
        self.legs.customer_held = true;
        self.send(
            Step::HoldCustomer,
            Cmd::ConferenceHold {
                room: self.room.clone(),
                member,
                music: self.cfg.hold_music.clone(),
            },
            out,
        );
    }

    pub(super) fn dial_capture(&mut self, out: &mut Vec<Action>) {
        self.state = State::Dialling;
        self.legs.dialling = true;
        out.push(Action::Send {
            step: Step::DialCapture,
            cmd: Cmd::Originate {
                uuid: self.legs.capture.clone(),
                dial: self.cfg.capture_dial.clone(),
                room: self.room.clone(),
                profile: self.cfg.profile.clone(),
                timeout: self.cfg.capture_answer_timeout,
            },
        });
        out.push(Action::StartTimer {
            kind: TimerKind::CaptureAnswer,
            after: self.cfg.capture_answer_timeout + Duration::from_secs(5),
        });
    }

    pub(super) fn isolate(&mut self, out: &mut Vec<Action>) {
        let (Some(a), Some(c)) = (self.legs.agent_member, self.legs.customer_member) else {
            // Agent not in the conference (hung up): nothing to isolate from; still hide digits.
            self.set_sensitive(true, out);
            return;
        };
        self.send(
            Step::Isolate,
            Cmd::Relate {
                room: self.room.clone(),
                a,
                b: c,
                isolate: true,
            },
            out,
        );
        self.legs.isolated = true;
        self.set_sensitive(true, out);
    }

    pub(super) fn set_sensitive(&mut self, on: bool, out: &mut Vec<Action>) {
        if !self.legs.customer_alive {
            self.legs.sensitive = false;
            self.legs.keys_exposed = false;
            return;
        }
        let step = if on {
            Step::Sensitive
        } else {
            Step::WatchStartKey
        };
        self.send(
            step,
            Cmd::SetVar {
                uuid: self.legs.customer.clone(),
                name: "sensitive_dtmf",
                value: if on { "true" } else { "false" },
            },
            out,
        );
        self.legs.sensitive = on;
        if on {
            self.legs.keys_exposed = false;
        }
    }

    pub(super) fn send(&mut self, step: Step, cmd: Cmd, out: &mut Vec<Action>) {
        self.push_pending(Action::Send { step, cmd }, out);
    }

    pub(super) fn push_pending(&mut self, send: Action, out: &mut Vec<Action>) {
        if let Action::Send { step, .. } = &send {
            self.pending.push(*step);
        }
        out.push(send);
        out.push(Action::StartTimer {
            kind: TimerKind::Step,
            after: self.cfg.step_timeout,
        });
    }

    pub(super) fn reply(&mut self, step: Step, ok: bool, reply: String, out: &mut Vec<Action>) {
        let Some(i) = self.pending.iter().position(|s| *s == step) else {
            return;
        };
        self.pending.remove(i);
        if self.pending.is_empty() {
            out.push(Action::StopTimer(TimerKind::Step));
        }
        if step == Step::KillCapture {
            // `-ERR No such channel!`: it is already gone (its hangup may have been missed).
            if !ok && reply.contains("No such channel") {
                self.mark_gone(Leg::Capture);
            }
            return self.try_finish(out);
        }
        if let Some(leg) = gone_by_reply(step, ok, &reply) {
            // Refused because the leg is gone: its hangup event is on its way; act on it now.
            self.mark_gone(leg);
            return match leg {
                Leg::Customer => self.customer_gone(out),
                Leg::Agent => self.agent_gone(out),
                Leg::Capture => self.capture_gone(out),
            };
        }
        if self.state == State::Unwinding {
            if !ok && self.retry_restore(step, &reply, out) {
                return;
            }
            // Best effort: a failed restore step is reported in the outcome only if nothing else was.
            if !ok
                && self
                    .outcome
                    .as_ref()
                    .is_some_and(|o| matches!(o, Outcome::Completed { .. }))
            {
                self.outcome = Some(Outcome::Failed(FailReason::CommandFailed { step, reply }));
            }
            return self.try_finish(out);
        }
        if !ok && self.retry_transfer(step, out) {
            return;
        }
        if !ok {
            // Any refused step ends the session safely; in particular capture never runs (or
            // starts) without isolation.
            return self.unwind(
                Outcome::Failed(FailReason::CommandFailed { step, reply }),
                out,
            );
        }
        match (&self.state, step) {
            (State::Holding, Step::HoldCustomer) => {
                self.legs.customer_held = true;
                self.dial_capture(out);
            }
            (State::SendingAgentId, Step::SendAgentId) => {
                self.state = State::Unholding;
                self.unhold(out);
            }
            (State::Unholding, Step::UnholdCustomer) => {
                self.legs.customer_held = false;
                // The dialplan keeps the customer's keys out of events (`sensitive_dtmf=true`);
                // only now, to see the start key '1', do they show — until '1' turns it back on.
                self.set_sensitive(false, out);
                self.legs.keys_exposed = true;
            }
            (State::Unholding, Step::WatchStartKey) => self.state = State::Ready,
            (State::Capturing, Step::UnholdCustomer) => self.legs.customer_held = false,
            (State::Arming, Step::Isolate | Step::Sensitive)
                if !self.pending.contains(&Step::Isolate)
                    && !self.pending.contains(&Step::Sensitive) =>
            {
                match self.method {
                    // Before '1': confirm from FreeSWITCH itself that the capture leg is there.
                    // (The relate's `+OK ... set` is FreeSWITCH's own word that the agent cannot
                    // hear the customer.)
                    Some(StartMethod::Aca) => self.send(
                        Step::Verify,
                        Cmd::Verify {
                            room: self.room.clone(),
                            capture: self.legs.capture.clone(),
                            customer: self.legs.customer.clone(),
                        },
                        out,
                    ),
                    Some(StartMethod::Keyphone) | None => self.capturing(out),
                }
            }
            (State::Arming, Step::Verify) => self.send(
                Step::SendStart,
                Cmd::SendDtmf {
                    uuid: self.legs.capture.clone(),
                    digits: "1".into(),
                    duration_ms: self.cfg.dtmf_duration_ms,
                },
                out,
            ),
            (State::Arming, Step::SendStart) => self.capturing(out),
            _ => {}
        }
    }

    fn capturing(&mut self, out: &mut Vec<Action>) {
        self.state = State::Capturing;
        out.push(Action::StartTimer {
            kind: TimerKind::MaxCapture,
            after: self.cfg.max_capture,
        });
    }

    pub(super) fn unhold(&mut self, out: &mut Vec<Action>) {
        if let Some(member) = self.legs.customer_member {
            self.send(
                Step::UnholdCustomer,
                Cmd::ConferenceUnhold {
                    room: self.room.clone(),
                    member,
                },
                out,
            );
        }
    }

    pub(super) fn timer(&mut self, kind: TimerKind, out: &mut Vec<Action>) {
        match (kind, &self.state) {
            (TimerKind::AgentIdEntry, State::AwaitingAgentId) => {
                self.unwind(Outcome::Failed(FailReason::NoAgentId), out)
            }
            (TimerKind::Join, State::Moving) => self.unwind(
                Outcome::Failed(FailReason::StepTimeout {
                    step: Step::TransferCustomer,
                }),
                out,
            ),
            (TimerKind::CaptureAnswer, State::Dialling) => self.unwind(
                Outcome::Failed(FailReason::CaptureUnavailable {
                    cause: "NO_ANSWER".into(),
                }),
                out,
            ),
            (TimerKind::AgentIdDelay, State::Answered) => {
                let id = self
                    .agent_id
                    .as_ref()
                    .map(AgentId::as_str)
                    .unwrap_or_default();
                let digits = format!(
                    "{}{}{}",
                    self.cfg.agent_id_prefix, id, self.cfg.agent_id_suffix
                );
                self.state = State::SendingAgentId;
                self.send(
                    Step::SendAgentId,
                    Cmd::SendDtmf {
                        uuid: self.legs.capture.clone(),
                        digits,
                        duration_ms: self.cfg.dtmf_duration_ms,
                    },
                    out,
                );
            }
            (TimerKind::MaxCapture, State::Capturing) => {
                self.unwind(Outcome::Failed(FailReason::CaptureTimeout), out)
            }
            (TimerKind::Step, _) if !self.pending.is_empty() => {
                let step = self.pending[0];
                self.pending.clear();
                if self.state == State::Unwinding && self.legs.capture_up {
                    let kill = self.kill_capture();
                    self.push_pending(kill, out);
                } else if self.state == State::Unwinding {
                    if matches!(self.outcome, Some(Outcome::Completed { .. }) | None) {
                        self.outcome = Some(Outcome::Failed(FailReason::StepTimeout { step }));
                    }
                    self.try_finish(out);
                } else {
                    self.unwind(Outcome::Failed(FailReason::StepTimeout { step }), out);
                }
            }
            (TimerKind::Step, State::Unwinding) if self.legs.capture_up => {
                // The capture leg never reported its hangup: ask again rather than clear isolation
                // while it may still be there. `uuid_kill` answers `-ERR No such channel!` once it
                // is gone, which ends the wait.
                let kill = self.kill_capture();
                self.push_pending(kill, out);
            }
            _ => {}
        }
    }
}
