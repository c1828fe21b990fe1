//! The outbound dialler: when a channel runs `socket host:port [async] [full]`, FreeSWITCH connects to
//! the controller, sends nothing until `connect`, and then serves that one session.
//!
//! - Nothing listening: the core is told ([`Core::socket_failed`]); the socket app returns at once.
//! - The first command's `command/reply` is discarded (FreeSWITCH answers only `connect`, with the
//!   CHANNEL_DATA reply); 25 s without a command closes the socket.
//! - When the connection ends for any reason while the channel lives, the core applies the
//!   `socket_resume` semantics ([`Core::socket_closed`]).

use super::connection::{Conn, ConnState, OutboundMode, Password};
use super::faults::Faults;
use super::subscription::Subscription;
use crate::core::{Core, OutboundRequest};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tracing::info;

/// Serves the core's outbound socket requests until the core's request channel closes.
pub fn run(core: Core, faults: Faults) -> JoinHandle<()> {
    let mut requests = core.outbound_requests();
    tokio::spawn(async move {
        while let Some(req) = requests.recv().await {
            tokio::spawn(session(core.clone(), faults.clone(), req));
        }
    })
}

/// One outbound socket session.
async fn session(core: Core, faults: Faults, req: OutboundRequest) {
    let sock = match TcpStream::connect(req.addr).await {
        Ok(s) => s,
        Err(e) => {
            info!(call = %req.uuid, addr = %req.addr, error = %e, "outbound socket: connect failed");
            core.socket_failed(&req.uuid);
            return;
        }
    };
    info!(call = %req.uuid, addr = %req.addr, full = req.full, "outbound socket connected to controller");
    // Nagle off like FreeSWITCH; a failure is invisible to the peer.
    let _ = sock.set_nodelay(true);
    let (rd, wr) = sock.into_split();
    let st = ConnState {
        sub: Subscription::default(),
        authed: true,
        password: Password::default(),
        session: Some(req.uuid.clone()),
        outbound: Some(OutboundMode {
            async_mode: req.async_mode,
            full: req.full,
        }),
        connected: false,
        linger: None,
        resume: false,
        log_level: None,
        channel_name: String::new(),
    };
    let mut conn = Conn::new(core.clone(), faults, wr, st);
    conn.run(rd, true).await;
    info!(call = %req.uuid, "outbound socket closed");
    core.socket_closed(&req.uuid);
}
