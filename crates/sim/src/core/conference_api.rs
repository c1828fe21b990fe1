//! The `conference` API command: list, json_list, member commands and their exact (sometimes
//! prefix-less) reply texts.

use super::app_stack::file_duration;
use super::channel::CallerProfile;
use super::cjson::Json;
use super::conference::{Conference, Member, Relation};
use super::conference_events::{fire, play_file_member_done};
use super::flow::Flow;
use super::state::State;
use super::{Core, dtmf};
use crate::hearing::DtmfOrigin;

pub(crate) fn run(core: &Core, args: &str) -> String {
    let argv: Vec<&str> = args.split_whitespace().collect();
    let mut st = core.lock();
    match argv.as_slice() {
        [] | ["list"] => list_all(&st),
        ["json_list", ..] => json_list(&st, None),
        [name, rest @ ..] => {
            let Some(c) = st.conferences.get(*name).cloned() else {
                return format!("-ERR Conference {name} not found\n");
            };
            member_cmd(core, &mut st, &c, rest)
        }
    }
}

fn flags(c: &Conference, m: &Member) -> String {
    let mut f = Vec::new();
    if m.can_hear {
        f.push("hear");
    }
    if m.can_speak {
        f.push("speak");
    }
    if m.hold {
        f.push("hold");
    }
    if c.floor == Some(m.id) {
        f.push("floor");
    }
    if m.moderator {
        f.push("moderator");
    }
    if m.endconf {
        f.push("endconf");
    }
    f.join("|")
}

fn list_lines(st: &State, c: &Conference) -> String {
    let mut out = String::new();
    for m in c.members.iter().rev() {
        let (name, cid_name, cid_num) = st
            .channels
            .get(&m.uuid)
            .map(|ch| {
                (
                    ch.name.clone(),
                    ch.profile.cid_name.clone(),
                    ch.profile.cid_number.clone(),
                )
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "{};{};{};{};{};{};0;0;0\n",
            m.id,
            name,
            m.uuid,
            cid_name,
            cid_num,
            flags(c, m)
        ));
    }
    out
}

fn list_all(st: &State) -> String {
    if st.conferences.is_empty() {
        return "+OK No active conferences.\n".into();
    }
    let mut out = String::new();
    for c in st.conferences.values() {
        out.push_str(&format!(
            "+OK Conference {} ({} member{} rate: 8000 flags: running|answered|enforce_min|dynamic|exit_sound|enter_sound|json_status)\n",
            c.name,
            c.members.len(),
            if c.members.len() == 1 { "" } else { "s" }
        ));
        out.push_str(&list_lines(st, c));
    }
    out
}

/// `json_list`: FreeSWITCH's cJSON layout and key order (conference_api.c `conference_jlist`,
/// `conference_member_jlist`), members newest first.
fn json_list(st: &State, only: Option<&str>) -> String {
    let confs: Vec<Json> = st
        .conferences
        .values()
        .filter(|c| only.is_none_or(|o| o == c.name))
        .map(|c| conference_json(st, c))
        .collect();
    Json::Arr(confs).print()
}

/// One conference of `json_list` (`conference_jlist`).
fn conference_json(st: &State, c: &Conference) -> Json {
    let members: Vec<Json> = c
        .members
        .iter()
        .rev()
        .map(|m| member_json(st, c, m))
        .collect();
    let f = Json::Bool(false);
    let t = Json::Bool(true);
    Json::obj([
        ("conference_name", Json::str(&c.name)),
        ("member_count", Json::Int(c.members.len() as i64)),
        ("ghost_count", Json::Int(0)),
        ("rate", Json::Int(8000)),
        ("run_time", Json::Int(c.created.elapsed().as_secs() as i64)),
        ("conference_uuid", Json::str(&c.uuid)),
        ("canvas_count", Json::Int(0)),
        ("max_bw_in", Json::Int(0)),
        ("force_bw_in", Json::Int(0)),
        ("video_floor_packets", Json::Int(0)),
        ("locked", f.clone()),
        ("destruct", f.clone()),
        ("wait_mod", f.clone()),
        ("audio_always", f.clone()),
        ("running", t.clone()),
        ("answered", t.clone()),
        ("enforce_min", t.clone()),
        ("bridge_to", f.clone()),
        ("dynamic", t.clone()),
        ("exit_sound", t.clone()),
        ("enter_sound", t),
        ("recording", Json::Bool(!c.recordings.is_empty())),
        ("video_bridge", f.clone()),
        ("video_floor_only", f.clone()),
        ("video_rfc4579", f),
        ("variables", Json::Obj(Vec::new())),
        ("members", Json::Arr(members)),
    ])
}

/// One member of `json_list` (`conference_member_jlist`).
fn member_json(st: &State, c: &Conference, m: &Member) -> Json {
    let ch = st.channels.get(&m.uuid);
    let cid = |f: fn(&CallerProfile) -> &String| {
        Json::Str(ch.map(|c| f(&c.profile).clone()).unwrap_or_default())
    };
    let flags = Json::obj([
        ("can_hear", Json::Bool(m.can_hear)),
        ("can_see", Json::Bool(true)),
        ("can_speak", Json::Bool(m.can_speak)),
        ("hold", Json::Bool(m.hold)),
        ("mute_detect", Json::Bool(false)),
        ("talking", Json::Bool(m.talking)),
        ("has_video", Json::Bool(false)),
        ("video_bridge", Json::Bool(false)),
        ("has_floor", Json::Bool(c.floor == Some(m.id))),
        ("is_moderator", Json::Bool(m.moderator)),
        ("end_conference", Json::Bool(m.endconf)),
        ("mandatory_member_end_conference", Json::Bool(false)),
        ("pass_digits", Json::Bool(m.dist_dtmf)),
    ]);
    Json::obj([
        ("type", Json::str("caller")),
        ("id", Json::Int(i64::from(m.id))),
        ("flags", flags),
        ("uuid", Json::str(&m.uuid)),
        ("caller_id_name", cid(|p| &p.cid_name)),
        ("caller_id_number", cid(|p| &p.cid_number)),
        ("join_time", Json::Int(m.joined.elapsed().as_secs() as i64)),
        ("last_talking", Json::Int(0)),
        ("energy", Json::Int(0)),
        ("volume_in", Json::Int(0)),
        ("volume_out", Json::Int(0)),
        ("output-volume", Json::Int(0)),
        ("input-volume", Json::Int(0)),
    ])
}

const USAGE_MUTE: &str = "mute <[member_id|all]|last|non_moderator> [<quiet>]";

fn usage(sub: &str) -> String {
    match sub {
        "mute" => USAGE_MUTE.into(),
        "relate" => "relate <member_id>[,<member_id>] <other_member_id>[,<other_member_id>] [nospeak|nohear|clear]".into(),
        "dtmf" => "dtmf <[member_id|all|last|non_moderator]> <digits>".into(),
        other => format!("{other} <[member_id|all]|last|non_moderator>"),
    }
}

/// Resolves a member target: id, `all`, `last` (highest id), `non_moderator`.
fn targets(c: &Conference, t: &str) -> Option<Vec<u32>> {
    match t {
        "all" => Some(c.members.iter().map(|m| m.id).collect()),
        "non_moderator" => Some(
            c.members
                .iter()
                .filter(|m| !m.moderator)
                .map(|m| m.id)
                .collect(),
        ),
        "last" => c.members.iter().map(|m| m.id).max().map(|i| vec![i]),
        id => id.parse::<u32>().ok().map(|i| vec![i]),
    }
}

fn member_cmd(core: &Core, st: &mut State, c: &Conference, rest: &[&str]) -> String {
    let Some(sub) = rest.first() else {
        return "-ERR Conference command '' not found.\n".to_owned();
    };
    let name = c.name.as_str();
    match *sub {
        "list" => {
            if rest.get(1) == Some(&"count") {
                return c.members.len().to_string();
            }
            list_lines(st, c)
        }
        "json_list" => json_list(st, Some(name)),
        "get" => match rest.get(1) {
            Some(&"count") => c.members.len().to_string(),
            Some(&"uuid") => c.uuid.clone(),
            Some(&"run_time") => c.created.elapsed().as_secs().to_string(),
            Some(&"is_locked") => String::new(),
            _ => "get <parameter-name>".into(),
        },
        "relate" => relate(st, c, &rest[1..]),
        "recording" => recording(st, name, &rest[1..]),
        "mute" | "unmute" | "deaf" | "undeaf" | "hold" | "unhold" | "kick" | "hup" | "dtmf" => {
            let Some(ids) = rest.get(1).and_then(|t| targets(c, t)) else {
                return usage(sub);
            };
            if *sub == "dtmf" && rest.get(2).is_none() {
                return usage(sub);
            }
            let mut out = String::new();
            for id in ids {
                out.push_str(&member_action(
                    core,
                    st,
                    name,
                    sub,
                    id,
                    rest.get(2).copied(),
                ));
            }
            out
        }
        other => format!("-ERR Conference command '{other}' not found.\n"),
    }
}

/// A finite hold file ends: the member stays on hold (out of the mix, hard-muted) but hears the mix
/// again (FreeSWITCH behaviour: the customer hears the agent once the file ends).
fn hold_file_ends(core: &Core, conf: &str, id: u32, generation: u64, d: std::time::Duration) {
    let (core, conf) = (core.clone(), conf.to_owned());
    tokio::spawn(async move {
        tokio::time::sleep(d).await;
        let mut st = core.lock();
        if let Some(m) = st.conferences.get_mut(&conf).and_then(|c| c.member_mut(id))
            && m.hold
            && m.hold_generation == generation
            && let Some(file) = m.hold_file.take()
        {
            let played = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            play_file_member_done(&mut st, &conf, id, &file, played);
        }
    });
}

fn member_action(
    core: &Core,
    st: &mut State,
    conf: &str,
    sub: &str,
    id: u32,
    data: Option<&str>,
) -> String {
    let Some(m) = st.conferences.get_mut(conf).and_then(|c| c.member_mut(id)) else {
        return format!("-ERR Non-Existant ID {id}\n");
    };
    let uuid = m.uuid.clone();
    match sub {
        "mute" => m.can_speak = false,
        "unmute" => m.can_speak = true,
        "deaf" => m.can_hear = false,
        "undeaf" => m.can_hear = true,
        "hold" => {
            m.hold = true;
            m.can_speak = false;
            m.hold_file = data.map(str::to_owned);
            let generation = st.next_generation();
            if let Some(m) = st.conferences.get_mut(conf).and_then(|c| c.member_mut(id)) {
                m.hold_generation = generation;
            }
            if let Some(d) = data.and_then(file_duration) {
                hold_file_ends(core, conf, id, generation, d);
            }
        }
        "unhold" => {
            m.hold = false;
            m.can_speak = true;
            // The hold file stops: conference_file_close reports it (after unhold-member).
            if let Some(file) = m.hold_file.take() {
                let (conf, fired) = (conf.to_owned(), format!("{sub}-member"));
                fire(st, &conf, &fired, Some(id), &[]);
                play_file_member_done(st, &conf, id, &file, 0);
                return format!("+OK {sub} {id}\n");
            }
        }
        "kick" | "hup" | "dtmf" => {}
        _ => {}
    }
    let action = format!("{sub}-member");
    match sub {
        "dtmf" => {
            let digits = data.unwrap_or("");
            fire(st, conf, &action, Some(id), &[("Digits", digits)]);
            for (d, dur) in dtmf::parse_digits(digits) {
                dtmf::send_out(
                    core,
                    st,
                    &uuid,
                    d,
                    dur,
                    DtmfOrigin::Api("conference dtmf".into()),
                );
            }
            format!("+OK sent {digits} to {id}\n")
        }
        "kick" | "hup" => {
            fire(st, conf, &action, Some(id), &[]);
            let mut flow = Flow::new(core, st);
            flow.leave(&uuid);
            flow.finish_top(&uuid, "conference", "_none_");
            if sub == "kick" {
                format!("+OK kicked {id}\n")
            } else {
                format!("+OK hup {id}\n")
            }
        }
        _ => {
            fire(st, conf, &action, Some(id), &[]);
            format!("+OK {sub} {id}\n")
        }
    }
}

/// `conference <name> recording start|stop|check|pause|resume <path>`, texts as the real switch
/// answers (FreeSWITCH 1.11.3, tests/fixtures/freeswitch-esl/README.md). Only what the API reports is
/// simulated, no audio is written.
fn recording(st: &mut State, name: &str, argv: &[&str]) -> String {
    let Some(c) = st.conferences.get_mut(name) else {
        return format!("-ERR Conference {name} not found\n");
    };
    let recs = &mut c.recordings;
    match argv {
        ["check", ..] if recs.is_empty() => "-ERR Conference is not being recorded.\n".into(),
        // Newest first, as the real switch lists them.
        ["check", ..] => recs
            .iter()
            .rev()
            .map(|(p, _)| format!("+OK Record file {p}\n"))
            .collect(),
        // `conference_record_thread_run` fires `start-recording` once the file is open, and
        // `stop-recording` when it ends (as recorded in `inbound-recording-events`).
        ["start", path, ..] => {
            recs.push(((*path).to_owned(), false));
            fire(st, name, "start-recording", None, &[("Path", path)]);
            format!("+OK Record file {path}\n")
        }
        // Seen on 1.11.3: `stop <path>` answers `non-existant` for a path it records (whether it
        // stopped is not clear; here it does not); `stop all` stops them and still counts 0.
        ["stop", "all", ..] => {
            let stopped: Vec<String> = recs.drain(..).rev().map(|(p, _)| p).collect();
            let mut out = String::new();
            for p in &stopped {
                out.push_str(&format!("Stopped recording file {p}\n"));
                let extra = [("Path", p.as_str()), ("Other-Recordings", "false")];
                fire(st, name, "stop-recording", None, &extra);
            }
            out.push_str("+OK Stopped recording 0 files\n");
            out
        }
        ["stop", path, ..] => {
            format!("-ERR non-existant recording '{path}'\n+OK Stopped recording 0 files\n")
        }
        [action @ ("pause" | "resume"), path, ..] => {
            let verb = if *action == "pause" {
                "Pause"
            } else {
                "Resume"
            };
            let mut out = format!("+OK {verb} recording file {path}\n");
            match recs.iter_mut().find(|(p, _)| p == path) {
                Some(r) => r.1 = *action == "pause",
                None => out.push_str(&format!("-ERR non-existant recording '{path}'\n")),
            }
            out
        }
        _ => "recording [start|stop|check|pause|resume] [<filename>|all]".into(),
    }
}

fn relate(st: &mut State, c: &Conference, argv: &[&str]) -> String {
    let ids = |s: &str| -> Vec<u32> { s.split(',').filter_map(|x| x.parse().ok()).collect() };
    match argv {
        [a] => {
            let from = ids(a);
            let mut out = String::new();
            for m in c.members.iter().filter(|m| from.contains(&m.id)) {
                // As the real switch lists them (1.11.3): `2 -> 1 NOSPEAK NOHEAR NOSENDVIDEO \n`.
                for (o, r) in &m.relations {
                    out.push_str(&format!(
                        "{} -> {} {}{}NOSENDVIDEO \n",
                        m.id,
                        o,
                        if r.nospeak { "NOSPEAK " } else { "" },
                        if r.nohear { "NOHEAR " } else { "" }
                    ));
                }
            }
            if out.is_empty() {
                "+OK No relationships\n".into()
            } else {
                out
            }
        }
        [a, b, action, ..]
            if ["nospeak", "nohear", "clear", "sendvideo"]
                .iter()
                .any(|k| action.contains(k)) =>
        {
            let mut out = String::new();
            for x in ids(a) {
                for y in ids(b) {
                    let conf = st.conferences.get_mut(&c.name);
                    let exists = conf
                        .as_ref()
                        .is_some_and(|c| c.member(x).is_some() && c.member(y).is_some());
                    let Some(conf) = conf.filter(|_| exists) else {
                        out.push_str(&format!("-ERR relationship {x}->{y} not found.\n"));
                        continue;
                    };
                    let Some(mx) = conf.member_mut(x) else {
                        continue;
                    };
                    if action.contains("clear") {
                        mx.relations.retain(|(o, _)| *o != y);
                        out.push_str(&format!("+OK relationship {x}->{y} cleared.\n"));
                        continue;
                    }
                    let pos = match mx.relations.iter().position(|(o, _)| *o == y) {
                        Some(p) => p,
                        None => {
                            mx.relations.push((y, Relation::default()));
                            mx.relations.len() - 1
                        }
                    };
                    let r = &mut mx.relations[pos].1;
                    if action.contains("nospeak") {
                        r.nospeak = true;
                    }
                    if action.contains("nohear") {
                        r.nohear = true;
                    }
                    out.push_str(&format!("+OK {x}->{y} {action} set\n"));
                }
            }
            out
        }
        _ => usage("relate"),
    }
}
