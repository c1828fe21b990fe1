//! Formatter output captured into a buffer.

use super::*;
use std::io;
use std::sync::{Arc, Mutex};
use tracing::{info, info_span, warn};

/// A `MakeWriter` appending to a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8(bytes).expect("log output is UTF-8")
    }
}

impl io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'w self) -> Buffer {
        self.clone()
    }
}

fn capture(format: Resolved, level: &str, emit: impl FnOnce()) -> String {
    let buf = Buffer::default();
    let config = LogConfig {
        level: level.to_owned(),
        format: LogFormat::Auto,
    };
    let (logger, _handle) = subscriber(&config, format, None, buf.clone()).expect("valid level");
    tracing::subscriber::with_default(logger, emit);
    buf.text()
}

#[test]
fn journald_lines_have_priority_fields_and_no_ansi_or_timestamp() {
    let out = capture(Resolved::JournalLines, "info", || {
        let span = info_span!("payment", call = "c0ffee");
        let _g = span.enter();
        info!(state = "capturing", count = 3, "session state");
        warn!(reason = %"capture leg\nbusy", "capture failed");
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(
        lines[0],
        "<6>INFO confpay::logging::tests: payment{call=\"c0ffee\"}: session state state=\"capturing\" count=3"
    );
    assert_eq!(
        lines[1],
        "<4>WARN confpay::logging::tests: payment{call=\"c0ffee\"}: capture failed reason=capture leg\\nbusy"
    );
    assert!(!out.contains('\x1b'), "ANSI escape in {out:?}");
}

#[test]
fn journald_priorities_follow_sd_daemon() {
    assert_eq!(journald::priority(&tracing::Level::ERROR), 3);
    assert_eq!(journald::priority(&tracing::Level::WARN), 4);
    assert_eq!(journald::priority(&tracing::Level::INFO), 6);
    assert_eq!(journald::priority(&tracing::Level::DEBUG), 7);
    assert_eq!(journald::priority(&tracing::Level::TRACE), 7);
}

#[test]
fn text_without_terminal_has_no_ansi_but_has_fields() {
    let out = capture(Resolved::Text { ansi: false }, "info", || {
        info!(key = "value", n = 7, "hello");
    });
    assert!(!out.contains('\x1b'), "ANSI escape in {out:?}");
    assert!(out.contains("INFO"), "{out}");
    assert!(out.contains("hello key=\"value\" n=7"), "{out}");
}

#[test]
fn json_is_one_object_per_line() {
    let out = capture(Resolved::Json, "info", || {
        info!(key = "value", "first");
        info!(n = 2, "second");
    });
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["fields"]["message"], "first");
    assert_eq!(lines[0]["fields"]["key"], "value");
    assert_eq!(lines[1]["fields"]["n"], 2);
    assert!(!out.contains('\x1b'));
}

#[test]
fn level_filter_applies_and_reloads() {
    let buf = Buffer::default();
    let config = LogConfig {
        level: "warn".to_owned(),
        format: LogFormat::Journald,
    };
    let (logger, handle) =
        subscriber(&config, Resolved::JournalLines, None, buf.clone()).expect("valid level");
    tracing::subscriber::with_default(logger, || {
        info!("hidden");
        warn!("shown");
        assert!(handle.set_level("info").expect("valid"));
        info!("now shown");
    });
    let out = buf.text();
    assert!(!out.contains("hidden"), "{out}");
    assert!(out.contains("<4>WARN"), "{out}");
    assert!(
        out.contains("<6>INFO confpay::logging::tests: now shown"),
        "{out}"
    );
}

#[test]
fn rust_log_wins_over_config_and_reload() {
    let buf = Buffer::default();
    let config = LogConfig {
        level: "info".to_owned(),
        format: LogFormat::Journald,
    };
    let (logger, handle) = subscriber(
        &config,
        Resolved::JournalLines,
        Some("error".to_owned()),
        buf.clone(),
    )
    .expect("valid level");
    tracing::subscriber::with_default(logger, || {
        warn!("hidden");
        assert!(!handle.set_level("debug").expect("no error"));
        warn!("still hidden");
    });
    assert_eq!(buf.text(), "");
    assert_eq!(handle.rust_log(), Some("error"));
}

#[test]
fn bad_directive_is_refused() {
    let config = LogConfig {
        level: "info,=[".to_owned(),
        format: LogFormat::Auto,
    };
    let err = subscriber(&config, Resolved::Json, None, Buffer::default())
        .err()
        .expect("refused");
    assert!(
        err.to_string().starts_with("invalid log filter `info,=[`"),
        "{err}"
    );
}

#[test]
fn auto_picks_journald_only_when_stdout_is_the_journal() {
    let journal = Stdout {
        journal: true,
        terminal: false,
    };
    let pipe = Stdout {
        journal: false,
        terminal: false,
    };
    let tty = Stdout {
        journal: false,
        terminal: true,
    };
    assert_eq!(resolve(LogFormat::Auto, journal), Resolved::Journald);
    assert_eq!(
        resolve(LogFormat::Auto, pipe),
        Resolved::Text { ansi: false }
    );
    assert_eq!(resolve(LogFormat::Auto, tty), Resolved::Text { ansi: true });
    assert_eq!(
        resolve(LogFormat::Text, journal),
        Resolved::Text { ansi: false }
    );
    assert_eq!(resolve(LogFormat::Json, tty), Resolved::Json);
    assert_eq!(resolve(LogFormat::Journald, tty), Resolved::Journald);
}

#[test]
fn journal_stream_must_name_stdout() {
    assert!(stream_matches("8:1234", Some((8, 1234))));
    assert!(!stream_matches("8:1234", Some((8, 999))));
    assert!(stream_matches("8:1234", None));
    assert!(!stream_matches("garbage", None));
}
