//! What each live channel's far end receives right now, before loopback legs are followed through:
//! the input [`crate::hearing::compute`] turns into who hears whom. A playback wins; a bridge carries
//! the partner unless either leg is held (CF_SUSPEND stops bridge audio both ways); a conference member
//! hears its hold file, or the mix (deaf, mute, hold, relate nospeak/nohear).

use super::conference::Conference;
use super::state::State;
use crate::hearing::{Feed, Leg};

/// Every live channel, oldest first, with what its far end receives.
pub(crate) fn legs(st: &State) -> Vec<Leg> {
    st.uuids()
        .into_iter()
        .filter_map(|uuid| {
            let ch = st.channel(&uuid)?;
            Some(Leg {
                party: ch.party.as_ref().map(|p| p.name()),
                loopback_peer: ch.loopback_peer.clone(),
                feeds: feeds(st, &uuid),
                uuid,
            })
        })
        .collect()
}

fn feeds(st: &State, uuid: &str) -> Vec<Feed> {
    let Some(ch) = st.channel(uuid) else {
        return Vec::new();
    };
    if !ch.alive() {
        return Vec::new();
    }
    if let Some(file) = &ch.playing {
        return vec![Feed::Music(file.clone())];
    }
    if let Some(partner) = &ch.bridged_to {
        let partner_held = st.channel(partner).is_some_and(|p| p.held);
        return if !ch.held && !partner_held {
            vec![Feed::Leg(partner.clone())]
        } else {
            Vec::new()
        };
    }
    match &ch.member {
        Some((conf, id)) => st
            .conference(conf)
            .map(|c| mix_for(c, *id))
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

/// The conference mix member `id` hears.
fn mix_for(c: &Conference, id: u32) -> Vec<Feed> {
    let Some(me) = c.member(id) else {
        return Vec::new();
    };
    if let Some(f) = &me.hold_file {
        return vec![Feed::Music(f.clone())];
    }
    if !me.can_hear {
        return Vec::new();
    }
    c.members
        .iter()
        .filter(|other| other.id != id && other.can_speak && !other.hold)
        // relate me other nohear: I don't hear other; relate other me nospeak: other doesn't reach me.
        .filter(|other| {
            !(c.related(id, other.id).is_some_and(|r| r.nohear)
                || c.related(other.id, id).is_some_and(|r| r.nospeak))
        })
        .map(|other| Feed::Leg(other.uuid.clone()))
        .collect()
}
