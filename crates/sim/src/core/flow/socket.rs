//! The `socket` application and the outbound socket's lifecycle (connected, failed, closed with or
//! without `socket_resume`), and `sendmsg execute` queueing behind the running application.

use super::Flow;
use crate::core::Core;
use crate::core::app_stack::{fire_complete, pop_app};
use crate::core::channel::{QueuedExec, SocketCtl};
use crate::core::error::SimError;
use crate::core::events::channel_event;
use crate::core::outbound_request::OutboundRequest;
use std::net::SocketAddr;

impl Flow<'_> {
    /// `socket host:port [async] [full]`: asks the ESL layer to dial out; with nobody to dial (or an
    /// unusable address) the application returns at once.
    pub(crate) fn socket_app(&mut self, uuid: &str, arg: &str, generation: u64) {
        let mut words = arg.split_whitespace();
        let target = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let host_port = target.split('|').next().unwrap_or("");
        let with_port = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:8084")
        };
        let Ok(addr) = with_port.parse::<SocketAddr>() else {
            self.complete(uuid, generation, "_none_");
            return;
        };
        let async_mode = rest.contains(&"async");
        let full = rest.contains(&"full");
        if let Some(ch) = self.st.channels.get_mut(uuid) {
            ch.set_var("socket_host", &addr.ip().to_string());
            ch.socket = Some(SocketCtl {
                async_mode,
                full,
                connected: false,
            });
        }
        let req = OutboundRequest {
            uuid: uuid.to_owned(),
            addr,
            async_mode,
            full,
        };
        if self.st.outbound_tx.try_send(req).is_err() {
            // Nobody dials out for us: like nothing listening.
            if let Some(ch) = self.st.channels.get_mut(uuid) {
                ch.socket = None;
            }
            self.complete(uuid, generation, "_none_");
        }
    }

    /// With `socket_resume=true` every running sendmsg app is cut off and the socket app completes.
    fn resume_after_socket(&mut self, uuid: &str) {
        loop {
            let top = self
                .st
                .channels
                .get(uuid)
                .and_then(|c| c.apps.last().cloned());
            match top {
                Some(a) if a.name != "socket" => {
                    pop_app(self.st, uuid, a.generation);
                    if let Some(ch) = self.st.channels.get_mut(uuid) {
                        ch.playing = None;
                    }
                    let r = if a.name == "playback" {
                        "PLAYBACK ERROR"
                    } else {
                        "_none_"
                    };
                    fire_complete(self.st, uuid, &a, r);
                }
                Some(_) => {
                    self.finish_top(uuid, "socket", "_none_");
                    break;
                }
                None => break,
            }
        }
    }
}

/// `sendmsg execute`: queue behind the running app; runs at once if the channel sits in the socket app.
pub(crate) fn queue_execute(
    core: &Core,
    uuid: &str,
    app: &str,
    arg: &str,
    app_uuid: Option<String>,
) -> Result<(), SimError> {
    let mut st = core.lock();
    let Some(ch) = st.channels.get_mut(uuid) else {
        return Err(SimError::NoSuchChannel { uuid: uuid.into() });
    };
    ch.execs.push_back(QueuedExec {
        app: app.to_owned(),
        arg: arg.to_owned(),
        app_uuid,
    });
    let idle = ch
        .apps
        .last()
        .is_none_or(|a| a.name == "socket" || a.name == "park");
    if !idle {
        return Ok(());
    }
    if ch.apps.last().is_some_and(|a| a.name == "park") && ch.socket.is_none() {
        // A parked channel controlled by sendmsg from an inbound socket: park yields to the app.
        let g = ch.apps.last().map(|a| a.generation).unwrap_or(0);
        let q = ch.execs.pop_front();
        if let Some(app) = pop_app(&mut st, uuid, g) {
            channel_event(&mut st, uuid, "CHANNEL_UNPARK", &[], &[]);
            fire_complete(&mut st, uuid, &app, "_none_");
        }
        if let Some(q) = q {
            Flow::new(core, &mut st).run_app(uuid, &q.app, &q.arg, q.app_uuid);
        }
    } else {
        Flow::new(core, &mut st).start_next(uuid);
    }
    Ok(())
}

/// The outbound socket sent `connect`.
pub(crate) fn socket_connected(core: &Core, uuid: &str) {
    let mut st = core.lock();
    let Some(s) = st.channels.get_mut(uuid).and_then(|c| c.socket.as_mut()) else {
        return;
    };
    s.connected = true;
    if s.async_mode {
        // Async mode: the socket app sits in switch_ivr_park, dequeuing sendmsg.
        channel_event(&mut st, uuid, "CHANNEL_PARK", &[], &[]);
    }
    Flow::new(core, &mut st).start_next(uuid);
}

/// Nothing listened: the socket app returns at once and the dialplan continues.
pub(crate) fn socket_failed(core: &Core, uuid: &str) {
    let mut st = core.lock();
    if let Some(ch) = st.channels.get_mut(uuid) {
        ch.socket = None;
    }
    Flow::new(core, &mut st).finish_top(uuid, "socket", "_none_");
}

/// The controlling socket closed. `socket_resume=true`: running sendmsg apps are cut off, the socket
/// app completes and the dialplan continues. Otherwise the running app goes on and the dialplan never
/// continues.
pub(crate) fn socket_closed(core: &Core, uuid: &str) {
    let mut st = core.lock();
    let Some(ch) = st.channels.get_mut(uuid) else {
        return;
    };
    if ch.socket.is_none() {
        return;
    }
    ch.socket = None;
    ch.execs.clear();
    if ch.var_true("socket_resume") {
        Flow::new(core, &mut st).resume_after_socket(uuid);
    } else {
        ch.orphaned = true;
    }
}
