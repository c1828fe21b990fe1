//! Inbound event-socket behaviour beyond single replies: `api` blocks the connection, bgapi ordering,
//! filters, json/xml delivery, `myevents <uuid>` tying the connection to a call, and `sendevent`.

use crate::esl_client::{Client, frames_of, transcript};
use confpay_esl::EslCodec;
use confpay_sim::party::{AnswerMode, Party};
use confpay_sim::{SimConfig, Simulator};
use std::time::Duration;
use tokio_util::codec::Decoder;

async fn sim() -> Simulator {
    let s = Simulator::start(SimConfig::default()).await.expect("sim");
    s.core().register_party(
        "slow",
        Party::customer("slow").answering(AnswerMode::After(Duration::from_millis(300))),
    );
    s.core().register_party("cust", Party::customer("cust"));
    s
}

#[tokio::test]
async fn api_blocks_event_delivery_until_it_answers() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain CHANNEL_CREATE CHANNEL_ANSWER").await;
    c.reply().await;
    c.cmd("api originate {origination_uuid=b1000000-0000-4000-8000-000000000001}sofia/gateway/pstn/slow &park()").await;
    let first = c.frame().await;
    assert_eq!(
        first.content_type(),
        "api/response",
        "no event may come before the api answer"
    );
    assert_eq!(
        first.body_text(),
        "+OK b1000000-0000-4000-8000-000000000001\n"
    );
    let (create, _) = c.wait_event("CHANNEL_CREATE").await;
    assert_eq!(
        create.event_header("Unique-ID").as_deref(),
        Some("b1000000-0000-4000-8000-000000000001")
    );
}

#[tokio::test]
async fn bgapi_reply_first_then_leg_events_then_background_job() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain CHANNEL_CREATE CHANNEL_ANSWER BACKGROUND_JOB")
        .await;
    c.reply().await;
    c.send(b"bgapi originate {origination_uuid=b2000000-0000-4000-8000-000000000001}sofia/gateway/pstn/cust &park()\nJob-UUID: 22222222-0000-4000-8000-000000000001\n\n").await;
    let r = c.frame().await;
    assert_eq!(
        r.header("Reply-Text"),
        Some("+OK Job-UUID: 22222222-0000-4000-8000-000000000001")
    );
    assert_eq!(
        r.header("Job-UUID"),
        Some("22222222-0000-4000-8000-000000000001")
    );
    let (job, before) = c.wait_event("BACKGROUND_JOB").await;
    let names: Vec<String> = before
        .iter()
        .filter_map(|f| f.event_header("Event-Name"))
        .collect();
    assert!(
        names.contains(&"CHANNEL_CREATE".to_owned())
            && names.contains(&"CHANNEL_ANSWER".to_owned()),
        "{names:?}"
    );
    assert_eq!(
        job.event_header("Job-Command").as_deref(),
        Some("originate")
    );
    assert_eq!(
        job.plain_event().1.as_deref(),
        Some("+OK b2000000-0000-4000-8000-000000000001\n")
    );
}

#[tokio::test]
async fn unique_id_filter_hides_background_job() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain ALL").await;
    c.reply().await;
    c.cmd("filter Unique-ID b3000000-0000-4000-8000-000000000001")
        .await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some("+OK filter added. [Unique-ID]=[b3000000-0000-4000-8000-000000000001]")
    );
    c.cmd("bgapi originate {origination_uuid=b3000000-0000-4000-8000-000000000001}sofia/gateway/pstn/cust &park()").await;
    c.reply().await;
    let mut got = Vec::new();
    while let Some(f) = c.frame_within(Duration::from_millis(400)).await {
        got.push(f);
    }
    assert!(!got.is_empty(), "the channel's own events pass");
    assert!(
        got.iter().all(|f| f.event_header("Unique-ID").as_deref()
            == Some("b3000000-0000-4000-8000-000000000001"))
    );
    assert!(
        !got.iter()
            .any(|f| f.event_header("Event-Name").as_deref() == Some("BACKGROUND_JOB"))
    );
}

#[tokio::test]
async fn json_and_xml_events_decode_with_the_daemon_codec() {
    let s = sim().await;
    for (fmt, ct) in [("json", "text/event-json"), ("xml", "text/event-xml")] {
        let mut c = Client::login(s.esl_addr()).await;
        c.cmd(&format!("event {fmt} BACKGROUND_JOB")).await;
        assert_eq!(
            c.reply().await.header("Reply-Text"),
            Some(format!("+OK event listener enabled {fmt}").as_str())
        );
        c.cmd("bgapi uuid_exists nope").await;
        c.reply().await;
        let f = c.frame().await;
        assert_eq!(f.content_type(), ct);
        let mut raw = bytes::BytesMut::from(format!("{}\n\n", f.head).as_bytes());
        raw.extend_from_slice(&f.body);
        let frame = EslCodec::default()
            .decode(&mut raw)
            .expect("decodes")
            .expect("whole frame");
        let ev = frame.event().expect("event decodes").expect("event");
        assert_eq!(ev.name(), Some("BACKGROUND_JOB"));
        assert_eq!(ev.get("Job-Command"), Some("uuid_exists"));
        assert_eq!(ev.body_text().as_deref(), Some("false"));
    }
}

#[tokio::test]
async fn myevents_uuid_ties_the_connection_to_the_call() {
    let s = sim().await;
    let mut o = Client::login(s.esl_addr()).await;
    let uuid = "b4000000-0000-4000-8000-000000000001";
    o.api(&format!(
        "originate {{origination_uuid={uuid}}}sofia/gateway/pstn/cust &park()"
    ))
    .await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd(&format!("myevents {uuid}")).await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some("+OK Events Enabled")
    );
    c.cmd("myevents").await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some("-ERR aready enabled.")
    );
    o.api("originate {origination_uuid=b4000000-0000-4000-8000-000000000002}sofia/gateway/pstn/cust &park()").await;
    assert_eq!(o.api(&format!("uuid_kill {uuid}")).await, "+OK\n");
    let (done, before) = c.wait_event("CHANNEL_HANGUP_COMPLETE").await;
    assert_eq!(done.event_header("Unique-ID").as_deref(), Some(uuid));
    assert!(
        before
            .iter()
            .all(|f| f.event_header("Unique-ID").as_deref() == Some(uuid)),
        "only that call's events"
    );
    let notice = c.frame().await;
    assert_eq!(notice.content_type(), "text/disconnect-notice");
    assert_eq!(notice.header("Controlled-Session-UUID"), Some(uuid));
    assert!(c.closed_within(Duration::from_secs(1)).await);
    // Without a live uuid and with a format word: -ERR invalid uuid.
    let mut d = Client::login(s.esl_addr()).await;
    d.cmd("myevents 00000000-0000-0000-0000-000000000000 json")
        .await;
    assert_eq!(
        d.reply().await.header("Reply-Text"),
        Some("-ERR invalid uuid")
    );
}

#[tokio::test]
async fn sendevent_is_echoed_with_body_to_subscribers() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain CUSTOM test::payment").await;
    c.reply().await;
    // The recorded command, byte for byte.
    let chunks = transcript("inbound-large-and-edge-frames");
    let sent = chunks
        .iter()
        .find(|(_, _, b)| {
            b.starts_with(b"sendevent CUSTOM\nEvent-Subclass: test::payment\nX-Card-Token")
        })
        .expect("recorded sendevent");
    c.send(&sent.2).await;
    let r = c.reply().await;
    let id = r
        .header("Reply-Text")
        .and_then(|t| t.strip_prefix("+OK "))
        .expect("+OK uuid")
        .to_owned();
    let (ev, _) = c.wait_event("CUSTOM").await;
    let (pairs, body) = ev.plain_event();
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    assert_eq!(get("Event-UUID"), Some(id));
    assert_eq!(get("Event-Subclass").as_deref(), Some("test::payment"));
    assert_eq!(get("Command").as_deref(), Some("sendevent CUSTOM"));
    assert_eq!(get("X-Card-Token").as_deref(), Some("tok_12345"));
    assert_eq!(
        body.as_deref(),
        Some("line one of body\nline two: with colon\n\nafter blank line\n")
    );
    // Same header names, in the same order, as FreeSWITCH sent: Event-Subclass, Command, the client's
    // headers, Event-UUID, then the common headers (parse_command, line 2283).
    assert_eq!(
        get("Event-Calling-Function").as_deref(),
        Some("parse_command")
    );
    assert_eq!(get("Event-Calling-Line-Number").as_deref(), Some("2283"));
    let rec = chunks
        .iter()
        .skip_while(|(_, _, b)| {
            !b.starts_with(b"sendevent CUSTOM\nEvent-Subclass: test::payment\nX-Card-Token")
        })
        .flat_map(|(_, _, b)| frames_of(b))
        .find(|f| f.content_type() == "text/event-plain")
        .expect("recorded echo");
    let rec_names: Vec<String> = rec.plain_event().0.into_iter().map(|(n, _)| n).collect();
    let names: Vec<String> = pairs.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, rec_names);
}

#[tokio::test]
async fn a_listener_that_loses_500_events_is_killed() {
    let mut cfg = SimConfig::default();
    cfg.core.queue_len = 10;
    let s = Simulator::start(cfg).await.expect("sim");
    s.core().register_party(
        "slow",
        Party::customer("slow").answering(AnswerMode::After(Duration::from_millis(500))),
    );
    let mut blocked = Client::login(s.esl_addr()).await;
    blocked.cmd("event plain CUSTOM x::flood").await;
    blocked.reply().await;
    blocked
        .cmd("api originate sofia/gateway/pstn/slow &park()")
        .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut spam = Client::login(s.esl_addr()).await;
    let mut burst = Vec::new();
    for _ in 0..600 {
        burst.extend_from_slice(b"sendevent CUSTOM\nEvent-Subclass: x::flood\n\n");
    }
    spam.send(&burst).await;
    for _ in 0..600 {
        assert!(
            spam.reply()
                .await
                .header("Reply-Text")
                .is_some_and(|r| r.starts_with("+OK "))
        );
    }
    let mut last = None;
    while let Some(f) = blocked.frame_within(Duration::from_secs(2)).await {
        last = Some(f);
    }
    let last = last.expect("frames");
    assert_eq!(last.content_type(), "text/disconnect-notice");
    assert_eq!(last.body_text(), "killed listener because of lost events\n");
    assert!(blocked.closed_within(Duration::from_millis(500)).await);
    assert_eq!(
        spam.api("uuid_exists x").await,
        "false",
        "the unblocked connection lives on"
    );
}

#[tokio::test(start_paused = true)]
async fn no_command_within_25_seconds_closes_an_unauthenticated_connection() {
    let s = Simulator::start(SimConfig::default()).await.expect("sim");
    let mut c = Client::connect(s.esl_addr()).await;
    assert_eq!(c.frame().await.content_type(), "auth/request");
    c.cmd("api status").await;
    assert_eq!(
        c.frame().await.header("Reply-Text"),
        Some("-ERR command not found")
    );
    let t = tokio::time::Instant::now();
    assert!(c.closed_within(Duration::from_secs(60)).await);
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_secs(25) && waited < Duration::from_secs(26),
        "{waited:?}"
    );
    // An authenticated connection may stay idle.
    let mut d = Client::login(s.esl_addr()).await;
    assert!(!d.closed_within(Duration::from_secs(60)).await);
}

#[tokio::test]
async fn log_commands_answer_like_the_recording() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    for (cmd, want) in [
        ("nolog", "-ERR not loging"),
        ("log 7", "+OK log level 7 [7]"),
        ("nolog", "+OK no longer logging"),
        ("log bogus", "-ERR invalid log level"),
        ("log", "+OK log level  [7]"),
        ("log notice", "+OK log level notice [5]"),
        ("nolog", "+OK no longer logging"),
    ] {
        c.cmd(cmd).await;
        assert_eq!(c.reply().await.header("Reply-Text"), Some(want), "{cmd}");
    }
}

#[tokio::test]
async fn inbound_sendmsg_drives_another_channel() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    let uuid = "b5000000-0000-4000-8000-000000000001";
    c.api(&format!(
        "originate {{origination_uuid={uuid}}}sofia/gateway/pstn/cust &park()"
    ))
    .await;
    // Parked (the leg runs its application once originate has returned).
    s.core().settle().await;
    c.cmd("event plain CHANNEL_EXECUTE CHANNEL_HANGUP").await;
    c.reply().await;
    c.send(
        format!(
            "sendmsg {uuid}\ncall-command: execute\nexecute-app-name: playback\nContent-Type: text/plain\nContent-Length: 22\n\nsilence_stream://60000"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(c.reply().await.header("Reply-Text"), Some("+OK"));
    let (exec, _) = c.wait_event("CHANNEL_EXECUTE").await;
    assert_eq!(
        exec.event_header("Application").as_deref(),
        Some("playback")
    );
    assert_eq!(
        exec.event_header("Application-Data").as_deref(),
        Some("silence_stream://60000")
    );
    c.send(format!("sendmsg {uuid}\ncall-command: hangup\nhangup-cause: USER_BUSY\n\n").as_bytes())
        .await;
    assert_eq!(c.reply().await.header("Reply-Text"), Some("+OK"));
    let (h, _) = c.wait_event("CHANNEL_HANGUP").await;
    assert_eq!(h.event_header("Hangup-Cause").as_deref(), Some("USER_BUSY"));
    c.send(format!("sendmsg {uuid}\ncall-command: hangup\n\n").as_bytes())
        .await;
    assert_eq!(
        c.reply().await.header("Reply-Text"),
        Some(format!("-ERR invalid session id [{uuid}]").as_str())
    );
}

#[tokio::test]
async fn an_out_of_range_content_length_drops_the_connection() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.send(b"sendevent CUSTOM\nContent-Length: 99999999\n\n")
        .await;
    let notice = c.frame().await;
    assert_eq!(notice.content_type(), "text/disconnect-notice");
    assert!(c.closed_within(Duration::from_secs(1)).await);
}

#[tokio::test]
async fn noevents_drops_events_not_yet_written() {
    let s = sim().await;
    let mut c = Client::login(s.esl_addr()).await;
    c.cmd("event plain CUSTOM x::y").await;
    c.reply().await;
    let mut o = Client::login(s.esl_addr()).await;
    // Fired while `c` is blocked in a slow api: queued for `c`, then dropped by its noevents.
    c.cmd("api originate sofia/gateway/pstn/slow &park()").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    o.cmd("sendevent CUSTOM\nEvent-Subclass: x::y").await;
    o.reply().await;
    c.cmd("noevents").await;
    assert_eq!(c.frame().await.content_type(), "api/response");
    let next = c.frame().await;
    assert_eq!(
        next.header("Reply-Text"),
        Some("+OK no longer listening for events"),
        "{next:?}"
    );
    assert!(c.frame_within(Duration::from_millis(200)).await.is_none());
}
