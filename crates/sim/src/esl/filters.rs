//! A listener's `filter` list, kept so that judging an event and adding or deleting one filter cost
//! the same with 10 filters as with 10,000 (the daemon follows two channels per call with a
//! `filter Unique-ID <uuid>` each: thousands of calls mean thousands of filters on one connection).
//!
//! The decision is mod_event_socket's (`event_handler`): an event passes when a positive filter
//! matches and no negative one does (a match of a negative filter vetoes whatever came before or
//! after it; positive filters after a match are skipped), so it does not depend on the filters'
//! order and literal positive filters can be looked up by value instead of walked one by one.
//! The list itself keeps its order (for [`Filters::iter`]); a deleted filter leaves a hole that
//! is closed once holes are half the list.

use regex_automata::meta::Regex;
use std::collections::HashMap;

/// One `filter` entry.
#[derive(Clone, Debug)]
pub struct Filter {
    pub header: String,
    /// As given, with its `+`/`-` prefix or `/regex/` slashes.
    pub value: String,
    pub regex: Option<Regex>,
}

impl Filter {
    /// A plain value, no prefix, no regex: a positive filter matched by (case-insensitive) value.
    pub fn is_literal(&self) -> bool {
        self.regex.is_none() && !self.value.starts_with(['/', '+', '-', ' '])
    }
}

/// The filters of one listener.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    slots: Vec<Option<Filter>>,
    live: usize,
    /// (header lower-cased, value as given) → the slots holding that filter.
    at: HashMap<(String, String), Vec<usize>>,
    /// Literal filters: header as given → lower-cased value → how many.
    literal: HashMap<String, HashMap<String, usize>>,
    /// Live filters that are not literal (judged one by one).
    others: usize,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The live filters, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Filter> {
        self.slots.iter().flatten()
    }

    pub fn push(&mut self, f: Filter) {
        if f.is_literal() {
            *self
                .literal
                .entry(f.header.clone())
                .or_default()
                .entry(f.value.to_ascii_lowercase())
                .or_default() += 1;
        } else {
            self.others += 1;
        }
        let key = (f.header.to_ascii_lowercase(), f.value.clone());
        self.at.entry(key).or_default().push(self.slots.len());
        self.slots.push(Some(f));
        self.live += 1;
    }

    pub fn clear(&mut self) {
        *self = Filters::default();
    }

    /// Deletes every filter on `header` (ASCII case ignored) whose value is `value` exactly (any
    /// value when `None`).
    pub fn delete(&mut self, header: &str, value: Option<&str>) {
        let slots: Vec<usize> = match value {
            Some(v) => self
                .at
                .remove(&(header.to_ascii_lowercase(), v.to_owned()))
                .unwrap_or_default(),
            None => {
                let slots: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| {
                        self.slots[i]
                            .as_ref()
                            .is_some_and(|f| f.header.eq_ignore_ascii_case(header))
                    })
                    .collect();
                let lower = header.to_ascii_lowercase();
                self.at.retain(|(h, _), _| *h != lower);
                slots
            }
        };
        for i in slots {
            if let Some(f) = self.slots.get_mut(i).and_then(Option::take) {
                self.forget(&f);
            }
        }
        if self.slots.len() > 2 * self.live + 16 {
            self.compact();
        }
    }

    /// Whether the filters pass an event whose header values `get` reads.
    pub fn pass<'e>(&self, get: impl Fn(&str) -> Option<&'e str>) -> bool {
        let mut send = self.literal.iter().any(|(header, values)| {
            get(header).is_some_and(|v| values.contains_key(&v.to_ascii_lowercase()))
        });
        if self.others == 0 {
            return send;
        }
        for f in self.iter().filter(|f| !f.is_literal()) {
            let Some(hval) = get(&f.header) else {
                continue;
            };
            let (pos, comp) = sign(&f.value);
            if send && pos {
                continue;
            }
            let matched = match &f.regex {
                Some(re) => re.is_match(hval),
                None if f.value.starts_with('/') => false,
                None => hval.eq_ignore_ascii_case(comp),
            };
            if matched {
                if pos {
                    send = true;
                } else {
                    return false;
                }
            }
        }
        send
    }

    fn forget(&mut self, f: &Filter) {
        self.live -= 1;
        if !f.is_literal() {
            self.others -= 1;
            return;
        }
        if let Some(values) = self.literal.get_mut(&f.header) {
            let lower = f.value.to_ascii_lowercase();
            if let Some(n) = values.get_mut(&lower) {
                *n -= 1;
                if *n == 0 {
                    values.remove(&lower);
                }
            }
            if values.is_empty() {
                self.literal.remove(&f.header);
            }
        }
    }

    fn compact(&mut self) {
        let live: Vec<Filter> = self.slots.drain(..).flatten().collect();
        self.at.clear();
        for (i, f) in live.iter().enumerate() {
            let key = (f.header.to_ascii_lowercase(), f.value.clone());
            self.at.entry(key).or_default().push(i);
        }
        self.slots = live.into_iter().map(Some).collect();
    }
}

/// A filter value's `+`/`-`/space prefix read off: (positive, the value to compare).
fn sign(value: &str) -> (bool, &str) {
    let mut pos = true;
    let mut comp = value;
    while let Some(c) = comp.chars().next() {
        match c {
            '+' => pos = true,
            '-' => pos = false,
            ' ' => {}
            _ => break,
        }
        comp = &comp[1..];
    }
    (pos, comp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(header: &str, value: &str) -> Filter {
        Filter {
            header: header.into(),
            value: value.into(),
            regex: None,
        }
    }

    #[test]
    fn thousands_of_channel_filters_come_and_go() {
        let mut fs = Filters::default();
        fs.push(lit("Event-Name", "CHANNEL_HANGUP"));
        for i in 0..10_000 {
            fs.push(lit("Unique-ID", &format!("U{i}")));
        }
        let dtmf_of = |u: &'static str| {
            move |h: &str| match h {
                "Event-Name" => Some("DTMF"),
                "Unique-ID" => Some(u),
                _ => None,
            }
        };
        assert!(fs.pass(dtmf_of("u77")), "values compare without case");
        assert!(!fs.pass(dtmf_of("stranger")));
        for i in 0..10_000 {
            if i != 77 {
                fs.delete("unique-id", Some(&format!("U{i}")));
            }
        }
        assert!(fs.pass(dtmf_of("u77")));
        assert!(!fs.pass(dtmf_of("u78")));
        assert!(fs.slots.len() <= 2 * fs.live + 16, "holes closed");
        let left: Vec<&str> = fs.iter().map(|f| f.value.as_str()).collect();
        assert_eq!(left, ["CHANNEL_HANGUP", "U77"]);
        fs.delete("Unique-ID", None);
        assert_eq!(fs.iter().count(), 1);
        assert!(!fs.pass(dtmf_of("u77")));
    }
}
