//! The simulator as a separate process, driven over its stdin console (`src/sim/console.rs`).
//!
//! The load tool spawns `confpay-sim` (or itself in `--sim-side` mode, which runs the same
//! [`confpay_sim::process::main`]) with its ESL listener on a loopback port of the kernel's choosing
//! and its `socket` extension pointed at the daemon's outbound listener, reads the
//! `ready esl=… outbound=… core=…` banner, and then sends console commands. Commands are pipelined:
//! every command used here (`call`, `press`, `hangup`) answers exactly one line, so replies are
//! matched to commands in order. Lines are never logged (a `press` line may carry test card digits).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};

/// How to start the simulator process: `program prefix… --listen … --outbound …`.
#[derive(Clone, Debug)]
pub struct SimCommand {
    pub program: PathBuf,
    /// Arguments before the simulator's own options (e.g. `--sim-side` for the load example).
    pub prefix: Vec<String>,
}

/// Why the simulator process could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SimProcError {
    #[error("cannot start the simulator {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the simulator's banner is missing or has no esl= address: {line:?}")]
    Banner { line: String },
    #[error("the simulator's console closed")]
    Closed,
    #[error("console i/o: {0}")]
    Io(#[from] std::io::Error),
}

type Pending = Arc<Mutex<VecDeque<oneshot::Sender<String>>>>;

/// A running simulator process and its console.
pub struct SimProcess {
    child: Child,
    esl: SocketAddr,
    control: Control,
}

/// Cheap, cloneable handle that sends console commands (from any runtime).
#[derive(Clone, Debug)]
pub struct Control {
    tx: mpsc::UnboundedSender<(String, oneshot::Sender<String>)>,
}

impl Control {
    /// Queues one command line now; the receiver gets its one-line answer (without the newline).
    pub fn send(&self, line: String) -> Result<oneshot::Receiver<String>, SimProcError> {
        let (tx, rx) = oneshot::channel();
        self.tx.send((line, tx)).map_err(|_| SimProcError::Closed)?;
        Ok(rx)
    }

    /// Sends one command line and waits for its answer.
    pub async fn command(&self, line: String) -> Result<String, SimProcError> {
        self.send(line)?.await.map_err(|_| SimProcError::Closed)
    }
}

impl SimProcess {
    /// Spawns the simulator, waits for its banner and starts the console's writer and reader tasks
    /// on the current runtime.
    pub async fn spawn(cmd: &SimCommand, outbound: SocketAddr) -> Result<SimProcess, SimProcError> {
        let mut child = Command::new(&cmd.program)
            .args(&cmd.prefix)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--outbound",
                &outbound.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // A heap profiler preloaded into the load tool (`heaptrack confpay-load …`) then
            // measures the daemon's side alone, not the simulator's too.
            .env_remove("LD_PRELOAD")
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| SimProcError::Spawn {
                program: cmd.program.display().to_string(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(SimProcError::Closed);
        };
        let mut lines = BufReader::new(stdout).lines();
        let banner = lines.next_line().await?.unwrap_or_default();
        let esl = banner
            .split_whitespace()
            .find_map(|w| w.strip_prefix("esl="))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| SimProcError::Banner {
                line: banner.clone(),
            })?;
        let pending: Pending = Arc::default();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_commands(stdin, rx, pending.clone()));
        tokio::spawn(async move {
            // Each answer line goes to the oldest command still waiting; EOF drops the rest.
            while let Ok(Some(line)) = lines.next_line().await {
                let waiter = lock(&pending).pop_front();
                if let Some(w) = waiter {
                    let _ = w.send(line);
                }
            }
            lock(&pending).clear();
        });
        Ok(SimProcess {
            child,
            esl,
            control: Control { tx },
        })
    }

    /// The simulator's inbound ESL address.
    pub fn esl_addr(&self) -> SocketAddr {
        self.esl
    }

    /// The child's process id (for its CPU and memory readings).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    pub fn control(&self) -> Control {
        self.control.clone()
    }

    /// `quit`, then waits up to 5 s for the process to end; kills it (by its handle) otherwise.
    pub async fn stop(mut self) {
        let quit = self.control.command("quit".to_owned());
        let _ = tokio::time::timeout(Duration::from_secs(5), quit).await;
        let ended = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        if ended.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

fn lock(p: &Pending) -> std::sync::MutexGuard<'_, VecDeque<oneshot::Sender<String>>> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes queued commands in order, registering each one's answer slot before its line goes out;
/// flushes when the queue is momentarily empty (commands sent together go out in one write).
async fn write_commands(
    stdin: ChildStdin,
    mut rx: mpsc::UnboundedReceiver<(String, oneshot::Sender<String>)>,
    pending: Pending,
) {
    let mut out = tokio::io::BufWriter::new(stdin);
    while let Some((line, reply)) = rx.recv().await {
        lock(&pending).push_back(reply);
        let mut ok = out.write_all(line.as_bytes()).await.is_ok();
        ok = ok && out.write_all(b"\n").await.is_ok();
        if ok && rx.is_empty() {
            ok = out.flush().await.is_ok();
        }
        if !ok {
            break;
        }
    }
    lock(&pending).clear();
}
