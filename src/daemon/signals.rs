//! Unix signals into the async world: `signal_hook::iterator::Signals` on a dedicated std thread,
//! forwarding each signal into a tokio channel. (`signal-hook-tokio` still targets signal-hook 0.3.)

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};
use std::thread::JoinHandle;
use tokio::sync::mpsc;

/// A signal the daemon acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: graceful shutdown.
    Terminate,
    /// SIGINT: graceful shutdown (Ctrl-C).
    Interrupt,
    /// SIGHUP: reload the configuration file.
    Hangup,
}

/// The forwarding thread; dropping this stops it.
pub struct SignalThread {
    handle: Handle,
    thread: Option<JoinHandle<()>>,
}

/// Installs handlers for SIGTERM, SIGINT and SIGHUP and returns the receiving end. From now on these
/// signals no longer kill the process: they arrive on the channel.
pub fn listen() -> std::io::Result<(SignalThread, mpsc::Receiver<Signal>)> {
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let handle = signals.handle();
    let (tx, rx) = mpsc::channel(16);
    let thread = std::thread::Builder::new()
        .name("confpay-signals".to_owned())
        .spawn(move || {
            for raw in signals.forever() {
                let signal = match raw {
                    SIGTERM => Signal::Terminate,
                    SIGINT => Signal::Interrupt,
                    SIGHUP => Signal::Hangup,
                    // Only the three above are registered.
                    _ => continue,
                };
                if tx.blocking_send(signal).is_err() {
                    break;
                }
            }
        })?;
    Ok((
        SignalThread {
            handle,
            thread: Some(thread),
        },
        rx,
    ))
}

impl Drop for SignalThread {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
