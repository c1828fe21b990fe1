//! Test helpers: a reader for the recorded ESL transcripts (`*.txt` fixtures) and small fake-peer tools.

use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl"
);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `>>>`: the controller (us) sent it.
    ClientToServer,
    /// `<<<`: FreeSWITCH sent it (one complete frame per chunk).
    ServerToClient,
}

#[derive(Clone, Debug)]
pub struct Chunk {
    pub dir: Dir,
    pub bytes: Vec<u8>,
}

/// Reads `<name>.txt` into its chunks, in order.
pub fn transcript(name: &str) -> Vec<Chunk> {
    let path: PathBuf = [FIXTURES, &format!("{name}.txt")].iter().collect();
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    let mut chunks = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let end = data[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |p| i + p);
        let line = std::str::from_utf8(&data[i..end]).unwrap_or("");
        let dir = if line.starts_with(">>> ") {
            Some(Dir::ClientToServer)
        } else if line.starts_with("<<< ") {
            Some(Dir::ServerToClient)
        } else {
            None
        };
        match dir {
            Some(dir) => {
                let len: usize = line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("len="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("bad marker line {line:?}"));
                let start = end + 1;
                chunks.push(Chunk {
                    dir,
                    bytes: data[start..start + len].to_vec(),
                });
                i = start + len + 1;
            }
            None => i = end + 1,
        }
    }
    chunks
}

/// The bytes the controller sent, in order.
pub fn client_chunks(name: &str) -> Vec<Vec<u8>> {
    transcript(name)
        .into_iter()
        .filter(|c| c.dir == Dir::ClientToServer)
        .map(|c| c.bytes)
        .collect()
}

/// The frames FreeSWITCH sent, in order.
pub fn server_chunks(name: &str) -> Vec<Vec<u8>> {
    transcript(name)
        .into_iter()
        .filter(|c| c.dir == Dir::ServerToClient)
        .map(|c| c.bytes)
        .collect()
}

/// The server chunk that follows the `n`-th client chunk (the reply to it), and any further server chunks
/// up to the next client chunk.
pub fn replies_after(name: &str, client_index: usize) -> Vec<Vec<u8>> {
    let mut seen = 0usize;
    let mut out = Vec::new();
    let mut collecting = false;
    for c in transcript(name) {
        match c.dir {
            Dir::ClientToServer => {
                if collecting {
                    break;
                }
                if seen == client_index {
                    collecting = true;
                }
                seen += 1;
            }
            Dir::ServerToClient => {
                if collecting {
                    out.push(c.bytes);
                }
            }
        }
    }
    out
}

/// Reads one client command (up to and including the blank line, plus a `Content-Length` body if any).
pub async fn read_command(sock: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), sock.read(&mut byte)).await {
            Ok(Ok(1)) => buf.push(byte[0]),
            _ => return None,
        }
        if buf.ends_with(b"\n\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf).to_string();
    let clen = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|n| n.trim().parse::<usize>().ok());
    if let Some(n) = clen {
        let mut body = vec![0u8; n];
        sock.read_exact(&mut body).await.ok()?;
        buf.extend_from_slice(&body);
    }
    Some(buf)
}

pub async fn send(sock: &mut TcpStream, bytes: &[u8]) {
    sock.write_all(bytes).await.expect("fake peer write");
}

/// A `command/reply` frame.
pub fn reply(text: &str) -> Vec<u8> {
    format!("Content-Type: command/reply\nReply-Text: {text}\n\n").into_bytes()
}

/// An `api/response` frame.
pub fn api_response(body: &str) -> Vec<u8> {
    format!(
        "Content-Type: api/response\nContent-Length: {}\n\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A `text/event-plain` frame with the given (already URL-encoded) headers and optional body.
pub fn plain_event(headers: &[(&str, &str)], body: Option<&str>) -> Vec<u8> {
    let mut inner = String::new();
    for (n, v) in headers {
        inner.push_str(&format!("{n}: {v}\n"));
    }
    if let Some(b) = body {
        inner.push_str(&format!("Content-Length: {}\n\n{b}", b.len()));
    } else {
        inner.push('\n');
    }
    format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n{inner}",
        inner.len()
    )
    .into_bytes()
}

pub const AUTH_REQUEST: &[u8] = b"Content-Type: auth/request\n\n";
