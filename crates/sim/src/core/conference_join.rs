//! The `conference` application joining a channel: the conference is created on first use, the member
//! gets the next process-wide id and its flags, and the recorded join events fire.

use super::conference::{Conference, Member, parse_target};
use super::conference_events::{fire, fire_with, floor_change};
use super::conference_profile::profile_param;
use super::state::State;

/// The `conference` application: joins `uuid` to the conference named in `arg`.
pub(crate) fn join(st: &mut State, uuid: &str, arg: &str) {
    let (name, profile, mut flags) = parse_target(arg);
    if let Some(extra) = st
        .channels
        .get(uuid)
        .and_then(|c| c.var("conference_member_flags"))
    {
        flags.extend(
            extra
                .split(['|', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    create_if_missing(st, &name, &profile);
    st.member_counter += 1;
    let id = st.member_counter;
    let member = new_member(id, uuid, &flags);
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.member = Some((name.clone(), id));
        ch.set_var("conference_member_id", &id.to_string());
        ch.set_var("conference_name", &name);
    }
    let moh = profile_param(&st.cfg, &profile, "moh-sound");
    let (first, moh_ended) = match st.conferences.get_mut(&name) {
        Some(c) => {
            c.members.push(member);
            let first = c.members.len() == 1;
            if first && moh.is_some() {
                c.moh_since = Some(std::time::Instant::now());
            }
            (first, if first { None } else { c.moh_since.take() })
        }
        None => (false, None),
    };
    fire(st, &name, "add-member", Some(id), &[]);
    if let (Some(since), Some(file)) = (moh_ended, moh) {
        lone_music_ends(st, &name, since, file);
    }
    if first {
        if let Some(c) = st.conferences.get_mut(&name) {
            c.floor = Some(id);
        }
        floor_change(st, &name, None, Some(id));
    }
    if sends_audio(st, uuid) {
        talk_burst(st, &name, id);
    }
}

/// The first join creates the conference (`conference-create`).
fn create_if_missing(st: &mut State, name: &str, profile: &str) {
    if st.conferences.contains_key(name) {
        return;
    }
    st.conferences.insert(
        name.to_owned(),
        Conference {
            name: name.to_owned(),
            uuid: uuid::Uuid::new_v4().to_string(),
            profile: profile.to_owned(),
            members: Vec::new(),
            floor: None,
            created: std::time::Instant::now(),
            moh_since: None,
            recordings: Vec::new(),
        },
    );
    fire(st, name, "conference-create", None, &[]);
}

/// A member as its join flags (`deaf`, `mute`, `dist-dtmf`, ...) make it.
fn new_member(id: u32, uuid: &str, flags: &[String]) -> Member {
    let has = |f: &str| flags.iter().any(|x| x == f);
    Member {
        id,
        uuid: uuid.to_owned(),
        can_hear: !has("deaf"),
        can_speak: !has("mute"),
        hold: false,
        hold_file: None,
        hold_generation: 0,
        dist_dtmf: has("dist-dtmf"),
        skip_dtmf: has("skip-dtmf"),
        endconf: has("endconf"),
        mintwo: has("mintwo"),
        moderator: has("moderator"),
        nomoh: has("nomoh"),
        talking: false,
        joined: std::time::Instant::now(),
        relations: Vec::new(),
    }
}

/// The music a lone member heard stops for the second one (conference_file_close, recorded).
fn lone_music_ends(st: &mut State, name: &str, since: std::time::Instant, file: &str) {
    let ms = since.elapsed().as_millis();
    let played = [
        ("seconds", (ms / 1000).to_string()),
        ("milliseconds", ms.to_string()),
        ("samples", (ms * 8).to_string()),
    ];
    let before: Vec<(&str, &str)> = played.iter().map(|(n, v)| (*n, v.as_str())).collect();
    fire_with(
        st,
        name,
        "play-file-done",
        None,
        &before,
        &[("File", file), ("Async", "true")],
    );
}

/// Whether the member's far end sends audible audio: its loopback peer plays something other than
/// silence (the recorded `agent` extension beeps; `customer` and `dtmf` play silence).
fn sends_audio(st: &State, uuid: &str) -> bool {
    st.channels
        .get(uuid)
        .and_then(|c| c.loopback_peer.as_ref())
        .and_then(|p| st.channels.get(p))
        .and_then(|p| p.playing.as_ref())
        .is_some_and(|f| !f.starts_with("silence_stream://"))
}

/// A member starts talking: `start-talking`, the floor moves to it (`floor-change`), and, since the
/// model does not follow the energy of the audio over time, `stop-talking` right after (the recorded
/// beep is 200 ms on, 1800 ms off).
fn talk_burst(st: &mut State, name: &str, id: u32) {
    let set = |st: &mut State, on: bool| {
        if let Some(m) = st.conferences.get_mut(name).and_then(|c| c.member_mut(id)) {
            m.talking = on;
        }
    };
    set(st, true);
    fire(st, name, "start-talking", Some(id), &[]);
    let old = st.conferences.get(name).and_then(|c| c.floor);
    if old != Some(id) {
        if let Some(c) = st.conferences.get_mut(name) {
            c.floor = Some(id);
        }
        floor_change(st, name, old, Some(id));
    }
    set(st, false);
    // The talk statistics of a 200 ms beep at 20 ms packets (values illustrative, names recorded).
    fire_with(
        st,
        name,
        "stop-talking",
        Some(id),
        &[
            ("talking-gate-hits", "10"),
            ("talking-total-packets", "10"),
            ("talking-duration-ms", "200"),
            ("talking-average-energy", "6483.021277"),
            ("talking-delta-average", "101.680851"),
            ("talking-hit-on-percent", "100.000000"),
            ("talking-non-hit-ratio", "0.000000"),
            ("talking-hit-off-percent", "0.000000"),
            ("talking-hit-off-differential", "100.000000"),
        ],
        &[],
    );
}
