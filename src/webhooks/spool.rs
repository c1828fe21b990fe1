//! The spool of one endpoint: every notification is a file in its own directory, written (fsync'd,
//! then renamed into place, then the directory fsync'd) before delivery is tried and removed once
//! the endpoint answered 2xx. A restart finds the files again and delivers them in order. At most
//! `max` files are kept: beyond it the oldest is dropped (and reported), so a dead endpoint cannot
//! fill the disk.
//!
//! File name: `<seq, 20 digits>-<idempotency key>.json`; the content is the exact body sent.
//! Blocking I/O: call from `spawn_blocking` (or at start-up), never on a session's task.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One spooled notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub seq: u64,
    /// The idempotency key.
    pub key: String,
}

impl Entry {
    fn file_name(&self) -> String {
        format!("{:020}-{}.json", self.seq, self.key)
    }

    fn parse(name: &str) -> Option<Entry> {
        let stem = name.strip_suffix(".json")?;
        let (seq, key) = stem.split_once('-')?;
        let ok = seq.len() == 20 && !key.is_empty();
        ok.then_some(Entry {
            seq: seq.parse().ok()?,
            key: key.to_owned(),
        })
    }
}

/// The files of one endpoint, oldest first.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max: usize,
    state: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    next_seq: u64,
}

impl Spool {
    /// Opens (creating) `dir`, removes half-written files of a previous run, lists what is left.
    pub fn open(dir: &Path, max: usize) -> io::Result<Spool> {
        fs::create_dir_all(dir)?;
        let mut entries = Vec::new();
        for item in fs::read_dir(dir)? {
            let item = item?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp-") {
                fs::remove_file(item.path())?;
            } else if let Some(entry) = Entry::parse(&name) {
                entries.push(entry);
            }
        }
        entries.sort_by_key(|e| e.seq);
        let next_seq = entries.last().map_or(0, |e| e.seq + 1);
        Ok(Spool {
            dir: dir.to_owned(),
            max,
            state: Mutex::new(Queue {
                entries: entries.into(),
                next_seq,
            }),
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes `body` durably under `key`. Returns the entries dropped to stay within `max`.
    pub fn put(&self, key: &str, body: &[u8]) -> io::Result<Vec<Entry>> {
        let entry = {
            let mut q = self.queue();
            q.next_seq += 1;
            Entry {
                seq: q.next_seq - 1,
                key: key.to_owned(),
            }
        };
        let tmp = self.dir.join(format!(".tmp-{}", entry.file_name()));
        let mut file = File::create(&tmp)?;
        file.write_all(body)?;
        file.sync_all()?;
        fs::rename(&tmp, self.dir.join(entry.file_name()))?;
        // The rename itself is durable only once the directory is.
        File::open(&self.dir)?.sync_all()?;
        let dropped: Vec<Entry> = {
            let mut q = self.queue();
            q.entries.push_back(entry);
            let excess = q.entries.len().saturating_sub(self.max);
            q.entries.drain(..excess).collect()
        };
        for e in &dropped {
            remove(&self.dir.join(e.file_name()))?;
        }
        Ok(dropped)
    }

    /// The oldest undelivered entry.
    pub fn front(&self) -> Option<Entry> {
        self.queue().entries.front().cloned()
    }

    /// Whether `entry` is still waiting (not dropped meanwhile).
    pub fn holds(&self, entry: &Entry) -> bool {
        self.queue().entries.contains(entry)
    }

    pub fn len(&self) -> usize {
        self.queue().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body of `entry`.
    pub fn read(&self, entry: &Entry) -> io::Result<Vec<u8>> {
        fs::read(self.dir.join(entry.file_name()))
    }

    /// `entry` was delivered (or can never be): forgets it and removes its file.
    pub fn done(&self, entry: &Entry) -> io::Result<()> {
        self.queue().entries.retain(|e| e != entry);
        remove(&self.dir.join(entry.file_name()))
    }
}

/// Removes `path`; already gone is fine (dropped while being delivered).
fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        Ok(()) | Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("confpay-spool-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn entries_survive_reopening_in_order_and_half_written_files_go() {
        let dir = temp_dir();
        let s = Spool::open(&dir, 10).expect("open");
        s.put("k1", b"one").expect("put");
        s.put("k2", b"two").expect("put");
        fs::write(dir.join(".tmp-00000000000000000002-k3.json"), b"half").expect("tmp");
        drop(s);
        let s = Spool::open(&dir, 10).expect("reopen");
        let first = s.front().expect("an entry");
        assert_eq!(first.key, "k1");
        assert_eq!(s.read(&first).expect("read"), b"one");
        s.done(&first).expect("done");
        s.put("k3", b"three").expect("put");
        let keys: Vec<String> = s.queue().entries.iter().map(|e| e.key.clone()).collect();
        assert_eq!(keys, ["k2", "k3"]);
        assert!(!dir.join(".tmp-00000000000000000002-k3.json").exists());
        assert_eq!(fs::read_dir(&dir).expect("dir").count(), 2);
        fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn beyond_max_the_oldest_is_dropped_from_disk_too() {
        let dir = temp_dir();
        let s = Spool::open(&dir, 2).expect("open");
        assert!(s.put("a", b"1").expect("put").is_empty());
        assert!(s.put("b", b"2").expect("put").is_empty());
        let dropped = s.put("c", b"3").expect("put");
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].key, "a");
        assert!(!s.holds(&dropped[0]));
        assert_eq!(s.len(), 2);
        assert_eq!(fs::read_dir(&dir).expect("dir").count(), 2);
        // Delivered-while-dropped: done on a gone entry is fine.
        s.done(&dropped[0]).expect("done on a dropped entry");
        fs::remove_dir_all(&dir).expect("clean up");
    }
}
