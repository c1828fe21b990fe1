//! The outbound socket side of the simulator, following the outbound recordings: the dialler connects
//! to a stand-in daemon, waits for `connect`, answers with CHANNEL_DATA, serves sendmsg/api/bgapi/event,
//! and ends the session like FreeSWITCH (linger forever, `linger 2`, no linger, abrupt close with and
//! without `socket_resume`); the other modes are `esl_outbound_modes`.

use crate::esl_client::{Client, RawFrame, frames_of, transcript};
use confpay_sim::core::Extension;
use confpay_sim::{SimConfig, Simulator};
use std::time::Duration;
use tokio::net::TcpListener;

pub(crate) struct Setup {
    sim: Simulator,
    daemon: TcpListener,
    pub(crate) observer: Client,
}

pub(crate) async fn setup(extra: impl FnOnce(std::net::SocketAddr) -> Vec<Extension>) -> Setup {
    let daemon = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = daemon.local_addr().expect("addr");
    let mut cfg = SimConfig {
        outbound_target: Some(addr),
        ..SimConfig::default()
    };
    cfg.core.extensions = extra(addr);
    let sim = Simulator::start(cfg).await.expect("sim");
    let observer = Client::login(sim.esl_addr()).await;
    Setup {
        sim,
        daemon,
        observer,
    }
}

/// Originates `loopback/<dest>/default &park()` and accepts the simulator's outbound connection.
pub(crate) async fn call_in(s: &mut Setup, dest: &str) -> (String, Client) {
    // As recorded: `bgapi originate` (the originate completes only once the socket leg answers).
    let job = "0b0b0b0b-0000-4000-8000-00000000000a";
    s.observer
        .send(
            format!("bgapi originate loopback/{dest}/default &park()\nJob-UUID: {job}\n\n")
                .as_bytes(),
        )
        .await;
    assert!(
        s.observer
            .reply()
            .await
            .header("Reply-Text")
            .is_some_and(|r| r.ends_with(job))
    );
    let (sock, _) = tokio::time::timeout(Duration::from_secs(5), s.daemon.accept())
        .await
        .expect("the simulator dials out")
        .expect("accept");
    let a_leg = s
        .sim
        .core()
        .channel_uuids()
        .into_iter()
        .next()
        .expect("the A leg exists");
    (a_leg, Client::from_stream(sock))
}

pub(crate) async fn connect(c: &mut Client) -> RawFrame {
    assert!(
        c.frame_within(Duration::from_millis(300)).await.is_none(),
        "nothing before connect"
    );
    c.cmd("connect").await;
    c.frame().await
}

fn header_names(f: &RawFrame) -> Vec<String> {
    f.head
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(n, _)| n.to_owned())
        .collect()
}

pub(crate) async fn reply_text(c: &mut Client, cmd: &str) -> String {
    c.cmd(cmd).await;
    let f = c.reply().await;
    f.header("Reply-Text").unwrap_or_default().to_owned()
}

#[tokio::test]
async fn full_session_like_the_recording() {
    let mut s = setup(|_| Vec::new()).await;
    let (_a, mut c) = call_in(&mut s, "socket").await;
    let data = connect(&mut c).await;
    channel_data_is_like_the_recording(&data);
    let me = data.header("Unique-ID").expect("Unique-ID").to_owned();
    subscribes_and_answers(&mut c).await;
    plays_back_and_serves_api_and_bgapi(&mut c, &me).await;

    s.observer.api(&format!("uuid_recv_dtmf {me} 12")).await;
    let (d1, _) = c.wait_event("DTMF").await;
    let (d2, _) = c.wait_event("DTMF").await;
    assert_eq!(d1.event_header("DTMF-Digit").as_deref(), Some("1"));
    assert_eq!(d2.event_header("DTMF-Digit").as_deref(), Some("2"));

    hangs_up_and_lingers_forever(&mut c, &me, &data).await;
    exit_says_goodbye_and_closes(&mut c, &me).await;
}

/// The connect reply (CHANNEL_DATA): the recording's header names in its order, and the reply
/// headers last.
fn channel_data_is_like_the_recording(data: &RawFrame) {
    let names = header_names(data);
    assert_eq!(
        &names[names.len() - 4..],
        ["Content-Type", "Reply-Text", "Socket-Mode", "Control"]
    );
    assert_eq!(data.header("Reply-Text"), Some("%2BOK%0A"));
    assert_eq!(data.header("Socket-Mode"), Some("async"));
    assert_eq!(data.header("Control"), Some("full"));
    assert_eq!(data.header("Event-Name"), Some("CHANNEL_DATA"));
    assert!(data.body.is_empty() && data.header("Content-Length").is_none());
    let recorded = frames_of(&transcript("outbound-full-session")[1].2);
    let rec_names = header_names(&recorded[0]);
    // The same header names in the same order (variables aside): `Channel-*` profile, channel data,
    // `Caller-*` profile, then the reply headers.
    let fixed = |v: &[String]| -> Vec<String> {
        v.iter()
            .filter(|n| !n.starts_with("variable_"))
            .cloned()
            .collect()
    };
    assert_eq!(fixed(&names), fixed(&rec_names));
    for must in [
        "Channel-Name",
        "Unique-ID",
        "Channel-Unique-ID",
        "Channel-Destination-Number",
        "variable_socket_host",
    ]
    .into_iter()
    .filter(|m| rec_names.iter().any(|n| n == m))
    {
        assert!(
            names.iter().any(|n| n == must),
            "connect reply lacks {must}"
        );
    }
}

/// `myevents`, `linger` and an event filter are acknowledged; `answer` runs with its events.
async fn subscribes_and_answers(c: &mut Client) {
    assert_eq!(reply_text(c, "myevents").await, "+OK Events Enabled");
    assert_eq!(reply_text(c, "linger").await, "+OK will linger");
    assert_eq!(
        reply_text(c, "event plain CHANNEL_HANGUP DTMF").await,
        "+OK event listener enabled plain"
    );

    c.send(b"sendmsg\ncall-command: execute\nexecute-app-name: answer\nevent-lock: true\n\n")
        .await;
    assert_eq!(
        c.frame().await.header("Reply-Text"),
        Some("+OK"),
        "sendmsg answers +OK at once"
    );
    let (done, before) = c.wait_event("CHANNEL_EXECUTE_COMPLETE").await;
    assert_eq!(done.event_header("Application").as_deref(), Some("answer"));
    let before: Vec<String> = before
        .iter()
        .filter_map(|f| f.event_header("Event-Name"))
        .collect();
    assert!(
        before.contains(&"CHANNEL_EXECUTE".to_owned())
            && before.contains(&"CHANNEL_ANSWER".to_owned()),
        "{before:?}"
    );
}

/// A playback with an Event-UUID runs; `api` and `bgapi` are served on the outbound socket.
async fn plays_back_and_serves_api_and_bgapi(c: &mut Client, me: &str) {
    c.send(
        b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: tone_stream://%(1000,1000,440);loops=-1\nEvent-UUID: 7e57a990-0000-4000-8000-000000000001\n\n",
    )
    .await;
    assert_eq!(c.frame().await.header("Reply-Text"), Some("+OK"));
    let (exec, _) = c.wait_event("CHANNEL_EXECUTE").await;
    assert_eq!(
        exec.event_header("Application").as_deref(),
        Some("playback")
    );
    assert_eq!(
        exec.event_header("Application-UUID").as_deref(),
        Some("7e57a990-0000-4000-8000-000000000001")
    );

    assert_eq!(
        c.api(&format!("uuid_getvar {me} socket_resume")).await,
        "false"
    );
    c.cmd("bgapi version").await;
    let job = c.reply().await;
    assert!(
        job.header("Reply-Text")
            .is_some_and(|r| r.starts_with("+OK Job-UUID: "))
    );
}

/// An unknown call-command is +OK; hangup ends the call without a BACKGROUND_JOB, then the
/// linger notice comes and nothing else, while `api` is still answered.
async fn hangs_up_and_lingers_forever(c: &mut Client, me: &str, data: &RawFrame) {
    assert_eq!(reply_text(c, "sendmsg\ncall-command: bogus").await, "+OK");
    c.send(b"sendmsg\ncall-command: hangup\nhangup-cause: NORMAL_CLEARING\n\n")
        .await;
    let (complete, seen) = c.wait_event("CHANNEL_HANGUP_COMPLETE").await;
    assert!(
        seen.iter()
            .all(|f| f.content_type() != "api/response" && f.header("Job-UUID").is_none()),
        "no BACKGROUND_JOB"
    );
    assert_eq!(
        complete.event_header("Hangup-Cause").as_deref(),
        Some("NORMAL_CLEARING")
    );
    let notice = c.frame().await;
    assert_eq!(notice.content_type(), "text/disconnect-notice");
    assert_eq!(notice.header("Content-Disposition"), Some("linger"));
    assert_eq!(notice.header("Controlled-Session-UUID"), Some(me));
    assert_eq!(notice.header("Linger-Time"), Some("-1"));
    assert_eq!(notice.header("Channel-Name"), data.header("Channel-Name"));
    assert!(
        c.frame_within(Duration::from_millis(500)).await.is_none(),
        "lingers forever"
    );
    assert!(
        c.api("status").await.starts_with("UP "),
        "api still answered while lingering"
    );
}

/// `exit`: +OK bye, the goodbye disconnect notice, and the socket closes.
async fn exit_says_goodbye_and_closes(c: &mut Client, me: &str) {
    assert_eq!(reply_text(c, "exit").await, "+OK bye");
    let bye = c.frame().await;
    assert_eq!(bye.header("Content-Disposition"), Some("disconnect"));
    assert_eq!(bye.header("Controlled-Session-UUID"), Some(me));
    assert_eq!(
        bye.body_text(),
        "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    );
    assert!(c.closed_within(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn no_linger_disconnects_right_after_the_last_events() {
    let mut s = setup(|_| Vec::new()).await;
    let (a_leg, mut c) = call_in(&mut s, "socket").await;
    let me = connect(&mut c)
        .await
        .header("Unique-ID")
        .expect("uuid")
        .to_owned();
    assert_eq!(reply_text(&mut c, "myevents").await, "+OK Events Enabled");
    assert_eq!(s.observer.api(&format!("uuid_kill {a_leg}")).await, "+OK\n");
    let (complete, _) = c.wait_event("CHANNEL_HANGUP_COMPLETE").await;
    assert_eq!(
        complete.event_header("Unique-ID").as_deref(),
        Some(me.as_str())
    );
    let notice = c.frame().await;
    assert_eq!(notice.content_type(), "text/disconnect-notice");
    assert_eq!(notice.header("Content-Disposition"), Some("disconnect"));
    assert_eq!(notice.header("Controlled-Session-UUID"), Some(me.as_str()));
    assert_eq!(notice.header("Content-Length"), Some("67"));
    assert!(c.closed_within(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn unknown_app_hangs_up_and_timed_linger_closes() {
    let mut s = setup(|_| Vec::new()).await;
    let (_a, mut c) = call_in(&mut s, "socket").await;
    connect(&mut c).await;
    assert_eq!(reply_text(&mut c, "myevents").await, "+OK Events Enabled");
    assert_eq!(
        reply_text(&mut c, "linger 2").await,
        "+OK will linger 2 seconds"
    );
    c.send(b"sendmsg\ncall-command: execute\nexecute-app-name: nosuchapp\nexecute-app-arg: x\n\n")
        .await;
    assert_eq!(c.frame().await.header("Reply-Text"), Some("+OK"));
    let (hangup, _) = c.wait_event("CHANNEL_HANGUP").await;
    assert_eq!(
        hangup.event_header("Hangup-Cause").as_deref(),
        Some("DESTINATION_OUT_OF_ORDER")
    );
    c.wait_event("CHANNEL_HANGUP_COMPLETE").await;
    let t0 = tokio::time::Instant::now();
    let notice = c.frame().await;
    assert_eq!(notice.header("Content-Disposition"), Some("linger"));
    assert_eq!(notice.header("Linger-Time"), Some("2"));
    let last = c
        .frame_within(Duration::from_secs(4))
        .await
        .expect("final notice");
    assert_eq!(last.header("Content-Disposition"), Some("disconnect"));
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    assert!(c.closed_within(Duration::from_secs(1)).await);
}

async fn abrupt_close(dest: &str) -> (Setup, String) {
    let mut s = setup(|_| Vec::new()).await;
    let (_a, mut c) = call_in(&mut s, dest).await;
    let me = connect(&mut c)
        .await
        .header("Unique-ID")
        .expect("uuid")
        .to_owned();
    c.send(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: tone_stream://%(1000,1000,440);loops=-1\n\n").await;
    assert_eq!(c.frame().await.header("Reply-Text"), Some("+OK"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        reply_text(
            &mut s.observer,
            "event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE"
        )
        .await,
        "+OK event listener enabled plain"
    );
    drop(c);
    (s, me)
}

#[tokio::test]
async fn abrupt_close_without_resume_orphans_the_call() {
    let (mut s, me) = abrupt_close("socket").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.observer.api(&format!("uuid_exists {me}")).await, "true");
    assert_eq!(
        s.sim.core().current_app(&me).as_deref(),
        Some("playback"),
        "the running app keeps going"
    );
    let more = s.observer.frame_within(Duration::from_millis(300)).await;
    assert!(more.is_none(), "the dialplan does not continue: {more:?}");
}

#[tokio::test]
async fn abrupt_close_with_resume_continues_the_dialplan() {
    let (mut s, me) = abrupt_close("socket-resume").await;
    let (cut, _) = s.observer.wait_event("CHANNEL_EXECUTE_COMPLETE").await;
    assert_eq!(cut.event_header("Application").as_deref(), Some("playback"));
    assert_eq!(
        cut.event_header("Application-Response").as_deref(),
        Some("PLAYBACK ERROR")
    );
    let (sock, _) = s.observer.wait_event("CHANNEL_EXECUTE_COMPLETE").await;
    assert_eq!(sock.event_header("Application").as_deref(), Some("socket"));
    let (next, _) = s.observer.wait_event("CHANNEL_EXECUTE").await;
    assert_eq!(next.event_header("Unique-ID").as_deref(), Some(me.as_str()));
    assert_eq!(next.event_header("Application").as_deref(), Some("log"));
}
