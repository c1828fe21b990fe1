//! Who hears whom, and where DTMF went.
//!
//! [`compute`] derives, from the core's state at one instant, the audio sources every channel's far end
//! receives: bridges (CF_SUSPEND of a held leg stops bridge audio both ways; the partner hears music),
//! conference mixes (deaf, mute, hold, relate nospeak/nohear), playbacks, parks (silence), and loopback
//! pairs (followed through to the real far ends). The [`DtmfDelivery`] log records every digit a far-end
//! party received, from where and when.

use crate::core::conference::Conference;
use std::collections::{BTreeMap, BTreeSet};

/// An audio source a listener can hear.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A far-end party speaking (by party name).
    Party(String),
    /// Music on hold or a played file (its path).
    Music(String),
}

/// Where a digit a party received came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtmfOrigin {
    /// Another party pressed it (relayed by the switch).
    Party(String),
    /// An API command generated it (`uuid_send_dtmf`, `conference dtmf`, `uuid_recv_dtmf`).
    Api(String),
}

/// One digit delivered to a far-end party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtmfDelivery {
    /// The receiving party's name.
    pub party: String,
    /// The channel it arrived on.
    pub channel: String,
    pub digit: char,
    pub origin: DtmfOrigin,
    pub at: tokio::time::Instant,
}

/// A snapshot of who hears what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hearing {
    /// Per party name: everything it hears.
    pub parties: BTreeMap<String, BTreeSet<Source>>,
}

impl Hearing {
    /// Does party `listener` hear party `speaker`?
    pub fn hears(&self, listener: &str, speaker: &str) -> bool {
        self.parties
            .get(listener)
            .is_some_and(|s| s.contains(&Source::Party(speaker.to_owned())))
    }

    /// Does party `listener` hear any music/file?
    pub fn hears_music(&self, listener: &str) -> bool {
        self.parties
            .get(listener)
            .is_some_and(|s| s.iter().any(|x| matches!(x, Source::Music(_))))
    }

    /// Everything `listener` hears.
    pub fn sources(&self, listener: &str) -> BTreeSet<Source> {
        self.parties.get(listener).cloned().unwrap_or_default()
    }
}

/// What one channel's far end receives, before loopback legs are resolved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Raw {
    /// Audio read from that channel (its far end speaking).
    Leg(String),
    Music(String),
}

fn raw_sources(st: &crate::core::state::State, uuid: &str) -> BTreeSet<Raw> {
    let mut out = BTreeSet::new();
    let Some(ch) = st.channel(uuid) else {
        return out;
    };
    if !ch.alive() {
        return out;
    }
    if let Some(file) = &ch.playing {
        out.insert(Raw::Music(file.clone()));
        return out;
    }
    if let Some(partner) = &ch.bridged_to {
        let partner_held = st.channel(partner).is_some_and(|p| p.held);
        if !ch.held && !partner_held {
            out.insert(Raw::Leg(partner.clone()));
        }
        return out;
    }
    if let Some((conf, id)) = &ch.member
        && let Some(c) = st.conference(conf)
    {
        mix_for(c, *id, &mut out);
    }
    out
}

/// The conference mix member `id` hears.
fn mix_for(c: &Conference, id: u32, out: &mut BTreeSet<Raw>) {
    let Some(me) = c.member(id) else {
        return;
    };
    if let Some(f) = &me.hold_file {
        out.insert(Raw::Music(f.clone()));
        return;
    }
    if !me.can_hear {
        return;
    }
    for other in &c.members {
        if other.id == id || !other.can_speak || other.hold {
            continue;
        }
        // relate me other nohear: I don't hear other; relate other me nospeak: other doesn't reach me.
        if c.related(id, other.id).is_some_and(|r| r.nohear)
            || c.related(other.id, id).is_some_and(|r| r.nospeak)
        {
            continue;
        }
        out.insert(Raw::Leg(other.uuid.clone()));
    }
}

/// Resolves `Raw::Leg(x)` to the parties/music it stands for, following loopback pairs.
fn resolve(
    st: &crate::core::state::State,
    raw: &BTreeSet<Raw>,
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<Source>,
) {
    for r in raw {
        match r {
            Raw::Music(f) => {
                out.insert(Source::Music(f.clone()));
            }
            Raw::Leg(x) => {
                let Some(ch) = st.channel(x) else { continue };
                if let Some(p) = &ch.party {
                    out.insert(Source::Party(p.name()));
                } else if let Some(peer) = &ch.loopback_peer
                    && seen.insert(peer.clone())
                {
                    let inner = raw_sources(st, peer);
                    resolve(st, &inner, seen, out);
                }
            }
        }
    }
}

/// Who hears whom right now.
pub(crate) fn compute(st: &crate::core::state::State) -> Hearing {
    let mut h = Hearing::default();
    for uuid in st.uuids() {
        let Some(ch) = st.channel(&uuid) else {
            continue;
        };
        let Some(p) = &ch.party else { continue };
        let raw = raw_sources(st, &uuid);
        let mut seen = BTreeSet::from([uuid.clone()]);
        let mut out = BTreeSet::new();
        resolve(st, &raw, &mut seen, &mut out);
        h.parties.entry(p.name()).or_default().extend(out);
    }
    h
}
