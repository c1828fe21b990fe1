//! Outbound socket server against a fake FreeSWITCH that dials in on 127.0.0.1 and replays the
//! recorded `outbound-full-session` bytes.

use crate::fake_switch::{client_chunks, read_command, replies_after, reply, send, server_chunks};
use confpay_esl::command::Execute;
use confpay_esl::outbound::{
    AllowList, OutboundConfig, OutboundServer, OutboundSession, SessionEvent,
};
use confpay_esl::reply::Disposition;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const F: &str = "outbound-full-session";
const CHANNEL: &str = "ed4fa17f-825e-4a7b-a5f1-e0abbc83225d";

fn config() -> OutboundConfig {
    OutboundConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        command_timeout: Duration::from_secs(5),
        ..OutboundConfig::default()
    }
}

/// Starts the server with a handler that forwards each session to the test.
async fn start(
    config: OutboundConfig,
) -> (
    SocketAddr,
    mpsc::Receiver<(OutboundSession, Hold)>,
    Arc<AtomicUsize>,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let server = OutboundServer::bind(config).await.expect("bind");
    let addr = server.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel(4);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let task = tokio::spawn(server.run(
        move |session: OutboundSession| {
            counter.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            async move {
                // The handler (and so the session) lives until the test drops its `Hold`.
                let (hold, done) = tokio::sync::oneshot::channel::<()>();
                let _ = tx.send((session, hold)).await;
                let _ = done.await;
            }
        },
        token,
    ));
    (addr, rx, calls, shutdown, task)
}

/// FreeSWITCH's side of the handshake: reads `connect`, answers with the recorded channel data (with
/// `Control` replaced if asked), then answers filters, linger and event. Returns the commands seen.
async fn fake_handshake(sock: &mut TcpStream) -> Vec<String> {
    fake_handshake_from(sock, F).await
}

/// [`fake_handshake`] with the channel data of another recording.
async fn fake_handshake_from(sock: &mut TcpStream, recording: &str) -> Vec<String> {
    let connect = read_command(sock).await.expect("connect");
    assert_eq!(connect, client_chunks(recording)[0]);
    send(sock, &server_chunks(recording)[0]).await;
    let mut seen = Vec::new();
    loop {
        let cmd = String::from_utf8(read_command(sock).await.expect("command")).expect("utf8");
        let answer = if cmd.starts_with("filter ") {
            reply("+OK filter added.")
        } else if cmd == "linger\n\n" {
            replies_after(F, 2).remove(0) // +OK will linger
        } else if cmd.starts_with("event plain ") {
            replies_after(F, 3).remove(0) // +OK event listener enabled plain
        } else {
            panic!("unexpected handshake command {cmd:?}");
        };
        let done = cmd.starts_with("event ");
        seen.push(cmd);
        send(sock, &answer).await;
        if done {
            return seen;
        }
    }
}

/// Dropping it lets the handler return (which closes the session socket).
type Hold = tokio::sync::oneshot::Sender<()>;

async fn session(rx: &mut mpsc::Receiver<(OutboundSession, Hold)>) -> (OutboundSession, Hold) {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a session in time")
        .expect("server running")
}

async fn next_event(s: &mut OutboundSession) -> SessionEvent {
    tokio::time::timeout(Duration::from_secs(10), s.events.recv())
        .await
        .expect("an event in time")
        .expect("events open")
}

#[tokio::test]
async fn connect_parses_the_channel_data_and_subscribes_to_this_channel() {
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let mut fs = TcpStream::connect(addr).await.expect("dial");
    let seen = fake_handshake(&mut fs).await;
    assert_eq!(
        seen,
        vec![
            format!("filter Unique-ID {CHANNEL}\n\n"),
            format!("filter Job-Owner-UUID {CHANNEL}\n\n"),
            "linger\n\n".to_owned(),
            "event plain CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_UNBRIDGE CHANNEL_HOLD CHANNEL_UNHOLD \
             CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE \
             BACKGROUND_JOB CUSTOM conference::maintenance\n\n"
                .to_owned(),
        ]
    );
    let (s, hold) = session(&mut rx).await;
    assert_eq!(s.uuid, CHANNEL);
    assert_eq!(s.handle.uuid(), CHANNEL);
    assert_eq!(s.channel.name(), Some("CHANNEL_DATA"));
    assert_eq!(s.channel.get("Caller-Caller-ID-Name"), Some("Customer"));
    assert_eq!(
        s.channel.get("variable_current_application_data"),
        Some("127.0.0.1:8084 async full")
    );
    assert_eq!(s.channel.get("FreeSWITCH-IPv6"), Some("fd00::2"));
    shutdown.cancel();
    drop(s);
    drop(hold);
    task.await.expect("server ends");
}

#[tokio::test]
async fn without_full_control_the_call_is_resumed_and_refused() {
    let (addr, _rx, calls, shutdown, task) = start(config()).await;
    let mut fs = TcpStream::connect(addr).await.expect("dial");
    let connect = read_command(&mut fs).await.expect("connect");
    assert_eq!(connect, b"connect\n\n");
    let data = String::from_utf8(server_chunks(F)[0].clone()).expect("utf8");
    assert!(data.contains("Control: full\n"));
    let single = data.replace("Control: full\n", "Control: single-channel\n");
    send(&mut fs, single.as_bytes()).await;
    let resume = read_command(&mut fs).await.expect("resume");
    assert_eq!(resume, b"resume\n\n");
    send(&mut fs, &reply("+OK")).await;
    assert!(read_command(&mut fs).await.is_none(), "socket closed");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "handler must not run");
    shutdown.cancel();
    task.await.expect("server ends");
}

#[tokio::test]
async fn a_peer_outside_the_allow_list_is_closed_at_once() {
    let mut cfg = config();
    cfg.allow = AllowList::parse(["192.0.2.0/24"]).expect("list");
    let (addr, _rx, calls, shutdown, task) = start(cfg).await;
    let mut fs = TcpStream::connect(addr).await.expect("dial");
    // Nothing is sent (not even `connect`) and the socket is closed.
    assert!(read_command(&mut fs).await.is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    shutdown.cancel();
    task.await.expect("server ends");
}

/// Recorded: playback with our Event-UUID, hangup, the CHANNEL_EXECUTE_COMPLETE with that
/// Application-UUID (FILE PLAYED), the linger disconnect-notice, `api` still answered, then `exit`.
#[tokio::test]
async fn execute_completes_by_application_uuid_and_linger_notice_keeps_the_socket() {
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let fake = tokio::spawn(async move {
        let mut fs = TcpStream::connect(addr).await.expect("dial");
        fake_handshake(&mut fs).await;
        let playback = read_command(&mut fs).await.expect("sendmsg playback");
        assert_eq!(playback, client_chunks(F)[5]);
        for chunk in replies_after(F, 5) {
            send(&mut fs, &chunk).await; // +OK, CHANNEL_EXECUTE
        }
        let hangup = read_command(&mut fs).await.expect("sendmsg hangup");
        assert_eq!(hangup, client_chunks(F)[10]);
        for chunk in replies_after(F, 10) {
            send(&mut fs, &chunk).await; // +OK, events, EXECUTE_COMPLETE, ..., linger notice
        }
        let api = read_command(&mut fs).await.expect("api after linger");
        assert_eq!(api, client_chunks(F)[11]);
        for chunk in replies_after(F, 11) {
            send(&mut fs, &chunk).await;
        }
        // The handler returns: the daemon closes the socket.
        assert!(read_command(&mut fs).await.is_none());
    });
    let (mut s, hold) = session(&mut rx).await;
    let app_uuid = Uuid::parse_str("7e57a990-0000-4000-8000-000000000001").expect("uuid");
    let execution = s
        .handle
        .execute(
            Execute::new("playback")
                .arg("tone_stream://%(1000,1000,440);loops=-1")
                .event_uuid(app_uuid),
        )
        .await
        .expect("+OK");
    assert_eq!(execution.app_uuid, app_uuid);
    s.handle
        .hangup("NORMAL_CLEARING")
        .await
        .expect("hangup +OK");
    let done = tokio::time::timeout(Duration::from_secs(10), execution.wait())
        .await
        .expect("in time")
        .expect("completed");
    assert_eq!(done.response, "FILE PLAYED");
    assert_eq!(done.event.get("Application"), Some("playback"));
    let mut names = Vec::new();
    let notice = loop {
        match next_event(&mut s).await {
            SessionEvent::Event(e) => names.push(e.name().unwrap_or("").to_owned()),
            SessionEvent::Disconnect(n) => break n,
            SessionEvent::Closed { reason } => panic!("closed early: {reason}"),
        }
    };
    assert_eq!(
        names,
        [
            "CHANNEL_EXECUTE",
            "CHANNEL_HANGUP",
            "CHANNEL_UNPARK",
            "CHANNEL_EXECUTE_COMPLETE", // the `socket` app's own completion, not ours
            "CHANNEL_STATE",
            "CHANNEL_STATE",
            "CHANNEL_HANGUP_COMPLETE",
        ]
    );
    assert_eq!(notice.disposition, Disposition::Linger);
    assert_eq!(notice.linger_time, Some(-1));
    assert_eq!(notice.controlled_session_uuid.as_deref(), Some(CHANNEL));
    let status = s.handle.api("status").await.expect("api after linger");
    assert!(status.body.starts_with("UP 0 years"), "{:?}", status.body);
    drop(s);
    drop(hold);
    tokio::time::timeout(Duration::from_secs(10), fake)
        .await
        .expect("fake done")
        .expect("fake ok");
    shutdown.cancel();
    task.await.expect("server ends");
}

/// `exit` → `+OK bye`, disconnect-notice (disconnect), close: the session sees both, then Closed.
#[tokio::test]
async fn exit_gives_a_disconnect_notice_then_closed() {
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let fake = tokio::spawn(async move {
        let mut fs = TcpStream::connect(addr).await.expect("dial");
        fake_handshake(&mut fs).await;
        let exit = read_command(&mut fs).await.expect("exit");
        assert_eq!(exit, client_chunks(F)[12]);
        for chunk in replies_after(F, 12) {
            send(&mut fs, &chunk).await; // +OK bye, disconnect-notice
        }
    });
    let (mut s, hold) = session(&mut rx).await;
    let bye = s
        .handle
        .command(&confpay_esl::command::Command::Exit)
        .await
        .expect("+OK bye");
    assert_eq!(bye.text(), "+OK bye");
    fake.await.expect("fake");
    match next_event(&mut s).await {
        SessionEvent::Disconnect(n) => assert_eq!(n.disposition, Disposition::Disconnect),
        other => panic!("expected the notice, got {other:?}"),
    }
    match next_event(&mut s).await {
        SessionEvent::Closed { reason } => assert_eq!(
            *reason,
            confpay_esl::client_error::LossReason::PeerClosed {
                notice: Some("disconnect".into())
            }
        ),
        other => panic!("expected Closed, got {other:?}"),
    }
    assert!(matches!(
        s.handle.api("status").await,
        Err(confpay_esl::client_error::ClientError::NotConnected)
    ));
    shutdown.cancel();
    drop(s);
    drop(hold);
    task.await.expect("server ends");
}

/// Recorded without linger: the far leg is killed, FreeSWITCH sends the last events, a `disconnect`
/// notice and closes. The session sees all of them, then `Closed`.
#[tokio::test]
async fn remote_hangup_without_linger_ends_in_disconnect_and_closed() {
    let rec = "outbound-remote-hangup-nolinger";
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let fake = tokio::spawn(async move {
        let mut fs = TcpStream::connect(addr).await.expect("dial");
        fake_handshake_from(&mut fs, rec).await;
        // Everything FreeSWITCH sent after its `+OK` to the recorded `sendmsg answer`, then close.
        for chunk in replies_after(rec, 2).into_iter().skip(1) {
            send(&mut fs, &chunk).await;
        }
    });
    let (mut s, hold) = session(&mut rx).await;
    assert_eq!(s.uuid, "9a4dcdf1-b6cb-4608-bea7-f7ab22da9d17");
    let mut names = Vec::new();
    let notice = loop {
        match next_event(&mut s).await {
            SessionEvent::Event(e) => names.push(e.name().unwrap_or("").to_owned()),
            SessionEvent::Disconnect(n) => break n,
            SessionEvent::Closed { reason } => panic!("closed before the notice: {reason}"),
        }
    };
    assert_eq!(names.first().map(String::as_str), Some("CHANNEL_PARK"));
    assert_eq!(
        names.last().map(String::as_str),
        Some("CHANNEL_HANGUP_COMPLETE")
    );
    assert_eq!(names.len(), 10);
    assert_eq!(notice.disposition, Disposition::Disconnect);
    assert_eq!(
        notice.controlled_session_uuid.as_deref(),
        Some(s.uuid.as_str())
    );
    match next_event(&mut s).await {
        SessionEvent::Closed { reason } => assert_eq!(
            *reason,
            confpay_esl::client_error::LossReason::PeerClosed {
                notice: Some("disconnect".into())
            }
        ),
        other => panic!("expected Closed, got {other:?}"),
    }
    fake.await.expect("fake");
    drop(s);
    drop(hold);
    shutdown.cancel();
    task.await.expect("server ends");
}

/// `bgapi` on the session socket: its BACKGROUND_JOB (owned by this channel) resolves the call.
#[tokio::test]
async fn bgapi_on_the_session_socket_is_correlated() {
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let fake = tokio::spawn(async move {
        let mut fs = TcpStream::connect(addr).await.expect("dial");
        fake_handshake(&mut fs).await;
        let cmd = String::from_utf8(read_command(&mut fs).await.expect("bgapi")).expect("utf8");
        let job = cmd
            .strip_prefix("bgapi version\nJob-UUID: ")
            .and_then(|r| r.strip_suffix("\n\n"))
            .unwrap_or_else(|| panic!("bad bgapi {cmd:?}"))
            .to_owned();
        send(
            &mut fs,
            format!(
                "Content-Type: command/reply\nReply-Text: +OK Job-UUID: {job}\nJob-UUID: {job}\n\n"
            )
            .as_bytes(),
        )
        .await;
        send(
            &mut fs,
            &crate::fake_switch::plain_event(
                &[
                    ("Event-Name", "BACKGROUND_JOB"),
                    ("Job-UUID", &job),
                    ("Job-Owner-UUID", CHANNEL),
                    ("Job-Command", "version"),
                ],
                Some("FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"),
            ),
        )
        .await;
        fs
    });
    let (s, hold) = session(&mut rx).await;
    let out = s.handle.bgapi("version").await.expect("job result");
    assert_eq!(out, "FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n");
    let _fs = fake.await.expect("fake");
    drop(s);
    drop(hold);
    shutdown.cancel();
    task.await.expect("server ends");
}

/// One task per call: the connection's driver runs in the session's own task, beside the handler.
/// An application run detached keeps nothing for its end: its completion comes as an ordinary
/// event, after FreeSWITCH's `+OK`.
#[tokio::test]
async fn a_session_is_one_task_and_a_detached_execute_completes_as_an_event() {
    let (addr, mut rx, _calls, shutdown, task) = start(config()).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let fake = tokio::spawn(async move {
        let mut fs = TcpStream::connect(addr).await.expect("dial");
        fake_handshake(&mut fs).await;
        let cmd = String::from_utf8(read_command(&mut fs).await.expect("sendmsg")).expect("utf8");
        assert!(
            cmd.starts_with("sendmsg\n") && cmd.contains("execute-app-name: conference\n"),
            "{cmd:?}"
        );
        assert!(
            !cmd.contains("Event-UUID"),
            "nothing to match a completion to: {cmd:?}"
        );
        send(&mut fs, &reply("+OK")).await;
        let done = [
            ("Event-Name", "CHANNEL_EXECUTE_COMPLETE"),
            ("Unique-ID", CHANNEL),
            ("Application", "conference"),
        ];
        send(&mut fs, &crate::fake_switch::plain_event(&done, None)).await;
        fs
    });
    let (mut s, hold) = session(&mut rx).await;
    assert_eq!(
        metrics.num_alive_tasks(),
        before + 2,
        "the fake switch's task and the session's one task"
    );
    let join = Execute::new("conference").arg("room@default");
    let ok = s.handle.execute_detached(join).await.expect("+OK");
    assert_eq!(ok.text(), "+OK");
    match next_event(&mut s).await {
        SessionEvent::Event(e) => {
            assert_eq!(e.name(), Some("CHANNEL_EXECUTE_COMPLETE"));
            assert_eq!(e.get("Application"), Some("conference"));
        }
        other => panic!("expected the completion as an event, got {other:?}"),
    }
    let _fs = fake.await.expect("fake");
    drop(s);
    drop(hold);
    shutdown.cancel();
    task.await.expect("server ends");
}
