//! [`MeteredSwitch`]: the engine's [`Switch`] over the inbound client, instrumented. Every command
//! is timed for `/metrics` (`api` only: a `bgapi` originate lasts until the capture service
//! answers), a `-ERR` answer is counted by command name, and at `debug` every command and the first
//! line of its reply is logged (at `trace` also the moment it goes out). The log line inherits the caller's span: a session's commands carry
//! its `session`, `call` and `agent_id` fields.
//!
//! Card digits: no command carries one (the customer's digits go from the conference to the
//! capture leg inside FreeSWITCH). `uuid_send_dtmf` carries the agent ID and the ACA start key: its
//! digits are withheld from the line ([`loggable`]); the agent ID is logged only as the session's
//! `agent_id` field, as everywhere else.

use crate::metrics::Metrics;
use crate::pay::dialplan::EslSwitch;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, trace};

/// At most this many characters of a reply's first line are logged (a `json_list` is one line).
const REPLY_LOGGED: usize = 160;

/// [`Switch`] over the inbound client that times, counts and logs every command.
pub struct MeteredSwitch {
    pub inner: EslSwitch,
    pub metrics: Arc<Metrics>,
}

impl Switch for MeteredSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let shown = loggable(&cmd).into_owned();
        self.timed("api", shown, self.inner.api(cmd))
    }

    fn call_api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let shown = loggable(&cmd).into_owned();
        self.timed("api", shown, self.inner.call_api(cmd))
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let shown = loggable(&cmd).into_owned();
        let fut = self.inner.bgapi(cmd);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            trace!(command = %shown, "bgapi sent");
            let started = Instant::now();
            let r = fut.await;
            answered(&metrics, "bgapi", &shown, &r, started.elapsed());
            r
        })
    }
}

impl MeteredSwitch {
    /// An `api` command (over the command connection or as a per-call job), timed for `/metrics`.
    fn timed(
        &self,
        kind: &'static str,
        shown: String,
        fut: BoxFut<Result<String, SwitchError>>,
    ) -> BoxFut<Result<String, SwitchError>> {
        let metrics = self.metrics.clone();
        Box::pin(async move {
            trace!(command = %shown, "{kind} sent");
            let started = Instant::now();
            let r = fut.await;
            let took = started.elapsed();
            metrics.observe_command(took);
            answered(&metrics, kind, &shown, &r, took);
            r
        })
    }
}

/// Logs the answer to `shown` and counts a refusal.
fn answered(
    metrics: &Metrics,
    kind: &'static str,
    shown: &str,
    r: &Result<String, SwitchError>,
    took: std::time::Duration,
) {
    let name = shown.split(' ').next().unwrap_or("");
    match r {
        Ok(body) => {
            let first = first_line(body);
            if first.starts_with("-ERR") {
                metrics.command_refused(name);
            }
            debug!(kind, command = %shown, reply = %first, took_ms = took.as_millis() as u64, "command answered");
        }
        Err(e) => {
            if matches!(e, SwitchError::Refused { .. }) {
                metrics.command_refused(name);
            }
            debug!(kind, command = %shown, error = %e, took_ms = took.as_millis() as u64, "command got no reply");
        }
    }
}

/// The command as logged: `uuid_send_dtmf`'s digits withheld (agent ID, ACA start key).
pub fn loggable(cmd: &str) -> Cow<'_, str> {
    let mut words = cmd.splitn(3, ' ');
    match (words.next(), words.next(), words.next()) {
        (Some("uuid_send_dtmf"), Some(uuid), Some(arg)) => {
            // `<digits>@<ms>`: keep the tone length, withhold the digits.
            let ms = arg.split_once('@').map(|(_, ms)| ms);
            Cow::Owned(match ms {
                Some(ms) => format!("uuid_send_dtmf {uuid} (digits withheld)@{ms}"),
                None => format!("uuid_send_dtmf {uuid} (digits withheld)"),
            })
        }
        _ => Cow::Borrowed(cmd),
    }
}

/// The reply's first line, at most [`REPLY_LOGGED`] characters.
fn first_line(body: &str) -> Cow<'_, str> {
    let line = body.lines().next().unwrap_or("").trim_end();
    match line.char_indices().nth(REPLY_LOGGED) {
        Some((cut, _)) => Cow::Owned(format!("{}…", &line[..cut])),
        None => Cow::Borrowed(line),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_digits_are_withheld_and_other_commands_shown_whole() {
        assert_eq!(
            loggable("uuid_send_dtmf 4e31 4711#@100"),
            "uuid_send_dtmf 4e31 (digits withheld)@100"
        );
        assert_eq!(
            loggable("uuid_send_dtmf 4e31 1"),
            "uuid_send_dtmf 4e31 (digits withheld)"
        );
        assert_eq!(
            loggable("uuid_setvar 4e31 sensitive_dtmf true"),
            "uuid_setvar 4e31 sensitive_dtmf true"
        );
    }

    #[test]
    fn only_the_first_line_of_a_reply_is_logged_and_it_is_bounded() {
        assert_eq!(first_line("+OK\nmore\n"), "+OK");
        assert_eq!(first_line(""), "");
        let long = "x".repeat(500);
        let shown = first_line(&long);
        assert_eq!(shown.chars().count(), REPLY_LOGGED + 1);
        assert!(shown.ends_with('…'));
    }
}
