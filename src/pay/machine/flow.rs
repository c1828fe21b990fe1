//! The way to a capture: starting, the agent ID, attach moves, hold, dialling the capture service,
//! isolation and `sensitive_dtmf`. Part of [`Machine`]; pure like it.

use super::{Machine, State, steps};
use crate::pay::types::*;
use std::time::Duration;

impl Machine {
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
            Input::RecordingStarted => self.recording_started(out),
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
    pub(super) fn retry_transfer(&mut self, step: Step, out: &mut Vec<Action>) -> bool {
        let (uuid, flags) = match steps::moves(step) {
            Some(Leg::Customer) => (self.legs.customer.clone(), CUSTOMER_FLAGS),
            Some(Leg::Agent) => (self.legs.agent.clone(), AGENT_FLAGS),
            Some(Leg::Capture) | None => return false,
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

    /// Cuts the agent off from the customer and hides the customer's keys. With a member id not
    /// known (an `add-member` event still on its way, or lost) FreeSWITCH's member list is read
    /// first: the relate follows its reply, and a list without both fails the session.
    pub(super) fn isolate(&mut self, out: &mut Vec<Action>) {
        let unknown = self.legs.agent_member.is_none() || self.legs.customer_member.is_none();
        if self.legs.agent_alive && unknown {
            self.send(
                Step::FindMembers,
                Cmd::FindMembers {
                    room: self.room.clone(),
                    customer: self.legs.customer.clone(),
                    agent: self.legs.agent.clone(),
                },
                out,
            );
        } else {
            self.relate(out);
        }
        self.set_sensitive(true, out);
    }

    /// `relate <agent> <customer> nospeak,nohear`, once both member ids are known. An agent whose
    /// hangup FreeSWITCH reported has nothing left to be cut off from.
    pub(super) fn relate(&mut self, out: &mut Vec<Action>) {
        let (Some(a), Some(c)) = (self.legs.agent_member, self.legs.customer_member) else {
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

    pub(super) fn capturing(&mut self, out: &mut Vec<Action>) {
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
}
