//! systemd readiness protocol (sd_notify(3)), hand-written: one datagram of `KEY=VALUE` lines to the
//! unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). No libsystemd.
//!
//! Without `$NOTIFY_SOCKET` (not started by systemd) every call is a no-op.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// One state line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// `READY=1`: start-up finished, or a reload finished.
    Ready,
    /// `RELOADING=1`: a reload began (send [`State::Ready`] when done).
    Reloading,
    /// `STOPPING=1`: shutdown began.
    Stopping,
    /// `WATCHDOG=1`: keep-alive.
    Watchdog,
    /// `STATUS=...`: free text shown by `systemctl status` (one line; newlines are replaced).
    Status(String),
}

impl State {
    fn line(&self) -> String {
        match self {
            State::Ready => "READY=1".to_owned(),
            State::Reloading => "RELOADING=1".to_owned(),
            State::Stopping => "STOPPING=1".to_owned(),
            State::Watchdog => "WATCHDOG=1".to_owned(),
            State::Status(s) => format!("STATUS={}", s.replace('\n', " ")),
        }
    }
}

/// Why a notification could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("NOTIFY_SOCKET `{socket}` is not an absolute path or @abstract name")]
    BadAddress { socket: String },
    #[error("NOTIFY_SOCKET `{socket}`: {source}")]
    Io {
        socket: String,
        #[source]
        source: io::Error,
    },
}

/// A connection to the service manager's notification socket.
#[derive(Debug)]
pub struct Notifier {
    socket_name: String,
    addr: SocketAddr,
    socket: UnixDatagram,
}

impl Notifier {
    /// From `$NOTIFY_SOCKET`; `Ok(None)` when it is unset or empty.
    pub fn from_env() -> Result<Option<Notifier>, NotifyError> {
        match std::env::var("NOTIFY_SOCKET") {
            Ok(s) if !s.is_empty() => Notifier::new(&s).map(Some),
            Ok(_) | Err(_) => Ok(None),
        }
    }

    /// For the socket `name`: `/run/systemd/notify` or `@abstract`.
    pub fn new(name: &str) -> Result<Notifier, NotifyError> {
        let io_err = |source| NotifyError::Io {
            socket: name.to_owned(),
            source,
        };
        let addr = if let Some(abstract_name) = name.strip_prefix('@') {
            SocketAddr::from_abstract_name(abstract_name.as_bytes()).map_err(io_err)?
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name).map_err(io_err)?
        } else {
            return Err(NotifyError::BadAddress {
                socket: name.to_owned(),
            });
        };
        let socket = UnixDatagram::unbound().map_err(io_err)?;
        // Never block the runtime on a full socket buffer: a lost notification is logged instead.
        socket.set_nonblocking(true).map_err(io_err)?;
        Ok(Notifier {
            socket_name: name.to_owned(),
            addr,
            socket,
        })
    }

    /// Sends `states` as one datagram.
    pub fn notify(&self, states: &[State]) -> Result<(), NotifyError> {
        let msg: Vec<String> = states.iter().map(State::line).collect();
        let msg = msg.join("\n");
        self.socket
            .send_to_addr(msg.as_bytes(), &self.addr)
            .map(|_| ())
            .map_err(|source| NotifyError::Io {
                socket: self.socket_name.clone(),
                source,
            })
    }
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, if the watchdog is on and meant for this
/// process (`$WATCHDOG_PID` unset or equal to `my_pid`).
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok()?;
    if usec == 0 {
        return None;
    }
    match pid.map(|p| p.trim().parse::<u32>()) {
        None => {}
        Some(Ok(p)) if p == my_pid => {}
        Some(Ok(_)) | Some(Err(_)) => return None,
    }
    Some(Duration::from_micros(usec / 2))
}

/// [`watchdog_interval`] from this process's environment.
pub fn watchdog_from_env() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok();
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval(usec.as_deref(), pid.as_deref(), std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_socket_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("confpay-notify-{tag}-{}", uuid::Uuid::new_v4()))
    }

    #[test]
    fn sends_states_to_a_path_socket() {
        let path = temp_socket_path("path");
        let server = UnixDatagram::bind(&path).expect("bind");
        let n = Notifier::new(path.to_str().expect("utf-8 path")).expect("notifier");
        n.notify(&[State::Ready, State::Status("up\nand running".to_owned())])
            .expect("sent");
        let mut buf = [0u8; 256];
        let len = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=up and running");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn sends_to_an_abstract_socket() {
        let name = format!("confpay-test-{}", uuid::Uuid::new_v4());
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("addr");
        let server = UnixDatagram::bind_addr(&addr).expect("bind");
        let n = Notifier::new(&format!("@{name}")).expect("notifier");
        n.notify(&[State::Reloading]).expect("sent");
        n.notify(&[State::Watchdog]).expect("sent");
        n.notify(&[State::Stopping]).expect("sent");
        let mut buf = [0u8; 64];
        let mut got = Vec::new();
        for _ in 0..3 {
            let len = server.recv(&mut buf).expect("recv");
            got.push(String::from_utf8_lossy(&buf[..len]).into_owned());
        }
        assert_eq!(got, ["RELOADING=1", "WATCHDOG=1", "STOPPING=1"]);
    }

    #[test]
    fn relative_socket_name_is_refused() {
        assert!(matches!(
            Notifier::new("run/notify"),
            Err(NotifyError::BadAddress { socket }) if socket == "run/notify"
        ));
    }

    #[test]
    fn watchdog_is_half_the_timeout_and_only_for_us() {
        assert_eq!(
            watchdog_interval(Some("30000000"), None, 42),
            Some(Duration::from_secs(15))
        );
        assert_eq!(
            watchdog_interval(Some("30000000"), Some("42"), 42),
            Some(Duration::from_secs(15))
        );
        assert_eq!(watchdog_interval(Some("30000000"), Some("7"), 42), None);
        assert_eq!(watchdog_interval(Some("0"), None, 42), None);
        assert_eq!(watchdog_interval(Some("soon"), None, 42), None);
        assert_eq!(watchdog_interval(None, None, 42), None);
    }
}
