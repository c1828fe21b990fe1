//! The vocabulary of a payment session: legs, inputs, typed FreeSWITCH commands, actions, outcomes.
//! Pure data; no I/O. Customer digits are not part of this vocabulary: the only customer key the
//! engine ever learns of is the start key ('1'), as [`Input::CustomerStartKey`].

use std::fmt;
use std::time::Duration;

/// A FreeSWITCH channel UUID.
pub type Uuid = String;

/// One of the three legs of a Conference Pay call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Leg {
    Customer,
    Agent,
    Capture,
}

/// The agent's ID as sent to the capture service. Digits only (DTMF `0-9`); not card data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentId(String);

impl AgentId {
    /// Accepts 1..=32 DTMF digits `0-9`.
    pub fn parse(s: &str) -> Option<AgentId> {
        let ok = !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| AgentId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How capture was started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartMethod {
    /// The customer pressed '1'; the conference relayed it to the capture service.
    Keyphone,
    /// The agent clicked start; the daemon sent '1' to the capture service.
    Aca,
}

/// The customer's conference member flags (mod_conference reads them at join only): the customer's
/// digits are relayed to every member without `skip-dtmf`, i.e. to the capture service only
/// (`dist-dtmf`); the customer leaving ends the room (`endconf`), so the agent's leg and any capture
/// leg are hung up with it by FreeSWITCH itself, even while confpayd is down. `|`, not `,`: the
/// flags also travel inside an inline dialplan, where `,` separates applications.
pub const CUSTOMER_FLAGS: &str = "dist-dtmf|endconf";
/// The agent's conference member flags: the customer's digits never reach the agent.
pub const AGENT_FLAGS: &str = "skip-dtmf";

/// How agent and customer are connected when a payment starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    /// Both legs are already members of the session's conference (dialplan-driven calls).
    InConference,
    /// The legs are bridged by something else (a queue, a plain `bridge`): attach moves them in.
    Bridged,
}

/// Timers a session owns. At most one of each kind runs at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The agent keys the agent ID followed by '#'.
    AgentIdEntry,
    /// Customer and agent to appear in the conference after the attach transfer.
    Join,
    /// The capture service to answer.
    CaptureAnswer,
    /// Pause after the capture service answered, before the agent ID is sent.
    AgentIdDelay,
    /// The whole capture, from '1' to the capture leg hanging up.
    MaxCapture,
    /// A command reply or an expected event that never came.
    Step,
}

/// A step of the flow; tags each command so its reply finds its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    PrepareCustomer,
    PrepareAgent,
    TransferCustomer,
    TransferAgent,
    HoldCustomer,
    DialCapture,
    SendAgentId,
    UnholdCustomer,
    Isolate,
    Sensitive,
    /// The pre-capture check: the capture leg and the customer are in the conference.
    Verify,
    SendStart,
    KillCapture,
    Restore,
    /// `sensitive_dtmf=false` on the customer while `Ready`, to see the start key.
    WatchStartKey,
    AfterAgentHangup,
    /// Reading the conference's member list for a member id the session does not know (before
    /// isolating: only FreeSWITCH's word that both are members lets the relate cut the agent off).
    FindMembers,
    /// Listing the recordings on the customer's leg (`uuid_buglist`), before the capture leg is
    /// dialled.
    ListCustomerRecordings,
    /// Listing the recordings on the agent's leg (`uuid_buglist`).
    ListAgentRecordings,
    /// Listing the recordings of the conference (`conference <room> recording check`).
    ListConferenceRecordings,
    /// Masking (leg) or pausing (conference) one recording, before the capture leg is dialled.
    MaskRecording,
    /// Unmasking or resuming one recording, once the capture leg is gone.
    UnmaskRecording,
}

impl Step {
    /// Every step, in declaration order (the machine's step table is the exhaustive match).
    pub const ALL: [Step; 22] = [
        Step::PrepareCustomer,
        Step::PrepareAgent,
        Step::TransferCustomer,
        Step::TransferAgent,
        Step::HoldCustomer,
        Step::DialCapture,
        Step::SendAgentId,
        Step::UnholdCustomer,
        Step::Isolate,
        Step::Sensitive,
        Step::Verify,
        Step::SendStart,
        Step::KillCapture,
        Step::Restore,
        Step::WatchStartKey,
        Step::AfterAgentHangup,
        Step::FindMembers,
        Step::ListCustomerRecordings,
        Step::ListAgentRecordings,
        Step::ListConferenceRecordings,
        Step::MaskRecording,
        Step::UnmaskRecording,
    ];
}

/// What to do with the customer when the agent has hung up and no capture is running any more.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentHangupPolicy {
    /// Hang the customer up (NORMAL_CLEARING).
    Hangup,
    /// Transfer the customer to this dialplan destination (`<ext> [XML <context>]`).
    Transfer(String),
}

/// What makes a recording that may hear the capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorder {
    /// A media bug on a channel: `uuid_record <uuid> start` or the `record_session` application
    /// (both show in `uuid_buglist` as function `session_record`).
    Leg(Uuid),
    /// The session's conference: `conference <room> recording start` or the profile's
    /// `auto-record`.
    Conference,
}

/// A recording FreeSWITCH reported, by the file path it writes (its name in every command).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recording {
    pub on: Recorder,
    pub path: String,
}

/// A FreeSWITCH API command, typed. [`super::commands`] renders each to its exact API text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `uuid_setvar_multi <uuid> k=v;k=v`
    SetVars {
        uuid: Uuid,
        vars: Vec<(&'static str, &'static str)>,
    },
    /// `uuid_setvar <uuid> <name> <value>`
    SetVar {
        uuid: Uuid,
        name: &'static str,
        value: &'static str,
    },
    /// `uuid_transfer <uuid> conference:<room>@<profile>+flags{<flags>} inline`
    TransferToConference {
        uuid: Uuid,
        room: String,
        profile: String,
        flags: &'static str,
    },
    /// `conference <room> hold <member> <music>`
    ConferenceHold {
        room: String,
        member: u32,
        music: String,
    },
    /// `conference <room> unhold <member>`
    ConferenceUnhold { room: String, member: u32 },
    /// `originate {origination_uuid=..,originate_timeout=..}<dial> &conference(<room>@<profile>)`
    Originate {
        uuid: Uuid,
        dial: String,
        room: String,
        profile: String,
        timeout: Duration,
    },
    /// `uuid_send_dtmf <uuid> <digits>@<ms>`
    SendDtmf {
        uuid: Uuid,
        digits: String,
        duration_ms: u32,
    },
    /// `conference <room> relate <a> <b> nospeak,nohear` (isolate) or `... clear`.
    Relate {
        room: String,
        a: u32,
        b: u32,
        isolate: bool,
    },
    /// `conference <room> json_list`, checked for the capture leg and the customer as members.
    Verify {
        room: String,
        capture: Uuid,
        customer: Uuid,
    },
    /// `conference <room> json_list`, read for the member ids of the customer and the agent.
    FindMembers {
        room: String,
        customer: Uuid,
        agent: Uuid,
    },
    /// `uuid_buglist <uuid>`: the channel's media bugs, recordings among them.
    ListLegRecordings { uuid: Uuid },
    /// `conference <room> recording check`: the conference's recordings.
    ListConferenceRecordings { room: String },
    /// `uuid_record <uuid> mask|unmask <path>` for a leg's recording, `conference <room> recording
    /// pause|resume <path>` for the conference's.
    MaskRecording {
        room: String,
        recording: Recording,
        mask: bool,
    },
    /// `uuid_kill <uuid> <cause>`
    Kill { uuid: Uuid, cause: &'static str },
    /// `uuid_transfer <uuid> <destination>`
    Transfer { uuid: Uuid, destination: String },
}

/// What the actor must do after a step of the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send a command; its reply comes back as [`Input::Reply`] with the same step. `Originate`'s
    /// result comes back as [`Input::CaptureAnswered`] / [`Input::CaptureFailed`] instead.
    Send {
        step: Step,
        cmd: Cmd,
    },
    StartTimer {
        kind: TimerKind,
        after: Duration,
    },
    StopTimer(TimerKind),
    /// The session is over; the actor writes the audit record and drops the session.
    Finished(Outcome),
}

/// Why a payment did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// The agent ID was neither given nor keyed in time.
    NoAgentId,
    /// The capture service did not answer (`cause` from FreeSWITCH, e.g. `USER_BUSY`, `NO_ANSWER`).
    CaptureUnavailable {
        cause: String,
    },
    /// The capture service hung up before capture started.
    CaptureLeftEarly,
    /// Capture ran past `max_capture_s`; the capture leg was hung up.
    CaptureTimeout,
    /// A command FreeSWITCH refused.
    CommandFailed {
        step: Step,
        reply: String,
    },
    /// An expected event or reply did not arrive in time.
    StepTimeout {
        step: Step,
    },
    CustomerHungUp,
    AgentHungUp,
    /// The ESL connection was lost and the session could not be carried on.
    ConnectionLost,
}

/// How a session ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Completed { method: StartMethod },
    Cancelled,
    Failed(FailReason),
}

impl Outcome {
    /// A short stable code for metrics and APIs.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::Cancelled => "cancelled",
            Outcome::Failed(r) => match r {
                FailReason::NoAgentId => "no_agent_id",
                FailReason::CaptureUnavailable { .. } => "capture_unavailable",
                FailReason::CaptureLeftEarly => "capture_left_early",
                FailReason::CaptureTimeout => "capture_timeout",
                FailReason::CommandFailed { .. } => "command_failed",
                FailReason::StepTimeout { .. } => "step_timeout",
                FailReason::CustomerHungUp => "customer_hung_up",
                FailReason::AgentHungUp => "agent_hung_up",
                FailReason::ConnectionLost => "connection_lost",
            },
        }
    }
}

/// What FreeSWITCH says about a session's legs, read back after a reconnect or a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub customer_alive: bool,
    pub agent_alive: bool,
    pub capture_alive: bool,
    /// Member ids in the session's conference, if the conference exists.
    pub customer_member: Option<u32>,
    pub agent_member: Option<u32>,
    pub capture_member: Option<u32>,
    /// The customer is on hold in the session's conference (its `json_list` member flag `hold`).
    pub customer_held: bool,
    /// The agent is cut off from the customer (`conference <room> relate <agent>` lists the
    /// customer `NOHEAR`/`NOSPEAK`). Read only after a daemon restart ([`super::recover`]).
    pub agent_isolated: bool,
    /// Recordings of the customer's and agent's legs and of the conference, as far as they could be
    /// read (a lookup that got no answer adds nothing).
    pub recordings: Vec<Recording>,
}

/// Everything that can happen to a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Take a payment (ACA button or phone feature code); the agent ID if the trigger carried one.
    Start {
        agent_id: Option<AgentId>,
    },
    /// A DTMF digit pressed by the agent (used only while the agent keys the agent ID).
    AgentDigit(char),
    /// The customer pressed the start key '1' (Keyphone). No other customer digit is ever an input.
    CustomerStartKey,
    /// The agent clicked "start capture" (ACA).
    StartCapture,
    Cancel,
    /// The reply to a command sent with `step`: `ok` per [`super::commands::reply_ok`].
    Reply {
        step: Step,
        ok: bool,
        reply: String,
    },
    /// The capture leg answered (originate `+OK <uuid>`).
    CaptureAnswered {
        uuid: Uuid,
    },
    /// The originate failed (`-ERR <cause>`).
    CaptureFailed {
        cause: String,
    },
    /// A leg became a member of the session's conference (`add-member`).
    Joined {
        leg: Leg,
        member: u32,
    },
    /// A leg hung up.
    Hangup {
        leg: Leg,
    },
    Timer(TimerKind),
    /// The ESL connection dropped; commands in flight are lost.
    ConnectionLost,
    /// The connection is back (or the daemon restarted): FreeSWITCH's view of the legs.
    Resync(Snapshot),
    /// FreeSWITCH reported a recording started on the customer's or the agent's leg
    /// (`RECORD_START`) or in the session's conference (`start-recording`). It carries nothing:
    /// the session reads the recordings back from FreeSWITCH and masks what it reports.
    RecordingStarted,
}
