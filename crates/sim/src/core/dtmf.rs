//! DTMF routing. A digit a channel *receives* (from its far end, `uuid_recv_dtmf`, or a loopback peer)
//! is consumed by what the channel runs: a DTMF event fires unless `sensitive_dtmf` is true (read per
//! digit); a conference member's digit is relayed with `dist-dtmf` to members without `skip-dtmf`, else
//! fed to caller-controls, else dropped; a bridged leg passes it to its partner's far end.
//! A digit *sent out of* a channel (`uuid_send_dtmf`, `conference dtmf`, relay) reaches its far end.

use super::Core;
use super::conference_events::fire;
use super::conference_profile::profile_caller_controls;
use super::events::channel_event;
use super::flow::Flow;
use super::state::State;
use crate::hearing::{DtmfDelivery, DtmfOrigin};
use crate::party::Reaction;

/// The far end of `uuid` pressed `d`.
pub(crate) fn party_pressed(core: &Core, st: &mut State, uuid: &str, d: char) {
    let origin = st
        .channels
        .get(uuid)
        .and_then(|c| c.party.as_ref())
        .map(|p| DtmfOrigin::Party(p.name()))
        .unwrap_or_else(|| DtmfOrigin::Api("press".into()));
    receive(core, st, uuid, d, 2000, "RTP", origin);
}

/// `uuid` receives digit `d` (`source` is the DTMF-Source header value).
pub(crate) fn receive(
    core: &Core,
    st: &mut State,
    uuid: &str,
    d: char,
    duration: u32,
    source: &str,
    origin: DtmfOrigin,
) {
    let Some(ch) = st.channels.get(uuid) else {
        return;
    };
    if !ch.alive() {
        return;
    }
    let consumes = !ch.apps.is_empty() || ch.bridged_to.is_some() || ch.member.is_some();
    if !consumes {
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.pending_dtmf.push_back(d);
        }
        return;
    }
    let sensitive = ch.var_true("sensitive_dtmf");
    let partner = ch.bridged_to.clone();
    let member = ch.member.clone();
    if !sensitive {
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.digits_dialed.push(d);
            ch.set_var("last_dtmf_duration", &duration.to_string());
        }
        let digit = d.to_string();
        let dur = duration.to_string();
        channel_event(
            st,
            uuid,
            "DTMF",
            &[],
            &[
                ("DTMF-Digit", &digit),
                ("DTMF-Duration", &dur),
                ("DTMF-Source", source),
            ],
        );
    }
    if let Some((conf, id)) = member {
        in_conference(core, st, uuid, &conf, id, d, origin);
    } else if let Some(p) = partner {
        send_out(core, st, &p, d, duration, origin);
    }
}

fn in_conference(
    core: &Core,
    st: &mut State,
    uuid: &str,
    conf: &str,
    id: u32,
    d: char,
    origin: DtmfOrigin,
) {
    let Some(c) = st.conferences.get(conf) else {
        return;
    };
    let Some(me) = c.member(id) else { return };
    if me.dist_dtmf {
        let targets: Vec<String> = c
            .members
            .iter()
            .filter(|m| m.id != id && !m.skip_dtmf)
            .map(|m| m.uuid.clone())
            .collect();
        for t in targets {
            send_out(core, st, &t, d, 2000, origin.clone());
        }
        return;
    }
    let controls = st
        .channels
        .get(uuid)
        .and_then(|c| c.var("conference_controls").map(str::to_owned))
        .unwrap_or_else(|| profile_caller_controls(&st.cfg, &c.profile).to_owned());
    if controls != "default" {
        return;
    }
    match d {
        '#' => {
            // hangup caller-control: the member leaves; its conference app returns.
            let mut flow = Flow::new(core, st);
            flow.leave(uuid);
            flow.finish_top(uuid, "conference", "_none_");
        }
        '0' => toggle_mute(st, conf, id),
        '*' => {
            toggle_mute(st, conf, id);
            if let Some(m) = st.conferences.get_mut(conf).and_then(|c| c.member_mut(id)) {
                m.can_hear = !m.can_hear;
            }
        }
        _ => {}
    }
}

fn toggle_mute(st: &mut State, conf: &str, id: u32) {
    let Some(m) = st.conferences.get_mut(conf).and_then(|c| c.member_mut(id)) else {
        return;
    };
    m.can_speak = !m.can_speak;
    let action = if m.can_speak {
        "unmute-member"
    } else {
        "mute-member"
    };
    fire(st, conf, action, Some(id), &[]);
}

/// Digit `d` goes out of `uuid` to its far end: a party hears it (and may react), a loopback peer
/// receives it (DTMF-Source UNKNOWN).
pub(crate) fn send_out(
    core: &Core,
    st: &mut State,
    uuid: &str,
    d: char,
    duration: u32,
    origin: DtmfOrigin,
) {
    let Some(ch) = st.channels.get(uuid) else {
        return;
    };
    if !ch.alive() {
        return;
    }
    if let Some(p) = ch.party.clone() {
        st.dtmf_log.push(DtmfDelivery {
            party: p.name(),
            channel: uuid.to_owned(),
            digit: d,
            origin,
            at: tokio::time::Instant::now(),
        });
        let its_call = call_agent_id(st, uuid);
        if p.receive(uuid, d, its_call.as_deref()) == Reaction::HangUp {
            let core = core.clone();
            let uuid = uuid.to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                let mut st = core.lock();
                Flow::new(&core, &mut st).hangup(&uuid, "NORMAL_CLEARING");
            });
        }
    } else if let Some(peer) = ch.loopback_peer.clone() {
        receive(core, st, &peer, d, duration, "UNKNOWN", origin);
    }
}

/// The agent ID of the call channel `uuid` serves: `confpay_agent_id` of another member of the
/// conference `uuid` is in, or was originated into and has not joined yet (digits sent right after
/// `originate` answered reach the leg before its conference application runs, as on FreeSWITCH).
/// The customer's leg carries it; a capture leg dialled into the call's room does not.
fn call_agent_id(st: &State, uuid: &str) -> Option<String> {
    let conf = match st.joining.get(uuid) {
        Some(room) => st.conferences.get(room)?,
        None => st
            .conferences
            .values()
            .find(|c| c.members.iter().any(|m| m.uuid == uuid))?,
    };
    conf.members
        .iter()
        .filter(|m| m.uuid != uuid)
        .find_map(|m| st.channels.get(&m.uuid)?.var("confpay_agent_id"))
        .map(str::to_owned)
}

/// Parses `uuid_send_dtmf` digit strings: `0-9A-D*#wWF`, `+`-separated groups with `@ms` durations.
/// Returns (digit, duration in samples) pairs; `w`/`W` pauses are dropped (timing is not simulated).
pub(crate) fn parse_digits(s: &str) -> Vec<(char, u32)> {
    let mut out = Vec::new();
    for group in s.split('+') {
        let (digits, dur) = match group.split_once('@') {
            Some((d, ms)) => (d, ms.parse::<u32>().map(|ms| ms * 8).unwrap_or(2000)),
            None => (group, 2000),
        };
        for c in digits.chars() {
            let c = c.to_ascii_uppercase();
            if c.is_ascii_digit() || matches!(c, 'A'..='D' | '*' | '#' | 'F') {
                out.push((c, dur));
            }
        }
    }
    out
}
