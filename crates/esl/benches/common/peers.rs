//! The contenders run side by side on the same corpus, each through the public API it offers:
//!
//! - ours: `EslCodec` + `Frame::event()` directly on a buffer, through `FramedRead` over an in-memory
//!   stream, and through `FramedRead` over loopback TCP;
//! - `eslrs` 0.1.0-rc.3: no public parser, only `ESLConnection<S: AsyncRead + AsyncWrite>`: fed the
//!   in-memory stream and loopback TCP; plain events through `PlainEvent::try_from`, json through its
//!   `JsonEvent` (`serde_json::Value`). It has no xml decoder;
//! - `freeswitch-esl-tokio` 2.8.0: no public parser, only `EslClient` over a `tokio::net::TcpStream`:
//!   fed over loopback TCP (`adopt_stream_with_options`, no handshake), its event queue set to block
//!   rather than drop so every event is counted.
//!
//! - ours end to end: the daemon's own `InboundClient` (handshake, driver task, bounded event
//!   channel of 1024 as in the daemon) against a writer thread that answers the handshake as
//!   FreeSWITCH does and then writes the corpus;
//! - a raw read of the same bytes over loopback TCP, decoding nothing: the socket's own limit.
//!
//! Each returns the number of events it decoded; the caller checks it against the corpus.

use crate::common::{MemStream, consume, consume_event, runtime};
use bytes::Bytes;
use confpay_esl::EslCodec;
use futures_util::StreamExt;
use std::io::Write;
use std::time::Duration;
use tokio_util::codec::FramedRead;

/// Ours through `FramedRead` over the in-memory stream (same read sizes as eslrs gets).
pub fn confpay_framed_mem(data: Bytes) -> usize {
    runtime().block_on(confpay_framed(MemStream::new(data)))
}

/// Ours through `FramedRead` over loopback TCP.
pub fn confpay_tcp(data: Bytes) -> usize {
    over_tcp(data, confpay_framed)
}

async fn confpay_framed<S: tokio::io::AsyncRead + Unpin>(stream: S) -> usize {
    let mut frames = FramedRead::with_capacity(stream, EslCodec::default(), 64 * 1024);
    let mut events = 0;
    let mut seen = 0;
    while let Some(frame) = frames.next().await {
        let frame = frame.expect("corpus decodes");
        if let Some(event) = frame.event().expect("event decodes") {
            seen += consume_event(&event);
            events += 1;
        }
    }
    std::hint::black_box(seen);
    events
}

/// Ours end to end through `InboundClient` over loopback TCP (subscribed `event plain ALL`), the
/// consumer reading what every contender reads. Returns the events it received.
pub fn confpay_inbound_tcp(data: Bytes) -> usize {
    use confpay_esl::command::{EventFormat, EventSet};
    use confpay_esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let switch = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        serve_switch(sock, &data);
    });
    let events = runtime().block_on(async move {
        let config = InboundConfig {
            addr: addr.to_string(),
            subscription: Subscription {
                format: EventFormat::Plain,
                events: EventSet::new().events(["ALL"]),
                filters: Vec::new(),
            },
            ..InboundConfig::default()
        };
        let (client, mut rx) = InboundClient::connect(config).await.expect("connect");
        let (mut events, mut seen) = (0, 0);
        // The writer closes after the corpus: `Disconnected` follows the last event.
        while let Some(item) = rx.recv().await {
            match item {
                ClientEvent::Event(e, _) => {
                    seen += consume_event(&e);
                    events += 1;
                }
                ClientEvent::Connected { .. } => {}
                ClientEvent::Disconnected { .. } => break,
            }
        }
        client.shutdown();
        std::hint::black_box(seen);
        events
    });
    switch.join().expect("switch thread");
    events
}

/// FreeSWITCH's side of the inbound handshake (`auth/request`; `auth`, `api global_getvar
/// core_uuid`, `event plain ALL` answered as `mod_event_socket` does), then `data`, then EOF.
fn serve_switch(sock: std::net::TcpStream, data: &[u8]) {
    use std::io::BufRead;
    let mut out = sock.try_clone().expect("clone socket");
    let mut input = std::io::BufReader::new(sock);
    out.write_all(b"Content-Type: auth/request\n\n")
        .expect("greeting");
    let mut command = String::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).expect("read command") == 0 {
            return;
        }
        if line.trim_end().is_empty() {
            let reply = match command.split(' ').next().unwrap_or("") {
                "auth" => "Content-Type: command/reply\nReply-Text: +OK accepted\n\n".to_owned(),
                "api" => "Content-Type: api/response\nContent-Length: 37\n\n\
                          79837521-6229-4110-a749-9697d6abe461\n"
                    .to_owned(),
                "event" => {
                    "Content-Type: command/reply\nReply-Text: +OK event listener enabled plain\n\n"
                        .to_owned()
                }
                other => panic!("unexpected command {other:?}"),
            };
            out.write_all(reply.as_bytes()).expect("reply");
            if command.starts_with("event ") {
                break;
            }
            command.clear();
        } else if command.is_empty() {
            command = line.trim_end().to_owned();
        }
    }
    out.write_all(data).expect("write corpus");
    out.shutdown(std::net::Shutdown::Write).expect("shutdown");
    // Keep the socket open until the client is done (a reset could lose buffered bytes).
    let mut sink = [0u8; 1024];
    while matches!(std::io::Read::read(&mut input, &mut sink), Ok(n) if n > 0) {}
}

/// No decoder at all: the bytes read off loopback TCP into a 64 KiB buffer (what the socket gives,
/// the ceiling for every TCP row). Returns the bytes read.
pub fn raw_tcp(data: Bytes) -> usize {
    over_tcp(data, |mut stream| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        loop {
            match stream.read(&mut buf).await.expect("read loopback") {
                0 => return total,
                n => total += n,
            }
        }
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Plain,
    Json,
}

pub fn eslrs_mem(data: Bytes, format: Format) -> usize {
    runtime().block_on(eslrs_conn(MemStream::new(data), format))
}

pub fn eslrs_tcp(data: Bytes, format: Format) -> usize {
    over_tcp(data, move |s| eslrs_conn(s, format))
}

async fn eslrs_conn<S>(stream: S, format: Format) -> usize
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut conn = eslrs::ESLConnection::new(stream);
    let mut events = 0;
    let mut seen = 0;
    while let Ok(event) = conn.recv().await {
        seen += match format {
            Format::Plain => {
                let Ok(e) = eslrs::event::PlainEvent::try_from(event);
                consume(e.get_header("Event-Name"), e.get_header("Unique-ID"))
            }
            Format::Json => {
                let v = eslrs::event::JsonEvent::try_from(event).expect("eslrs json");
                consume(
                    v.get("Event-Name").and_then(|v| v.as_str()),
                    v.get("Unique-ID").and_then(|v| v.as_str()),
                )
            }
        };
        events += 1;
    }
    std::hint::black_box(seen);
    events
}

/// freeswitch-esl-tokio over loopback TCP. `block` false keeps its default queue (1000 events,
/// drop when full): then the result counts only what it delivered.
pub fn fet_tcp(data: Bytes, block: bool) -> usize {
    use freeswitch_esl_tokio::connection::{EslClient, EslConnectOptions, EventOverflow};
    over_tcp(data, move |stream| async move {
        let mut options = EslConnectOptions::new();
        if block {
            options = options.with_event_overflow(EventOverflow::BlockFor(Duration::from_secs(60)));
        }
        let (_client, mut events_rx) =
            EslClient::adopt_stream_with_options(stream, &[], options).expect("adopt");
        let mut events = 0;
        let mut seen = 0;
        while let Some(item) = events_rx.recv().await {
            // A `QueueFull` notice is not an event; anything else is one decoded event.
            if let Ok(e) = item {
                seen += consume(e.header_str("Event-Name"), e.header_str("Unique-ID"));
                events += 1;
            }
        }
        std::hint::black_box(seen);
        events
    })
}

/// Serves `data` from a writer thread over loopback TCP, runs `read` on the accepted socket on a
/// single-threaded runtime.
fn over_tcp<F, Fut>(data: Bytes, read: F) -> usize
where
    F: FnOnce(tokio::net::TcpStream) -> Fut,
    Fut: Future<Output = usize>,
{
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let writer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).expect("connect loopback");
            s.write_all(&data).expect("write corpus");
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            // Keep the socket open until the reader is done (a reset could lose buffered bytes).
            let mut sink = [0u8; 1024];
            while matches!(std::io::Read::read(&mut s, &mut sink), Ok(n) if n > 0) {}
        });
        let (stream, _) = listener.accept().await.expect("accept");
        let n = read(stream).await;
        writer.join().expect("writer thread");
        n
    })
}
