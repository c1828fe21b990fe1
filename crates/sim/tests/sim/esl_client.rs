//! Shared helpers of the `esl_*` and `console` tests: a raw ESL client, the recordings' transcripts, and
//! normalization of values that legitimately differ between runs (uuids, numbers).

use confpay_esl::url::url_decode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl"
);

/// One frame as received: the header block (without the blank line) and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub head: String,
    pub body: Vec<u8>,
}

impl RawFrame {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(": ")?;
            n.eq_ignore_ascii_case(name).then_some(v)
        })
    }
    pub fn content_type(&self) -> &str {
        self.header("Content-Type").unwrap_or("")
    }
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// For a `text/event-plain` frame: the event's (name, url-decoded value) pairs and inner body.
    pub fn plain_event(&self) -> (Vec<(String, String)>, Option<String>) {
        let text = self.body_text();
        let (head, body) = match text.split_once("\n\n") {
            Some((h, b)) => (h.to_owned(), b.to_owned()),
            None => (text.trim_end_matches('\n').to_owned(), String::new()),
        };
        let mut pairs: Vec<(String, String)> = head
            .lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), url_decode(v)))
            .collect();
        let inner = if pairs.last().is_some_and(|(n, _)| n == "Content-Length") && !body.is_empty()
        {
            pairs.pop();
            Some(body)
        } else {
            None
        };
        (pairs, inner)
    }
    pub fn event_header(&self, name: &str) -> Option<String> {
        self.plain_event()
            .0
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
}

/// A raw ESL peer over TCP.
pub struct Client {
    pub sock: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub async fn connect(addr: std::net::SocketAddr) -> Client {
        Client {
            sock: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }
    pub fn from_stream(sock: TcpStream) -> Client {
        Client {
            sock,
            buf: Vec::new(),
        }
    }
    pub async fn send(&mut self, bytes: &[u8]) {
        self.sock.write_all(bytes).await.expect("send");
    }
    /// Sends `cmd` followed by the blank line.
    pub async fn cmd(&mut self, cmd: &str) {
        self.send(format!("{cmd}\n\n").as_bytes()).await;
    }
    fn take_frame(&mut self) -> Option<RawFrame> {
        take_frame(&mut self.buf)
    }
    /// The next frame, or `None` on EOF / after `wait` without one.
    pub async fn frame_within(&mut self, wait: Duration) -> Option<RawFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(f) = self.take_frame() {
                return Some(f);
            }
            let mut chunk = vec![0u8; 65536];
            match tokio::time::timeout_at(deadline, self.sock.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }
    pub async fn frame(&mut self) -> RawFrame {
        self.frame_within(Duration::from_secs(5))
            .await
            .expect("a frame within 5 s")
    }
    /// The next `command/reply` or `api/response`, skipping events.
    pub async fn reply(&mut self) -> RawFrame {
        loop {
            let f = self.frame().await;
            if !f.content_type().starts_with("text/event") {
                return f;
            }
        }
    }
    /// Sends `api <line>` and returns the body.
    pub async fn api(&mut self, line: &str) -> String {
        self.cmd(&format!("api {line}")).await;
        let f = self.reply().await;
        assert_eq!(f.content_type(), "api/response", "{line}");
        f.body_text()
    }
    /// Events until one named `name` (plain format) arrives; returns it and the ones before.
    pub async fn wait_event(&mut self, name: &str) -> (RawFrame, Vec<RawFrame>) {
        let mut seen = Vec::new();
        loop {
            let f = self.frame().await;
            if f.content_type() == "text/event-plain"
                && f.event_header("Event-Name").as_deref() == Some(name)
            {
                return (f, seen);
            }
            seen.push(f);
        }
    }
    /// True once the peer closed (EOF) within `wait`, after skipping any frames.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mut chunk = vec![0u8; 65536];
            match tokio::time::timeout_at(deadline, self.sock.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
                Err(_) => return false,
            }
        }
    }
    /// Authenticates with `ClueCon`.
    pub async fn login(addr: std::net::SocketAddr) -> Client {
        let mut c = Client::connect(addr).await;
        assert_eq!(c.frame().await.content_type(), "auth/request");
        c.cmd("auth ClueCon").await;
        assert_eq!(c.frame().await.header("Reply-Text"), Some("+OK accepted"));
        c
    }
}

/// Direction of a transcript chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// A transcript chunk: direction, seconds since connect, bytes.
pub type Chunk = (Dir, f64, Vec<u8>);

/// Reads `<name>.txt` into its chunks.
pub fn transcript(name: &str) -> Vec<Chunk> {
    let raw = std::fs::read(format!("{DIR}/{name}.txt")).expect("transcript");
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let eol = raw[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|p| i + p)
            .unwrap_or(raw.len());
        let line = String::from_utf8_lossy(&raw[i..eol]).into_owned();
        let dir = if line.starts_with(">>> ") {
            Some(Dir::ToServer)
        } else if line.starts_with("<<< ") {
            Some(Dir::ToClient)
        } else {
            None
        };
        match dir {
            Some(d) => {
                let len: usize = line
                    .split("len=")
                    .nth(1)
                    .and_then(|s| s.split(' ').next())
                    .and_then(|s| s.parse().ok())
                    .expect("len");
                let t: f64 = line
                    .split("t=+")
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("t");
                out.push((d, t, raw[eol + 1..eol + 1 + len].to_vec()));
                i = eol + 1 + len + 1;
            }
            None => i = eol + 1,
        }
    }
    out
}

/// Takes one complete frame off the front of `buf`.
pub fn take_frame(buf: &mut Vec<u8>) -> Option<RawFrame> {
    let end = buf.windows(2).position(|w| w == b"\n\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let clen = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    if buf.len() < end + 2 + clen {
        return None;
    }
    let body = buf[end + 2..end + 2 + clen].to_vec();
    buf.drain(..end + 2 + clen);
    Some(RawFrame { head, body })
}

/// Parses recorded server bytes into frames.
pub fn frames_of(bytes: &[u8]) -> Vec<RawFrame> {
    let mut buf = bytes.to_vec();
    let mut v = Vec::new();
    while let Some(f) = take_frame(&mut buf) {
        v.push(f);
    }
    v
}

/// Replaces uuids by `<uuid>` and digit runs by `#`.
pub fn normalize(s: &str) -> String {
    let b: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let is_uuid = |w: &[char]| {
        w.len() >= 36
            && w[..36].iter().enumerate().all(|(k, c)| {
                if [8, 13, 18, 23].contains(&k) {
                    *c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    while i < b.len() {
        if is_uuid(&b[i..]) {
            out.push_str("<uuid>");
            i += 36;
        } else if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push('#');
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
