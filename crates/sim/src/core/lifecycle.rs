//! Channel transitions and the events they fire: create, answer, hangup, bridge/unbridge, park,
//! transfer, incoming calls (hold: [`super::hold`]).

use super::channel::{CallState, CallerProfile, Channel, ChannelState, Direction};
use super::events::{channel_event, now_us};
use super::state::State;
use super::{Core, SimError, apps, conference};
use crate::party::Party;
use std::collections::VecDeque;

/// Inserts a new channel (no events yet).
pub(crate) fn new_channel(
    st: &mut State,
    uuid: String,
    name: String,
    direction: Direction,
    profile: CallerProfile,
    party: Option<Party>,
) -> String {
    st.session_counter += 1;
    st.sessions_since_start += 1;
    let mut vars = vec![
        ("direction".to_owned(), direction.as_str().to_owned()),
        ("uuid".to_owned(), uuid.clone()),
        ("call_uuid".to_owned(), uuid.clone()),
        ("session_id".to_owned(), st.session_counter.to_string()),
        ("channel_name".to_owned(), name.clone()),
        ("read_codec".to_owned(), "L16".to_owned()),
        ("read_rate".to_owned(), "8000".to_owned()),
        ("write_codec".to_owned(), "L16".to_owned()),
        ("write_rate".to_owned(), "8000".to_owned()),
    ];
    if direction == Direction::Outbound {
        vars.insert(1, ("is_outbound".to_owned(), "true".to_owned()));
    }
    if let Some(p) = &party {
        p.attach(&uuid);
    }
    let ch = Channel {
        uuid: uuid.clone(),
        name,
        direction,
        state: ChannelState::Init,
        callstate: CallState::Down,
        answered: false,
        hit_dialplan: direction == Direction::Inbound,
        hangup_cause: None,
        profile,
        vars,
        party,
        apps: Vec::new(),
        loopback_peer: None,
        orphaned: false,
        dialplan: VecDeque::new(),
        execs: VecDeque::new(),
        socket: None,
        bridged_to: None,
        bridge_a: false,
        other_leg: None,
        held: false,
        queued_broadcasts: VecDeque::new(),
        playing: None,
        member: None,
        pending_dtmf: VecDeque::new(),
        digits_dialed: String::new(),
    };
    st.channels.insert(uuid.clone(), ch);
    st.order.push(uuid.clone());
    uuid
}

pub(crate) fn set_state(st: &mut State, uuid: &str, state: ChannelState) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if ch.state == state {
        return;
    }
    ch.state = state;
    channel_event(st, uuid, "CHANNEL_STATE", &[], &[]);
}

pub(crate) fn set_callstate(st: &mut State, uuid: &str, cs: CallState) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if ch.callstate == cs {
        return;
    }
    let old = ch.callstate;
    ch.callstate = cs;
    let num = cs.number().to_string();
    channel_event(
        st,
        uuid,
        "CHANNEL_CALLSTATE",
        &[
            ("Original-Channel-Call-State", old.as_str()),
            ("Channel-Call-State-Number", &num),
        ],
        &[],
    );
}

/// Marks a channel answered (CHANNEL_ANSWER, then callstate ACTIVE); a loopback pair answers together.
pub(crate) fn answer(st: &mut State, uuid: &str) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if ch.answered || !ch.alive() {
        return;
    }
    ch.answered = true;
    ch.profile.answered_us = now_us();
    ch.set_var("endpoint_disposition", "ANSWER");
    let peer = ch.loopback_peer.clone();
    if let Some(p) = &ch.party {
        p.mark_answered();
    }
    channel_event(st, uuid, "CHANNEL_ANSWER", &[], &[]);
    set_callstate(st, uuid, CallState::Active);
    // Once answered, an outbound leg's caller id shows the far end (the callee: the dialled SIP user, or
    // mod_loopback's `Outbound Call`/`default`) and the originate caller id moves to the callee (recorded
    // on SIP and loopback legs).
    if let Some(ch) = st.channels.get_mut(uuid)
        && ch.direction == Direction::Outbound
    {
        let p = &mut ch.profile;
        p.callee_name = std::mem::replace(&mut p.cid_name, "Outbound Call".into());
        p.callee_number = std::mem::replace(&mut p.cid_number, "default".into());
    }
    if let Some(peer) = peer {
        answer(st, &peer);
    }
}

/// Hangs a channel up: CHANNEL_HANGUP, leaves its conference/bridge, completes its apps, then the
/// CS_HANGUP / HANGUP / CS_REPORTING / HANGUP_COMPLETE / DESTROY sequence; its loopback peer follows.
pub(crate) fn hangup(core: &Core, st: &mut State, uuid: &str, cause: &str) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if !ch.alive() {
        return;
    }
    ch.hangup_cause = Some(cause.to_owned());
    ch.profile.hangup_us = now_us();
    ch.set_var("hangup_cause", cause);
    let peer = ch.loopback_peer.clone();
    let partner = ch.bridged_to.clone();
    let party = ch.party.clone();
    channel_event(st, uuid, "CHANNEL_HANGUP", &[], &[]);
    conference::leave(core, st, uuid);
    if let Some(partner) = partner {
        unbridge(st, uuid, &partner);
        after_bridge(core, st, &partner);
    }
    apps::complete_all(st, uuid, true);
    set_state(st, uuid, ChannelState::Hangup);
    set_callstate(st, uuid, CallState::Hangup);
    set_state(st, uuid, ChannelState::Reporting);
    set_timestamps(st, uuid, cause);
    channel_event(
        st,
        uuid,
        "CHANNEL_HANGUP_COMPLETE",
        &[("Hangup-Cause", cause)],
        &[],
    );
    channel_event(st, uuid, "CHANNEL_DESTROY", &[], &[]);
    set_state(st, uuid, ChannelState::Destroy);
    if let Some(gone) = st.channels.remove(uuid) {
        st.remember_gone(gone);
    }
    if let Some(p) = party {
        p.mark_hung_up();
    }
    if let Some(peer) = peer {
        hangup(core, st, &peer, cause);
    }
}

/// Q.850 code of a hangup cause (`switch_channel_cause_q850`).
pub(crate) fn q850(cause: &str) -> u32 {
    match cause {
        "UNALLOCATED_NUMBER" => 1,
        "NO_ROUTE_DESTINATION" => 3,
        "NORMAL_CLEARING" => 16,
        "USER_BUSY" => 17,
        "NO_USER_RESPONSE" => 18,
        "NO_ANSWER" => 19,
        "CALL_REJECTED" => 21,
        "DESTINATION_OUT_OF_ORDER" => 27,
        "NORMAL_TEMPORARY_FAILURE" => 41,
        "ORIGINATOR_CANCEL" => 487,
        "LOSE_RACE" => 502,
        "MANAGER_REQUEST" => 503,
        _ => 0,
    }
}

/// The CDR variables `switch_channel_set_timestamps` adds before CHANNEL_HANGUP_COMPLETE, including
/// `digits_dialed` (every non-sensitive digit the channel consumed, or `none`).
fn set_timestamps(st: &mut State, uuid: &str, cause: &str) {
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    let p = ch.profile.clone();
    let end = now_us();
    let dialed = if ch.digits_dialed.is_empty() {
        "none".to_owned()
    } else {
        ch.digits_dialed.clone()
    };
    let bill = if p.answered_us > 0 {
        end.saturating_sub(p.answered_us)
    } else {
        0
    };
    let dur = end.saturating_sub(p.channel_created());
    let vars = [
        ("hangup_cause_q850", q850(cause).to_string()),
        ("digits_dialed", dialed),
        ("start_epoch", (p.channel_created() / 1_000_000).to_string()),
        ("start_uepoch", p.channel_created().to_string()),
        ("answer_epoch", (p.answered_us / 1_000_000).to_string()),
        ("answer_uepoch", p.answered_us.to_string()),
        ("end_epoch", (end / 1_000_000).to_string()),
        ("end_uepoch", end.to_string()),
        ("duration", (dur / 1_000_000).to_string()),
        ("billsec", (bill / 1_000_000).to_string()),
        ("mduration", (dur / 1000).to_string()),
        ("billmsec", (bill / 1000).to_string()),
    ];
    for (n, v) in vars {
        ch.set_var(n, &v);
    }
}

/// Bridges `a` (originator) and `b`: one CHANNEL_BRIDGE on `a`.
pub(crate) fn bridge(st: &mut State, a: &str, b: &str) {
    let now = now_us();
    for (x, y, kind) in [(a, b, "originatee"), (b, a, "originator")] {
        if let Some(ch) = st.channels.get_mut(x) {
            ch.bridged_to = Some(y.to_owned());
            ch.bridge_a = x == a;
            ch.other_leg = Some((y.to_owned(), kind));
            ch.profile.bridged_us = now;
            ch.playing = None;
            ch.set_var("bridge_uuid", y);
            ch.set_var("last_bridge_to", y);
            // Only while bridged: cleared at unbridge, unlike bridge_uuid (recorded).
            ch.set_var("bridge_to", y);
            ch.set_var("signal_bond", y);
        }
    }
    channel_event(
        st,
        a,
        "CHANNEL_BRIDGE",
        &[("Bridge-A-Unique-ID", a), ("Bridge-B-Unique-ID", b)],
        &[],
    );
}

/// Ends a bridge: CHANNEL_UNBRIDGE on the A side (the leg that bridged), even after that leg got a
/// new caller profile (a transfer) before the bridge came down (recorded on FreeSWITCH 1.11).
pub(crate) fn unbridge(st: &mut State, x: &str, y: &str) {
    let a_is_x = st.channels.get(x).is_some_and(|c| c.bridge_a);
    let (a, b) = if a_is_x { (x, y) } else { (y, x) };
    for u in [x, y] {
        if let Some(ch) = st.channels.get_mut(u) {
            ch.bridged_to = None;
            ch.held = false;
            ch.unset_var("bridge_to");
            ch.unset_var("signal_bond");
            if !ch.apps.iter().any(|a| a.broadcast) {
                ch.playing = None;
            }
        }
    }
    let (a, b) = (a.to_owned(), b.to_owned());
    channel_event(
        st,
        &a,
        "CHANNEL_UNBRIDGE",
        &[("Bridge-A-Unique-ID", &a), ("Bridge-B-Unique-ID", &b)],
        &[],
    );
}

/// What a leg does when its bridge ended under it: park_after_bridge, hangup_after_bridge, else its
/// bridge app returns and its dialplan continues (hanging up if nothing is left).
pub(crate) fn after_bridge(core: &Core, st: &mut State, uuid: &str) {
    let Some(ch) = st.channels.get(uuid) else {
        return;
    };
    if !ch.alive() {
        return;
    }
    if ch.var_true("park_after_bridge") {
        apps::complete_all(st, uuid, false);
        apps::run_app(core, st, uuid, "park", "", None, false);
    } else if ch.var_true("hangup_after_bridge") {
        hangup(core, st, uuid, "NORMAL_CLEARING");
    } else {
        apps::complete_all(st, uuid, false);
        apps::start_next(core, st, uuid);
    }
}

/// Transfers a channel to `dest` (an extension or an `app:arg` inline list): it leaves bridge and
/// conference, its running apps end and the new actions run. A new caller profile records the transfer
/// (`Caller-Transfer-Source` `<epoch>:<uuid>:bl_xfer:<dest>/<context>/<dialplan>`, `Caller-RDNIS`).
pub(crate) fn transfer(
    core: &Core,
    st: &mut State,
    uuid: &str,
    dest: &str,
    dialplan: Option<&str>,
) {
    let inline = dialplan == Some("inline");
    let actions: VecDeque<(String, String)> = if inline {
        dest.split(',')
            .map(|a| match a.split_once(':') {
                Some((app, arg)) => (app.to_owned(), arg.to_owned()),
                None => (a.to_owned(), String::new()),
            })
            .collect()
    } else {
        st.extensions
            .iter()
            .find(|e| e.destination == dest)
            .map(|e| e.actions.iter().cloned().collect())
            .unwrap_or_default()
    };
    let partner = st.channels.get(uuid).and_then(|c| c.bridged_to.clone());
    conference::leave(core, st, uuid);
    if let Some(ch) = st.channels.get_mut(uuid) {
        let now = now_us();
        let dp = dialplan.unwrap_or("XML");
        let mut p = ch.profile.next(now);
        p.transfer_source = Some(format!(
            "{}:{}:bl_xfer:{dest}/{}/{dp}",
            now / 1_000_000,
            uuid::Uuid::new_v4(),
            p.context
        ));
        p.rdnis = Some(std::mem::replace(&mut p.destination, dest.to_owned()));
        p.dialplan = dp.to_owned();
        if ch.direction == Direction::Outbound && ch.loopback_peer.is_some() {
            // mod_loopback: the transferred A leg runs the dialplan as the original caller again.
            p.cid_name = p.orig_cid_name.clone();
            p.cid_number = p.orig_cid_number.clone();
            p.callee_name = "Outbound Call".into();
            p.callee_number = "default".into();
        }
        ch.profile = p;
        // The new profile has no originator/originatee: no `Other-Leg-*` from now on (recorded).
        ch.other_leg = None;
        ch.dialplan = actions;
        ch.orphaned = false;
        ch.socket = None;
    }
    if let Some(p) = partner {
        unbridge(st, uuid, &p);
        // The transferred leg's own apps (hold music) end before the abandoned partner reacts.
        apps::complete_all(st, uuid, false);
        after_bridge(core, st, &p);
    }
    apps::complete_all(st, uuid, false);
    if actions_empty(st, uuid) {
        hangup(core, st, uuid, "NO_ROUTE_DESTINATION");
        return;
    }
    set_state(st, uuid, ChannelState::Execute);
    apps::start_next(core, st, uuid);
    // A queued hold-music broadcast plays on top of the new dialplan (recorded).
    let next = st
        .channels
        .get_mut(uuid)
        .filter(|c| c.alive())
        .and_then(|c| c.queued_broadcasts.pop_front());
    if let Some(music) = next {
        super::hold::start_hold_music(st, uuid, &music);
    }
}

fn actions_empty(st: &State, uuid: &str) -> bool {
    st.channels.get(uuid).is_none_or(|c| c.dialplan.is_empty())
}

/// A call from `party` arrives for `destination` and runs the dialplan.
pub(crate) fn incoming_call(
    core: &Core,
    party: &Party,
    destination: &str,
    cid_name: &str,
    cid_number: &str,
) -> Result<String, SimError> {
    let mut st = core.lock();
    let actions: VecDeque<(String, String)> = st
        .extensions
        .iter()
        .find(|e| e.destination == destination)
        .map(|e| e.actions.iter().cloned().collect())
        .ok_or_else(|| SimError::NoSuchExtension {
            destination: destination.into(),
        })?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let now = now_us();
    let profile = CallerProfile {
        cid_name: cid_name.into(),
        cid_number: cid_number.into(),
        orig_cid_name: cid_name.into(),
        orig_cid_number: cid_number.into(),
        ani: cid_number.into(),
        destination: destination.into(),
        context: "default".into(),
        source: "mod_sofia".into(),
        username: cid_number.into(),
        network_addr: "127.0.0.1".into(),
        dialplan: "XML".into(),
        created_us: now,
        ..CallerProfile::default()
    };
    let name = format!("sofia/internal/{cid_number}@127.0.0.1");
    new_channel(
        &mut st,
        uuid.clone(),
        name,
        Direction::Inbound,
        profile,
        Some(party.clone()),
    );
    if let Some(ch) = st.channels.get_mut(&uuid) {
        ch.dialplan = actions;
    }
    set_state(&mut st, &uuid, ChannelState::Init);
    channel_event(&mut st, &uuid, "CHANNEL_STATE", &[], &[]);
    channel_event(&mut st, &uuid, "CHANNEL_CREATE", &[], &[]);
    set_state(&mut st, &uuid, ChannelState::Routing);
    set_callstate(&mut st, &uuid, CallState::Ringing);
    set_state(&mut st, &uuid, ChannelState::Execute);
    apps::start_next(core, &mut st, &uuid);
    Ok(uuid)
}
