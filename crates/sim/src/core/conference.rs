//! A running conference as data: members with their flags and relationships, and the target the
//! `conference` application names. What happens to it lives in `conference_join`, `conference_events`
//! and the call flow's conference exit.

pub use super::conference_profile::profile_caller_controls;

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
    /// `conference <name> recording start` recordings by path, each with whether it is paused.
    pub recordings: Vec<(String, bool)>,
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
