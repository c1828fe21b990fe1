//! How a session ends: losing a leg, losing the connection, and unwinding to a safe state
//! (capture leg down first, then isolation cleared, customer unheld; `sensitive_dtmf` stays on).
//! Part of [`Machine`]; pure like it.

use super::recordings::nothing_to_unmask;
use super::steps::{self, Leftover};
use super::{Machine, State};
use crate::pay::types::*;

impl Machine {
    pub(super) fn suspended(&mut self, input: Input, out: &mut Vec<Action>) {
        match input {
            Input::Cancel => self.cancel_requested = true,
            Input::Resync(snap) => self.resync(snap, out),
            // Without a connection nothing can be sent; timers are re-armed on resync.
            Input::Start { .. }
            | Input::AgentDigit(_)
            | Input::CustomerStartKey
            | Input::StartCapture
            | Input::Reply { .. }
            | Input::CaptureAnswered { .. }
            | Input::CaptureFailed { .. }
            | Input::Joined { .. }
            | Input::Hangup { .. }
            | Input::Timer(_)
            | Input::ConnectionLost
            // The resync reads the recordings back and masks them while a capture leg is there.
            | Input::RecordingStarted => {}
        }
    }

    /// The connection dropped with commands in flight: each may or may not have run in
    /// FreeSWITCH (only its reply is surely lost). Believe whatever needs undoing, so the restore
    /// after the resync undoes it: a hold, an isolation, a `sensitive_dtmf=true` that may be off.
    pub(super) fn in_flight_may_have_run(&mut self) {
        let leftovers: Vec<Leftover> = self
            .pending
            .iter()
            .filter_map(|s| steps::leftover(*s))
            .collect();
        for leftover in leftovers {
            self.believe(leftover);
        }
    }

    pub(super) fn resync(&mut self, snap: Snapshot, out: &mut Vec<Action>) {
        let was = self.suspended_from.take().unwrap_or(State::Idle);
        self.legs.customer_alive = snap.customer_alive;
        self.legs.agent_alive = snap.agent_alive;
        self.legs.capture_up = snap.capture_alive;
        // A member list that could not be read back (no answer) says nothing: keep the members we
        // knew, or the restore would skip `relate … clear` and leave the two apart. A member that
        // really left answers the clear with `not found` / `Non-Existant ID` (nothing to undo).
        self.legs.customer_member = snap.customer_member.or(self.legs.customer_member);
        self.legs.agent_member = snap.agent_member.or(self.legs.agent_member);
        self.legs.capture_member = snap.capture_member;
        // An originate's result is lost with the connection: whether the capture leg exists is
        // what FreeSWITCH says now (`capture_up`), never a result still awaited.
        self.legs.dialling = false;
        self.add_recordings(snap.recordings.clone());
        self.state = was.clone();
        if !snap.customer_alive {
            return self.customer_gone(out);
        }
        if self.cancel_requested {
            return self.unwind(Outcome::Cancelled, out);
        }
        match was {
            // ACA: whether the daemon's '1' reached the capture service is unknown (it was not yet
            // sent, or lost in flight): never resume a capture that may not have started.
            State::Arming if self.method == Some(StartMethod::Aca) => {
                self.unwind(Outcome::Failed(FailReason::ConnectionLost), out)
            }
            State::Capturing | State::Arming => {
                if snap.capture_alive {
                    // Make sure of isolation whatever we believed before the loss.
                    self.legs.isolated = false;
                    self.isolate(out);
                    // Masked again, whatever was believed: a mask is idempotent in FreeSWITCH, and a
                    // recording started meanwhile is masked too. A refusal ends the capture.
                    self.mask_all(true, out);
                    // Rebuilt after a restart, the customer may still be on hold (killed while the
                    // capture service was being set up): on hold the customer hears music, not the
                    // capture service. Unheld after the isolation above, so the agent still cannot
                    // hear them.
                    if self.legs.customer_held {
                        self.unhold(out);
                    }
                    self.state = State::Capturing;
                    // The limit starts again: how long capture ran before the loss is not known.
                    out.push(Action::StartTimer {
                        kind: TimerKind::MaxCapture,
                        after: self.cfg.max_capture,
                    });
                    if !snap.agent_alive {
                        self.apply_agent_policy = true;
                    }
                } else {
                    let outcome = match self.method {
                        Some(method) => Outcome::Completed { method },
                        None => Outcome::Failed(FailReason::ConnectionLost),
                    };
                    self.unwind(outcome, out);
                }
            }
            State::Idle => {}
            State::Unwinding => {
                let outcome = self
                    .outcome
                    .take()
                    .unwrap_or(Outcome::Failed(FailReason::ConnectionLost));
                self.unwind(outcome, out);
            }
            State::AwaitingAgentId
            | State::Moving
            | State::Holding
            | State::Masking
            | State::Dialling
            | State::Answered
            | State::SendingAgentId
            | State::Unholding
            | State::Ready
            | State::Suspended
            | State::Done => self.unwind(Outcome::Failed(FailReason::ConnectionLost), out),
        }
    }

    pub(super) fn capture_gone(&mut self, out: &mut Vec<Action>) {
        out.push(Action::StopTimer(TimerKind::MaxCapture));
        match self.state {
            State::Capturing => {
                let method = self.method.unwrap_or(StartMethod::Aca);
                self.unwind(Outcome::Completed { method }, out);
            }
            // The originate's result carries the cause (USER_BUSY, NO_ANSWER, ...) and FreeSWITCH
            // sends it after the leg's own hangup event: wait for it (the answer timer still runs).
            State::Dialling if self.legs.dialling => {}
            State::Dialling => {
                out.push(Action::StopTimer(TimerKind::CaptureAnswer));
                self.unwind(
                    Outcome::Failed(FailReason::CaptureUnavailable {
                        cause: "HANGUP".into(),
                    }),
                    out,
                )
            }
            State::Answered
            | State::SendingAgentId
            | State::Unholding
            | State::Ready
            | State::Arming => self.unwind(Outcome::Failed(FailReason::CaptureLeftEarly), out),
            State::Unwinding => self.try_finish(out),
            State::Idle
            | State::AwaitingAgentId
            | State::Moving
            | State::Holding
            | State::Masking
            | State::Suspended
            | State::Done => {}
        }
    }

    pub(super) fn customer_gone(&mut self, out: &mut Vec<Action>) {
        // Nothing to restore for a customer who left; the capture leg must not linger.
        self.pending.clear();
        self.legs.customer_held = false;
        if self.legs.capture_up || self.legs.dialling {
            out.push(self.kill_capture());
            self.legs.capture_up = false;
        }
        let outcome = match (&self.state, &self.outcome) {
            (State::Unwinding, Some(o)) if !refused(o) => o.clone(),
            _ => Outcome::Failed(FailReason::CustomerHungUp),
        };
        self.finish(outcome, out);
    }

    /// An agent or customer hangup seen while unwinding from a refused command: FreeSWITCH
    /// refused it because the leg had already gone (its reply came before the hangup event), so
    /// the hangup is the outcome.
    fn hangup_explains_refusal(&mut self, reason: FailReason) {
        if self.outcome.as_ref().is_some_and(refused) {
            self.outcome = Some(Outcome::Failed(reason));
        }
    }

    pub(super) fn agent_gone(&mut self, out: &mut Vec<Action>) {
        match self.state {
            // The customer stays with the capture service until it finishes.
            State::Capturing => self.apply_agent_policy = true,
            State::Unwinding => {
                self.apply_agent_policy = true;
                self.hangup_explains_refusal(FailReason::AgentHungUp);
                self.try_finish(out);
            }
            State::Idle => {}
            _ => {
                self.apply_agent_policy = true;
                self.unwind(Outcome::Failed(FailReason::AgentHungUp), out);
            }
        }
    }

    pub(super) fn kill_capture(&self) -> Action {
        Action::Send {
            step: Step::KillCapture,
            cmd: Cmd::Kill {
                uuid: self.legs.capture.clone(),
                cause: "NORMAL_CLEARING",
            },
        }
    }

    /// Ends the session safely: capture leg down first, then isolation cleared, customer unheld.
    pub(super) fn unwind(&mut self, outcome: Outcome, out: &mut Vec<Action>) {
        for t in [
            TimerKind::AgentIdEntry,
            TimerKind::Join,
            TimerKind::AgentIdDelay,
            TimerKind::MaxCapture,
        ] {
            out.push(Action::StopTimer(t));
        }
        self.state = State::Unwinding;
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
        self.pending.clear();
        if self.legs.capture_up || self.legs.dialling {
            // Wait for the capture leg's hangup (or the originate's failure) before clearing
            // isolation. A kill sent while dialling may find no channel yet: the originate's result
            // still decides (an answer then is killed at once).
            let kill = self.kill_capture();
            self.push_pending(kill, out);
            return;
        }
        self.restore(out);
    }

    /// Capture leg gone: clear isolation, lift hold, drop sensitivity, then finish.
    pub(super) fn restore(&mut self, out: &mut Vec<Action>) {
        let alive = self.legs.customer_alive;
        self.rejoin(out);
        if self.legs.isolated {
            self.clear_isolation(out);
            self.legs.isolated = false;
        }
        if self.legs.customer_held {
            if alive {
                self.unhold(out);
            }
            self.legs.customer_held = false;
        }
        // `sensitive_dtmf` stays on: nothing needs the customer's keys after a payment, and it
        // keeps them out of FreeSWITCH's events, logs and CDR. Turn it back on if the session
        // turned it off to watch for the start key.
        if self.legs.keys_exposed {
            self.set_sensitive(true, out);
        }
        // The capture leg is gone: the recordings may hear the call again.
        if self.legs.masked {
            self.mask_all(false, out);
            self.legs.masked = false;
        }
        self.try_finish(out);
    }

    /// Half an attach (one leg moved into the conference, the other parked by
    /// `park_after_bridge`) leaves agent and customer apart: move the other one in too.
    fn rejoin(&mut self, out: &mut Vec<Action>) {
        if self.topology != Topology::Bridged || !self.legs.customer_alive || !self.legs.agent_alive
        {
            return;
        }
        let (step, uuid, flags) = match (self.legs.customer_member, self.legs.agent_member) {
            (Some(_), None) => (Step::TransferAgent, self.legs.agent.clone(), AGENT_FLAGS),
            (None, Some(_)) => (
                Step::TransferCustomer,
                self.legs.customer.clone(),
                CUSTOMER_FLAGS,
            ),
            (Some(_), Some(_)) | (None, None) => return,
        };
        let cmd = Cmd::TransferToConference {
            uuid,
            room: self.room.clone(),
            profile: self.cfg.profile.clone(),
            flags,
        };
        self.send(step, cmd, out);
    }

    /// A restore step that failed (refused, or no reply in time) is sent once more: agent and
    /// customer must not stay apart, nor the customer on hold. When the second try is refused
    /// because FreeSWITCH no longer has what it would undo (`-ERR relationship … not found.`,
    /// `-ERR Non-Existant ID …`), there is nothing left to restore. True when handled here.
    pub(super) fn retry_restore(&mut self, step: Step, reply: &str, out: &mut Vec<Action>) -> bool {
        let Some(undoes) = steps::undoes(step) else {
            return false;
        };
        if self.legs.capture_up || self.legs.dialling {
            // A capture leg (back) in the conference: redo it once that leg is gone.
            self.believe(undoes);
            return false;
        }
        if undoes == Leftover::Masked && nothing_to_unmask(reply) {
            // The recording stopped, or its leg or conference went: nothing was left to unmask.
            self.try_finish(out);
            return true;
        }
        if !self.retried.contains(&step) {
            let before = self.pending.len();
            match undoes {
                Leftover::Isolation => self.clear_isolation(out),
                Leftover::Hold if self.legs.customer_alive => self.unhold(out),
                Leftover::KeysExposed if self.legs.customer_alive => self.set_sensitive(true, out),
                Leftover::Masked => self.mask_all(false, out),
                Leftover::Hold | Leftover::KeysExposed => {}
            }
            self.retried.push(step);
            return self.pending.len() > before;
        }
        if reply.contains("not found") || reply.contains("Non-Existant ID") {
            self.try_finish(out);
            return true;
        }
        false
    }

    /// Believes `leftover` is there, so that the restore undoes it.
    fn believe(&mut self, leftover: Leftover) {
        match leftover {
            Leftover::Hold => self.legs.customer_held = true,
            Leftover::Isolation => self.legs.isolated = true,
            Leftover::KeysExposed => self.legs.keys_exposed = true,
            Leftover::Masked => self.legs.masked = true,
        }
    }

    /// `relate … clear` between agent and customer. A relationship dies with its member: only
    /// cleared when both are still there.
    fn clear_isolation(&mut self, out: &mut Vec<Action>) {
        if let (true, Some(a), Some(c)) = (
            self.legs.customer_alive,
            self.legs.agent_member,
            self.legs.customer_member,
        ) {
            self.send(
                Step::Restore,
                Cmd::Relate {
                    room: self.room.clone(),
                    a,
                    b: c,
                    isolate: false,
                },
                out,
            );
        }
    }

    pub(super) fn try_finish(&mut self, out: &mut Vec<Action>) {
        if self.state != State::Unwinding {
            return;
        }
        if self.legs.capture_up || self.legs.dialling {
            return;
        }
        let alive = self.legs.customer_alive;
        let leftovers = self.legs.customer_held || self.legs.keys_exposed || self.legs.masked;
        if self.legs.isolated || (alive && leftovers) {
            // Capture gone now: continue with the restore steps.
            return self.restore(out);
        }
        if !self.pending.is_empty() {
            return;
        }
        let outcome = self
            .outcome
            .clone()
            .unwrap_or(Outcome::Failed(FailReason::ConnectionLost));
        self.finish(outcome, out);
    }

    pub(super) fn finish(&mut self, outcome: Outcome, out: &mut Vec<Action>) {
        if self.apply_agent_policy && self.legs.customer_alive && !self.legs.agent_alive {
            let cmd = match &self.cfg.on_agent_hangup {
                AgentHangupPolicy::Hangup => Cmd::Kill {
                    uuid: self.legs.customer.clone(),
                    cause: "NORMAL_CLEARING",
                },
                AgentHangupPolicy::Transfer(dest) => Cmd::Transfer {
                    uuid: self.legs.customer.clone(),
                    destination: dest.clone(),
                },
            };
            out.push(Action::Send {
                step: Step::AfterAgentHangup,
                cmd,
            });
        }
        for t in [
            TimerKind::AgentIdEntry,
            TimerKind::Join,
            TimerKind::CaptureAnswer,
            TimerKind::AgentIdDelay,
            TimerKind::MaxCapture,
            TimerKind::Step,
        ] {
            out.push(Action::StopTimer(t));
        }
        self.pending.clear();
        self.state = State::Done;
        self.outcome = Some(outcome.clone());
        out.push(Action::Finished(outcome));
    }
}

/// Whether `o` is a command FreeSWITCH refused.
fn refused(o: &Outcome) -> bool {
    matches!(o, Outcome::Failed(FailReason::CommandFailed { .. }))
}
