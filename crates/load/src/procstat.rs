//! Process and thread resource readings from `/proc` (Linux): resident memory (`VmRSS`), its peak
//! (`VmHWM`) and CPU time (utime + stime). Used by the load tool and the end-to-end benchmark; all
//! readings are `None` where `/proc` is missing or unreadable.

use std::time::Duration;

/// Clock ticks per second of `/proc/*/stat` times (`USER_HZ`; 100 on every Linux ABI in use).
const USER_HZ: u64 = 100;

/// Memory of this process, in KiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` from `/proc/self/status`.
pub fn memory() -> Option<Memory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Memory {
        rss_kib: status_kib(&status, "VmRSS:")?,
        peak_kib: status_kib(&status, "VmHWM:")?,
    })
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system) of the whole process.
pub fn process_cpu() -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// CPU time (user + system) of another process (e.g. the load tool's simulator child).
pub fn pid_cpu(pid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// `VmRSS` and `VmHWM` of another process.
pub fn pid_memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some(Memory {
        rss_kib: status_kib(&status, "VmRSS:")?,
        peak_kib: status_kib(&status, "VmHWM:")?,
    })
}

/// CPU time (user + system) of one thread of this process, by its kernel thread id.
pub fn thread_cpu(tid: u32) -> Option<Duration> {
    stat_cpu(&std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?)
}

/// The kernel thread id of the calling thread (`/proc/thread-self`).
pub fn current_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// utime + stime (fields 14 and 15) of a `stat` line; the command name in parentheses may hold
/// spaces, so fields are counted after the last `)`.
fn stat_cpu(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ")": state is field 3, so utime (14) is the 12th and stime (15) the 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cpu_counts_after_the_command_name() {
        let line = "4242 (my (odd) name) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_cpu(line), Some(Duration::from_millis(3000)));
    }

    #[test]
    fn status_lines_parse() {
        let s = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(status_kib(s, "VmRSS:"), Some(1024));
        assert_eq!(status_kib(s, "VmHWM:"), Some(2048));
        assert_eq!(status_kib(s, "VmSwap:"), None);
    }

    #[test]
    fn this_process_has_memory_and_a_thread_id() {
        let m = memory().expect("/proc/self/status");
        assert!(m.rss_kib > 0 && m.peak_kib >= m.rss_kib, "{m:?}");
        let tid = current_tid().expect("/proc/thread-self");
        assert!(thread_cpu(tid).is_some());
        assert!(process_cpu().is_some());
        let me = std::process::id();
        assert!(pid_cpu(me).is_some());
        assert!(pid_memory(me).is_some_and(|m| m.rss_kib > 0));
        assert_eq!(pid_memory(u32::MAX), None);
    }
}
