//! The journal's native protocol ([`tracing_journald`]): each event one journal entry whose fields
//! are the event's and its spans' fields, upper-cased and prefixed `CONFPAY_` — so a session's lines
//! carry `CONFPAY_SESSION`, `CONFPAY_CALL` (the customer's channel UUID as FreeSWITCH names it),
//! `CONFPAY_AGENT_ID`, a state change `CONFPAY_STATE`, and `journalctl CONFPAY_CALL=<uuid>` finds
//! every line about one call. `MESSAGE`, `PRIORITY` (err 3 … debug 7), `TARGET` and
//! `SYSLOG_IDENTIFIER=confpay` (as the unit's `SyslogIdentifier=`) are set as journald expects.

use std::io;
use tracing_journald::{Priority, PriorityMappings};

/// Where the journal listens (tracing-journald's fixed path, systemd's documented one).
pub const SOCKET: &str = "/run/systemd/journal/socket";
/// The prefix of every field confpayd sends (`call` → `CONFPAY_CALL`).
pub const FIELD_PREFIX: &str = "CONFPAY";

/// The journal layer; fails when the journal's socket cannot be reached.
pub fn layer() -> io::Result<tracing_journald::Layer> {
    // The priorities of sd-daemon(3), as the `<N>` lines use them (the crate's default puts info
    // at notice).
    let priorities = PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    };
    Ok(tracing_journald::layer()?
        .with_field_prefix(Some(FIELD_PREFIX.to_owned()))
        .with_priority_mappings(priorities)
        .with_syslog_identifier("confpay".to_owned()))
}

#[cfg(test)]
#[path = "native_tests.rs"]
mod tests;
