//! Conferences: members with ids from one process-wide counter, join flags, relationships, holds, the
//! `conference::maintenance` events, and destruction (empty / endconf / mintwo).

use super::events::{channel_basic, common, deliver};
use super::state::State;
use super::{Core, CoreConfig, apps};

/// A relationship `a -> b` set by `conference <c> relate a b ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Relation {
    pub nospeak: bool,
    pub nohear: bool,
}

/// One member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: u32,
    pub uuid: String,
    pub can_hear: bool,
    pub can_speak: bool,
    pub hold: bool,
    /// The file a held member hears instead of the mix.
    pub hold_file: Option<String>,
    /// Bumped per `hold`, so the end of an earlier hold file does not touch a later hold.
    pub hold_generation: u64,
    pub dist_dtmf: bool,
    pub skip_dtmf: bool,
    pub endconf: bool,
    pub mintwo: bool,
    pub moderator: bool,
    pub nomoh: bool,
    /// Energy above the threshold right now (`start-talking` .. `stop-talking`).
    pub talking: bool,
    pub joined: std::time::Instant,
    /// Relationships from this member: (other id, relation).
    pub relations: Vec<(u32, Relation)>,
}

/// One running conference.
#[derive(Debug, Clone)]
pub struct Conference {
    pub name: String,
    pub uuid: String,
    pub profile: String,
    pub members: Vec<Member>,
    pub floor: Option<u32>,
    pub created: std::time::Instant,
    /// Since when the profile's `moh-sound` plays to a member alone in the room.
    pub moh_since: Option<std::time::Instant>,
}

impl Conference {
    pub fn member(&self, id: u32) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    pub fn member_mut(&mut self, id: u32) -> Option<&mut Member> {
        self.members.iter_mut().find(|m| m.id == id)
    }

    pub fn related(&self, from: u32, to: u32) -> Option<Relation> {
        self.member(from)
            .and_then(|m| m.relations.iter().find(|(o, _)| *o == to).map(|(_, r)| *r))
    }
}

/// The `confpay` profile exactly as an operator installs it: the simulator reads its parameters
/// from the shipped file, so the two cannot drift apart.
const CONFPAY_PROFILE: &str =
    include_str!("../../../../freeswitch-dialplan/conference/confpay_profile.xml");

/// The `confpay` profile of the recordings in tests/fixtures/freeswitch-esl: caller-controls only.
const RECORDED_CONFPAY_PROFILE: &str = r#"<param name="caller-controls" value="none"/>"#;

/// Parameter `name` of conference profile `profile` (`default`: the vanilla one, none set here).
fn profile_param(cfg: &CoreConfig, profile: &str, name: &str) -> Option<&'static str> {
    if profile != "confpay" {
        return None;
    }
    let text = if cfg.recorded_confpay_profile {
        RECORDED_CONFPAY_PROFILE
    } else {
        CONFPAY_PROFILE
    };
    let body = text.split("-->").last().unwrap_or(text);
    body.split("<param ").skip(1).find_map(|p| {
        let attr = |a: &str| {
            let start = p.find(&format!("{a}=\""))? + a.len() + 2;
            let len = p[start..].find('"')?;
            Some(&p[start..start + len])
        };
        (attr("name")? == name).then(|| attr("value")).flatten()
    })
}

/// The caller-controls group of a profile (`default` unless the profile names one).
pub fn profile_caller_controls(cfg: &CoreConfig, profile: &str) -> &'static str {
    profile_param(cfg, profile, "caller-controls").unwrap_or("default")
}

/// Whether the profile's `suppress-events` keeps `action` from firing.
fn suppressed(cfg: &CoreConfig, profile: &str, action: &str) -> bool {
    profile_param(cfg, profile, "suppress-events")
        .is_some_and(|list| list.split(',').any(|e| e.trim() == action))
}

/// Parses `name[@profile][+pin][+flags{a|b}]`.
pub fn parse_target(arg: &str) -> (String, String, Vec<String>) {
    let mut flags = Vec::new();
    let mut rest = arg.trim().to_owned();
    if let Some(start) = rest.find("+flags{") {
        let tail = &rest[start + 7..];
        let end = tail.find('}').unwrap_or(tail.len());
        flags = tail[..end]
            .split(['|', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        rest.truncate(start);
    }
    let rest = rest.split('+').next().unwrap_or("").to_owned();
    let (name, profile) = match rest.split_once('@') {
        Some((n, p)) => (n.to_owned(), p.to_owned()),
        None => (rest, "default".to_owned()),
    };
    (name, profile, flags)
}

fn conf_headers(h: &mut confpay_esl::Headers, cfg: &CoreConfig, c: &Conference) {
    h.push("Conference-Name", &c.name);
    // mod_conference's default domain is cluecon.com; the test conf's `default` profile sets
    // $${domain} (127.0.0.1), the shipped `confpay` profile sets none (recorded).
    let domain = match c.profile.as_str() {
        "default" => "127.0.0.1",
        p => profile_param(cfg, p, "domain").unwrap_or("cluecon.com"),
    };
    h.push("Conference-Domain", domain);
    h.push("Conference-Size", &c.members.len().to_string());
    h.push("Conference-Ghosts", "0");
    h.push("Conference-Profile-Name", &c.profile);
    h.push("Conference-Unique-ID", &c.uuid);
}

fn member_headers(h: &mut confpay_esl::Headers, st: &State, c: &Conference, m: &Member) {
    h.push(
        "Floor",
        if c.floor == Some(m.id) {
            "true"
        } else {
            "false"
        },
    );
    if let Some(ch) = st.channels.get(&m.uuid) {
        channel_basic(h, ch);
    }
    let b = |v: bool| if v { "true" } else { "false" };
    h.push("Video", "false");
    h.push("Hear", b(m.can_hear));
    h.push("See", "true");
    h.push("Speak", b(m.can_speak));
    h.push("Talking", b(m.talking));
    h.push("Mute-Detect", "false");
    h.push("Hold", b(m.hold));
    h.push("Member-ID", &m.id.to_string());
    h.push(
        "Member-Type",
        if m.moderator { "moderator" } else { "member" },
    );
    h.push("Member-Ghost", "false");
    h.push("Energy-Level", "0");
    h.push("Current-Energy", "0");
}

/// Fires a `conference::maintenance` event. `member` adds the member block; `extra` goes after `Action`.
pub(crate) fn fire(
    st: &mut State,
    conf: &str,
    action: &str,
    member: Option<u32>,
    extra: &[(&str, &str)],
) {
    fire_with(st, conf, action, member, &[], extra);
}

/// [`fire`] with headers `before` the `Action` header too (the `talking-*` statistics of stop-talking).
fn fire_with(
    st: &mut State,
    conf: &str,
    action: &str,
    member: Option<u32>,
    before: &[(&str, &str)],
    extra: &[(&str, &str)],
) {
    let Some(c) = st.conferences.get(conf).cloned() else {
        return;
    };
    if suppressed(&st.cfg, &c.profile, action) {
        return;
    }
    let mut h = common(st, "CUSTOM", Some("conference::maintenance"), action);
    conf_headers(&mut h, &st.cfg, &c);
    if let Some(m) = member.and_then(|id| c.member(id)) {
        member_headers(&mut h, st, &c, m);
    }
    for (n, v) in before {
        h.push(n, v);
    }
    h.push("Action", action);
    for (n, v) in extra {
        h.push(n, v);
    }
    deliver(st, h, None);
}

/// `floor-change` as recorded: conference headers, Action, Old-ID, then the new holder's block, New-ID.
fn floor_change(st: &mut State, conf: &str, old: Option<u32>, new: Option<u32>) {
    let Some(c) = st.conferences.get(conf).cloned() else {
        return;
    };
    if suppressed(&st.cfg, &c.profile, "floor-change") {
        return;
    }
    let mut h = common(
        st,
        "CUSTOM",
        Some("conference::maintenance"),
        "floor-change",
    );
    conf_headers(&mut h, &st.cfg, &c);
    h.push("Action", "floor-change");
    h.push("Old-ID", &old.map_or("none".into(), |i| i.to_string()));
    if let Some(m) = new.and_then(|id| c.member(id)) {
        conf_headers(&mut h, &st.cfg, &c);
        member_headers(&mut h, st, &c, m);
    }
    h.push("New-ID", &new.map_or("none".into(), |i| i.to_string()));
    deliver(st, h, None);
}

/// `play-file-member-done` as recorded (conference_file_close): conference headers, the time played,
/// Action, then the conference and member blocks again and the file.
pub(crate) fn play_file_member_done(
    st: &mut State,
    conf: &str,
    id: u32,
    file: &str,
    played_ms: u64,
) {
    let Some(c) = st.conferences.get(conf).cloned() else {
        return;
    };
    if suppressed(&st.cfg, &c.profile, "play-file-member") {
        return;
    }
    let Some(m) = c.member(id) else { return };
    let mut h = common(
        st,
        "CUSTOM",
        Some("conference::maintenance"),
        "play-file-member-done",
    );
    conf_headers(&mut h, &st.cfg, &c);
    h.push("seconds", &(played_ms / 1000).to_string());
    h.push("milliseconds", &played_ms.to_string());
    h.push("samples", &(played_ms * 8).to_string());
    h.push("Action", "play-file-member-done");
    conf_headers(&mut h, &st.cfg, &c);
    member_headers(&mut h, st, &c, m);
    h.push("File", file);
    deliver(st, h, None);
}

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
    if !st.conferences.contains_key(&name) {
        st.conferences.insert(
            name.clone(),
            Conference {
                name: name.clone(),
                uuid: uuid::Uuid::new_v4().to_string(),
                profile: profile.clone(),
                members: Vec::new(),
                floor: None,
                created: std::time::Instant::now(),
                moh_since: None,
            },
        );
        fire(st, &name, "conference-create", None, &[]);
    }
    st.member_counter += 1;
    let id = st.member_counter;
    let has = |f: &str| flags.iter().any(|x| x == f);
    let member = Member {
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
    };
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
    // The music a lone member heard stops for the second one (conference_file_close, recorded).
    if let (Some(since), Some(file)) = (moh_ended, moh) {
        let ms = since.elapsed().as_millis();
        let played = [
            ("seconds", (ms / 1000).to_string()),
            ("milliseconds", ms.to_string()),
            ("samples", (ms * 8).to_string()),
        ];
        let before: Vec<(&str, &str)> = played.iter().map(|(n, v)| (*n, v.as_str())).collect();
        fire_with(
            st,
            &name,
            "play-file-done",
            None,
            &before,
            &[("File", file), ("Async", "true")],
        );
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

/// Removes `uuid` from its conference (hangup, kick, transfer, bridge, caller-control). Fires
/// del-member and, when the conference ends, conference-destroy; ends the other members' `conference`
/// apps (hanging them up unless `hangup_after_conference=false`) when it is destroyed with members left.
pub(crate) fn leave(core: &Core, st: &mut State, uuid: &str) {
    let Some((name, id)) = st.channels.get_mut(uuid).and_then(|c| c.member.take()) else {
        return;
    };
    let Some(c) = st.conferences.get(&name) else {
        return;
    };
    let leaver = c.member(id).cloned();
    let had_floor = c.floor == Some(id);
    if had_floor {
        // Recorded: the floor is released with `Old-ID: none`, before del-member.
        floor_change(st, &name, None, None);
        if let Some(c) = st.conferences.get_mut(&name) {
            c.floor = None;
        }
    }
    fire(st, &name, "del-member", Some(id), &[]);
    let Some(c) = st.conferences.get_mut(&name) else {
        return;
    };
    c.members.retain(|m| m.id != id);
    // The floor passes to the newest remaining member (recorded).
    let heir = c.members.last().map(|m| m.id).filter(|_| had_floor);
    if let Some(heir) = heir {
        c.floor = Some(heir);
        floor_change(st, &name, None, Some(heir));
    }
    let Some(c) = st.conferences.get_mut(&name) else {
        return;
    };
    for m in &mut c.members {
        m.relations.retain(|(o, _)| *o != id);
    }
    let endconf = leaver.as_ref().is_some_and(|m| m.endconf);
    let mintwo = c.members.len() < 2 && c.members.iter().any(|m| m.mintwo);
    if c.members.is_empty() || endconf || mintwo {
        destroy(core, st, &name);
    }
}

/// Ends a conference: each remaining member's channel is hung up (CHANNEL_HANGUP first, its
/// del-member after, as recorded on FreeSWITCH 1.11), unless its `hangup_after_conference` is
/// false: such a member leaves, and its `conference` app returns so its dialplan continues.
pub(crate) fn destroy(core: &Core, st: &mut State, name: &str) {
    let remaining: Vec<String> = st
        .conferences
        .get(name)
        .map(|c| c.members.iter().map(|m| m.uuid.clone()).collect())
        .unwrap_or_default();
    let (kept, hung): (Vec<String>, Vec<String>) = remaining.into_iter().partition(|uuid| {
        st.channels
            .get(uuid)
            .and_then(|c| c.var("hangup_after_conference"))
            .is_some_and(|v| !super::channel::switch_true(v))
    });
    for uuid in &kept {
        leave_quietly(st, uuid, name);
    }
    // Each hangup leaves the conference (del-member); the last one destroys it.
    for uuid in &hung {
        super::lifecycle::hangup(core, st, uuid, "NORMAL_CLEARING");
    }
    fire(st, name, "conference-destroy", None, &[]);
    st.conferences.remove(name);
    for uuid in kept {
        apps::finish_top(core, st, &uuid, "conference", "_none_");
    }
}

fn leave_quietly(st: &mut State, uuid: &str, name: &str) {
    let id = st
        .channels
        .get_mut(uuid)
        .and_then(|c| c.member.take())
        .map(|(_, id)| id);
    if let Some(id) = id {
        fire_del_before_remove(st, name, id);
        if let Some(c) = st.conferences.get_mut(name) {
            c.members.retain(|m| m.id != id);
        }
    }
}

fn fire_del_before_remove(st: &mut State, name: &str, id: u32) {
    fire(st, name, "del-member", Some(id), &[]);
}

#[cfg(test)]
mod profile_tests {
    use super::{CoreConfig, profile_caller_controls, profile_param, suppressed};

    #[test]
    fn the_confpay_profile_is_read_from_the_shipped_file() {
        let shipped = CoreConfig::default();
        assert_eq!(profile_caller_controls(&shipped, "confpay"), "none");
        assert_eq!(profile_caller_controls(&shipped, "default"), "default");
        assert_eq!(profile_param(&shipped, "confpay", "max-members"), Some("4"));
        assert!(suppressed(&shipped, "confpay", "floor-change"));
        assert!(suppressed(&shipped, "confpay", "dtmf-member"));
        assert!(!suppressed(&shipped, "confpay", "add-member"));
        assert!(!suppressed(&shipped, "default", "floor-change"));
        let recorded = CoreConfig {
            recorded_confpay_profile: true,
            ..CoreConfig::default()
        };
        assert_eq!(profile_caller_controls(&recorded, "confpay"), "none");
        assert_eq!(profile_param(&recorded, "confpay", "moh-sound"), None);
        assert!(!suppressed(&recorded, "confpay", "floor-change"));
    }
}
