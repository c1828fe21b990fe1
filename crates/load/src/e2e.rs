//! End-to-end ESL throughput: a [`Blaster`] writes recorded events over loopback TCP as fast as it
//! can; the daemon's own [`InboundClient`] authenticates, subscribes and delivers every event to a
//! consumer that reads headers of each one. Counts events (zero lost), measures MB/s and events/s,
//! and — with a consumer that stalls first — shows that memory stays bounded however fast the sender
//! is (the client stops reading the socket while its bounded event channel is full).

use super::blaster::{AUTH_REPLY, Blaster, Burst, EVENT_REPLY, GREETING};
use super::procstat;
use confpay_esl::client_error::ClientError;
use confpay_esl::command::{EventFormat, EventSet};
use confpay_esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
use std::time::{Duration, Instant};

/// One run's settings.
#[derive(Clone, Debug)]
pub struct E2eOptions {
    /// How many times the recording's events are sent.
    pub repeats: u64,
    /// Capacity of the client's event channel (the daemon uses 1024).
    pub event_buffer: usize,
    /// When set, the consumer reads nothing this long after the handshake, then drains.
    pub stall: Option<Duration>,
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct E2eReport {
    pub events_sent: u64,
    pub events_received: u64,
    pub bytes_sent: u64,
    /// From the subscription reply to the last event consumed (stall excluded).
    pub elapsed: Duration,
    /// Bytes the blaster had written, and this process's RSS, at the end of a stall.
    pub stalled_written: Option<u64>,
    pub stalled_rss_kib: Option<u64>,
    /// Headers read by the consumer (proof that it looked at every event).
    pub headers_read: u64,
    pub rss_before_kib: u64,
    pub peak_rss_kib: u64,
}

impl E2eReport {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes_sent as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn events_per_s(&self) -> f64 {
        self.events_received as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why a run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum E2eError {
    #[error("blaster: {0}")]
    Blaster(#[from] std::io::Error),
    #[error("inbound client: {0}")]
    Client(#[from] ClientError),
    #[error("event stream ended after {received} of {expected} events")]
    Ended { received: u64, expected: u64 },
}

/// A raw socket read of the same blast, decoding nothing: the client side's ceiling on this machine
/// (blocking reads into a 64 KiB buffer, on the calling thread). Returns the event bytes sent and
/// the time from sending `event plain ALL` to having read every byte.
pub fn raw_read(burst: &Burst, repeats: u64) -> Result<(u64, Duration), E2eError> {
    use std::io::{Read, Write};
    let blaster = Blaster::start(burst.clone(), repeats)?;
    let mut sock = std::net::TcpStream::connect(blaster.addr())?;
    let events_len = burst.bytes.len() as u64 * repeats;
    let total = (GREETING.len() + AUTH_REPLY.len() + EVENT_REPLY.len()) as u64 + events_len;
    let started = Instant::now();
    sock.write_all(b"auth ClueCon\n\nevent plain ALL\n\n")?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = 0u64;
    while read < total {
        match sock.read(&mut buf)? {
            0 => {
                return Err(E2eError::Ended {
                    received: read,
                    expected: total,
                });
            }
            n => read += n as u64,
        }
    }
    let elapsed = started.elapsed();
    drop(sock);
    blaster.join()?;
    Ok((events_len, elapsed))
}

/// Runs one blast against the inbound client (inside a tokio runtime).
pub async fn run(burst: &Burst, opts: &E2eOptions) -> Result<E2eReport, E2eError> {
    let rss_before_kib = procstat::memory().map_or(0, |m| m.rss_kib);
    let blaster = Blaster::start(burst.clone(), opts.repeats)?;
    let config = InboundConfig {
        addr: blaster.addr().to_string(),
        event_buffer: opts.event_buffer,
        subscription: Subscription {
            format: EventFormat::Plain,
            events: EventSet::new().events(["ALL"]),
            filters: Vec::new(),
        },
        ..InboundConfig::default()
    };
    let (client, mut events) = InboundClient::connect(config).await?;
    let started = Instant::now();
    let (mut stalled_written, mut stalled_rss_kib) = (None, None);
    let mut stall_time = Duration::ZERO;
    if let Some(stall) = opts.stall {
        tokio::time::sleep(stall).await;
        stall_time = stall;
        stalled_written = Some(blaster.written());
        stalled_rss_kib = procstat::memory().map(|m| m.rss_kib);
    }
    let expected = burst.events * opts.repeats;
    let mut received = 0u64;
    let mut headers_read = 0u64;
    while received < expected {
        match events.recv().await {
            Some(ClientEvent::Event(e, _)) => {
                received += 1;
                // Read the event as a consumer would: its name, its channel, every header.
                let named = u64::from(e.name().is_some()) + u64::from(e.unique_id().is_some());
                headers_read += named + e.headers.iter().count() as u64;
            }
            Some(ClientEvent::Connected { .. }) => {}
            Some(ClientEvent::Disconnected { .. }) | None => {
                return Err(E2eError::Ended { received, expected });
            }
        }
    }
    let elapsed = started.elapsed().saturating_sub(stall_time);
    client.shutdown();
    drop(events);
    let bytes_sent = blaster.written();
    // The blaster ends when our socket closes, which the client's task does on this runtime.
    match tokio::task::spawn_blocking(move || blaster.join()).await {
        Ok(r) => r?,
        Err(e) => return Err(E2eError::Blaster(std::io::Error::other(e.to_string()))),
    }
    Ok(E2eReport {
        events_sent: expected,
        events_received: received,
        bytes_sent,
        elapsed,
        stalled_written,
        stalled_rss_kib,
        headers_read,
        rss_before_kib,
        peak_rss_kib: procstat::memory().map_or(0, |m| m.peak_kib),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn burst() -> Burst {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/freeswitch-esl/inbound-events-plain-all.raw"
        );
        let raw = std::fs::read(path).expect("fixture");
        Burst::from_recording(&raw).expect("burst")
    }

    #[tokio::test]
    async fn every_blasted_event_reaches_the_consumer() {
        let b = burst();
        assert_eq!(b.events, 58);
        let opts = E2eOptions {
            repeats: 20,
            event_buffer: 16,
            stall: None,
        };
        let r = run(&b, &opts).await.expect("run");
        assert_eq!(r.events_sent, 58 * 20);
        assert_eq!(r.events_received, 58 * 20);
        assert_eq!(r.bytes_sent, b.bytes.len() as u64 * 20);
        assert!(r.headers_read > r.events_received * 10, "{r:?}");
    }

    #[test]
    fn the_raw_read_gets_every_byte() {
        let b = burst();
        let (bytes, _) = raw_read(&b, 20).expect("raw read");
        assert_eq!(bytes, b.bytes.len() as u64 * 20);
    }

    #[tokio::test]
    async fn a_stalled_consumer_stops_the_sender() {
        let b = burst();
        // ~27 MB offered; the stalled client may hold only its channel, one read buffer and the
        // kernel's socket buffers.
        let opts = E2eOptions {
            repeats: 200,
            event_buffer: 16,
            stall: Some(Duration::from_millis(300)),
        };
        let r = run(&b, &opts).await.expect("run");
        let total = b.bytes.len() as u64 * 200;
        let stalled = r.stalled_written.expect("stall measured");
        assert!(stalled < total / 2, "sender got {stalled} of {total} out");
        assert_eq!(r.events_received, 58 * 200);
    }
}
