//! Who hears whom, and where DTMF went.
//!
//! [`compute`] is given every live channel with what its far end receives at one instant (the core
//! works that out from bridges, conference mixes, playbacks and parks) and follows loopback pairs
//! through to the real far ends, naming the parties and music each party hears. The [`DtmfDelivery`] log records every digit a far-end
//! party received, from where and when.

use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// What a channel's far end receives, before loopback legs are followed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Feed {
    /// Audio read from that channel (its far end speaking).
    Leg(String),
    /// Music on hold or a played file (its path).
    Music(String),
}

/// One live channel as the hearing computation sees it.
#[derive(Debug, Clone)]
pub(crate) struct Leg {
    pub uuid: String,
    /// The far-end party's name, if a party sits at the far end.
    pub party: Option<String>,
    /// The other half of a loopback pair: what reaches this leg is what reaches the peer.
    pub loopback_peer: Option<String>,
    pub feeds: Vec<Feed>,
}

/// Who hears whom, given every live channel (oldest first) and what its far end receives.
pub(crate) fn compute(legs: &[Leg]) -> Hearing {
    let by_uuid: HashMap<&str, &Leg> = legs.iter().map(|l| (l.uuid.as_str(), l)).collect();
    let mut h = Hearing::default();
    for leg in legs {
        let Some(p) = &leg.party else { continue };
        let mut seen = BTreeSet::from([leg.uuid.clone()]);
        let mut out = BTreeSet::new();
        resolve(&by_uuid, &leg.feeds, &mut seen, &mut out);
        h.parties.entry(p.clone()).or_default().extend(out);
    }
    h
}

/// Resolves `Feed::Leg(x)` to the parties/music it stands for, following loopback pairs.
fn resolve(
    legs: &HashMap<&str, &Leg>,
    feeds: &[Feed],
    seen: &mut BTreeSet<String>,
    out: &mut BTreeSet<Source>,
) {
    for feed in feeds {
        match feed {
            Feed::Music(f) => {
                out.insert(Source::Music(f.clone()));
            }
            Feed::Leg(x) => {
                let Some(leg) = legs.get(x.as_str()) else {
                    continue;
                };
                if let Some(p) = &leg.party {
                    out.insert(Source::Party(p.clone()));
                } else if let Some(peer) = &leg.loopback_peer
                    && seen.insert(peer.clone())
                {
                    let inner = legs.get(peer.as_str()).map_or(&[][..], |l| &l.feeds);
                    resolve(legs, inner, seen, out);
                }
            }
        }
    }
}
