//! What each command step means to the machine, in one exhaustive table ([`traits`]): which leg a
//! refusal of it shows gone, which leg it moves into the conference, what it restores, and what it
//! may leave behind when its reply is lost with the connection. Every other question about a step is
//! answered from this table, so a new step is described once.

use crate::pay::types::{Leg, Step};

/// FreeSWITCH's refusal text that shows a leg gone (as recorded in `inbound-call-control` and
/// `inbound-conference-control`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GoneSign {
    /// `-ERR No such channel!`: a command on the leg's channel.
    NoChannel,
    /// `-ERR Non-Existant ID <n>`: a conference command on the leg's member (it left).
    NoMember,
}

impl GoneSign {
    fn shown_by(self, reply: &str) -> bool {
        match self {
            GoneSign::NoChannel => reply.starts_with("-ERR No such channel"),
            GoneSign::NoMember => reply.starts_with("-ERR Non-Existant ID"),
        }
    }
}

/// What a step may have changed in FreeSWITCH when its reply was lost with the connection: the
/// restore after the resync must then undo it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Leftover {
    /// The customer may be on hold.
    Hold,
    /// Agent and customer may be isolated.
    Isolation,
    /// `sensitive_dtmf` may still be off: the customer's keys may show in events.
    KeysExposed,
    /// The call's recordings may be masked (legs) or paused (conference).
    Masked,
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Traits {
    /// The leg a refusal of this step can show to be gone, and the refusal that shows it.
    gone: Option<(Leg, GoneSign)>,
    /// Attach: the leg this step moves into the conference.
    moves: Option<Leg>,
    /// A restore step: what it undoes (sent while unwinding, retried once when it fails).
    undoes: Option<Leftover>,
    /// What it may leave behind when its reply is lost.
    leftover: Option<Leftover>,
}

const PLAIN: Traits = Traits {
    gone: None,
    moves: None,
    undoes: None,
    leftover: None,
};

/// The table: the one exhaustive list of steps.
const fn traits(step: Step) -> Traits {
    use GoneSign::{NoChannel, NoMember};
    match step {
        Step::PrepareCustomer => Traits {
            gone: Some((Leg::Customer, NoChannel)),
            ..PLAIN
        },
        Step::PrepareAgent => Traits {
            gone: Some((Leg::Agent, NoChannel)),
            ..PLAIN
        },
        Step::TransferCustomer => Traits {
            gone: Some((Leg::Customer, NoChannel)),
            moves: Some(Leg::Customer),
            ..PLAIN
        },
        Step::TransferAgent => Traits {
            gone: Some((Leg::Agent, NoChannel)),
            moves: Some(Leg::Agent),
            ..PLAIN
        },
        Step::HoldCustomer => Traits {
            gone: Some((Leg::Customer, NoMember)),
            leftover: Some(Leftover::Hold),
            ..PLAIN
        },
        Step::UnholdCustomer => Traits {
            gone: Some((Leg::Customer, NoMember)),
            undoes: Some(Leftover::Hold),
            leftover: Some(Leftover::Hold),
            ..PLAIN
        },
        Step::Isolate => Traits {
            leftover: Some(Leftover::Isolation),
            ..PLAIN
        },
        Step::Restore => Traits {
            undoes: Some(Leftover::Isolation),
            leftover: Some(Leftover::Isolation),
            ..PLAIN
        },
        Step::Sensitive => Traits {
            gone: Some((Leg::Customer, NoChannel)),
            leftover: Some(Leftover::KeysExposed),
            ..PLAIN
        },
        Step::WatchStartKey => Traits {
            gone: Some((Leg::Customer, NoChannel)),
            ..PLAIN
        },
        Step::MaskRecording => Traits {
            leftover: Some(Leftover::Masked),
            ..PLAIN
        },
        Step::UnmaskRecording => Traits {
            undoes: Some(Leftover::Masked),
            leftover: Some(Leftover::Masked),
            ..PLAIN
        },
        // A refused list ends the session before anything was masked; which leg is gone is told by
        // its hangup (a gone channel's `uuid_buglist` answers nothing: `-ERR no reply`).
        Step::ListCustomerRecordings
        | Step::ListAgentRecordings
        | Step::ListConferenceRecordings
        | Step::DialCapture
        | Step::SendAgentId
        | Step::Verify
        | Step::SendStart
        | Step::KillCapture
        | Step::AfterAgentHangup
        | Step::FindMembers => PLAIN,
    }
}

/// The leg a refused command shows to be gone: its hangup event is on its way (the reply came first).
pub(super) fn gone_by_reply(step: Step, ok: bool, reply: &str) -> Option<Leg> {
    if ok {
        return None;
    }
    traits(step)
        .gone
        .filter(|(_, sign)| sign.shown_by(reply))
        .map(|(leg, _)| leg)
}

/// Attach: the leg `step` moves from its bridge into the conference.
pub(super) fn moves(step: Step) -> Option<Leg> {
    traits(step).moves
}

/// What `step` undoes, if it is a restore step.
pub(super) fn undoes(step: Step) -> Option<Leftover> {
    traits(step).undoes
}

/// What `step` may have left behind if it ran and its reply was lost.
pub(super) fn leftover(step: Step) -> Option<Leftover> {
    traits(step).leftover
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_step_once_in_order() {
        for (i, step) in Step::ALL.into_iter().enumerate() {
            assert_eq!(step as usize, i, "{step:?}");
        }
        assert_eq!(Step::ALL.len(), Step::UnmaskRecording as usize + 1);
    }

    #[test]
    fn refusals_show_a_leg_gone_only_for_commands_on_that_leg() {
        let no_channel = "-ERR No such channel!\n";
        let no_member = "-ERR Non-Existant ID 7\n";
        assert_eq!(
            gone_by_reply(Step::TransferAgent, false, no_channel),
            Some(Leg::Agent)
        );
        assert_eq!(
            gone_by_reply(Step::WatchStartKey, false, no_channel),
            Some(Leg::Customer)
        );
        assert_eq!(
            gone_by_reply(Step::HoldCustomer, false, no_member),
            Some(Leg::Customer)
        );
        // The wrong refusal for the step, a success, or a step on no party's leg: nothing shown.
        assert_eq!(gone_by_reply(Step::HoldCustomer, false, no_channel), None);
        assert_eq!(gone_by_reply(Step::TransferAgent, true, no_channel), None);
        assert_eq!(gone_by_reply(Step::KillCapture, false, no_channel), None);
        for step in Step::ALL {
            assert_eq!(gone_by_reply(step, false, "-ERR Operation failed"), None);
        }
    }
}
