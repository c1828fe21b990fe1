//! Conference Pay: the payment flow.
//!
//! | module | job |
//! |---|---|
//! | [`types`] | legs, inputs, typed commands, actions, outcomes (pure data) |
//! | [`machine`] | the pure per-session state machine: `step(input) -> actions`; flow, replies, unwinding to a safe state, the step table |
//! | [`commands`] | typed command → exact FreeSWITCH API text; reply classification |
//! | [`switch`] | what the engine needs from FreeSWITCH (`api`, `bgapi`) and the typed [`switch::SwitchError`] |
//! | [`scope`] | `ChannelScope`: where the engine says which channels it controls (their DTMF is wanted) |
//! | [`attach`] | which leg of a bridged call is the customer's and which the agent's, as the switch says |
//! | [`caller`] | the customer's caller number/name and answer time, read from the switch (for the agent page) |
//! | [`calls`] | the call table: legs, conference, member ids, sessions; bridged pairs and agent IDs seen |
//! | [`agent_ids`] | the channels seen carrying each agent ID (hints for attach by agent ID) |
//! | [`dialplan`] | dialplan-driven calls over the outbound socket; the ESL-backed `Switch` |
//! | [`peer`] | an outbound-socket peer's claim (channel, agent dial string, agent ID) checked with the switch |
//! | [`dial_allow`] | which agent dial strings may be originated (`payment.agent_dial_allow`) |
//! | [`engine`] | the engine task: event routing (pure, [`engine::routing`]) and intake, API requests, resync, recovery |
//! | [`recover`] | reads sessions back from FreeSWITCH (`conference json_list`, `confpay_role`) |
//! | [`observer`] | `SessionObserver`: told of every session state change, never blocks the session |
//! | [`session`] | the per-session actor: timers, sequential command queue, its tracing span, state log lines, latency metrics |
//! | [`audit`] | the machine-readable audit record of an ended session; who started it ([`audit::Initiator`]) |
//!
//! Dependencies run one way: `types`, `switch` and `scope` are leaves; `metrics` is told the engine's
//! gauges rather than reading the engine.

pub mod agent_ids;
pub mod attach;
pub mod audit;
pub mod caller;
pub mod calls;
pub mod commands;
pub mod dial_allow;
pub mod dialplan;
pub mod engine;
pub mod machine;
pub mod observer;
pub mod peer;
pub mod recover;
pub mod scope;
pub mod session;
pub mod switch;
pub mod types;

pub use machine::{Machine, MachineConfig, State};
pub use types::*;
#[cfg(test)]
mod attach_tests;
#[cfg(test)]
mod peer_tests;
#[cfg(test)]
mod session_tests;
