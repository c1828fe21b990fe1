//! Faults on demand: dropped connections, delayed replies, chosen `-ERR` replies, slow-drip and split
//! frames (still decodable by the daemon's codec), hanging up a leg, and a restart with a new Core-UUID.

use crate::esl_client::Client;
use confpay_esl::{ContentType, EslCodec};
use confpay_sim::party::Party;
use confpay_sim::{SimConfig, Simulator};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;

async fn sim() -> Simulator {
    Simulator::start(SimConfig::default()).await.expect("sim")
}

#[tokio::test]
async fn drop_connections_closes_without_notice() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    s.faults().drop_connections();
    assert!(c.closed_within(Duration::from_secs(1)).await);
    assert!(
        c.frame_within(Duration::from_millis(50)).await.is_none(),
        "no disconnect notice"
    );
    // New connections are not affected by the earlier drop.
    let mut d = Client::login(s.esl_addr()).await;
    assert_eq!(
        d.api("uuid_exists 00000000-0000-0000-0000-000000000000")
            .await,
        "false"
    );
}

#[tokio::test]
async fn replies_can_be_delayed() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    s.faults().delay_replies(Some(Duration::from_millis(1000)));
    let t = Instant::now();
    assert_eq!(
        c.api("uuid_exists 00000000-0000-0000-0000-000000000000")
            .await,
        "false"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
    s.faults().delay_replies(None);
    let t = Instant::now();
    c.api("uuid_exists x").await;
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn chosen_commands_fail_once() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    s.faults().fail_next("api uuid_exists", "-ERR injected");
    s.faults().fail_next("event", "-ERR no keywords supplied");
    assert_eq!(c.api("uuid_exists abc").await, "-ERR injected\n");
    assert_eq!(c.api("uuid_exists abc").await, "false");
    c.cmd("event plain ALL").await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some("-ERR no keywords supplied")
    );
    c.cmd("event plain ALL").await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some("+OK event listener enabled plain")
    );
}

async fn decode_all_with_codec(s: &Simulator) -> Duration {
    let sock = tokio::net::TcpStream::connect(s.esl_addr())
        .await
        .expect("connect");
    let (r, mut w) = sock.into_split();
    let mut rd = FramedRead::new(r, EslCodec::default());
    let t = Instant::now();
    let f = rd.next().await.expect("frame").expect("decodes");
    assert_eq!(f.content_type, ContentType::AuthRequest);
    tokio::io::AsyncWriteExt::write_all(&mut w, b"auth ClueCon\n\napi uuid_exists nope\n\n")
        .await
        .expect("send");
    let f = rd.next().await.expect("frame").expect("decodes");
    assert_eq!(f.reply_text(), Some("+OK accepted"));
    let f = rd.next().await.expect("frame").expect("decodes");
    assert_eq!(f.content_type, ContentType::ApiResponse);
    assert_eq!(f.body_text().as_deref(), Some("false"));
    t.elapsed()
}

#[tokio::test]
async fn slow_drip_frames_still_decode() {
    let s = sim().await;
    s.faults().slow_drip(Some(Duration::from_millis(1)));
    let took = decode_all_with_codec(&s).await;
    // auth/request (28) + reply (54) + api/response (51) bytes, one write per byte.
    assert!(took >= Duration::from_millis(100), "{took:?}");
}

#[tokio::test]
async fn split_frames_still_decode() {
    let s = sim().await;
    s.faults().split_frames(Some(Duration::from_millis(40)));
    let took = decode_all_with_codec(&s).await;
    assert!(took >= Duration::from_millis(80), "{took:?}");
}

#[tokio::test]
async fn any_leg_can_be_hung_up_and_the_switch_restarted() {
    let s = sim().await;
    s.core().register_party("cust", Party::customer("cust"));
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain CHANNEL_HANGUP").await;
    c.reply().await;
    let r = c.api("originate {origination_uuid=f0000000-0000-4000-8000-000000000001}sofia/gateway/pstn/cust &park()").await;
    assert_eq!(r, "+OK f0000000-0000-4000-8000-000000000001\n");
    s.core()
        .hangup(
            "f0000000-0000-4000-8000-000000000001",
            "NETWORK_OUT_OF_ORDER",
        )
        .expect("hangup");
    let (ev, _) = c.wait_event("CHANNEL_HANGUP").await;
    assert_eq!(
        ev.event_header("Hangup-Cause").as_deref(),
        Some("NETWORK_OUT_OF_ORDER")
    );

    let old = s.core().core_uuid();
    s.core().register_party("cust", Party::customer("cust"));
    c.api("originate {origination_uuid=f0000000-0000-4000-8000-000000000002}sofia/gateway/pstn/cust &park()").await;
    s.restart();
    assert!(
        c.closed_within(Duration::from_secs(1)).await,
        "a restart drops every connection"
    );
    assert_ne!(s.core().core_uuid(), old);
    let mut d = Client::login(s.esl_addr()).await;
    assert_eq!(
        d.api("uuid_exists f0000000-0000-4000-8000-000000000002")
            .await,
        "false",
        "calls are gone"
    );
    d.cmd("event plain BACKGROUND_JOB").await;
    d.reply().await;
    d.cmd("bgapi uuid_exists x").await;
    d.reply().await;
    let (job, _) = d.wait_event("BACKGROUND_JOB").await;
    assert_eq!(job.event_header("Core-UUID"), Some(s.core().core_uuid()));
}
