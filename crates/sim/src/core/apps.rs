//! Dialplan applications and `sendmsg execute`: the application stack of each channel, CHANNEL_EXECUTE /
//! CHANNEL_EXECUTE_COMPLETE, timed completion, the `socket` application and its resume semantics.

use super::channel::{QueuedExec, RunningApp, SocketCtl};
use super::events::channel_event;
use super::state::State;
use super::{Core, OutboundRequest, SimError, conference, lifecycle};
use std::net::SocketAddr;
use std::time::Duration;

/// Applications the simulator knows; anything else is "Invalid Application".
const KNOWN: &[&str] = &[
    "answer",
    "set",
    "export",
    "unset",
    "log",
    "hangup",
    "sleep",
    "playback",
    "park",
    "echo",
    "socket",
    "conference",
    "bridge",
    "transfer",
    "pre_answer",
    "ring_ready",
    "info",
    "bind_meta_app",
];

/// How long a played file lasts; `None` = forever.
pub(crate) fn file_duration(file: &str) -> Option<Duration> {
    if let Some(ms) = file.strip_prefix("silence_stream://") {
        let ms: i64 = ms
            .split(',')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1);
        return (ms >= 0).then(|| Duration::from_millis(ms as u64));
    }
    if file.starts_with("local_stream://") || file.contains("loops=-1") {
        return None;
    }
    Some(Duration::from_secs(1))
}

/// Runs what comes next on a channel: a queued `sendmsg` app (socket control), else the next dialplan
/// action, else (not under a socket) hangs up NORMAL_CLEARING.
pub(crate) fn start_next(core: &Core, st: &mut State, uuid: &str) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if !ch.alive() {
        return;
    }
    let under_socket = ch.apps.last().is_some_and(|a| a.name == "socket")
        && ch.socket.as_ref().is_some_and(|s| s.connected);
    if under_socket {
        if let Some(q) = ch.execs.pop_front() {
            run_app(core, st, uuid, &q.app, &q.arg, q.app_uuid, true);
        }
        return;
    }
    if !ch.apps.is_empty() || ch.orphaned {
        return;
    }
    match ch.dialplan.pop_front() {
        Some((app, arg)) => run_app(core, st, uuid, &app, &arg, None, false),
        None => lifecycle::hangup(core, st, uuid, "NORMAL_CLEARING"),
    }
}

/// Starts one application on a channel (CHANNEL_EXECUTE, then its effect).
pub(crate) fn run_app(
    core: &Core,
    st: &mut State,
    uuid: &str,
    app: &str,
    arg: &str,
    app_uuid: Option<String>,
    from_socket: bool,
) {
    let generation = st.next_generation();
    let app_uuid = app_uuid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    ch.set_var("current_application", app);
    if !arg.is_empty() {
        ch.set_var("current_application_data", arg);
    }
    ch.apps.push(RunningApp {
        name: app.to_owned(),
        broadcast: false,
        arg: arg.to_owned(),
        app_uuid: Some(app_uuid.clone()),
        generation,
    });
    let _ = from_socket;
    let mut post = vec![("Application", app)];
    if !arg.is_empty() {
        post.push(("Application-Data", arg));
    }
    post.push(("Application-UUID", &app_uuid));
    channel_event(st, uuid, "CHANNEL_EXECUTE", &[], &post);
    if !KNOWN.contains(&app) {
        pop_app(st, uuid, generation);
        lifecycle::hangup(core, st, uuid, "DESTINATION_OUT_OF_ORDER");
        return;
    }
    match app {
        // The key binding itself is not simulated (a test fires the start event instead); the
        // application is accepted and completes, as the shipped dialplans run it.
        "bind_meta_app" => complete(core, st, uuid, generation, "_none_"),
        "answer" | "pre_answer" | "ring_ready" => {
            if app == "answer" {
                lifecycle::answer(st, uuid);
            }
            complete(core, st, uuid, generation, "_none_");
        }
        "set" | "export" => {
            if let Some((n, v)) = arg.split_once('=')
                && let Some(ch) = st.channels.get_mut(uuid)
            {
                ch.set_var(n, v);
                // `export` also lists the name in export_vars: the legs this channel's bridge
                // originates get it too (recorded on FreeSWITCH 1.11: both legs carry it).
                if app == "export" {
                    let mut list: Vec<String> = ch
                        .var("export_vars")
                        .map(|l| l.split(',').map(str::to_owned).collect())
                        .unwrap_or_default();
                    if !list.iter().any(|x| x == n) {
                        list.push(n.to_owned());
                    }
                    ch.set_var("export_vars", &list.join(","));
                }
            }
            complete(core, st, uuid, generation, "_none_");
        }
        "unset" => {
            if let Some(ch) = st.channels.get_mut(uuid) {
                ch.unset_var(arg);
            }
            complete(core, st, uuid, generation, "_none_");
        }
        "log" | "info" => complete(core, st, uuid, generation, "_none_"),
        "hangup" => {
            let cause = if arg.is_empty() {
                "NORMAL_CLEARING"
            } else {
                arg
            };
            lifecycle::hangup(core, st, uuid, cause);
        }
        "sleep" => {
            let ms = arg.trim().parse::<u64>().unwrap_or(0);
            timer(core, uuid, generation, Duration::from_millis(ms), "_none_");
        }
        "playback" => {
            if let Some(ch) = st.channels.get_mut(uuid) {
                ch.playing = Some(arg.to_owned());
            }
            if let Some(d) = file_duration(arg) {
                timer(core, uuid, generation, d, "FILE PLAYED");
            }
        }
        "park" => channel_event(st, uuid, "CHANNEL_PARK", &[], &[]),
        "echo" => {}
        "conference" => conference::join(st, uuid, arg),
        "transfer" => {
            pop_app(st, uuid, generation);
            let mut words = arg.split_whitespace();
            let dest = words.next().unwrap_or("");
            lifecycle::transfer(core, st, uuid, dest, words.next());
        }
        "bridge" => super::originate::bridge_app(core, st, uuid, arg, generation),
        "socket" => socket_app(st, uuid, arg, generation, core),
        _ => {}
    }
}

fn timer(core: &Core, uuid: &str, generation: u64, d: Duration, response: &'static str) {
    let core = core.clone();
    let uuid = uuid.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(d).await;
        let mut st = core.lock();
        complete(&core, &mut st, &uuid, generation, response);
    });
}

fn pop_app(st: &mut State, uuid: &str, generation: u64) -> Option<RunningApp> {
    let ch = st.channels.get_mut(uuid)?;
    let pos = ch.apps.iter().position(|a| a.generation == generation)?;
    Some(ch.apps.remove(pos))
}

pub(crate) fn fire_complete(st: &mut State, uuid: &str, app: &RunningApp, response: &str) {
    let mut post = vec![("Application", app.name.as_str())];
    if !app.arg.is_empty() {
        post.push(("Application-Data", app.arg.as_str()));
    }
    post.push(("Application-Response", response));
    let au = app.app_uuid.clone().unwrap_or_default();
    post.push(("Application-UUID", &au));
    channel_event(st, uuid, "CHANNEL_EXECUTE_COMPLETE", &[], &post);
}

/// App `generation` on `uuid` finished with `response`; the channel moves on.
pub(crate) fn complete(core: &Core, st: &mut State, uuid: &str, generation: u64, response: &str) {
    let Some(app) = pop_app(st, uuid, generation) else {
        return;
    };
    if let Some(ch) = st.channels.get_mut(uuid)
        && app.name == "playback"
    {
        ch.playing = None;
    }
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.set_var("current_application_response", response);
        ch.set_var("last_app", &app.name);
    }
    fire_complete(st, uuid, &app, response);
    if !app.broadcast {
        start_next(core, st, uuid);
    }
}

/// Ends the top-most running app named `name` (conference ended, socket gave up, ...).
pub(crate) fn finish_top(core: &Core, st: &mut State, uuid: &str, name: &str, response: &str) {
    let generation = st
        .channels
        .get(uuid)
        .and_then(|c| c.apps.iter().rev().find(|a| a.name == name))
        .map(|a| a.generation);
    if let Some(g) = generation {
        complete(core, st, uuid, g, response);
    }
}

/// Every running app of a channel ends (hangup, transfer), top first, without continuing the dialplan.
/// On hangup a playback reports `FILE PLAYED` (recorded); when broken off otherwise, `PLAYBACK ERROR`.
/// The `socket` app reports the last application response, after CHANNEL_UNPARK (async mode).
pub(crate) fn complete_all(st: &mut State, uuid: &str, hangup: bool) {
    while let Some(app) = st.channels.get_mut(uuid).and_then(|c| c.apps.pop()) {
        let Some(ch) = st.channels.get_mut(uuid) else {
            return;
        };
        ch.playing = None;
        let last = ch
            .var("current_application_response")
            .unwrap_or("_none_")
            .to_owned();
        let response = match app.name.as_str() {
            "playback" if hangup => "FILE PLAYED".to_owned(),
            "playback" => "PLAYBACK ERROR".to_owned(),
            "socket" => {
                if ch
                    .socket
                    .as_ref()
                    .is_some_and(|s| s.connected && s.async_mode)
                {
                    channel_event(st, uuid, "CHANNEL_UNPARK", &[], &[]);
                }
                last
            }
            _ => "_none_".to_owned(),
        };
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.set_var("current_application_response", &response);
        }
        fire_complete(st, uuid, &app, &response);
    }
}

fn socket_app(st: &mut State, uuid: &str, arg: &str, generation: u64, core: &Core) {
    let mut words = arg.split_whitespace();
    let target = words.next().unwrap_or("");
    let rest: Vec<&str> = words.collect();
    let host_port = target.split('|').next().unwrap_or("");
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:8084")
    };
    let Ok(addr) = with_port.parse::<SocketAddr>() else {
        complete(core, st, uuid, generation, "_none_");
        return;
    };
    let async_mode = rest.contains(&"async");
    let full = rest.contains(&"full");
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.set_var("socket_host", &addr.ip().to_string());
        ch.socket = Some(SocketCtl {
            async_mode,
            full,
            connected: false,
        });
    }
    let req = OutboundRequest {
        uuid: uuid.to_owned(),
        addr,
        async_mode,
        full,
    };
    if st.outbound_tx.try_send(req).is_err() {
        // Nobody dials out for us: like nothing listening.
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.socket = None;
        }
        complete(core, st, uuid, generation, "_none_");
    }
}

/// `sendmsg execute`: queue behind the running app; runs at once if the channel sits in the socket app.
pub(crate) fn queue_execute(
    core: &Core,
    uuid: &str,
    app: &str,
    arg: &str,
    app_uuid: Option<String>,
    _event_lock: bool,
) -> Result<(), SimError> {
    let mut st = core.lock();
    let Some(ch) = st.channels.get_mut(uuid) else {
        return Err(SimError::NoSuchChannel { uuid: uuid.into() });
    };
    ch.execs.push_back(QueuedExec {
        app: app.to_owned(),
        arg: arg.to_owned(),
        app_uuid,
    });
    let idle = ch
        .apps
        .last()
        .is_none_or(|a| a.name == "socket" || a.name == "park");
    if idle {
        if ch.apps.last().is_some_and(|a| a.name == "park") && ch.socket.is_none() {
            // A parked channel controlled by sendmsg from an inbound socket: park yields to the app.
            let g = ch.apps.last().map(|a| a.generation).unwrap_or(0);
            let q = ch.execs.pop_front();
            if let Some(app) = pop_app(&mut st, uuid, g) {
                channel_event(&mut st, uuid, "CHANNEL_UNPARK", &[], &[]);
                fire_complete(&mut st, uuid, &app, "_none_");
            }
            if let Some(q) = q {
                run_app(core, &mut st, uuid, &q.app, &q.arg, q.app_uuid, true);
            }
        } else {
            start_next(core, &mut st, uuid);
        }
    }
    Ok(())
}

/// The outbound socket sent `connect`.
pub(crate) fn socket_connected(core: &Core, uuid: &str) {
    let mut st = core.lock();
    let Some(s) = st.channels.get_mut(uuid).and_then(|c| c.socket.as_mut()) else {
        return;
    };
    s.connected = true;
    if s.async_mode {
        // Async mode: the socket app sits in switch_ivr_park, dequeuing sendmsg.
        channel_event(&mut st, uuid, "CHANNEL_PARK", &[], &[]);
    }
    start_next(core, &mut st, uuid);
}

/// Nothing listened: the socket app returns at once and the dialplan continues.
pub(crate) fn socket_failed(core: &Core, uuid: &str) {
    let mut st = core.lock();
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.socket = None;
    }
    finish_top(core, &mut st, uuid, "socket", "_none_");
}

/// The controlling socket closed. `socket_resume=true`: running sendmsg apps are cut off, the socket
/// app completes and the dialplan continues. Otherwise the running app goes on and the dialplan never
/// continues.
pub(crate) fn socket_closed(core: &Core, uuid: &str) {
    let mut st = core.lock();
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if ch.socket.is_none() {
        return;
    }
    ch.socket = None;
    ch.execs.clear();
    if ch.var_true("socket_resume") {
        loop {
            let top = st.channels.get(uuid).and_then(|c| c.apps.last().cloned());
            match top {
                Some(a) if a.name != "socket" => {
                    pop_app(&mut st, uuid, a.generation);
                    if let Some(ch) = st.channels.get_mut(uuid) {
                        ch.playing = None;
                    }
                    let r = if a.name == "playback" {
                        "PLAYBACK ERROR"
                    } else {
                        "_none_"
                    };
                    fire_complete(&mut st, uuid, &a, r);
                }
                Some(_) => {
                    finish_top(core, &mut st, uuid, "socket", "_none_");
                    break;
                }
                None => break,
            }
        }
    } else {
        ch.orphaned = true;
    }
}
