//! What the stack's parts are configured with, derived from the one [`Config`]: the engine's settings,
//! the inbound client's subscription (events and filters) and connection, the outbound server's
//! listener.

use crate::config::{Config, OnAgentHangup, PaymentConfig};
use crate::esl::command::{EventFormat, EventSet};
use crate::esl::inbound::{InboundConfig, Subscription};
use crate::esl::outbound::{AllowList, OutboundConfig};
use crate::pay::dialplan::CallSetup;
use crate::pay::engine::EngineConfig;
use crate::pay::machine::MachineConfig;
use crate::pay::types::AgentHangupPolicy;
use std::time::Duration;

/// Prefix of the per-call conference names.
pub const ROOM_PREFIX: &str = "confpay-";

/// How long after a capture may answer a background job is still awaited.
const JOB_GRACE: Duration = Duration::from_secs(30);

/// The engine's settings from `[payment]`.
pub fn engine_config(p: &PaymentConfig) -> EngineConfig {
    EngineConfig {
        machine: MachineConfig {
            capture_dial: p.capture_dial.clone(),
            profile: p.conference_profile.clone(),
            hold_music: p.hold_music.clone(),
            agent_id_prefix: p.agent_id_prefix.clone(),
            agent_id_suffix: p.agent_id_suffix.clone(),
            dtmf_duration_ms: u32::try_from(p.dtmf_duration_ms).unwrap_or(100),
            agent_id_delay: p.agent_id_delay(),
            capture_answer_timeout: p.capture_answer_timeout(),
            max_capture: p.max_capture(),
            agent_id_entry_timeout: p.agent_id_entry_timeout(),
            step_timeout: Duration::from_secs(10),
            on_agent_hangup: agent_policy(p),
        },
        start_subclass: p.start_event_subclass.clone(),
        room_prefix: ROOM_PREFIX.to_owned(),
    }
}

fn agent_policy(p: &PaymentConfig) -> AgentHangupPolicy {
    match p.on_agent_hangup {
        OnAgentHangup::Hangup => AgentHangupPolicy::Hangup,
        OnAgentHangup::Transfer => AgentHangupPolicy::Transfer(p.agent_hangup_transfer.clone()),
    }
}

/// The events the engine needs of every channel (and every conference and feature code). No
/// BACKGROUND_JOB: the daemon's commands run over its command connection
/// ([`crate::pay::dialplan::EslSwitch`]), and job results would only fill the engine's queue.
const EVERY_CHANNEL: [&str; 5] = [
    "CHANNEL_CREATE",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HANGUP",
];

/// What the engine subscribes to. No CHANNEL_* noise it does not use; DTMF because the agent keys
/// the agent ID and the customer the start key (customer digits during capture fire no event:
/// `sensitive_dtmf=true`).
///
/// RECORD_START because a recording started on the customer's or agent's leg while a capture may be
/// heard must be masked at once (a conference's recording starts as `conference::maintenance`
/// `start-recording`).
///
/// DTMF and RECORD_START are wanted only of the channels the engine controls: one `Event-Name`
/// filter per other event (CUSTOM covers the subscribed subclasses) lets those through for every
/// channel, and FreeSWITCH passes an event matching any filter, so DTMF and RECORD_START pass only
/// through the `Unique-ID` filters [`super::scope::FilterScope`] adds for the legs of the engine's
/// calls (`record_callback` fires RECORD_START with the recorded channel's data: its `Unique-ID`).
pub fn subscription(start_subclass: &str) -> Subscription {
    Subscription {
        format: EventFormat::Plain,
        events: EventSet::new()
            .events(EVERY_CHANNEL)
            .event("DTMF")
            .event("RECORD_START")
            .custom("conference::maintenance")
            .custom(start_subclass),
        filters: EVERY_CHANNEL
            .iter()
            .chain(&["CUSTOM"])
            .map(|name| ("Event-Name".to_owned(), (*name).to_owned()))
            .collect(),
    }
}

/// The inbound client's settings from `[esl]` (and the job timeout from `[payment]`).
pub fn inbound_config(config: &Config) -> InboundConfig {
    InboundConfig {
        addr: config.esl.address.clone(),
        password: config.esl.password.clone(),
        command_timeout: config.esl.command_timeout(),
        job_timeout: config.payment.capture_answer_timeout() + JOB_GRACE,
        reconnect_initial: config.esl.reconnect_initial(),
        reconnect_max: config.esl.reconnect_max(),
        max_frame_bytes: config.esl.max_frame_bytes,
        event_buffer: 1024,
        subscription: subscription(&config.payment.start_event_subclass),
        // The engine's connection carries no commands but `filter`: no job results.
        jobs: false,
    }
}

/// The outbound server's settings from `[outbound]` (and the timeouts of the ESL connection).
pub fn outbound_config(config: &Config) -> OutboundConfig {
    OutboundConfig {
        listen: config.outbound.listen,
        allow: AllowList::new(config.outbound.allow.clone()),
        command_timeout: config.esl.command_timeout(),
        job_timeout: config.payment.capture_answer_timeout() + JOB_GRACE,
        max_frame_bytes: config.esl.max_frame_bytes,
        ..OutboundConfig::default()
    }
}

/// How a call arriving on the outbound socket is set up.
pub fn call_setup(p: &PaymentConfig) -> CallSetup {
    CallSetup {
        room_prefix: ROOM_PREFIX.to_owned(),
        profile: p.conference_profile.clone(),
        on_agent_unreachable: agent_policy(p),
        agent_dial_allow: p.agent_dial_allow.clone(),
    }
}
