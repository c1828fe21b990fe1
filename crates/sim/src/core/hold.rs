//! `uuid_hold`: SIP semantics (HELD callstate, CHANNEL_HOLD/UNHOLD), mod_loopback's quirk (recorded:
//! loopback legs never become HELD), and the hold music broadcast onto the bridged partner.

use super::app_stack::fire_complete;
use super::channel::{CallState, RunningApp};
use super::events::{channel_event, now_us};
use super::lifecycle::set_callstate;
use super::state::State;

/// The hold music of `uuid`: `temp_hold_music`, else `hold_music` (channel, then global variable).
pub(crate) fn hold_music(st: &State, uuid: &str) -> String {
    let ch = st.channels.get(uuid);
    ch.and_then(|c| c.var("temp_hold_music").or_else(|| c.var("hold_music")))
        .or_else(|| st.globals.get("hold_music").map(String::as_str))
        .unwrap_or("tone_stream://%(200,1800,425);loops=-1")
        .to_owned()
}

/// Whether `uuid_hold` on this leg follows mod_loopback's quirk (recorded on loopback legs: the
/// callstate never becomes HELD, so `off` fails, `toggle` always holds and CHANNEL_UNHOLD never fires).
pub(crate) fn loopback_hold_quirk(st: &State, uuid: &str) -> bool {
    st.cfg.loopback_hold_quirk
        && st
            .channels
            .get(uuid)
            .is_some_and(|c| c.name.starts_with("loopback/"))
}

/// `uuid_hold` / `uuid_hold off` (SIP semantics; loopback legs see [`loopback_hold_quirk`]). The held
/// leg's bridged partner gets the hold music broadcast (CHANNEL_EXECUTE playback). Returns false when
/// the operation fails.
pub(crate) fn hold(st: &mut State, uuid: &str, on: bool) -> bool {
    let quirk = loopback_hold_quirk(st, uuid);
    let Some(ch) = st.channels.get(uuid) else {
        return false;
    };
    if ch.held == on {
        return false;
    }
    let partner = ch.bridged_to.clone();
    let music = hold_music(st, uuid);
    if on {
        if let Some(ch) = st.channels.get_mut(uuid) {
            // Loopback: CF_HOLD never sticks, so the leg never counts as held.
            ch.held = !quirk;
            ch.profile.last_hold_us = now_us();
        }
        if !quirk {
            set_callstate(st, uuid, CallState::Held);
        }
        channel_event(st, uuid, "CHANNEL_HOLD", &[], &[]);
        if let Some(p) = partner {
            start_hold_music(st, &p, &music);
        }
    } else {
        if let Some(ch) = st.channels.get_mut(uuid) {
            ch.held = false;
        }
        set_callstate(st, uuid, CallState::Unheld);
        set_callstate(st, uuid, CallState::Active);
        channel_event(st, uuid, "CHANNEL_UNHOLD", &[], &[]);
        if let Some(p) = partner {
            stop_hold_music(st, &p);
        }
    }
    true
}

/// Broadcasts hold music onto `uuid` (a `playback` on top of whatever it runs), unless already playing.
pub(crate) fn start_hold_music(st: &mut State, uuid: &str, music: &str) {
    let generation = st.next_generation();
    let app_uuid = uuid::Uuid::new_v4().to_string();
    let Some(pc) = st.channels.get_mut(uuid) else {
        return;
    };
    if pc.apps.iter().any(|a| a.broadcast) {
        pc.queued_broadcasts.push_back(music.to_owned());
        return;
    }
    pc.playing = Some(music.to_owned());
    pc.apps.push(RunningApp {
        name: "playback".into(),
        broadcast: true,
        arg: music.to_owned(),
        app_uuid: Some(app_uuid.clone()),
        generation,
    });
    channel_event(
        st,
        uuid,
        "CHANNEL_EXECUTE",
        &[],
        &[
            ("Application", "playback"),
            ("Application-Data", music),
            ("Application-UUID", &app_uuid),
        ],
    );
}

/// Ends broadcast hold music on `uuid` (EXECUTE_COMPLETE `PLAYBACK ERROR`: it was broken off).
pub(crate) fn stop_hold_music(st: &mut State, uuid: &str) {
    let Some(pc) = st.channels.get_mut(uuid) else {
        return;
    };
    let Some(pos) = pc.apps.iter().position(|a| a.broadcast) else {
        return;
    };
    let app = pc.apps.remove(pos);
    pc.playing = None;
    fire_complete(st, uuid, &app, "PLAYBACK ERROR");
}
