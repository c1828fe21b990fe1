//! Inbound client against fake FreeSWITCH peers on 127.0.0.1:0 that speak the recorded bytes.

use crate::fake_switch::{
    AUTH_REQUEST, api_response, client_chunks, plain_event, read_command, replies_after, reply,
    send, server_chunks,
};
use confpay_esl::client_error::{ClientError, LossReason};
use confpay_esl::command::{EventFormat, EventSet};
use confpay_esl::inbound::{ClientEvent, InboundClient, InboundConfig, Subscription};
use confpay_esl::secret::Secret;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const CORE_UUID: &str = "79837521-6229-4110-a749-9697d6abe461";

pub(crate) async fn listener() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    (l, addr)
}

pub(crate) fn config(addr: &str) -> InboundConfig {
    InboundConfig {
        addr: addr.to_owned(),
        password: Secret::new("ClueCon"),
        command_timeout: Duration::from_secs(5),
        job_timeout: Duration::from_secs(5),
        reconnect_initial: Duration::from_millis(20),
        reconnect_max: Duration::from_millis(100),
        event_buffer: 16,
        subscription: Subscription {
            format: EventFormat::Plain,
            events: EventSet::new().event("CHANNEL_CREATE"),
            filters: Vec::new(),
        },
        ..InboundConfig::default()
    }
}

/// Accepts one connection and plays FreeSWITCH's side of auth + subscription, answering every
/// handshake command; returns the socket and the commands the client sent, in order.
pub(crate) async fn accept_handshake(l: &TcpListener) -> (TcpStream, Vec<String>) {
    let (mut sock, _) = l.accept().await.expect("accept");
    send(&mut sock, AUTH_REQUEST).await;
    let mut seen = Vec::new();
    loop {
        let cmd = read_command(&mut sock).await.expect("handshake command");
        let text = String::from_utf8(cmd).expect("utf8");
        let answer = if text.starts_with("auth ") {
            reply("+OK accepted")
        } else if text.starts_with("filter ") {
            reply("+OK filter added.")
        } else if text.starts_with("api global_getvar core_uuid") {
            api_response(CORE_UUID)
        } else if text.starts_with("event ") {
            reply("+OK event listener enabled plain")
        } else {
            panic!("unexpected handshake command {text:?}");
        };
        let done = text.starts_with("event ");
        seen.push(text);
        send(&mut sock, &answer).await;
        if done {
            return (sock, seen);
        }
    }
}

pub(crate) async fn next(events: &mut mpsc::Receiver<ClientEvent>) -> ClientEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an event in time")
        .expect("stream open")
}

pub(crate) fn header_of(command: &str, name: &str) -> String {
    command
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {command:?}"))
        .to_owned()
}

#[tokio::test]
async fn auth_ok_and_api_reply_replayed_from_the_recording() {
    let f = "inbound-auth-and-api";
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = l.accept().await.expect("accept");
        let server = server_chunks(f);
        send(&mut sock, &server[0]).await; // auth/request
        let auth = read_command(&mut sock).await.expect("auth");
        assert_eq!(auth, client_chunks(f)[0]);
        send(&mut sock, &server[1]).await; // +OK accepted
        let core = read_command(&mut sock).await.expect("core uuid");
        assert_eq!(core, b"api global_getvar core_uuid\n\n");
        send(&mut sock, &api_response(CORE_UUID)).await;
        let event = read_command(&mut sock).await.expect("event");
        assert_eq!(event, b"event plain CHANNEL_CREATE BACKGROUND_JOB\n\n");
        send(&mut sock, &reply("+OK event listener enabled plain")).await;
        let api = read_command(&mut sock).await.expect("api");
        assert_eq!(api, client_chunks(f)[1]);
        for chunk in replies_after(f, 1) {
            send(&mut sock, &chunk).await;
        }
        sock
    });
    let (client, mut events) = InboundClient::connect(config(&addr))
        .await
        .expect("connect");
    assert_eq!(
        next(&mut events).await,
        ClientEvent::Connected {
            core_uuid: Some(CORE_UUID.to_owned())
        }
    );
    let status = client.api("status").await.expect("api status");
    assert!(
        status.body.starts_with("UP 0 years, 0 days"),
        "{:?}",
        status.body
    );
    assert!(
        status
            .body
            .contains("FreeSWITCH (Version 1.11.3-dev  64bit) is ready")
    );
    assert!(!status.is_err());
    assert!(client.is_connected());
    let _sock = peer.await.expect("peer");
}

#[tokio::test]
async fn wrong_password_is_auth_failed_and_not_retried() {
    let f = "inbound-auth-wrong-password";
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = l.accept().await.expect("accept");
        let server = server_chunks(f);
        send(&mut sock, &server[0]).await;
        let auth = read_command(&mut sock).await.expect("auth");
        assert_eq!(auth, client_chunks(f)[0]);
        for chunk in &server[1..] {
            send(&mut sock, chunk).await; // -ERR invalid, disconnect-notice
        }
        drop(sock);
        // No second attempt may follow.
        tokio::time::timeout(Duration::from_millis(300), l.accept())
            .await
            .is_err()
    });
    let mut cfg = config(&addr);
    cfg.password = Secret::new("notthepassword");
    let result = InboundClient::connect(cfg).await;
    assert!(matches!(result, Err(ClientError::AuthFailed)), "{result:?}");
    assert!(
        peer.await.expect("peer"),
        "the client retried after -ERR invalid"
    );
}

#[tokio::test]
async fn bgapi_is_correlated_by_job_uuid_across_an_unrelated_event_and_a_foreign_job() {
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        let first = String::from_utf8(read_command(&mut sock).await.expect("bgapi 1")).expect("u");
        let second = String::from_utf8(read_command(&mut sock).await.expect("bgapi 2")).expect("u");
        let job1 = header_of(&first, "Job-UUID");
        let job2 = header_of(&second, "Job-UUID");
        assert_ne!(job1, job2);
        for (cmd, job) in [(&first, &job1), (&second, &job2)] {
            assert!(cmd.starts_with("bgapi "), "{cmd:?}");
            send(
                &mut sock,
                format!(
                    "Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n"
                )
                .as_bytes(),
            )
            .await;
        }
        let job = |uuid: &str, body: &str| {
            plain_event(
                &[
                    ("Event-Name", "BACKGROUND_JOB"),
                    ("Job-UUID", uuid),
                    ("Job-Command", "originate"),
                ],
                Some(body),
            )
        };
        send(
            &mut sock,
            &plain_event(
                &[("Event-Name", "CHANNEL_CREATE"), ("Unique-ID", "u-1")],
                None,
            ),
        )
        .await;
        send(
            &mut sock,
            &job("99999999-0000-4000-8000-000000000000", "+OK foreign\n"),
        )
        .await;
        // Each job's output names its own leg; answer the job read second first.
        let leg = |cmd: &str| if cmd.contains("loopback/a") { "a" } else { "b" };
        send(&mut sock, &job(&job2, &format!("+OK {}\n", leg(&second)))).await;
        send(&mut sock, &job(&job1, &format!("+OK {}\n", leg(&first)))).await;
        sock
    });
    let (client, mut events) = InboundClient::connect(config(&addr))
        .await
        .expect("connect");
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    let c1 = client.clone();
    let first = tokio::spawn(async move { c1.bgapi("originate loopback/a &park()").await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = client.bgapi("originate loopback/b &park()").await;
    assert_eq!(second.expect("job b"), "+OK b\n");
    assert_eq!(first.await.expect("join").expect("job a"), "+OK a\n");
    match next(&mut events).await {
        ClientEvent::Event(e, _) => {
            assert_eq!(e.name(), Some("CHANNEL_CREATE"));
            assert_eq!(e.unique_id(), Some("u-1"));
        }
        other => panic!("expected the unrelated event, got {other:?}"),
    }
    // The foreign job is not delivered: the user did not subscribe to BACKGROUND_JOB.
    assert!(events.try_recv().is_err());
    let _sock = peer.await.expect("peer");
}

#[tokio::test]
async fn a_command_times_out_and_its_late_reply_does_not_shift_the_fifo() {
    let (l, addr) = listener().await;
    let (late_tx, late_rx) = tokio::sync::oneshot::channel::<()>();
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        let slow = read_command(&mut sock).await.expect("slow api");
        assert_eq!(slow, b"api slow\n\n");
        late_rx.await.expect("go");
        send(&mut sock, &api_response("late answer")).await;
        let fast = read_command(&mut sock).await.expect("second api");
        assert_eq!(fast, b"api fast\n\n");
        send(&mut sock, &api_response("fast answer")).await;
        sock
    });
    let mut cfg = config(&addr);
    cfg.command_timeout = Duration::from_secs(3);
    let (client, _events) = InboundClient::connect(cfg).await.expect("connect");
    tokio::time::pause();
    let result = client.api("slow").await;
    tokio::time::resume();
    match result {
        Err(ClientError::Timeout { command, after }) => {
            assert_eq!(command, "api");
            assert_eq!(after, Duration::from_secs(3));
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    late_tx.send(()).expect("peer waiting");
    let fast = client.api("fast").await.expect("second api");
    assert_eq!(fast.body, "fast answer");
    let _sock = peer.await.expect("peer");
}

#[tokio::test]
async fn reconnects_reauthenticates_resubscribes_and_reports_lost_and_back() {
    let (l, addr) = listener().await;
    let mut cfg = config(&addr);
    cfg.subscription.filters = vec![("Event-Name".into(), "CHANNEL_CREATE".into())];
    let peer = tokio::spawn(async move {
        let (first, seen1) = accept_handshake(&l).await;
        drop(first); // FreeSWITCH restarts
        // One refused attempt: accepted and closed at once, before auth/request.
        let (refused, _) = l.accept().await.expect("accept 2");
        drop(refused);
        let (mut sock, seen2) = accept_handshake(&l).await;
        let api = read_command(&mut sock).await.expect("api after reconnect");
        assert_eq!(api, b"api status\n\n");
        send(&mut sock, &api_response("+OK back\n")).await;
        (sock, seen1, seen2)
    });
    let (client, mut events) = InboundClient::connect(cfg).await.expect("connect");
    assert_eq!(
        next(&mut events).await,
        ClientEvent::Connected {
            core_uuid: Some(CORE_UUID.to_owned())
        }
    );
    assert_eq!(
        next(&mut events).await,
        ClientEvent::Disconnected {
            reason: LossReason::PeerClosed { notice: None }
        }
    );
    assert_eq!(
        next(&mut events).await,
        ClientEvent::Connected {
            core_uuid: Some(CORE_UUID.to_owned())
        }
    );
    let back = client.api("status").await.expect("api after reconnect");
    assert_eq!(back.text(), "+OK back");
    let (_sock, seen1, seen2) = peer.await.expect("peer");
    let expected = vec![
        "auth ClueCon\n\n",
        "filter Event-Name CHANNEL_CREATE\n\n",
        "filter Event-Name BACKGROUND_JOB\n\n",
        "api global_getvar core_uuid\n\n",
        "event plain CHANNEL_CREATE BACKGROUND_JOB\n\n",
    ];
    assert_eq!(seen1, expected);
    assert_eq!(
        seen2, expected,
        "re-sent auth, filters and event after reconnect"
    );
}

#[tokio::test]
async fn a_pending_command_fails_when_the_connection_drops() {
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        let api = read_command(&mut sock).await.expect("api");
        assert_eq!(api, b"api status\n\n");
        drop(sock);
        l
    });
    let mut cfg = config(&addr);
    cfg.reconnect_initial = Duration::from_secs(60);
    let (client, _events) = InboundClient::connect(cfg).await.expect("connect");
    let result = client.api("status").await;
    match result {
        Err(ClientError::ConnectionLost { command, reason }) => {
            assert_eq!(command, "api");
            assert_eq!(reason, LossReason::PeerClosed { notice: None });
        }
        other => panic!("expected ConnectionLost, got {other:?}"),
    }
    let _l = peer.await.expect("peer");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!client.is_connected());
    assert!(matches!(
        client.api("status").await,
        Err(ClientError::NotConnected)
    ));
}

/// The recorded `event plain ALL` stream, sent at once to a client whose consumer is slow and whose
/// event channel holds 4: every event arrives, in order.
#[tokio::test]
async fn a_slow_consumer_loses_no_events() {
    let f = "inbound-events-plain-all";
    let recorded: Vec<Vec<u8>> = server_chunks(f)
        .into_iter()
        .filter(|c| {
            let head = String::from_utf8_lossy(&c[..c.len().min(80)]).to_string();
            head.contains("Content-Type: text/event-plain")
        })
        .collect();
    assert!(recorded.len() > 50, "fixture has {} events", recorded.len());
    let expected: Vec<String> = recorded
        .iter()
        .map(|c| {
            let text = String::from_utf8_lossy(c).to_string();
            text.lines()
                .find_map(|l| l.strip_prefix("Event-Sequence: "))
                .expect("Event-Sequence")
                .to_owned()
        })
        .collect();
    let (l, addr) = listener().await;
    let to_send = recorded.clone();
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        for chunk in &to_send {
            send(&mut sock, chunk).await;
        }
        let api = read_command(&mut sock).await.expect("api");
        assert_eq!(api, b"api status\n\n");
        send(&mut sock, &api_response("+OK\n")).await;
        sock
    });
    let mut cfg = config(&addr);
    cfg.event_buffer = 4;
    cfg.subscription.events = EventSet::all();
    let (client, mut events) = InboundClient::connect(cfg).await.expect("connect");
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    let mut got = Vec::new();
    while got.len() < expected.len() {
        tokio::time::sleep(Duration::from_millis(1)).await; // slow consumer
        match next(&mut events).await {
            ClientEvent::Event(e, _) => got.push(e.get("Event-Sequence").expect("seq").to_owned()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, expected);
    assert_eq!(client.api("status").await.expect("api").text(), "+OK");
    let _sock = peer.await.expect("peer");
}

#[tokio::test]
async fn shutdown_ends_the_event_stream_and_refuses_commands() {
    let (l, addr) = listener().await;
    let peer = tokio::spawn(async move {
        let (mut sock, _) = accept_handshake(&l).await;
        // After shutdown the client closes the socket: read returns EOF.
        read_command(&mut sock).await.is_none()
    });
    let (client, mut events) = InboundClient::connect(config(&addr))
        .await
        .expect("connect");
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    client.shutdown();
    assert_eq!(
        next(&mut events).await,
        ClientEvent::Disconnected {
            reason: LossReason::Local
        }
    );
    let end = tokio::time::timeout(Duration::from_secs(5), events.recv()).await;
    assert!(matches!(end, Ok(None)), "stream must end after shutdown");
    assert!(peer.await.expect("peer"), "socket closed");
    assert!(matches!(
        client.api("status").await,
        Err(ClientError::NotConnected)
    ));
}

/// A consumer that never reads: the client stops reading the socket, so FreeSWITCH's writes block
/// (TCP backpressure) instead of the daemon queueing without bound. Once the consumer reads again,
/// the first events arrive in order.
#[tokio::test]
async fn a_consumer_that_never_reads_stops_socket_reads() {
    let event = server_chunks("inbound-events-plain-all")
        .into_iter()
        .find(|c| String::from_utf8_lossy(c).contains("Event-Name: CHANNEL_CREATE"))
        .expect("a recorded CHANNEL_CREATE");
    let (l, addr) = listener().await;
    let (blocked_tx, blocked_rx) = tokio::sync::oneshot::channel();
    let peer = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut sock, _) = accept_handshake(&l).await;
        let cap = 256 * 1024 * 1024;
        let mut written = 0usize;
        let mut blocked = false;
        while written < cap {
            match tokio::time::timeout(Duration::from_millis(300), sock.write_all(&event)).await {
                Ok(Ok(())) => written += event.len(),
                Ok(Err(e)) => panic!("write failed: {e}"),
                Err(_) => {
                    blocked = true;
                    break;
                }
            }
        }
        let _ = blocked_tx.send((blocked, written));
        sock
    });
    let mut cfg = config(&addr);
    cfg.event_buffer = 4;
    let (_client, mut events) = InboundClient::connect(cfg).await.expect("connect");
    let (blocked, written) = tokio::time::timeout(Duration::from_secs(60), blocked_rx)
        .await
        .expect("peer reports in time")
        .expect("peer result");
    assert!(
        blocked,
        "FreeSWITCH's writes never blocked after {written} bytes"
    );
    assert!(written < 256 * 1024 * 1024);
    assert!(matches!(
        next(&mut events).await,
        ClientEvent::Connected { .. }
    ));
    for _ in 0..8 {
        match next(&mut events).await {
            ClientEvent::Event(e, _) => assert_eq!(e.name(), Some("CHANNEL_CREATE")),
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(peer);
}
