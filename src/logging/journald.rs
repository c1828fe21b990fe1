//! [`JournaldFormat`]: one line per event for stdout captured by journald.
//!
//! `<N>LEVEL target: span{fields}: message key=value ...` — the `<N>` prefix is the syslog priority
//! (sd-daemon(3)), which journald strips and stores, so `journalctl -p warning` works. No timestamp
//! (journald adds its own), no ANSI. A newline inside a message or value is written as `\n`, so one
//! event is always one journal entry.

use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The journald line format.
#[derive(Debug, Clone, Copy, Default)]
pub struct JournaldFormat;

/// The syslog priority of a tracing level: err(3), warning(4), info(6), debug(7).
pub fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

impl<S, N> FormatEvent<S, N> for JournaldFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = String::new();
        {
            let mut w = Writer::new(&mut line);
            write!(w, "{} {}: ", meta.level(), meta.target())?;
            if let Some(scope) = ctx.event_scope() {
                for span in scope.from_root() {
                    w.write_str(span.name())?;
                    let ext = span.extensions();
                    match ext.get::<FormattedFields<N>>() {
                        Some(fields) if !fields.is_empty() => write!(w, "{{{fields}}}")?,
                        Some(_) | None => {}
                    }
                    w.write_str(": ")?;
                }
            }
            ctx.format_fields(w.by_ref(), event)?;
        }
        write!(writer, "<{}>", priority(meta.level()))?;
        for c in line.chars() {
            match c {
                '\n' => writer.write_str("\\n")?,
                '\r' => writer.write_str("\\r")?,
                c => writer.write_char(c)?,
            }
        }
        writer.write_char('\n')
    }
}
