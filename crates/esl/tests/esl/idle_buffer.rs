//! The connection driver of an idle-most-of-the-time connection (outbound sessions: the read
//! buffer given back whenever every frame read was handed on, a new one taken on the next readable
//! byte) against a peer that cuts its stream anywhere: events from empty to 24 KiB, split at random
//! byte positions with pauses between the pieces (so the driver goes idle in the middle of a frame
//! and between frames), `api` replies in among them, a consumer with a one-slot channel that is
//! sometimes slow. Every event arrives once and in order, every reply goes to its own caller, and
//! the close is reported after the last event.

use confpay_esl::connection::{self, Delivery, DriverOptions, Timeouts};
use confpay_esl::{EslCodec, Event};
use confpay_esl::{client_error::LossReason, reply::DisconnectNotice};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

const EVENTS: usize = 300;
const APIS: usize = 40;

enum Got {
    Event(Box<Event>),
    Closed(LossReason),
}

impl Delivery for Got {
    fn event(event: Event) -> Got {
        Got::Event(Box::new(event))
    }
    fn notice(_: DisconnectNotice) -> Option<Got> {
        None
    }
    fn closed(reason: LossReason) -> Option<Got> {
        Some(Got::Closed(reason))
    }
}

/// A small deterministic generator (no dependency, and a failing seed can be replayed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

fn event_frame(seq: usize, padding: usize) -> Vec<u8> {
    let body = format!(
        "Event-Name: CUSTOM\nSeq: {seq}\nPadding: {}\n\n",
        "x".repeat(padding)
    );
    let mut f = format!(
        "Content-Length: {}\nContent-Type: text/event-plain\n\n",
        body.len()
    )
    .into_bytes();
    f.extend_from_slice(body.as_bytes());
    f
}

fn api_frame(body: &str) -> Vec<u8> {
    format!(
        "Content-Type: api/response\nContent-Length: {}\n\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads `api <x>\n\n` requests and hands each `x` to the writer, in order.
async fn read_requests(mut rd: tokio::net::tcp::OwnedReadHalf, to_writer: mpsc::Sender<String>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let req: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8(req).expect("utf-8 request");
            let arg = text
                .trim_end()
                .strip_prefix("api ")
                .expect("an api request");
            if to_writer.send(arg.to_owned()).await.is_err() {
                return;
            }
        }
        match rd.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Writes the events and, as requests come in, their replies, each frame cut at random places
/// with pauses; closes once every event and every reply is out.
async fn write_stream(
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    mut requests: mpsc::Receiver<String>,
    seed: u64,
) {
    let mut rng = Lcg(seed);
    let (mut seq, mut replied) = (0, 0);
    while seq < EVENTS || replied < APIS {
        let frame = match requests.try_recv() {
            Ok(arg) => {
                replied += 1;
                api_frame(&arg)
            }
            Err(_) if seq < EVENTS => {
                seq += 1;
                let padding = [0, 10, 3000, 4090, 9000, 24 * 1024][rng.below(6)];
                event_frame(seq, padding)
            }
            Err(_) => {
                replied += 1;
                api_frame(&requests.recv().await.expect("a request"))
            }
        };
        let mut at = 0;
        while at < frame.len() {
            let piece = 1 + rng.below(frame.len() - at);
            wr.write_all(&frame[at..at + piece]).await.expect("write");
            at += piece;
            if rng.below(4) == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    wr.shutdown().await.expect("close");
}

async fn one_run(seed: u64, slots: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let peer = TcpStream::connect(listener.local_addr().expect("addr"))
        .await
        .expect("connect");
    let (ours, _) = listener.accept().await.expect("accept");
    let (rd, wr) = peer.into_split();
    let (req_tx, req_rx) = mpsc::channel(APIS);
    tokio::spawn(read_requests(rd, req_tx));
    tokio::spawn(write_stream(wr, req_rx, seed));

    let (events_tx, mut events) = mpsc::channel::<Got>(slots);
    let options = DriverOptions {
        timeouts: Timeouts {
            command: Duration::from_secs(20),
            job: Duration::from_secs(20),
        },
        forward_unmatched_jobs: false,
        label: format!("stress seed {seed}"),
        idle_read_buffer: Some(4096),
    };
    let stream = FramedRead::with_capacity(ours, EslCodec::default(), 0);
    let (handle, driver) = connection::spawn(stream, events_tx, options, CancellationToken::new());

    // The driver ends once every handle is gone: this one lives until the peer's close is seen.
    let keep = handle.clone();
    let apis = tokio::spawn(async move {
        let calls = (0..APIS).map(|k| {
            let h = handle.clone();
            async move { (k, h.api(&format!("r{k}")).await) }
        });
        for (k, reply) in futures_util::future::join_all(calls).await {
            let body = reply.expect("answered").body;
            assert_eq!(
                body,
                format!("r{k}"),
                "seed {seed}: reply to its own caller"
            );
        }
    });

    let mut rng = Lcg(seed ^ 0x5eed);
    for want in 1..=EVENTS {
        match events.recv().await.expect("an event") {
            Got::Event(e) => {
                let seq = e.get("Seq").map(str::to_owned);
                assert_eq!(seq, Some(want.to_string()), "seed {seed}: events in order");
            }
            Got::Closed(why) => panic!("seed {seed}: closed after {} events: {why}", want - 1),
        }
        if rng.below(10) == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    apis.await.expect("every api answered in order");
    match events.recv().await {
        Some(Got::Closed(LossReason::PeerClosed { .. })) => {}
        Some(Got::Event(e)) => panic!("seed {seed}: an event too many: {:?}", e.get("Seq")),
        other => panic!(
            "seed {seed}: want the peer's close, got {}",
            other.map_or("nothing".to_owned(), |g| match g {
                Got::Closed(why) => why.to_string(),
                Got::Event(_) => unreachable!(),
            })
        ),
    }
    drop(keep);
    assert!(matches!(
        driver.await.expect("driver"),
        LossReason::PeerClosed { .. }
    ));
}

#[tokio::test]
async fn a_stream_cut_anywhere_arrives_whole_and_in_order_with_the_buffer_given_back_when_idle() {
    let run = async {
        for seed in 1..=4 {
            one_run(seed, if seed % 2 == 0 { 1 } else { 64 }).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("no hang");
}
