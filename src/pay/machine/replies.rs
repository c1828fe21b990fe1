//! FreeSWITCH's answers to the session's commands and the session's own timers: each moves the flow
//! on, or ends the session safely. Part of [`Machine`]; pure like it.

use super::recordings::is_list;
use super::steps::gone_by_reply;
use super::{Machine, State};
use crate::pay::commands::members_of;
use crate::pay::types::*;

impl Machine {
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
        if is_list(step) && self.state != State::Masking {
            // Read again because a recording started (see `recordings`).
            return self.relisted(step, ok, reply, out);
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
        let (ok, reply) = match step {
            Step::FindMembers => self.found_members(ok, reply),
            Step::ListCustomerRecordings
            | Step::ListAgentRecordings
            | Step::ListConferenceRecordings => self.found_recordings(step, ok, reply),
            _ => (ok, reply),
        };
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
        self.advance(step, out);
    }

    /// `step` succeeded: the next step of the flow, if it was the one the state waited for.
    fn advance(&mut self, step: Step, out: &mut Vec<Action>) {
        match (&self.state, step) {
            (State::Holding, Step::HoldCustomer) => {
                self.legs.customer_held = true;
                self.find_recordings(out);
            }
            (
                State::Masking,
                Step::ListCustomerRecordings
                | Step::ListAgentRecordings
                | Step::ListConferenceRecordings
                | Step::MaskRecording,
            ) => self.masking_advanced(step, out),
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
            (_, Step::FindMembers) => self.relate(out),
            (State::Arming, Step::Isolate | Step::Sensitive)
                if !self.pending.contains(&Step::Isolate)
                    && !self.pending.contains(&Step::Sensitive)
                    && !self.pending.contains(&Step::FindMembers) =>
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

    /// The member list read by [`Step::FindMembers`]: both member ids taken from it, or a failure
    /// (the list as the reply would hold callers' numbers: the outcome says what was missing).
    fn found_members(&mut self, ok: bool, reply: String) -> (bool, String) {
        let found = ok
            .then(|| members_of(&reply, &self.room, &self.legs.customer, &self.legs.agent))
            .flatten();
        match found {
            Some((customer, agent)) => {
                self.legs.customer_member = Some(customer);
                self.legs.agent_member = Some(agent);
                (true, reply)
            }
            None => (
                false,
                "agent and customer not both conference members".to_owned(),
            ),
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
