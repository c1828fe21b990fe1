//! The `conference::maintenance` events with mod_conference's header blocks (conference, member) in
//! the recorded order, filtered by the profile's `suppress-events`.

use super::conference::{Conference, Member};
use super::conference_profile::{profile_param, suppressed};
use super::config::CoreConfig;
use super::events::{channel_basic, common, deliver};
use super::state::State;

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
pub(crate) fn fire_with(
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
pub(crate) fn floor_change(st: &mut State, conf: &str, old: Option<u32>, new: Option<u32>) {
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
