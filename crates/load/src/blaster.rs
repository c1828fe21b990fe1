//! A dedicated ESL event blaster for the end-to-end throughput benchmark: a tiny FreeSWITCH stand-in
//! on a blocking thread that answers the inbound client's handshake (`auth/request`, `auth`,
//! `filter`, `api global_getvar core_uuid`, `event ...`) with the replies FreeSWITCH writes
//! (`inbound-auth-and-api.txt`, `inbound-events-plain-all.txt`) and then writes one pre-built chunk
//! of recorded `text/event-plain` frames over and over as fast as the socket takes it.
//!
//! The chunk is built once from a recording (a few hundred KiB), so the blaster's own memory stays
//! flat; [`Blaster::written`] tells how far the sender got, which shows the receiver's backpressure.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

/// Why a recording cannot be used as a burst.
#[derive(Debug, thiserror::Error)]
pub enum BurstError {
    #[error("frame at byte {offset} has no end of headers")]
    Unterminated { offset: usize },
    #[error("frame at byte {offset} has a bad Content-Length")]
    BadLength { offset: usize },
    #[error("the recording holds no text/event-plain frame")]
    NoEvents,
}

/// The event frames of a recording, back to back, exactly as FreeSWITCH wrote them.
#[derive(Clone, Debug)]
pub struct Burst {
    pub bytes: Arc<Vec<u8>>,
    /// How many event frames `bytes` holds.
    pub events: u64,
}

impl Burst {
    /// Keeps every `text/event-plain` frame of a raw server→client recording.
    pub fn from_recording(raw: &[u8]) -> Result<Burst, BurstError> {
        let mut out = Vec::new();
        let mut events = 0;
        let mut at = 0;
        while at < raw.len() {
            let head_end = memchr::memmem::find(&raw[at..], b"\n\n")
                .ok_or(BurstError::Unterminated { offset: at })?;
            let head = &raw[at..at + head_end];
            let mut length = 0usize;
            let mut is_event = false;
            for line in head.split(|&b| b == b'\n') {
                if let Some(v) = line.strip_prefix(b"Content-Length: ") {
                    length = std::str::from_utf8(v)
                        .ok()
                        .and_then(|v| v.trim().parse().ok())
                        .ok_or(BurstError::BadLength { offset: at })?;
                }
                if line == b"Content-Type: text/event-plain" {
                    is_event = true;
                }
            }
            let end = at + head_end + 2 + length;
            if end > raw.len() {
                return Err(BurstError::BadLength { offset: at });
            }
            if is_event {
                out.extend_from_slice(&raw[at..end]);
                events += 1;
            }
            at = end;
        }
        if events == 0 {
            return Err(BurstError::NoEvents);
        }
        Ok(Burst {
            bytes: Arc::new(out),
            events,
        })
    }
}

/// A running blaster (one connection is served; the thread ends when the client closes).
pub struct Blaster {
    addr: SocketAddr,
    written: Arc<AtomicU64>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl Blaster {
    /// Listens on `127.0.0.1:0`; after the client subscribes, writes `burst` `repeats` times.
    pub fn start(burst: Burst, repeats: u64) -> std::io::Result<Blaster> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        let thread = std::thread::Builder::new()
            .name("esl-blaster".into())
            .spawn(move || {
                let (sock, _) = listener.accept()?;
                serve(sock, &burst, repeats, &counter)
            })?;
        Ok(Blaster {
            addr,
            written,
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Bytes of events written to the socket so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Waits for the blaster thread (the client must have closed the connection).
    pub fn join(mut self) -> std::io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(std::io::Error::other("blaster thread panicked")),
            None => Ok(()),
        }
    }
}

/// The greeting, and the replies to `auth` and `event plain ...`: what a client reads before the
/// events (a raw reader counts them to know when the stream is over).
pub const GREETING: &str = "Content-Type: auth/request\n\n";
pub const AUTH_REPLY: &str = "Content-Type: command/reply\nReply-Text: +OK accepted\n\n";
pub const EVENT_REPLY: &str =
    "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n";

const CORE_UUID: &str = "79837521-6229-4110-a749-9697d6abe461";

fn serve(sock: TcpStream, burst: &Burst, repeats: u64, written: &AtomicU64) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut out = sock.try_clone()?;
    let mut input = BufReader::new(sock);
    out.write_all(GREETING.as_bytes())?;
    loop {
        let Some(command) = read_command(&mut input)? else {
            return Ok(());
        };
        let reply = match command.split(' ').next().unwrap_or("") {
            "auth" => AUTH_REPLY.to_owned(),
            "api" => {
                let body = format!("{CORE_UUID}\n");
                format!(
                    "Content-Type: api/response\nContent-Length: {}\n\n{body}",
                    body.len()
                )
            }
            "filter" => format!(
                "Content-Type: command/reply\nReply-Text: +OK filter added. [{}]\n\n",
                command.trim_start_matches("filter ")
            ),
            "event" => {
                out.write_all(EVENT_REPLY.as_bytes())?;
                break;
            }
            _ => "Content-Type: command/reply\nReply-Text: -ERR command not found\n\n".to_owned(),
        };
        out.write_all(reply.as_bytes())?;
    }
    for _ in 0..repeats {
        out.write_all(&burst.bytes)?;
        written.fetch_add(burst.bytes.len() as u64, Ordering::Relaxed);
    }
    // Keep the connection open until the client closes it, answering nothing more.
    while read_command(&mut input)?.is_some() {}
    Ok(())
}

/// One client command: its lines up to the blank line, first line returned.
fn read_command(input: &mut impl BufRead) -> std::io::Result<Option<String>> {
    let mut first = None;
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if first.is_some() {
                return Ok(first);
            }
            continue;
        }
        if first.is_none() {
            first = Some(line.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_event_frames_of_a_recording() {
        let raw = b"Content-Type: auth/request\n\n\
Content-Type: api/response\nContent-Length: 4\n\n+OK\n\
Content-Length: 16\nContent-Type: text/event-plain\n\nEvent-Name: DTMF\
Content-Type: text/disconnect-notice\nContent-Length: 3\n\nbye";
        let b = Burst::from_recording(raw).expect("burst");
        assert_eq!(b.events, 1);
        assert_eq!(
            b.bytes.as_slice(),
            b"Content-Length: 16\nContent-Type: text/event-plain\n\nEvent-Name: DTMF"
        );
    }

    #[test]
    fn refuses_truncated_recordings() {
        let raw = b"Content-Length: 99\nContent-Type: text/event-plain\n\nshort";
        assert!(matches!(
            Burst::from_recording(raw),
            Err(BurstError::BadLength { offset: 0 })
        ));
        assert!(matches!(
            Burst::from_recording(b"Content-Type: auth/request\n\n"),
            Err(BurstError::NoEvents)
        ));
    }
}
