//! The outbound socket's other modes and odd inputs, as FreeSWITCH behaves in them: nothing
//! listening, single-channel mode, a first command other than `connect`, static mode, odd and
//! undone `linger`.

use crate::esl_client::Client;
use crate::esl_outbound::{call_in, connect, reply_text, setup};
use confpay_sim::core::Extension;
use confpay_sim::{SimConfig, Simulator};
use std::time::Duration;
use tokio::net::TcpListener;

#[tokio::test]
async fn nothing_listening_returns_at_once() {
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let mut cfg = SimConfig {
        outbound_target: Some(dead_addr),
        ..SimConfig::default()
    };
    cfg.core.extensions = Vec::new();
    let sim = Simulator::start(cfg).await.expect("sim");
    let mut o = Client::login(sim.esl_addr()).await;
    assert_eq!(
        reply_text(
            &mut o,
            "event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE"
        )
        .await,
        "+OK event listener enabled plain"
    );
    o.cmd("bgapi originate loopback/socket/default &park()")
        .await;
    assert!(
        o.reply()
            .await
            .header("Reply-Text")
            .is_some_and(|r| r.starts_with("+OK Job-UUID: "))
    );
    let sock = loop {
        let (f, _) = o.wait_event("CHANNEL_EXECUTE_COMPLETE").await;
        if f.event_header("Application").as_deref() != Some("set") {
            break f;
        }
    };
    assert_eq!(sock.event_header("Application").as_deref(), Some("socket"));
    let (next, _) = o.wait_event("CHANNEL_EXECUTE").await;
    assert_eq!(next.event_header("Application").as_deref(), Some("log"));
}

#[tokio::test]
async fn single_channel_mode_refuses_api_event_linger() {
    let mut s = setup(|addr| {
        vec![Extension::new(
            "single",
            &[("socket", &format!("{addr} async"))],
        )]
    })
    .await;
    let (_a, mut c) = call_in(&mut s, "single").await;
    let data = connect(&mut c).await;
    assert_eq!(data.header("Control"), Some("single-channel"));
    for cmd in [
        "api status",
        "bgapi status",
        "event plain ALL",
        "linger",
        "nolinger",
        "log 7",
        "sendevent CUSTOM",
        "noevents",
    ] {
        assert_eq!(
            reply_text(&mut c, cmd).await,
            "-ERR command not found",
            "{cmd}"
        );
    }
    assert_eq!(reply_text(&mut c, "myevents").await, "+OK Events Enabled");
    assert_eq!(reply_text(&mut c, "getvar socket_host").await, "127.0.0.1");
    assert_eq!(
        reply_text(&mut c, "getvar no_such_var").await,
        "-ERR command not found"
    );
    assert_eq!(reply_text(&mut c, "resume").await, "+OK");
}

#[tokio::test]
async fn first_command_other_than_connect_gets_no_reply() {
    let mut s = setup(|_| Vec::new()).await;
    let (_a, mut c) = call_in(&mut s, "socket").await;
    c.cmd("myevents").await;
    assert!(
        c.frame_within(Duration::from_millis(300)).await.is_none(),
        "first reply discarded"
    );
    c.cmd("connect").await;
    assert_eq!(c.frame().await.header("Event-Name"), Some("CHANNEL_DATA"));
}

#[tokio::test]
async fn static_mode_sendmsg_answers_when_the_app_returns() {
    let mut s = setup(|addr| {
        vec![Extension::new(
            "static",
            &[("socket", &format!("{addr} full"))],
        )]
    })
    .await;
    let (_a, mut c) = call_in(&mut s, "static").await;
    let data = connect(&mut c).await;
    assert_eq!(data.header("Socket-Mode"), Some("static"));
    assert_eq!(data.header("Control"), Some("full"));
    assert_eq!(reply_text(&mut c, "myevents").await, "+OK Events Enabled");
    c.send(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: silence_stream://1500\n\n").await;
    let t = tokio::time::Instant::now();
    let first = c.frame().await;
    assert_eq!(
        first.header("Reply-Text"),
        Some("+OK"),
        "the reply comes first, once the app returned"
    );
    assert!(
        t.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        t.elapsed()
    );
    let (done, _) = c.wait_event("CHANNEL_EXECUTE_COMPLETE").await;
    assert_eq!(
        done.event_header("Application").as_deref(),
        Some("playback")
    );
    // `async: true` queues instead.
    c.send(b"sendmsg\ncall-command: execute\nexecute-app-name: playback\nexecute-app-arg: silence_stream://1500\nasync: true\n\n").await;
    let t = tokio::time::Instant::now();
    assert_eq!(c.reply().await.header("Reply-Text"), Some("+OK"));
    assert!(
        t.elapsed() < Duration::from_millis(1000),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn odd_linger_values_do_not_break_the_session() {
    for (arg, reply, closes) in [
        // glibc atoi of an overlong number is -1: linger forever.
        ("linger 99999999999999999999999", "+OK will linger", false),
        (
            "linger 3000000000",
            "+OK will linger -1294967296 seconds",
            true,
        ),
        ("linger -5", "+OK will linger -5 seconds", true),
        ("linger x", "+OK will linger 0 seconds", true),
    ] {
        let mut s = setup(|_| Vec::new()).await;
        let (a_leg, mut c) = call_in(&mut s, "socket").await;
        connect(&mut c).await;
        assert_eq!(reply_text(&mut c, arg).await, reply);
        s.observer.api(&format!("uuid_kill {a_leg}")).await;
        let mut frames = Vec::new();
        while let Some(f) = c.frame_within(Duration::from_millis(500)).await {
            frames.push(f);
        }
        assert!(
            frames
                .iter()
                .any(|f| f.header("Content-Disposition") == Some("linger")),
            "{arg}"
        );
        let closed = frames
            .iter()
            .any(|f| f.header("Content-Disposition") == Some("disconnect"));
        assert_eq!(closed, closes, "{arg}");
    }
}

#[tokio::test]
async fn nolinger_undoes_linger() {
    let mut s = setup(|_| Vec::new()).await;
    let (a_leg, mut c) = call_in(&mut s, "socket").await;
    connect(&mut c).await;
    assert_eq!(reply_text(&mut c, "linger").await, "+OK will linger");
    assert_eq!(reply_text(&mut c, "nolinger").await, "+OK will not linger");
    s.observer.api(&format!("uuid_kill {a_leg}")).await;
    let notice = c.frame().await;
    assert_eq!(notice.content_type(), "text/disconnect-notice");
    assert_eq!(notice.header("Content-Disposition"), Some("disconnect"));
    assert!(c.closed_within(Duration::from_secs(1)).await);
}
