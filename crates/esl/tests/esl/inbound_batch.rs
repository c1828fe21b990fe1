//! The connection driver hands on every complete frame of one socket read in the same turn (not
//! one frame per turn of its loop): events, command replies and a job's result written in one piece
//! must still each go where they belong, in order, also when the consumer's channel fills in the
//! middle of that piece (the driver then stops and resumes exactly where it stopped).

use crate::fake_switch::{api_response, plain_event, read_command, send};
use crate::inbound_client::{accept_handshake, config, header_of, listener, next};
use confpay_esl::inbound::{ClientEvent, InboundClient};
use std::time::Duration;

/// Events `from..to` as `CHANNEL_CREATE`s numbered by `Event-Sequence`.
fn events(from: u32, to: u32, out: &mut Vec<u8>) {
    for seq in from..to {
        let seq = seq.to_string();
        out.extend(plain_event(
            &[("Event-Name", "CHANNEL_CREATE"), ("Event-Sequence", &seq)],
            None,
        ));
    }
}

#[tokio::test]
async fn one_read_of_events_replies_and_a_job_result_is_routed_in_order() {
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        let api = read_command(&mut sock).await.expect("api");
        assert_eq!(api, b"api status\n\n");
        let bgapi = String::from_utf8(read_command(&mut sock).await.expect("bgapi")).expect("u");
        let job = header_of(&bgapi, "Job-UUID");
        let mut piece = Vec::new();
        events(0, 40, &mut piece);
        piece.extend(api_response("+OK up\n"));
        piece.extend(
            format!(
                "Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n"
            )
            .as_bytes(),
        );
        events(40, 60, &mut piece);
        piece.extend(plain_event(
            &[("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", &job)],
            Some("+OK done\n"),
        ));
        events(60, 80, &mut piece);
        // One write: the client reads it in as few reads as the socket allows.
        send(&mut sock, &piece).await;
        sock
    });
    let mut cfg = config(&addr);
    // Smaller than one read's worth of events: the channel fills in the middle of the piece.
    cfg.event_buffer = 4;
    let (client, mut rx) = InboundClient::connect(cfg).await.expect("connect");
    assert!(matches!(next(&mut rx).await, ClientEvent::Connected { .. }));
    let c = client.clone();
    let api = tokio::spawn(async move { c.api("status").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let c = client.clone();
    let job = tokio::spawn(async move { c.bgapi("status").await });
    let mut got = Vec::new();
    while got.len() < 80 {
        match next(&mut rx).await {
            ClientEvent::Event(e, _) => {
                assert_eq!(
                    e.name(),
                    Some("CHANNEL_CREATE"),
                    "the job result is not passed on"
                );
                got.push(
                    e.get("Event-Sequence")
                        .expect("seq")
                        .parse::<u32>()
                        .expect("n"),
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, (0..80).collect::<Vec<_>>());
    let api = api.await.expect("join").expect("api reply");
    assert_eq!(api.text(), "+OK up");
    assert_eq!(job.await.expect("join").expect("job result"), "+OK done\n");
    assert!(rx.try_recv().is_err(), "nothing else was delivered");
    let _sock = peer.await.expect("peer");
}
