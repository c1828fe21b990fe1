//! Channel transitions that only change the channel and fire its events: create, state and callstate,
//! answer, bridge/unbridge, the CDR variables of a hangup, the caller profile of a transfer. The steps
//! that set further steps going (hangup, transfer) are the call flow's (`super::flow`).

use super::channel::{CallState, CallerProfile, Channel, ChannelState, Direction};
use super::events::{channel_event, now_us};
use super::state::State;
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
        recordings: Vec::new(),
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
pub(crate) fn set_timestamps(st: &mut State, uuid: &str, cause: &str) {
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

/// The caller profile a transfer to `dest` gives a channel: the next profile, recording where it came
/// from (`Caller-Transfer-Source`, `Caller-RDNIS`) and the dialplan it now runs.
pub(crate) fn transferred_profile(
    ch: &Channel,
    dest: &str,
    dialplan: Option<&str>,
) -> CallerProfile {
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
    p
}
