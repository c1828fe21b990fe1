//! Keeping card tones out of the call's recordings. Part of [`Machine`]; pure like it.
//!
//! What: every recording FreeSWITCH reports on the customer's leg and the agent's leg (`uuid_record`,
//! `record_session`: function `session_record` in `uuid_buglist`) is masked (`uuid_record <uuid> mask
//! <path>`: FreeSWITCH writes silence in its place, the file keeps its length), and every recording
//! of the session's conference (`conference <room> recording start`, the profile's `auto-record`) is
//! paused (`conference <room> recording pause <path>`: nothing is written meanwhile, the file is
//! shorter by that time).
//!
//! When: masking starts once the customer is on hold and ends before the capture leg is dialled
//! (state `Masking`, between `Holding` and `Dialling`): no capture leg exists before it, so no key
//! the customer presses for the capture service, its prompts, nor the start key '1' (possible from
//! `Ready`) can reach a recording. The customer hears hold music meanwhile: only that is lost. It
//! ends once FreeSWITCH reported the capture leg gone (its hangup, or `uuid_kill`'s `No such
//! channel`), with the rest of the restore: every path out of a session (completed, cancelled,
//! refused command, timeouts, either party hanging up, connection lost, daemon restart) ends in
//! that restore.
//!
//! Recordings started later (`uuid_record … start`, `record_session`, `conference … recording
//! start` while the customer is on hold, ready or keying the card): FreeSWITCH's `RECORD_START`
//! (customer and agent legs) and `start-recording` (the conference) reach the session as
//! [`Input::RecordingStarted`] from `Masking` until the capture leg is gone. The event is not
//! believed (it carries a path, and `sendevent` can forge one): the lists are read again and
//! every recording they report is masked at once; the new ones are unmasked with the others. A
//! list that cannot be read or a mask FreeSWITCH refuses ends the capture (fail safe: the capture
//! leg is hung up at once, so the customer is keying to no one): FreeSWITCH refuses a mask only
//! for a path it does not record by that name (the recording stopped, its leg went, or in the
//! instant after it started), so there is nothing a stop could reach, and a compliance recording
//! is never stopped by confpayd. Between the recording's start and its mask (an event and three
//! commands, a few milliseconds) FreeSWITCH writes what it hears: a key pressed in that instant
//! may be in the file.
//!
//! Why masking must be confirmed first: a mask FreeSWITCH did not confirm with `+OK` may not be in
//! place, and a recording not masked would hold the card number (PCI DSS 3.2: no sensitive
//! authentication data after authorisation, and recordings are storage). So the capture leg is
//! dialled only after every list and every mask was answered `+OK`; any refusal, or no answer in
//! time, ends the session before the capture service is ever called (fail safe: no payment, the
//! agent and customer talk again, anything masked is unmasked).

use super::{Machine, State};
use crate::pay::commands::{conference_recordings, leg_recordings};
use crate::pay::types::*;

/// The steps that list recordings, one per place a recording can be.
const LISTS: [Step; 3] = [
    Step::ListCustomerRecordings,
    Step::ListAgentRecordings,
    Step::ListConferenceRecordings,
];

impl Machine {
    /// The customer is on hold: read the call's recordings back from FreeSWITCH.
    pub(super) fn find_recordings(&mut self, out: &mut Vec<Action>) {
        self.state = State::Masking;
        self.recordings.clear();
        self.list_recordings(out);
    }

    /// Sends the lists: the customer's leg, the agent's (while there), the conference.
    fn list_recordings(&mut self, out: &mut Vec<Action>) {
        let customer = self.legs.customer.clone();
        self.send(
            Step::ListCustomerRecordings,
            Cmd::ListLegRecordings { uuid: customer },
            out,
        );
        if self.legs.agent_alive {
            let agent = self.legs.agent.clone();
            self.send(
                Step::ListAgentRecordings,
                Cmd::ListLegRecordings { uuid: agent },
                out,
            );
        }
        let room = self.room.clone();
        self.send(
            Step::ListConferenceRecordings,
            Cmd::ListConferenceRecordings { room },
            out,
        );
    }

    /// Whether a recording started now could hear the capture: from masking until the capture leg
    /// is gone (the unmask comes only after that).
    fn may_hear_capture(&self) -> bool {
        match self.state {
            State::Masking
            | State::Dialling
            | State::Answered
            | State::SendingAgentId
            | State::Unholding
            | State::Ready
            | State::Arming
            | State::Capturing => true,
            State::Unwinding => self.legs.capture_up || self.legs.dialling,
            State::Idle
            | State::AwaitingAgentId
            | State::Moving
            | State::Holding
            | State::Suspended
            | State::Done => false,
        }
    }

    fn lists_pending(&self) -> bool {
        self.pending.iter().any(|s| LISTS.contains(s))
    }

    /// FreeSWITCH reported a recording started (the event names one, but only FreeSWITCH's lists
    /// are believed: an event can be forged with `sendevent`). The lists are read again and what
    /// they report is masked; a list already on its way may have been answered before the new
    /// recording existed, so it is read once more after it.
    pub(super) fn recording_started(&mut self, out: &mut Vec<Action>) {
        if !self.may_hear_capture() {
            return;
        }
        if self.lists_pending() {
            self.relist = true;
            return;
        }
        self.list_recordings(out);
    }

    /// A list's reply after `Masking` (a recording started meanwhile): every recording it reports
    /// is masked at once, known or not (a mask is idempotent, and a path stopped and started again
    /// is a new recording). A list that cannot be read fails safe: the capture ends.
    pub(super) fn relisted(&mut self, step: Step, ok: bool, reply: String, out: &mut Vec<Action>) {
        let found = match step {
            Step::ListCustomerRecordings => leg_recordings(&reply, &self.legs.customer),
            Step::ListAgentRecordings => leg_recordings(&reply, &self.legs.agent),
            _ => conference_recordings(&reply),
        };
        let Some(found) = found.filter(|_| ok) else {
            if self.state == State::Unwinding {
                return self.try_finish(out);
            }
            return self.unwind(
                Outcome::Failed(FailReason::CommandFailed { step, reply }),
                out,
            );
        };
        if self.may_hear_capture() {
            self.add_recordings(found.clone());
            self.mask(found, out);
        }
        if self.relist && !self.lists_pending() {
            self.relist = false;
            if self.may_hear_capture() {
                self.list_recordings(out);
            }
        }
        if self.state == State::Unwinding {
            self.try_finish(out);
        }
    }

    /// A list's reply: its recordings added, or a failure (FreeSWITCH's first line says why).
    pub(super) fn found_recordings(
        &mut self,
        step: Step,
        ok: bool,
        reply: String,
    ) -> (bool, String) {
        let found = match step {
            Step::ListCustomerRecordings => leg_recordings(&reply, &self.legs.customer),
            Step::ListAgentRecordings => leg_recordings(&reply, &self.legs.agent),
            _ => conference_recordings(&reply),
        };
        match found.filter(|_| ok) {
            Some(found) => {
                self.add_recordings(found);
                (true, reply)
            }
            None => (false, reply),
        }
    }

    /// Adds recordings not known yet.
    pub(super) fn add_recordings(&mut self, found: Vec<Recording>) {
        for r in found {
            if !self.recordings.contains(&r) {
                self.recordings.push(r);
            }
        }
    }

    /// A list or a mask succeeded while `Masking`: once every list is in, mask; once every mask is
    /// confirmed, dial the capture service.
    pub(super) fn masking_advanced(&mut self, step: Step, out: &mut Vec<Action>) {
        if LISTS.contains(&step) && self.relist && !self.lists_pending() {
            // A recording started while the lists were out: read them once more first.
            self.relist = false;
            self.list_recordings(out);
        }
        if self
            .pending
            .iter()
            .any(|s| LISTS.contains(s) || *s == Step::MaskRecording)
        {
            return;
        }
        if LISTS.contains(&step) && !self.recordings.is_empty() {
            return self.mask_all(true, out);
        }
        self.dial_capture(out);
    }

    /// Masks (`on`) every known recording, or unmasks those FreeSWITCH can still have: a leg's
    /// recording ends with its leg, the conference's with the customer (`endconf`).
    pub(super) fn mask_all(&mut self, on: bool, out: &mut Vec<Action>) {
        if on {
            return self.mask(self.recordings.clone(), out);
        }
        let (customer_alive, agent_alive) = (self.legs.customer_alive, self.legs.agent_alive);
        let targets: Vec<Recording> = self
            .recordings
            .iter()
            .filter(|r| match &r.on {
                Recorder::Leg(uuid) if *uuid == self.legs.agent => agent_alive,
                Recorder::Leg(_) | Recorder::Conference => customer_alive,
            })
            .cloned()
            .collect();
        for recording in targets {
            let cmd = Cmd::MaskRecording {
                room: self.room.clone(),
                recording,
                mask: false,
            };
            self.send(Step::UnmaskRecording, cmd, out);
        }
    }

    /// Masks `recordings` (legs) or pauses them (conference).
    fn mask(&mut self, recordings: Vec<Recording>, out: &mut Vec<Action>) {
        // Believed masked from the moment a mask is sent (a lost reply may still have masked it).
        if !recordings.is_empty() {
            self.legs.masked = true;
        }
        for recording in recordings {
            let cmd = Cmd::MaskRecording {
                room: self.room.clone(),
                recording,
                mask: true,
            };
            self.send(Step::MaskRecording, cmd, out);
        }
    }
}

/// Whether `step` lists recordings.
pub(super) fn is_list(step: Step) -> bool {
    LISTS.contains(&step)
}

/// A refusal of an unmask that shows there is nothing left to unmask: the recording stopped or its
/// leg or conference is gone (texts as the real switch answers them).
pub(super) fn nothing_to_unmask(reply: &str) -> bool {
    [
        "Cannot unmask recording session",
        "non-existant recording",
        "Cannot locate session",
        "not found",
    ]
    .iter()
    .any(|t| reply.contains(t))
}
