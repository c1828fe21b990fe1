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
        let (customer_alive, agent_alive) = (self.legs.customer_alive, self.legs.agent_alive);
        let targets: Vec<Recording> = self
            .recordings
            .iter()
            .filter(|r| {
                on || match &r.on {
                    Recorder::Leg(uuid) if *uuid == self.legs.agent => agent_alive,
                    Recorder::Leg(_) | Recorder::Conference => customer_alive,
                }
            })
            .cloned()
            .collect();
        let step = if on {
            Step::MaskRecording
        } else {
            Step::UnmaskRecording
        };
        for recording in targets {
            let cmd = Cmd::MaskRecording {
                room: self.room.clone(),
                recording,
                mask: on,
            };
            self.send(step, cmd, out);
        }
        // Believed masked from the moment a mask is sent (a lost reply may still have masked it).
        if on && !self.recordings.is_empty() {
            self.legs.masked = true;
        }
    }
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
