//! The inbound event socket: FreeSWITCH listening on `127.0.0.1:8021` (here any address, `:0` in tests)
//! for controllers. Every accepted connection gets `Content-Type: auth/request` and then runs the
//! command loop of [`super::connection`].

use super::connection::{Conn, ConnState, Password};
use super::faults::Faults;
use super::frames;
use super::subscription::Subscription;
use crate::core::Core;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tracing::{debug, info};

/// Accepts controllers on `listener` until the task is aborted.
pub fn serve(
    listener: TcpListener,
    core: Core,
    faults: Faults,
    password: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let (sock, peer) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    debug!(error = %e, "esl accept failed");
                    continue;
                }
            };
            info!(peer = %peer, "esl inbound connection");
            let core = core.clone();
            let faults = faults.clone();
            let password = password.clone();
            tokio::spawn(async move {
                // FreeSWITCH disables Nagle on listener sockets; a failure here changes nothing visible.
                let _ = sock.set_nodelay(true);
                let (rd, mut wr) = sock.into_split();
                if wr.write_all(&frames::auth_request()).await.is_err() {
                    return;
                }
                let st = ConnState {
                    sub: Subscription::default(),
                    authed: false,
                    password: Password(password),
                    session: None,
                    outbound: None,
                    connected: false,
                    linger: None,
                    resume: false,
                    log_level: None,
                    channel_name: String::new(),
                };
                let mut conn = Conn::new(core, faults, wr, st);
                conn.run(rd, false).await;
                info!(peer = %peer, "esl inbound connection closed");
            });
        }
    })
}
