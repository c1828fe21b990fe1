//! The demo's timeline: what happened to each leg, and who could hear whom at each step, as the
//! simulator's hearing matrix saw it at that instant.
//!
//! PCI: nothing in here holds a card digit. Keyed digits are recorded as counts per receiving party
//! (from the simulator's DTMF log), never as the digits themselves.

use crate::pay::{Outcome, State};
use crate::sim::hearing::{Hearing, Source};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The three far-end parties of the demo call, in the order the timeline prints them.
pub const PARTIES: [&str; 3] = ["customer", "agent", "capture"];

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Time since the demo started.
    pub at: Duration,
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// Something the script did or saw (free text without digits).
    Note(String),
    /// Who hears whom at a moment outside a session (e.g. the call is up).
    Snapshot { label: String, hearing: Hearing },
    /// A session was seen in a new state; the hearing matrix at that instant.
    State {
        session: String,
        state: State,
        hearing: Hearing,
    },
    /// `who` keyed `count` digits; `reached` counts, per receiving party, the digits that arrived
    /// from `who` (from the simulator's DTMF log).
    Keyed {
        who: String,
        count: usize,
        reached: BTreeMap<String, usize>,
    },
    /// All digits delivered during one payment, per receiving party: `(from a party, from the daemon)`.
    Delivered {
        session: String,
        per_party: BTreeMap<String, (usize, usize)>,
    },
    /// A session ended.
    Outcome { session: String, outcome: Outcome },
}

/// The whole demo run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub entries: Vec<Entry>,
}

impl Timeline {
    pub fn push(&mut self, at: Duration, what: What) {
        self.entries.push(Entry { at, what });
    }

    /// The states session `session` (short id) was seen in, in order, with the hearing at each.
    pub fn states(&self, session: &str) -> Vec<(State, &Hearing)> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::State {
                    session: s,
                    state,
                    hearing,
                } if s == session => Some((state.clone(), hearing)),
                _ => None,
            })
            .collect()
    }

    /// The outcomes of every session, in order: `(short id, outcome)`.
    pub fn outcomes(&self) -> Vec<(&str, &Outcome)> {
        self.entries
            .iter()
            .filter_map(|e| match &e.what {
                What::Outcome { session, outcome } => Some((session.as_str(), outcome)),
                _ => None,
            })
            .collect()
    }
}

/// The short form of a session id the timeline prints (first 4 characters).
pub fn short(session: &str) -> String {
    session.chars().take(4).collect()
}

/// `customer: hold music | agent: customer, capture | capture: —`.
pub fn hearing_row(h: &Hearing) -> String {
    PARTIES
        .iter()
        .map(|p| format!("{p}: {}", heard_by(h, p)))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn heard_by(h: &Hearing, listener: &str) -> String {
    let sources = h.sources(listener);
    if sources.is_empty() {
        return "—".to_owned();
    }
    let mut names: Vec<String> = Vec::new();
    for s in sources {
        let name = match s {
            Source::Party(p) => p,
            Source::Music(_) => "hold music".to_owned(),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(", ")
}

fn outcome_text(o: &Outcome) -> String {
    match o {
        Outcome::Completed { method } => format!("Completed ({method:?})"),
        Outcome::Cancelled => "Cancelled".to_owned(),
        Outcome::Failed(r) => format!("Failed: {}", Outcome::Failed(r.clone()).code()),
    }
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Note(text) => write!(f, "{text}"),
            What::Snapshot { label, hearing } => {
                write!(f, "{label:<27} {}", hearing_row(hearing))
            }
            What::State {
                session,
                state,
                hearing,
            } => write!(
                f,
                "session {session}  {:<15} {}",
                format!("{state:?}"),
                hearing_row(hearing)
            ),
            What::Keyed {
                who,
                count,
                reached,
            } => {
                let only_capture = reached.keys().all(|p| p == "capture");
                if only_capture && reached.get("capture") == Some(count) {
                    write!(f, "{who} keys {count} digits → capture service only")
                } else {
                    let got: Vec<String> =
                        reached.iter().map(|(p, n)| format!("{p} {n}")).collect();
                    write!(
                        f,
                        "{who} keys {count} digits → NOT capture-only: {}",
                        got.join(", ")
                    )
                }
            }
            What::Delivered { session, per_party } => {
                let parts: Vec<String> = PARTIES
                    .iter()
                    .map(|p| {
                        let (party, daemon) = per_party.get(*p).copied().unwrap_or((0, 0));
                        format!(
                            "{p} {} ({party} keyed, {daemon} sent by confpayd)",
                            party + daemon
                        )
                    })
                    .collect();
                write!(f, "session {session}  DTMF received: {}", parts.join(" | "))
            }
            What::Outcome { session, outcome } => {
                write!(f, "session {session}  outcome: {}", outcome_text(outcome))
            }
        }
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.entries {
            writeln!(f, "{:>+9.3}s  {}", e.at.as_secs_f64(), e.what)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn hearing(rows: &[(&str, &[Source])]) -> Hearing {
        let mut h = Hearing::default();
        for (p, s) in rows {
            h.parties
                .insert((*p).to_owned(), s.iter().cloned().collect::<BTreeSet<_>>());
        }
        h
    }

    #[test]
    fn rows_name_music_parties_and_silence() {
        let h = hearing(&[
            ("customer", &[Source::Music("local_stream://moh".into())]),
            (
                "agent",
                &[
                    Source::Party("capture".into()),
                    Source::Party("customer".into()),
                ],
            ),
        ]);
        assert_eq!(
            hearing_row(&h),
            "customer: hold music | agent: capture, customer | capture: —"
        );
    }

    #[test]
    fn keyed_says_capture_only_or_names_the_leak() {
        let ok = What::Keyed {
            who: "customer".into(),
            count: 16,
            reached: BTreeMap::from([("capture".to_owned(), 16)]),
        };
        assert_eq!(
            ok.to_string(),
            "customer keys 16 digits → capture service only"
        );
        let leak = What::Keyed {
            who: "customer".into(),
            count: 16,
            reached: BTreeMap::from([("agent".to_owned(), 2), ("capture".to_owned(), 16)]),
        };
        assert_eq!(
            leak.to_string(),
            "customer keys 16 digits → NOT capture-only: agent 2, capture 16"
        );
    }

    #[test]
    fn lines_carry_the_offset() {
        let mut t = Timeline::default();
        t.push(Duration::from_millis(412), What::Note("x".into()));
        assert_eq!(t.to_string(), "   +0.412s  x\n");
        assert_eq!(short("3f2a9b00c1d2"), "3f2a");
    }
}
