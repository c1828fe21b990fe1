//! The native layer against a fake journal: a datagram socket bound at [`SOCKET`] inside a private
//! mount namespace (`unshare`, a tmpfs over `/run`), so the real journal (if any) is never touched.
//! The parent test re-runs this test binary there, running only [`child_logs_into_the_fake_journal`].

use super::*;
use crate::config::{LogConfig, LogFormat};
use crate::logging::{Resolved, subscriber};
use std::collections::BTreeMap;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

const CHILD_ENV: &str = "CONFPAY_FAKE_JOURNAL_CHILD";
const CALL: &str = "4e312d0c-5a1b-4c6e-9d2f-0123456789ab";

#[test]
fn the_native_layer_sends_confpay_fields_to_the_journal() {
    let probe = Command::new("unshare")
        .args(["--mount", "--map-root-user", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        // Not provable here (no `unshare`, or user namespaces disabled): say so loudly.
        eprintln!("SKIPPED: cannot create a private mount namespace for the fake journal");
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs tmpfs /run && mkdir -p {} && exec \"$0\" \"$@\"",
            std::path::Path::new(SOCKET)
                .parent()
                .expect("a directory")
                .display()
        ))
        .arg(exe)
        .args([
            "--exact",
            "logging::native::tests::child_logs_into_the_fake_journal",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("unshare runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}\n{stderr}"
    );
}

#[test]
#[ignore = "run by the_native_layer_sends_confpay_fields_to_the_journal in its own namespace"]
fn child_logs_into_the_fake_journal() {
    assert_eq!(
        std::env::var(CHILD_ENV).as_deref(),
        Ok("1"),
        "only inside the fake journal's namespace"
    );
    let journal = UnixDatagram::bind(SOCKET).expect("fake journal socket");
    journal
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let config = LogConfig {
        level: "debug".to_owned(),
        format: LogFormat::Journald,
    };
    let (logger, handle) =
        subscriber(&config, Resolved::Journald, None, std::io::sink).expect("logger");
    assert_eq!(
        handle.journal_fallback(),
        None,
        "the native protocol is used"
    );
    tracing::subscriber::with_default(logger, || {
        // The shape of a session's span and state line (src/pay/session.rs).
        let span = tracing::info_span!(
            "session",
            session = "a1b2c3d4e5f6",
            call = %CALL,
            agent_id = tracing::field::Empty
        );
        span.record("agent_id", "4711");
        let _in = span.enter();
        tracing::info!(state = "capturing", "session state");
    });
    let entries = receive(&journal);
    let entry = entries
        .iter()
        .find(|e| e.get("MESSAGE").map(String::as_str) == Some("session state"))
        .unwrap_or_else(|| panic!("no state entry in {entries:?}"));
    for (field, value) in [
        ("CONFPAY_CALL", CALL),
        ("CONFPAY_SESSION", "a1b2c3d4e5f6"),
        ("CONFPAY_AGENT_ID", "4711"),
        ("CONFPAY_STATE", "capturing"),
        ("PRIORITY", "6"),
        ("SYSLOG_IDENTIFIER", "confpay"),
        ("TARGET", "confpay::logging::native::tests"),
    ] {
        assert_eq!(
            entry.get(field).map(String::as_str),
            Some(value),
            "{field} in {entry:?}"
        );
    }
}

/// Every non-empty datagram until the socket is quiet, parsed.
fn receive(journal: &UnixDatagram) -> Vec<BTreeMap<String, String>> {
    let mut entries = Vec::new();
    let mut buf = vec![0u8; 65536];
    journal
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    while let Ok(n) = journal.recv(&mut buf) {
        // tracing-journald probes the socket with an empty datagram first.
        if n > 0 {
            entries.push(parse(&buf[..n]));
        }
    }
    entries
}

/// One entry of the native protocol: `NAME=value\n`, or `NAME\n` + 64-bit little-endian length +
/// value + `\n` for a value that may hold a line break.
fn parse(mut data: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    while !data.is_empty() {
        let nl = data.iter().position(|b| *b == b'\n').expect("a line");
        let line = &data[..nl];
        if let Some(eq) = line.iter().position(|b| *b == b'=') {
            let (name, value) = (&line[..eq], &line[eq + 1..]);
            fields.insert(
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            );
            data = &data[nl + 1..];
        } else {
            let rest = &data[nl + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")) as usize;
            let value = &rest[8..8 + len];
            assert_eq!(
                rest[8 + len],
                b'\n',
                "a binary value ends with a line break"
            );
            fields.insert(
                String::from_utf8_lossy(line).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            );
            data = &rest[8 + len + 1..];
        }
    }
    fields
}
