//! mod_event_socket's `parse_command`, in its order: the command words are matched as
//! case-insensitive *prefixes*, exactly like the C code (so `events plain X` is an `event` command).
//!
//! Replies are the recorded texts (`-ERR command not found`, `+OK event listener enabled plain`,
//! `-ERR not controlling a session.`, `-ERR invalid session id [u]`, `+OK will linger 2 seconds`, …).

use super::conn::Conn;
use super::conn_state::{Flow, OutboundMode};
use super::event_names::event_type;
use super::frames;
use super::request::{Request, atoi};
use super::subscription::MyEvents;
use crate::core::EventRx;
use bytes::Bytes;
use tokio::io::AsyncWrite;
use tracing::info;

fn has_prefix(cmd: &str, p: &str) -> bool {
    cmd.len() >= p.len() && cmd.is_char_boundary(p.len()) && cmd[..p.len()].eq_ignore_ascii_case(p)
}

/// The text after a command word: from the first space after `skip` bytes, or empty.
fn args_after(cmd: &str, skip: usize) -> &str {
    cmd.get(skip..)
        .and_then(|rest| rest.split_once(' '))
        .map(|(_, a)| a)
        .unwrap_or("")
}

/// `switch_log_str2level` for the levels `log` accepts.
fn log_level(s: &str) -> Option<u8> {
    if s.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let n = atoi(s);
        return (0..=7).contains(&n).then_some(n as u8);
    }
    let names = [
        "console", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    if s.eq_ignore_ascii_case("error") {
        return Some(3);
    }
    names
        .iter()
        .position(|n| s.eq_ignore_ascii_case(n))
        .map(|i| i as u8)
}

/// Handles one command on `conn`, checking the command words in `parse_command`'s order.
pub async fn dispatch<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    req: Request,
    discard: bool,
    rx: &mut EventRx,
) -> Flow {
    let cmd = req.command.clone();
    if has_prefix(&cmd, "exit") || has_prefix(&cmd, "...") {
        conn.reply("+OK bye", discard).await;
        return Flow::Close;
    }
    if !conn.st.authed {
        return unauthenticated(conn, &cmd, discard).await;
    }
    if let Some(flow) = session_command(conn, &cmd, discard).await {
        return flow;
    }
    if has_prefix(&cmd, "divert_events") {
        let r = divert_events(conn, &cmd);
        return conn.reply(r, discard).await;
    }
    if has_prefix(&cmd, "sendmsg") {
        let (r, wait) = sendmsg(conn, &req);
        if let Some((uuid, app_uuid)) = wait {
            conn.wait_app(rx, &uuid, &app_uuid).await;
        }
        return conn.reply(&r, discard).await;
    }
    if conn.st.outbound.is_some_and(|m| !m.full) {
        return conn.reply("-ERR command not found", discard).await;
    }
    if has_prefix(&cmd, "sendevent") {
        let r = sendevent(conn, &req);
        return conn.reply(&r, discard).await;
    }
    if has_prefix(&cmd, "api ") {
        return api(conn, &cmd).await;
    }
    if has_prefix(&cmd, "bgapi ") {
        return bgapi(conn, &req, discard).await;
    }
    let r = connection_setting(conn, &cmd);
    conn.reply(&r, discard).await
}

/// Before `auth`: only `auth` (and `userauth`) are commands; a wrong password ends the connection.
async fn unauthenticated<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    cmd: &str,
    discard: bool,
) -> Flow {
    if has_prefix(cmd, "auth ") {
        if cmd[5..] == conn.st.password.0 {
            conn.st.authed = true;
            return conn.reply("+OK accepted", discard).await;
        }
        info!("esl: wrong password");
        conn.reply("-ERR invalid", discard).await;
        return Flow::Close;
    }
    if has_prefix(cmd, "userauth ") {
        // No directory users exist in the simulator: every userauth fails like an unknown user.
        conn.reply("-ERR invalid", discard).await;
        return Flow::Close;
    }
    conn.reply("-ERR command not found", discard).await
}

/// `filter`, and the commands of a controlled session (`resume`, `connect`, `getvar`, `myevents`);
/// `None` when `cmd` is none of them here.
async fn session_command<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    cmd: &str,
    discard: bool,
) -> Option<Flow> {
    if has_prefix(cmd, "filter ") {
        let r = conn.st.sub.filter(&cmd[7..]);
        return Some(conn.reply(&r, discard).await);
    }
    if let Some(uuid) = conn.st.session.clone()
        && has_prefix(cmd, "resume")
    {
        conn.st.resume = true;
        conn.core
            .api("uuid_setvar", &format!("{uuid} socket_resume true"))
            .await;
        return Some(conn.reply("+OK", discard).await);
    }
    if conn.st.session.is_none() && !has_prefix(cmd, "myevents ") {
        return None;
    }
    if has_prefix(cmd, "connect") {
        return Some(connect(conn).await);
    }
    if has_prefix(cmd, "getvar") {
        let r = getvar(conn, cmd);
        return Some(conn.reply(&r, discard).await);
    }
    if has_prefix(cmd, "myevents") {
        return Some(myevents(conn, cmd, discard).await);
    }
    None
}

/// `getvar <name>` of the controlled channel; an unset one answers like an unknown command.
fn getvar<W>(conn: &Conn<W>, cmd: &str) -> String {
    let val = match (conn.st.session.as_deref(), cmd.split_once(' ')) {
        (Some(u), Some((_, var))) => conn.core.var(u, var).unwrap_or_default(),
        _ => String::new(),
    };
    if val.is_empty() {
        "-ERR command not found".to_owned()
    } else {
        val
    }
}

fn divert_events<W>(conn: &Conn<W>, cmd: &str) -> &'static str {
    if conn.st.session.is_none() {
        return "-ERR not controlling a session.";
    }
    match cmd[13..].trim_start_matches(' ') {
        "" => "-ERR missing value.",
        v if v.eq_ignore_ascii_case("on") => "+OK events diverted",
        _ => "+OK events not diverted",
    }
}

/// `api <command> <args>`: blocks the connection until the core answers.
async fn api<W: AsyncWrite + Unpin + Send>(conn: &mut Conn<W>, cmd: &str) -> Flow {
    let line = &cmd[4..];
    let (api, arg) = line.split_once(' ').unwrap_or((line, ""));
    let out = conn.core.api(api, arg).await;
    match conn.out.reply(&frames::api_response(&out)).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::Close,
    }
}

/// The commands that change how this connection behaves (`log`, `linger`, `nolinger`, `nolog`,
/// `event`, `nixevent`, `noevents`); anything else is not a command. Returns the reply text.
fn connection_setting<W: AsyncWrite + Unpin + Send>(conn: &mut Conn<W>, cmd: &str) -> String {
    if has_prefix(cmd, "log") {
        return log(conn, cmd);
    }
    if has_prefix(cmd, "linger") {
        return linger(conn, cmd);
    }
    if has_prefix(cmd, "nolinger") {
        return nolinger(conn).to_owned();
    }
    if has_prefix(cmd, "nolog") {
        let r = if conn.st.log_level.take().is_some() {
            "+OK no longer logging"
        } else {
            "-ERR not loging"
        };
        return r.to_owned();
    }
    if has_prefix(cmd, "event") {
        return conn.st.sub.event(args_after(cmd, 5));
    }
    if has_prefix(cmd, "nixevent") {
        return conn.st.sub.nixevent(args_after(cmd, 8));
    }
    if has_prefix(cmd, "noevents") {
        conn.discard_pending();
        return conn.st.sub.noevents();
    }
    "-ERR command not found".to_owned()
}

/// `log [level]`: the default is debug (7).
fn log<W>(conn: &mut Conn<W>, cmd: &str) -> String {
    let level_s = cmd[3..].trim_start_matches(' ');
    let level_s = level_s.split(' ').next().unwrap_or("");
    let level = if level_s.is_empty() {
        Some(7)
    } else {
        log_level(level_s)
    };
    match level {
        Some(l) => {
            conn.st.log_level = Some(l);
            format!("+OK log level {level_s} [{l}]")
        }
        None => "-ERR invalid log level".to_owned(),
    }
}

/// `linger [seconds]`: without a time (or -1) the socket stays forever after the channel's end.
fn linger<W>(conn: &mut Conn<W>, cmd: &str) -> String {
    if conn.st.session.is_none() {
        return "-ERR not controlling a session".to_owned();
    }
    if cmd.as_bytes().get(6) == Some(&b' ') && cmd.len() > 7 {
        let secs = atoi(&cmd[7..]);
        conn.st.linger = Some(secs);
        if secs == -1 {
            "+OK will linger".to_owned()
        } else {
            format!("+OK will linger {secs} seconds")
        }
    } else {
        conn.st.linger = Some(-1);
        "+OK will linger".to_owned()
    }
}

fn nolinger<W>(conn: &mut Conn<W>) -> &'static str {
    if conn.st.session.is_none() {
        "-ERR not controlling a session"
    } else {
        conn.st.linger = None;
        "+OK will not linger"
    }
}

/// Outbound `connect`: the CHANNEL_DATA reply (no `command/reply` frame of its own).
async fn connect<W: AsyncWrite + Unpin + Send>(conn: &mut Conn<W>) -> Flow {
    let uuid = conn.st.session.clone().unwrap_or_default();
    let Some(data) = conn.core.channel_data(&uuid) else {
        return Flow::Close;
    };
    let data = with_channel_profile(data);
    if let Some(name) = data.get("Channel-Name") {
        conn.st.channel_name = name.to_owned();
    }
    let mode = conn.st.outbound.unwrap_or(OutboundMode {
        async_mode: true,
        full: true,
    });
    let bytes = frames::connect_reply(&data, mode.async_mode, mode.full);
    if conn.out.reply(&bytes).await.is_err() {
        return Flow::Close;
    }
    if !conn.st.connected {
        conn.st.connected = true;
        info!(call = %uuid, "outbound socket connected");
        conn.core.socket_connected(&uuid);
    }
    Flow::Continue
}

/// mod_event_socket builds the connect reply as `switch_caller_profile_event_set_data(profile, "Channel")`
/// followed by the channel's own data: the caller profile appears twice, first with the `Channel-` prefix
/// right after the common headers. Adds that block from the `Caller-` one when the core's CHANNEL_DATA
/// lacks it.
fn with_channel_profile(data: confpay_esl::Event) -> confpay_esl::Event {
    if data.headers.contains("Channel-Unique-ID") {
        return data;
    }
    let mut h = confpay_esl::Headers::new();
    let mut inserted = false;
    for (n, v) in data.headers.iter() {
        let common = n.starts_with("Event-") || n.starts_with("FreeSWITCH-") || n == "Core-UUID";
        if !(inserted || common) {
            for (cn, cv) in data.headers.iter() {
                if let Some(rest) = cn.strip_prefix("Caller-") {
                    h.push(&format!("Channel-{rest}"), cv);
                }
            }
            inserted = true;
        }
        h.push(n, v);
    }
    confpay_esl::Event {
        headers: h,
        body: data.body,
    }
}

async fn myevents<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    cmd: &str,
    discard: bool,
) -> Flow {
    if conn.st.sub.myevents.is_some() {
        return conn.reply("-ERR aready enabled.", discard).await;
    }
    let scope = match conn.st.session.clone() {
        Some(u) => {
            // `strstr(cmd, "xml")`: the format word of an outbound `myevents xml` applies.
            if cmd.contains("xml") || cmd.contains("XML") {
                conn.st.sub.format = super::serialize::EventFormat::Xml;
            }
            if cmd.contains("json") || cmd.contains("JSON") {
                conn.st.sub.format = super::serialize::EventFormat::Json;
            }
            MyEvents::Session(u)
        }
        None => {
            let rest = &cmd[9..];
            let (uuid, fmt) = match rest.split_once(' ') {
                Some((u, f)) => (u, Some(f)),
                None => (rest, None),
            };
            if conn.core.channel_data(uuid).is_some() {
                conn.st.session = Some(uuid.to_owned());
                MyEvents::Session(uuid.to_owned())
            } else if fmt.is_some() {
                return conn.reply("-ERR invalid uuid", discard).await;
            } else {
                // FreeSWITCH keeps no session here and then passes every event that has a Unique-ID.
                MyEvents::AnyChannel
            }
        }
    };
    conn.st.sub.myevents(scope);
    conn.reply("+OK Events Enabled", discard).await
}

/// The reply to a `sendmsg`, and in sync (static) outbound mode the (channel, Application-UUID) whose
/// completion must be awaited before that reply is sent.
type SendmsgOutcome = (String, Option<(String, String)>);

/// `sendmsg [uuid]` with `call-command: execute|hangup|…` (switch_ivr_parse_event). In a sync
/// ("static") outbound session a message for the own channel runs inline: the `+OK` comes only once
/// the application returned (unless the message says `async: true`).
fn sendmsg<W: AsyncWrite + Unpin + Send>(conn: &mut Conn<W>, req: &Request) -> SendmsgOutcome {
    let mut uuid = req.command[7..].trim_start_matches(' ').to_owned();
    if uuid.is_empty() {
        uuid = req.headers.get("session-id").unwrap_or("").to_owned();
    }
    let mut own = false;
    if uuid.is_empty() || conn.st.session.as_deref() == Some(uuid.as_str()) {
        match conn.st.session.clone() {
            Some(s) => {
                uuid = s;
                own = true;
            }
            None => return (format!("-ERR invalid session id [{uuid}]"), None),
        }
    }
    if conn.core.channel_data(&uuid).is_none() {
        return (format!("-ERR invalid session id [{uuid}]"), None);
    }
    let sync = own
        && conn.st.outbound.is_some_and(|m| !m.async_mode)
        && !req.headers.get("async").is_some_and(switch_true);
    let mut wait = None;
    let h = &req.headers;
    let command = h.get("call-command").unwrap_or("");
    if command.eq_ignore_ascii_case("execute") {
        let app = h.get("execute-app-name").unwrap_or("");
        let arg = match (h.get("execute-app-arg"), &req.body) {
            (Some(a), _) => a.to_owned(),
            (None, Some(b)) => String::from_utf8_lossy(b).into_owned(),
            (None, None) => String::new(),
        };
        let mut event_uuid = h.get("event-uuid").map(str::to_owned);
        if sync && event_uuid.is_none() {
            // FreeSWITCH gives the execution a random Application-UUID; this one is awaited.
            event_uuid = Some(uuid::Uuid::new_v4().to_string());
        }
        let lock = h.get("event-lock").is_some_and(switch_true);
        if conn
            .core
            .execute(&uuid, app, &arg, event_uuid.clone(), lock)
            .is_err()
        {
            return (format!("-ERR invalid session id [{uuid}]"), None);
        }
        if sync {
            wait = event_uuid.map(|a| (uuid.clone(), a));
        }
    } else if command.eq_ignore_ascii_case("hangup") {
        let cause = h.get("hangup-cause").unwrap_or("NORMAL_CLEARING");
        if conn.core.hangup(&uuid, cause).is_err() {
            return (format!("-ERR invalid session id [{uuid}]"), None);
        }
    }
    // Other call-commands (unicast, nomedia, xferext, unknown ones) are accepted and have no effect here.
    ("+OK".to_owned(), wait)
}

/// `switch_true`.
fn switch_true(v: &str) -> bool {
    ["yes", "on", "true", "t", "enabled", "active", "allow"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
        || atoi(v) != 0
}

/// `sendevent NAME` + headers + body: fired to every listener; `+OK <Event-UUID>`.
fn sendevent<W: AsyncWrite + Unpin + Send>(conn: &mut Conn<W>, req: &Request) -> String {
    let ename = req.command[9..].trim_start_matches([' ', '\t']);
    let name = event_type(ename).unwrap_or("CLONE");
    let mut headers = confpay_esl::Headers::new();
    headers.push("Command", &req.command);
    for (n, v) in req.headers.iter() {
        headers.push(n, v);
    }
    let body: Option<Bytes> = req.body.clone();
    let id = conn.core.send_event(name, headers, body);
    format!("+OK {id}")
}

/// `bgapi cmd args` (+ optional `Job-UUID` header): reply first, then the job runs on its own task
/// and fires BACKGROUND_JOB through the core.
async fn bgapi<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    req: &Request,
    discard: bool,
) -> Flow {
    let (api, arg, job) = job_of(req);
    if !discard && conn.out.reply(&frames::bgapi_reply(&job)).await.is_err() {
        return Flow::Close;
    }
    let core = conn.core.clone();
    let (api, arg) = (api.to_owned(), arg.to_owned());
    tokio::spawn(async move {
        let out = core.api(&api, &arg).await;
        core.background_job(&job, &api, &arg, &out);
    });
    Flow::Continue
}

/// A `bgapi` request's command, its arguments and its Job-UUID (the client's, else a new one).
fn job_of(req: &Request) -> (&str, &str, String) {
    let line = &req.command[6..];
    let (api, arg) = line.split_once(' ').unwrap_or((line, ""));
    let job = match req.headers.get("job-uuid") {
        Some(j) => j.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    (api, arg, job)
}

/// A `bgapi` whose command fails with `out` (fault injection): accepted, then its BACKGROUND_JOB
/// brings `out` back.
pub(super) async fn bgapi_failed<W: AsyncWrite + Unpin + Send>(
    conn: &mut Conn<W>,
    req: &Request,
    out: &str,
    discard: bool,
) -> Flow {
    let (api, arg, job) = job_of(req);
    if !discard && conn.out.reply(&frames::bgapi_reply(&job)).await.is_err() {
        return Flow::Close;
    }
    conn.core.background_job(&job, api, arg, out);
    Flow::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert!(has_prefix("EVENTS plain ALL", "event"));
        assert!(!has_prefix("ev", "event"));
        assert_eq!(args_after("event plain ALL", 5), "plain ALL");
        assert_eq!(args_after("event", 5), "");
        assert_eq!(args_after("nixevent CHANNEL_ANSWER", 8), "CHANNEL_ANSWER");
        assert_eq!(log_level("7"), Some(7));
        assert_eq!(log_level("notice"), Some(5));
        assert_eq!(log_level("bogus"), None);
        assert!(switch_true("true") && switch_true("1") && !switch_true("false"));
    }
}
