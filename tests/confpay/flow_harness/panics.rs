//! The binary's one panic hook. A panic hook is process-wide and every test of this binary shares the
//! process, so it is installed once, here, and chains to the hook it replaces (libtest still prints
//! each panic). It records every panic with the name of its thread (libtest names a test's thread
//! after the test) and its message: the fault matrix counts the panics on a case's thread, the PCI
//! test checks that no panic message anywhere holds a card digit.

use std::sync::{Mutex, Once};

struct Panic {
    thread: String,
    message: String,
}

static RECORD: Mutex<Vec<Panic>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

/// Starts recording (idempotent): call before the code whose panics must be seen.
pub fn record() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            RECORD
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Panic {
                    thread: thread_name(),
                    message: info.to_string(),
                });
            previous(info);
        }));
    });
}

/// How many panics the calling thread has had since recording started.
pub fn on_this_thread() -> usize {
    let me = thread_name();
    RECORD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter(|p| p.thread == me)
        .count()
}

/// Every panic message recorded so far, on any thread.
pub fn messages() -> String {
    RECORD
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|p| p.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}
