//! Log lines captured in memory: a `tracing` writer that keeps every byte, for tests that read what
//! the daemon logged (PCI checks at TRACE, audit lines of cluster nodes).

use std::sync::{Arc, Mutex};

/// Every byte written through [`Logs::dispatch_at`] (or used as a writer directly). Cheap to clone.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// A dispatcher writing here, plain text, up to `level`.
    pub fn dispatch_at(&self, level: tracing::Level) -> tracing::Dispatch {
        let sink = self.clone();
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(level)
                .with_ansi(false)
                .with_writer(move || sink.clone())
                .finish(),
        )
    }
}
