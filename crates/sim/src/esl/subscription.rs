//! A listener's event subscription, as mod_event_socket keeps it: the `event`/`nixevent`/`noevents`
//! commands, `filter`, `myevents`, and the delivery decision of its `event_handler`.
//!
//! Semantics reproduced:
//! - event names are matched like `switch_name_event` (case-insensitive; any 13-character prefix such as
//!   `SWITCH_EVENT_` is also accepted); unknown names are ignored, and a command with no known name
//!   answers `-ERR no keywords supplied`;
//! - the first token may be `plain|json|xml` (it sets the connection's format even if the command then
//!   fails); every token after `CUSTOM` is a subclass;
//! - `ALL` delivers everything (custom subclasses included); `nixevent X` after `ALL` keeps all others;
//! - once any filter exists an event passes only if a positive filter matches and no negative filter
//!   matches first (`-value`); `/regex/` values are regular expressions; events lacking a filtered
//!   header are not passed by that filter;
//! - `myevents`: only events whose `Unique-ID` is the session's (or any `Unique-ID` when the inbound
//!   `myevents <uuid>` named no live channel).

use super::event_names::{EVENT_NAMES, MYEVENTS, event_type};
use super::filters::{Filter, Filters};
use confpay_esl::Event;
use confpay_esl::EventFormat;
use regex_automata::meta::Regex;
use regex_automata::util::syntax;
use std::collections::HashSet;

/// `switch_regex_compile` of a `/pattern/flags` value (`i` = case-insensitive).
fn compile(value: &str) -> Option<Regex> {
    let body = value.strip_prefix('/')?;
    let (pattern, flags) = match body.rfind('/') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    Regex::builder()
        .syntax(syntax::Config::new().case_insensitive(flags.contains('i')))
        .build(pattern)
        .ok()
}

/// What `myevents` restricts delivery to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MyEvents {
    /// Only events of this channel.
    Session(String),
    /// `myevents <unknown uuid>` on inbound: any event that has a `Unique-ID`.
    AnyChannel,
}

/// Per-connection subscription state.
#[derive(Clone, Debug)]
pub struct Subscription {
    /// `LFLAG_EVENTS`.
    pub enabled: bool,
    pub format: EventFormat,
    all: bool,
    types: HashSet<&'static str>,
    subclasses: HashSet<String>,
    filters: Filters,
    pub myevents: Option<MyEvents>,
}

impl Default for Subscription {
    fn default() -> Self {
        Subscription {
            enabled: false,
            format: EventFormat::Plain,
            all: false,
            types: HashSet::new(),
            subclasses: HashSet::new(),
            filters: Filters::default(),
            myevents: None,
        }
    }
}

impl Subscription {
    /// `event [format] names… [CUSTOM subclasses…]`; `args` is everything after the command word.
    pub fn event(&mut self, args: &str) -> String {
        let mut key_count = 0;
        let mut custom = false;
        for (i, tok) in args.split(' ').enumerate() {
            if i == 0 {
                let fmt = match tok.to_ascii_lowercase().as_str() {
                    "xml" => Some(EventFormat::Xml),
                    "plain" => Some(EventFormat::Plain),
                    "json" => Some(EventFormat::Json),
                    _ => None,
                };
                if let Some(f) = fmt {
                    self.format = f;
                    continue;
                }
            }
            if custom {
                self.subclasses.insert(tok.to_owned());
            } else if let Some(t) = event_type(tok) {
                key_count += 1;
                match t {
                    "ALL" => self.all = true,
                    "CUSTOM" => custom = true,
                    _ => {}
                }
                self.types.insert(t);
            }
        }
        if key_count == 0 {
            return "-ERR no keywords supplied".into();
        }
        self.enabled = true;
        format!("+OK event listener enabled {}", self.format.as_str())
    }

    /// `nixevent names… [CUSTOM subclasses…]`.
    pub fn nixevent(&mut self, args: &str) -> String {
        let mut key_count = 0;
        let mut custom = false;
        for tok in args.split(' ') {
            if custom {
                self.subclasses.remove(tok);
            } else if let Some(t) = event_type(tok) {
                key_count += 1;
                match t {
                    "CUSTOM" => custom = true,
                    "ALL" => {
                        self.all = false;
                        self.types.clear();
                    }
                    _ => {
                        if self.all {
                            self.all = false;
                            self.types
                                .extend(EVENT_NAMES.iter().copied().filter(|n| *n != "ALL"));
                        }
                        self.types.remove(t);
                    }
                }
            }
        }
        if key_count == 0 {
            return "-ERR no keywords supplied".into();
        }
        self.enabled = true;
        "+OK events nixed".into()
    }

    /// `noevents`.
    pub fn noevents(&mut self) -> String {
        if !self.enabled {
            return "-ERR not listening for events".into();
        }
        self.enabled = false;
        self.all = false;
        self.types.clear();
        self.subclasses.clear();
        "+OK no longer listening for events".into()
    }

    /// `myevents`: the fixed channel event list, restricted by `scope`.
    pub fn myevents(&mut self, scope: MyEvents) {
        self.types.extend(MYEVENTS.iter().copied());
        self.myevents = Some(scope);
        self.enabled = true;
    }

    /// `filter …`; `args` is everything after `filter `.
    pub fn filter(&mut self, args: &str) -> String {
        let args = args.trim_start_matches(' ');
        let (name, val) = match args.split_once(' ') {
            Some((n, v)) => (n, Some(v)),
            None => (args, None),
        };
        match (name, val) {
            (n, Some(v)) if n.eq_ignore_ascii_case("delete") => {
                let (h, hv) = match v.split_once(' ') {
                    Some((h, hv)) => (h, Some(hv)),
                    None => (v, None),
                };
                if h.eq_ignore_ascii_case("all") {
                    self.filters.clear();
                } else {
                    self.filters.delete(h, hv);
                }
                format!("+OK filter deleted. [{h}][{}]", hv.unwrap_or(""))
            }
            (n, Some(v)) => {
                let (h, hv) = if n.eq_ignore_ascii_case("add") {
                    match v.split_once(' ') {
                        Some((h, hv)) => (h, hv),
                        None => (v, ""),
                    }
                } else {
                    (n, v)
                };
                let comp = hv.trim_start_matches(['+', '-', ' ']);
                self.filters.push(Filter {
                    header: h.to_owned(),
                    value: hv.to_owned(),
                    regex: if hv.starts_with('/') {
                        compile(comp)
                    } else {
                        None
                    },
                });
                format!("+OK filter added. [{h}]=[{hv}]")
            }
            (_, None) => "-ERR invalid syntax".into(),
        }
    }

    /// The channel uuids this subscription can pass events of, when it passes only events whose
    /// `Unique-ID` or `Job-Owner-UUID` is one of them (`myevents <uuid>`, or nothing but positive
    /// literal filters on those headers; events off: none at all). `None` when it may pass others.
    pub fn only_channels(&self) -> Option<Vec<String>> {
        if !self.enabled {
            return Some(Vec::new());
        }
        if let Some(MyEvents::Session(u)) = &self.myevents {
            return Some(vec![u.clone()]);
        }
        if self.filters.is_empty() {
            return None;
        }
        self.filters
            .iter()
            .map(|f| {
                let literal = f.regex.is_none() && !f.value.starts_with(['/', '+', '-', ' ']);
                let channel_header = f.header.eq_ignore_ascii_case("Unique-ID")
                    || f.header.eq_ignore_ascii_case("Job-Owner-UUID");
                (literal && channel_header).then(|| f.value.clone())
            })
            .collect()
    }

    /// Whether `event_handler` would queue `event` for this listener.
    pub fn wants(&self, event: &Event) -> bool {
        if !self.enabled {
            return false;
        }
        let name = event.name().and_then(event_type).unwrap_or("CLONE");
        let mut send = self.all
            || (self.types.contains(name)
                && (name != "CUSTOM"
                    || event.subclass().is_none_or(|s| self.subclasses.contains(s))));
        if send && !self.filters.is_empty() {
            send = self.filters_pass(event);
        }
        if send {
            send = match &self.myevents {
                None => true,
                Some(MyEvents::AnyChannel) => event.unique_id().is_some(),
                Some(MyEvents::Session(u)) => event.unique_id() == Some(u.as_str()),
            };
        }
        send
    }

    fn filters_pass(&self, event: &Event) -> bool {
        self.filters.pass(|header| event.get(header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confpay_esl::Headers;

    fn ev(pairs: &[(&str, &str)]) -> Event {
        Event {
            headers: pairs.iter().copied().collect::<Headers>(),
            body: None,
        }
    }

    #[test]
    fn recorded_replies() {
        let mut s = Subscription::default();
        assert_eq!(
            s.event("plain CHANNEL_CREATE"),
            "+OK event listener enabled plain"
        );
        assert_eq!(s.event("plain NOSUCHEVENT"), "-ERR no keywords supplied");
        assert_eq!(
            s.event("bogusformat CHANNEL_CREATE"),
            "+OK event listener enabled plain"
        );
        assert_eq!(s.nixevent("CHANNEL_ANSWER"), "+OK events nixed");
        assert_eq!(s.nixevent("NOSUCHEVENT"), "-ERR no keywords supplied");
        assert_eq!(
            s.filter("Event-Name CHANNEL_CREATE"),
            "+OK filter added. [Event-Name]=[CHANNEL_CREATE]"
        );
        assert_eq!(
            s.filter("delete Event-Name CHANNEL_CREATE"),
            "+OK filter deleted. [Event-Name][CHANNEL_CREATE]"
        );
        assert_eq!(s.filter("Unique-ID"), "-ERR invalid syntax");
        assert_eq!(s.noevents(), "+OK no longer listening for events");
        assert_eq!(s.noevents(), "-ERR not listening for events");
        assert_eq!(s.event("json ALL"), "+OK event listener enabled json");
    }

    #[test]
    fn custom_subclasses_and_all() {
        let mut s = Subscription::default();
        s.event("plain CHANNEL_ANSWER CUSTOM conference::maintenance");
        let conf = ev(&[
            ("Event-Name", "CUSTOM"),
            ("Event-Subclass", "conference::maintenance"),
        ]);
        let other = ev(&[
            ("Event-Name", "CUSTOM"),
            ("Event-Subclass", "sofia::register"),
        ]);
        assert!(s.wants(&conf));
        assert!(!s.wants(&other));
        assert!(s.wants(&ev(&[("Event-Name", "CHANNEL_ANSWER")])));
        assert!(!s.wants(&ev(&[("Event-Name", "DTMF")])));
        let mut all = Subscription::default();
        all.event("plain ALL");
        assert!(all.wants(&other));
        all.nixevent("DTMF");
        assert!(!all.wants(&ev(&[("Event-Name", "DTMF")])));
        assert!(all.wants(&ev(&[("Event-Name", "CHANNEL_ANSWER")])));
    }

    #[test]
    fn filters_need_a_positive_match() {
        let mut s = Subscription::default();
        s.event("plain ALL");
        let a = ev(&[("Event-Name", "DTMF"), ("Unique-ID", "a")]);
        let b = ev(&[("Event-Name", "DTMF"), ("Unique-ID", "b")]);
        let job = ev(&[("Event-Name", "BACKGROUND_JOB")]);
        s.filter("Unique-ID a");
        assert!(s.wants(&a));
        assert!(!s.wants(&b));
        assert!(!s.wants(&job), "a Unique-ID filter hides BACKGROUND_JOB");
        s.filter("Event-Name BACKGROUND_JOB");
        assert!(s.wants(&job));
        let mut neg = Subscription::default();
        neg.event("plain ALL");
        neg.filter("Unique-ID -a");
        assert!(!neg.wants(&b), "negative-only filters drop everything");
        neg.filter("Event-Name DTMF");
        assert!(neg.wants(&b));
        assert!(
            !neg.wants(&a),
            "the veto applies before the later positive filter"
        );
        let mut re = Subscription::default();
        re.event("plain ALL");
        re.filter("Unique-ID /^[ab]$/");
        assert!(re.wants(&a) && re.wants(&b));
        assert!(!re.wants(&ev(&[("Event-Name", "DTMF"), ("Unique-ID", "c")])));
    }

    #[test]
    fn only_channels_when_nothing_else_can_pass() {
        let mut s = Subscription::default();
        assert_eq!(s.only_channels(), Some(Vec::new()), "events off");
        s.event("plain CHANNEL_ANSWER BACKGROUND_JOB");
        assert_eq!(s.only_channels(), None, "every channel's answers");
        s.filter("Unique-ID a");
        s.filter("Job-Owner-UUID a");
        s.filter("Unique-ID b");
        assert_eq!(
            s.only_channels(),
            Some(vec!["a".into(), "a".into(), "b".into()])
        );
        s.filter("Event-Name DTMF");
        assert_eq!(s.only_channels(), None, "a filter on another header");
        let mut re = Subscription::default();
        re.event("plain ALL");
        re.filter("Unique-ID /^[ab]$/");
        assert_eq!(re.only_channels(), None, "a regex filter");
        let mut mine = Subscription::default();
        mine.myevents(MyEvents::Session("u1".into()));
        assert_eq!(mine.only_channels(), Some(vec!["u1".into()]));
    }

    #[test]
    fn myevents_restricts_to_session() {
        let mut s = Subscription::default();
        s.myevents(MyEvents::Session("u1".into()));
        assert!(s.wants(&ev(&[
            ("Event-Name", "CHANNEL_ANSWER"),
            ("Unique-ID", "u1")
        ])));
        assert!(!s.wants(&ev(&[
            ("Event-Name", "CHANNEL_ANSWER"),
            ("Unique-ID", "u2")
        ])));
        assert!(!s.wants(&ev(&[("Event-Name", "BACKGROUND_JOB")])));
        assert_eq!(event_type("SWITCH_EVENT_DTMF"), Some("DTMF"));
        assert_eq!(event_type("dtmf"), Some("DTMF"));
    }
}
