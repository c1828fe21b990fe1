//! API commands with FreeSWITCH's exact reply texts (mod_commands, as recorded).

use super::events::{api_event, channel_event};
use super::{Core, call_api, conference_api};

/// Runs `cmd args`, fires the API event, returns the api/response body.
pub(crate) async fn execute(core: &Core, cmd: &str, args: &str) -> String {
    let args = args.trim();
    let fault = {
        // Logged when asked, not when answered: an `originate` lasts until the far end answers.
        let mut st = core.lock();
        if st.api_log.len() == super::state::API_LOG_LEN {
            st.api_log.pop_front();
        }
        st.api_log
            .push_back(format!("{cmd} {args}").trim_end().to_owned());
        st.api_faults.get(cmd).cloned()
    };
    let out = match fault {
        Some(reply) => reply,
        None => run(core, cmd, args).await,
    };
    let mut st = core.lock();
    api_event(&mut st, cmd, args);
    if out.is_empty() {
        "-ERR no reply\n".into()
    } else {
        out
    }
}

/// The API commands by name: each is one handler.
async fn run(core: &Core, cmd: &str, args: &str) -> String {
    let argv: Vec<&str> = args.split_whitespace().collect();
    match cmd {
        "status" => status(core),
        "version" => "FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n".into(),
        "originate" => call_api::originate_cmd(core, args).await,
        "conference" => conference_api::run(core, args),
        "show" => show(core, args),
        "uuid_exists" => uuid_exists(core, &argv),
        "uuid_getvar" => uuid_getvar(core, &argv),
        "uuid_setvar" => uuid_setvar(core, &argv),
        "uuid_setvar_multi" => uuid_setvar_multi(core, &argv),
        "fsctl" => fsctl(core, &argv),
        "global_getvar" => global_getvar(core, &argv),
        "xml_locate" => xml_locate(core, &argv),
        "uuid_kill" => uuid_kill(core, &argv),
        "uuid_bridge" => call_api::uuid_bridge(core, &argv),
        "uuid_transfer" => call_api::uuid_transfer(core, &argv),
        "uuid_hold" => call_api::uuid_hold(core, &argv),
        "uuid_send_dtmf" | "uuid_recv_dtmf" => call_api::uuid_dtmf(core, cmd, &argv),
        "uuid_record" => uuid_record(core, &argv),
        "uuid_buglist" => uuid_buglist(core, &argv),
        other => format!("-ERR {other} Command not found!\n"),
    }
}

fn uuid_exists(core: &Core, argv: &[&str]) -> String {
    let st = core.lock();
    let yes = argv.first().is_some_and(|u| st.channels.contains_key(*u));
    if yes { "true".into() } else { "false".into() }
}

fn uuid_getvar(core: &Core, argv: &[&str]) -> String {
    let [u, v, ..] = argv else {
        return "-USAGE: <uuid> <var>\n".into();
    };
    let st = core.lock();
    match st.channels.get(*u) {
        Some(c) => c
            .var(v)
            .map(str::to_owned)
            .or_else(|| c.profile_field(v))
            .or_else(|| st.globals.get(*v).cloned())
            .unwrap_or_else(|| "_undef_".to_owned()),
        None => "-ERR No such channel!\n".into(),
    }
}

fn uuid_setvar(core: &Core, argv: &[&str]) -> String {
    let [u, v, rest @ ..] = argv else {
        return "-USAGE: <uuid> <var> [value]\n".into();
    };
    let mut st = core.lock();
    match st.channels.get_mut(*u) {
        Some(c) if rest.is_empty() => {
            c.unset_var(v);
            "+OK\n".into()
        }
        Some(c) => {
            c.set_var(v, &rest.join(" "));
            "+OK\n".into()
        }
        None => "-ERR No such channel!\n".into(),
    }
}

/// mod_commands: `<uuid> <var>=<value>;<var>=<value>...`; an empty value unsets.
fn uuid_setvar_multi(core: &Core, argv: &[&str]) -> String {
    let [u, rest @ ..] = argv else {
        return "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n".into();
    };
    if rest.is_empty() {
        return "-USAGE: <uuid> <var>=<value>;<var>=<value>...\n".into();
    }
    let mut st = core.lock();
    let Some(c) = st.channels.get_mut(*u) else {
        return "-ERR No such channel!\n".into();
    };
    let mut out = String::new();
    for pair in rest.join(" ").split(';') {
        match pair.split_once('=') {
            Some(("", _)) | None => out.push_str("-ERR No variable specified\n"),
            Some((k, "")) => c.unset_var(k),
            Some((k, v)) => c.set_var(k, v),
        }
    }
    out.push_str("+OK\n");
    out
}

/// Recorded: the value with no newline; an unset one is an empty reply, which mod_event_socket
/// turns into `-ERR no reply`.
fn global_getvar(core: &Core, argv: &[&str]) -> String {
    let st = core.lock();
    match argv.first() {
        Some(&"core_uuid") => st.core_uuid.clone(),
        Some(name) => st.globals.get(*name).cloned().unwrap_or_default(),
        None => String::new(),
    }
}

fn uuid_kill(core: &Core, argv: &[&str]) -> String {
    let [u, rest @ ..] = argv else {
        return "-USAGE: <uuid> [cause]\n".into();
    };
    let cause = rest.first().copied().unwrap_or("NORMAL_CLEARING");
    match core.hangup(u, cause) {
        Ok(()) => "+OK\n".into(),
        Err(_) => "-ERR No such channel!\n".into(),
    }
}

/// mod_commands `session_record_function`, texts as the real switch answers (FreeSWITCH 1.11.3,
/// tests/fixtures/freeswitch-esl/README.md): mask/unmask of a path not recorded is refused. No audio
/// is written; a start fires `RECORD_START` and a stop `RECORD_STOP` with the channel's data and the
/// path last (`record_callback`, as recorded in `inbound-recording-events`).
fn uuid_record(core: &Core, argv: &[&str]) -> String {
    let [u, action, path, ..] = argv else {
        return "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
            .into();
    };
    let mut st = core.lock();
    let Some(c) = st.channels.get_mut(*u) else {
        return "-ERR Cannot locate session!\n".into();
    };
    let found = c.recordings.iter().position(|(p, _)| p == path);
    let (reply, started, stopped): (String, Option<String>, Vec<String>) =
        match (action.to_ascii_lowercase().as_str(), found) {
            ("start", _) => {
                c.recordings.push(((*path).to_owned(), false));
                ("+OK Success\n".into(), Some((*path).to_owned()), Vec::new())
            }
            ("stop", _) if *path == "all" => {
                let gone = c.recordings.drain(..).map(|(p, _)| p).collect();
                ("+OK Success\n".into(), None, gone)
            }
            ("stop", Some(i)) => {
                let (p, _) = c.recordings.remove(i);
                ("+OK Success\n".into(), None, vec![p])
            }
            ("stop", None) => (
                "-ERR Cannot stop record session!\n".into(),
                None,
                Vec::new(),
            ),
            (m @ ("mask" | "unmask"), Some(i)) => {
                c.recordings[i].1 = m == "mask";
                ("+OK Success\n".into(), None, Vec::new())
            }
            (m @ ("mask" | "unmask"), None) => (
                format!("-ERR Cannot {m} recording session!\n"),
                None,
                Vec::new(),
            ),
            _ => (
                "-USAGE: <uuid> [start|stop|mask|unmask] <path> [<limit>] [<recording_vars>]\n"
                    .into(),
                None,
                Vec::new(),
            ),
        };
    if let Some(p) = started {
        channel_event(&mut st, u, "RECORD_START", &[], &[("Record-File-Path", &p)]);
    }
    for p in stopped {
        let post = [
            ("Record-File-Path", p.as_str()),
            ("Record-Completion-Cause", "success-maxtime"),
        ];
        channel_event(&mut st, u, "RECORD_STOP", &[], &post);
    }
    reply
}

/// `switch_core_media_bug_enumerate`: a channel's recordings as `session_record` bugs; nothing at
/// all for a channel that does not exist (ESL turns that into `-ERR no reply`).
fn uuid_buglist(core: &Core, argv: &[&str]) -> String {
    let Some(u) = argv.first() else {
        return "-USAGE: <uuid>\n".into();
    };
    let st = core.lock();
    let Some(c) = st.channels.get(*u) else {
        return String::new();
    };
    let mut out = String::from("<media-bugs>\n");
    for (path, _) in &c.recordings {
        out.push_str(&format!(
            " <media-bug>\n  <function>session_record</function>\n  <target>{path}</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n"
        ));
    }
    out.push_str("</media-bugs>\n");
    out
}

/// mod_commands `ctl_function` (current master): `loglevel [level]` only; other sub-commands are
/// not simulated and answer like an unknown one.
fn fsctl(core: &Core, argv: &[&str]) -> String {
    const CTL_SYNTAX: &str = "[recover|send_sighup|hupall|pause [inbound|outbound]|resume [inbound|outbound]|shutdown [cancel|elegant|asap|now|restart]|sps|sync_clock|sync_clock_when_idle|reclaim_mem|max_sessions|min_dtmf_duration [num]|max_dtmf_duration [num]|default_dtmf_duration [num]|min_idle_cpu|loglevel [level]|debug_level [level]]";
    const LEVELS: [&str; 8] = [
        "CONSOLE", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG",
    ];
    const INVALID: i32 = 64;
    match argv {
        [] => format!("-USAGE: {CTL_SYNTAX}\n"),
        [sub, rest @ ..] if sub.eq_ignore_ascii_case("loglevel") => {
            let arg = match rest.first() {
                // `*argv[1] > 47 && *argv[1] < 58`: atoi of a leading digit.
                Some(a) if a.starts_with(|c: char| c.is_ascii_digit()) => {
                    let digits: String = a.chars().take_while(char::is_ascii_digit).collect();
                    digits.parse::<i32>().unwrap_or(i32::MAX)
                }
                Some(a) => LEVELS
                    .iter()
                    .position(|l| l.eq_ignore_ascii_case(a))
                    .and_then(|i| i32::try_from(i).ok())
                    .unwrap_or(INVALID),
                None => -1,
            };
            if arg == INVALID {
                return "-ERR syntax error, log level not set!\n".into();
            }
            // switch_core_session_ctl(SCSC_LOGLEVEL) sets anything from DISABLE (-1) up, so a bare
            // `fsctl loglevel` silences the switch (seen on FreeSWITCH 1.11.3); clamp to DEBUG.
            let mut st = core.lock();
            st.hard_log_level = arg.clamp(-1, 7);
            let level = st.hard_log_level;
            let name = usize::try_from(level)
                .ok()
                .and_then(|i| LEVELS.get(i))
                .copied()
                .unwrap_or("DISABLE");
            format!("+OK log level: {name} [{level}]\n")
        }
        _ => format!("-ERR INVALID COMMAND\nUSAGE: fsctl {CTL_SYNTAX}"),
    }
}

/// `xml_locate configuration configuration name switch.conf`: the loaded switch.conf, its `loglevel`
/// as configured (not the run-time ceiling `fsctl` changes). Other lookups find nothing here.
fn xml_locate(core: &Core, argv: &[&str]) -> String {
    const LEVELS: [&str; 8] = [
        "console", "alert", "crit", "err", "warning", "notice", "info", "debug",
    ];
    match argv {
        ["configuration", "configuration", "name", "switch.conf"] => {
            let st = core.lock();
            let level = usize::try_from(st.configured_log_level)
                .ok()
                .and_then(|i| LEVELS.get(i))
                .copied()
                .unwrap_or("debug");
            format!(
                "<configuration name=\"switch.conf\" description=\"Core Configuration\">\n    <settings>\n        \
                 <param name=\"switchname\" value=\"{}\"></param>\n\n        \
                 <param name=\"loglevel\" value=\"{level}\"></param>\n\n  </settings>\n</configuration>\n",
                st.cfg.hostname
            )
        }
        [_, _, _, _, ..] => "can't find anything\n".into(),
        _ => "-ERR bad args\n".into(),
    }
}

fn status(core: &Core) -> String {
    let st = core.lock();
    let up = st.started.elapsed();
    let s = up.as_secs();
    let live = st.channels.len();
    let total = st.sessions_since_start;
    format!(
        "UP 0 years, {} days, {} hours, {} minutes, {} seconds, {} milliseconds, {} microseconds\n\
         FreeSWITCH (Version 1.11.3-dev  64bit) is ready\n\
         {total} session(s) since startup\n\
         {live} session(s) - peak {total}, last 5min {total} \n\
         0 session(s) per Sec out of max 30, peak {total}, last 5min {total} \n\
         1000 session(s) max\n\
         min idle cpu 0.00/98.87\n\
         Current Stack Size/Max 240K/8192K\n",
        s / 86_400,
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        up.subsec_millis(),
        up.subsec_micros() % 1000,
    )
}

/// Splits on spaces, keeping single-quoted groups together.
pub(super) fn split_quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn show(core: &Core, args: &str) -> String {
    let st = core.lock();
    super::show::show(&st, args).unwrap_or_else(|| "-USAGE: codec|endpoint|application|api|dialplan|file|timer|calls [count]|channels [count|like <match string>]|calls|detailed_calls|bridged_calls|detailed_bridged_calls|aliases|complete|chat|management|modules|nat_map|say|interfaces|interface_types|tasks|limits|status\n".into())
}
