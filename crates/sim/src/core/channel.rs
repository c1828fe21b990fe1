//! One channel: its state machine values, caller profile and variables, as FreeSWITCH reports them.

use crate::party::Party;
use std::collections::VecDeque;

/// `Channel-State` (`switch_channel_state_t`), with its `Channel-State-Number`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelState {
    New,
    Init,
    Routing,
    SoftExecute,
    Execute,
    ExchangeMedia,
    Park,
    ConsumeMedia,
    Hibernate,
    Reset,
    Hangup,
    Reporting,
    Destroy,
}

impl ChannelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelState::New => "CS_NEW",
            ChannelState::Init => "CS_INIT",
            ChannelState::Routing => "CS_ROUTING",
            ChannelState::SoftExecute => "CS_SOFT_EXECUTE",
            ChannelState::Execute => "CS_EXECUTE",
            ChannelState::ExchangeMedia => "CS_EXCHANGE_MEDIA",
            ChannelState::Park => "CS_PARK",
            ChannelState::ConsumeMedia => "CS_CONSUME_MEDIA",
            ChannelState::Hibernate => "CS_HIBERNATE",
            ChannelState::Reset => "CS_RESET",
            ChannelState::Hangup => "CS_HANGUP",
            ChannelState::Reporting => "CS_REPORTING",
            ChannelState::Destroy => "CS_DESTROY",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            ChannelState::New => 0,
            ChannelState::Init => 1,
            ChannelState::Routing => 2,
            ChannelState::SoftExecute => 3,
            ChannelState::Execute => 4,
            ChannelState::ExchangeMedia => 5,
            ChannelState::Park => 6,
            ChannelState::ConsumeMedia => 7,
            ChannelState::Hibernate => 8,
            ChannelState::Reset => 9,
            ChannelState::Hangup => 10,
            ChannelState::Reporting => 11,
            ChannelState::Destroy => 12,
        }
    }
}

/// `Channel-Call-State` (`switch_channel_callstate_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    Down,
    Dialing,
    Ringing,
    Early,
    Active,
    Held,
    RingWait,
    Hangup,
    Unheld,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Down => "DOWN",
            CallState::Dialing => "DIALING",
            CallState::Ringing => "RINGING",
            CallState::Early => "EARLY",
            CallState::Active => "ACTIVE",
            CallState::Held => "HELD",
            CallState::RingWait => "RING_WAIT",
            CallState::Hangup => "HANGUP",
            CallState::Unheld => "UNHELD",
        }
    }

    pub fn number(self) -> u8 {
        match self {
            CallState::Down => 0,
            CallState::Dialing => 1,
            CallState::Ringing => 2,
            CallState::Early => 3,
            CallState::Active => 4,
            CallState::Held => 5,
            CallState::RingWait => 6,
            CallState::Hangup => 7,
            CallState::Unheld => 8,
        }
    }
}

/// `Call-Direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The caller profile (`Caller-*` headers). Times are microseconds since the epoch, 0 = never.
#[derive(Debug, Clone, Default)]
pub struct CallerProfile {
    /// `Caller-Username` (SIP user of an inbound sofia leg).
    pub username: String,
    /// `Caller-Network-Addr` (the far end's IP of a SIP leg).
    pub network_addr: String,
    pub cid_name: String,
    pub cid_number: String,
    pub orig_cid_name: String,
    pub orig_cid_number: String,
    pub callee_name: String,
    pub callee_number: String,
    pub ani: String,
    pub destination: String,
    pub context: String,
    pub source: String,
    pub transfer_source: Option<String>,
    /// `Caller-RDNIS`: the destination before a transfer.
    pub rdnis: Option<String>,
    /// `Caller-Dialplan`: `xml` on loopback legs, `XML` on sofia inbound legs and after
    /// `uuid_transfer ... XML`, empty (not shown) on originated SIP legs.
    pub dialplan: String,
    /// The first profile's dialplan (`initial_dialplan` of `show channels`), once a profile replaced it.
    pub first_dialplan: Option<String>,
    /// `Caller-Logical-Direction` when it differs from the channel's direction (a loopback leg after
    /// `uuid_bridge` reports `inbound`).
    pub logical: Option<Direction>,
    /// `Caller-Profile-Index`: 1 for the first profile, +1 per bridge/transfer (0 is shown as 1).
    pub index: u32,
    pub created_us: u64,
    /// `Caller-Channel-Created-Time` (kept when a new profile replaces this one; 0 = `created_us`).
    pub channel_created_us: u64,
    pub answered_us: u64,
    pub progress_us: u64,
    pub hangup_us: u64,
    pub transfer_us: u64,
    pub bridged_us: u64,
    pub last_hold_us: u64,
}

/// An application a channel is running now.
#[derive(Debug, Clone)]
pub struct RunningApp {
    pub name: String,
    /// Broadcast onto the channel (hold music): when it ends the channel goes back to what it did,
    /// the dialplan does not move on.
    pub broadcast: bool,
    pub arg: String,
    pub app_uuid: Option<String>,
    /// Bumped per start so stale completion timers are ignored.
    pub generation: u64,
}

/// A `sendmsg execute` waiting behind the running application.
#[derive(Debug, Clone)]
pub struct QueuedExec {
    pub app: String,
    pub arg: String,
    pub app_uuid: Option<String>,
}

/// Outbound-socket control of a channel.
#[derive(Debug, Clone)]
pub struct SocketCtl {
    pub async_mode: bool,
    pub full: bool,
    pub connected: bool,
}

/// One live channel.
#[derive(Debug, Clone)]
pub struct Channel {
    pub uuid: String,
    pub name: String,
    pub direction: Direction,
    pub state: ChannelState,
    pub callstate: CallState,
    pub answered: bool,
    pub hit_dialplan: bool,
    pub hangup_cause: Option<String>,
    pub profile: CallerProfile,
    pub vars: Vec<(String, String)>,
    pub party: Option<Party>,
    /// The application stack: the dialplan app at the bottom, `sendmsg` apps run by an async socket on top.
    pub apps: Vec<RunningApp>,
    /// The other half of a loopback pair (its far end), when this is a loopback leg.
    pub loopback_peer: Option<String>,
    /// The socket closed with `socket_resume` false: the dialplan no longer continues.
    pub orphaned: bool,
    pub dialplan: VecDeque<(String, String)>,
    pub execs: VecDeque<QueuedExec>,
    pub socket: Option<SocketCtl>,
    /// The bridged partner (CHANNEL_BRIDGE), if any.
    pub bridged_to: Option<String>,
    /// This leg is the A side of its bridge (the one CHANNEL_BRIDGE and CHANNEL_UNBRIDGE are
    /// reported on), whatever caller profile it has since been given.
    pub bridge_a: bool,
    /// The `Other-Leg-*` channel and its `Other-Type` (`originator`/`originatee`), kept after unbridge.
    pub other_leg: Option<(String, &'static str)>,
    /// `uuid_hold` put this leg on hold (CF_HOLD + CF_SUSPEND).
    pub held: bool,
    /// Hold-music broadcasts queued behind the one playing (a loopback leg held again while its
    /// partner already hears music); the next starts once the playing one is broken off.
    pub queued_broadcasts: VecDeque<String>,
    /// Music or a file this channel is hearing instead of its normal audio (hold music, playback).
    pub playing: Option<String>,
    /// Conference name and member id, while a member.
    pub member: Option<(String, u32)>,
    /// Digits the channel received (`uuid_recv_dtmf`/far end) not yet consumed by an app.
    pub pending_dtmf: VecDeque<char>,
    /// Non-sensitive digits the channel consumed (`digits_dialed` at hangup).
    pub digits_dialed: String,
    /// `uuid_record … start` recordings by path, each with whether it is masked (no audio is kept:
    /// what is recorded is not simulated, only what the API reports).
    pub recordings: Vec<(String, bool)>,
}

impl CallerProfile {
    /// The next caller profile (`uuid_bridge`, transfer): index + 1, a new creation time, the channel's
    /// creation time kept.
    pub fn next(&self, now_us: u64) -> CallerProfile {
        let mut p = self.clone();
        p.channel_created_us = self.channel_created();
        p.first_dialplan = Some(self.initial_dialplan().to_owned());
        p.index = self.index.max(1) + 1;
        p.created_us = now_us;
        p.bridged_us = 0;
        p.transfer_us = 0;
        p.last_hold_us = 0;
        p.hangup_us = 0;
        p
    }

    pub fn initial_dialplan(&self) -> &str {
        self.first_dialplan.as_deref().unwrap_or(&self.dialplan)
    }

    pub fn channel_created(&self) -> u64 {
        if self.channel_created_us == 0 {
            self.created_us
        } else {
            self.channel_created_us
        }
    }
}

impl Channel {
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A caller-profile field `uuid_getvar` falls back to when no channel variable has the name
    /// (checked on the real switch: `caller_id_number`, `caller_id_name`, `answered_time`,
    /// `created_time`; times in microseconds, `0` = not yet).
    pub fn profile_field(&self, name: &str) -> Option<String> {
        let p = &self.profile;
        Some(match name {
            "caller_id_name" => p.cid_name.clone(),
            "caller_id_number" => p.cid_number.clone(),
            "answered_time" => p.answered_us.to_string(),
            "created_time" => p.channel_created().to_string(),
            _ => return None,
        })
    }

    pub fn var_true(&self, name: &str) -> bool {
        self.var(name).is_some_and(switch_true)
    }

    pub fn set_var(&mut self, name: &str, value: &str) {
        match self.vars.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => *v = value.to_owned(),
            None => self.vars.push((name.to_owned(), value.to_owned())),
        }
    }

    pub fn unset_var(&mut self, name: &str) {
        self.vars.retain(|(n, _)| n != name);
    }

    /// `Answer-State`.
    pub fn answer_state(&self) -> &'static str {
        if self.hangup_cause.is_some() {
            "hangup"
        } else if self.answered {
            "answered"
        } else if self.callstate == CallState::Early {
            "early"
        } else {
            "ringing"
        }
    }

    pub fn alive(&self) -> bool {
        self.hangup_cause.is_none()
    }
}

/// FreeSWITCH's `switch_true`: yes/on/true/t/enabled/active/allow, or a non-zero number.
pub fn switch_true(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    matches!(
        l.as_str(),
        "yes" | "on" | "true" | "t" | "enabled" | "active" | "allow"
    ) || l.parse::<i64>().is_ok_and(|n| n != 0)
}
