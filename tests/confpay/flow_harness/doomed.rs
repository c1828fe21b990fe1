//! A daemon that can be killed: its parts run in their own runtime on their own thread, and
//! [`Doomed::kill`] drops that runtime — every task and socket gone at once, as with SIGKILL (the
//! technique of `flow_restart`).

use confpay::config::Config;
use confpay::daemon::stack::Stack;
use confpay::pay::engine::Engine;
use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A daemon in its own runtime on its own thread.
pub struct Doomed {
    pub engine: Engine,
    pub outbound: SocketAddr,
    /// The HTTP API's address.
    pub http: SocketAddr,
    kill: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Doomed {
    /// Starts the daemon's parts with `config`; returns once they are up.
    pub fn start(config: Config) -> Doomed {
        Doomed::start_traced(config, None)
    }

    /// As [`Doomed::start`], the daemon's log going to `logs` (its threads' default dispatcher).
    pub fn start_traced(config: Config, logs: Option<tracing::Dispatch>) -> Doomed {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (kill, kill_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            let _here = logs.as_ref().map(tracing::dispatcher::set_default);
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(d) = logs {
                // The guard is never dropped: a runtime thread logs here until it ends.
                builder.on_thread_start(move || {
                    std::mem::forget(tracing::dispatcher::set_default(&d));
                });
            }
            let rt = builder
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            let stack = rt.block_on(async {
                Stack::start(&config, &TaskTracker::new(), &CancellationToken::new())
                    .await
                    .expect("daemon starts")
            });
            ready_tx
                .send((stack.engine.clone(), stack.outbound_addr, stack.http_addr))
                .expect("send");
            let _ = kill_rx.recv();
            drop(stack);
            drop(rt);
        });
        let (engine, outbound, http) = ready_rx.recv().expect("daemon up");
        Doomed {
            engine,
            outbound,
            http,
            kill,
            thread,
        }
    }

    /// Kills the daemon (drops its runtime) and waits until it is gone.
    pub fn kill(self) {
        let _ = self.kill.send(());
        self.thread.join().expect("daemon thread");
    }
}
