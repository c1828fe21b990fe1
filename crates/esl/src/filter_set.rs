//! [`FilterSet`]: the `filter <header> <value>` pairs an inbound connection should have on top of its
//! fixed subscription, changed while it runs (e.g. one `Unique-ID` per channel the user controls).
//!
//! FreeSWITCH keeps filters per listener (`listener->filters` in mod_event_socket.c) and a new
//! connection starts with none, so the set is the truth the client re-applies on every reconnect;
//! [`diff`] says what a connection established from an older snapshot still lacks.

use std::sync::Mutex;

/// One `filter` pair: header name and value.
pub type Filter = (String, String);

/// The current dynamic filters, in the order they were added. Shared by the client handle and its
/// reconnect task.
#[derive(Debug, Default)]
pub struct FilterSet {
    pairs: Mutex<Vec<Filter>>,
}

impl FilterSet {
    /// Adds `(header, value)`; false when it is there already.
    pub fn add(&self, header: &str, value: &str) -> bool {
        let mut pairs = self.lock();
        if pairs.iter().any(|(h, v)| h == header && v == value) {
            return false;
        }
        pairs.push((header.to_owned(), value.to_owned()));
        true
    }

    /// Removes `(header, value)`; false when it was not there.
    pub fn remove(&self, header: &str, value: &str) -> bool {
        let mut pairs = self.lock();
        let before = pairs.len();
        pairs.retain(|(h, v)| !(h == header && v == value));
        pairs.len() != before
    }

    /// The pairs now.
    pub fn snapshot(&self) -> Vec<Filter> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Filter>> {
        // A panic while holding the lock leaves a valid Vec: keep using it.
        self.pairs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What turns a connection holding `applied` into one holding `now`: (pairs to add, pairs to delete).
pub fn diff(applied: &[Filter], now: &[Filter]) -> (Vec<Filter>, Vec<Filter>) {
    let add = now
        .iter()
        .filter(|p| !applied.contains(p))
        .cloned()
        .collect();
    let delete = applied
        .iter()
        .filter(|p| !now.contains(p))
        .cloned()
        .collect();
    (add, delete)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(h: &str, v: &str) -> Filter {
        (h.to_owned(), v.to_owned())
    }

    #[test]
    fn add_remove_and_diff() {
        let set = FilterSet::default();
        assert!(set.add("Unique-ID", "a"));
        assert!(!set.add("Unique-ID", "a"));
        assert!(set.add("Unique-ID", "b"));
        let old = set.snapshot();
        assert!(set.remove("Unique-ID", "a"));
        assert!(!set.remove("Unique-ID", "a"));
        assert!(set.add("Unique-ID", "c"));
        let (add, delete) = diff(&old, &set.snapshot());
        assert_eq!(add, [pair("Unique-ID", "c")]);
        assert_eq!(delete, [pair("Unique-ID", "a")]);
        assert_eq!(diff(&old, &old), (Vec::new(), Vec::new()));
    }
}
