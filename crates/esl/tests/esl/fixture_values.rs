//! Specific values in the recordings come out as FreeSWITCH sent them: job UUIDs, member ids,
//! nested `Content-Length` in bodies, xml-escaped values, the outbound `connect` reply, api bodies,
//! disconnect notices.

use crate::recordings::{events, frames, frames_of, raw_fixture};
use confpay_esl::{ContentType, Event, Frame};

fn find(frames: &[Frame], pred: impl Fn(&Frame) -> bool) -> &Frame {
    frames.iter().find(|f| pred(f)).expect("frame present")
}

#[test]
fn bgapi_reply_and_background_job_carry_the_job_uuid() {
    let frames = frames(&raw_fixture("inbound-auth-and-api.raw"));
    let job = "11111111-2222-3333-4444-555555555555";
    let reply = find(&frames, |f| {
        f.content_type == ContentType::CommandReply && f.headers.get("Job-UUID") == Some(job)
    });
    assert_eq!(reply.reply_text(), Some(&*format!("+OK Job-UUID: {job}")));
    let events = events(&frames);
    let bg = events
        .iter()
        .find(|e| e.name() == Some("BACKGROUND_JOB") && e.get("Job-UUID") == Some(job))
        .expect("BACKGROUND_JOB");
    assert_eq!(bg.get("Job-Command"), Some("version"));
    assert_eq!(bg.get("Event-Date-Local"), Some("2026-11-25 12:39:49"));
    assert_eq!(
        bg.body_text().as_deref(),
        Some("FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n")
    );
    assert!(!bg.headers.contains("Content-Length"));
}

#[test]
fn conference_add_member_carries_member_id() {
    let events = events(&frames(&raw_fixture("inbound-conference-control.raw")));
    let add = events
        .iter()
        .find(|e| e.get("Action") == Some("add-member"))
        .expect("add-member");
    assert_eq!(add.subclass(), Some("conference::maintenance"));
    assert_eq!(add.get("Member-ID"), Some("1"));
    assert_eq!(add.get("Conference-Name"), Some("test"));
    assert_eq!(
        add.unique_id(),
        Some("1a25f899-b2d3-4ae0-9955-9f6fccbd6c79")
    );
    assert_eq!(add.get("Caller-Caller-ID-Name"), Some("Outbound Call"));
}

#[test]
fn sendevent_body_nested_content_length_plain_and_json() {
    let frames = frames(&raw_fixture("inbound-large-and-edge-frames.raw"));
    let body = &b"line one of body\nline two: with colon\n\nafter blank line\n"[..];
    let custom: Vec<(ContentType, Event)> = frames
        .iter()
        .filter_map(|f| Some((f.content_type.clone(), f.event().unwrap()?)))
        .filter(|(_, e)| e.subclass() == Some("test::payment") && e.body.is_some())
        .collect();
    assert_eq!(custom.len(), 2);
    for (ct, e) in &custom {
        assert_eq!(e.body.as_deref(), Some(body), "{ct}");
        // The sender's own Content-Length header stays; the serializer's is gone.
        assert_eq!(
            e.headers.get_all("Content-Length").collect::<Vec<_>>(),
            ["56"]
        );
        assert_eq!(e.get("Content-Type"), Some("text/plain"));
        assert_eq!(e.get("Command"), Some("sendevent CUSTOM"));
    }
    assert_eq!(custom[0].0, ContentType::EventPlain);
    assert_eq!(
        custom[0].1.get("Event-Date-Local"),
        Some("2026-11-25 12:44:38")
    );
    assert_eq!(custom[1].0, ContentType::EventJson);
    let notify = events(&frames)
        .into_iter()
        .find(|e| e.name() == Some("NOTIFY"))
        .expect("NOTIFY");
    assert_eq!(notify.get("X-Text"), Some("100% done & ok"));
    assert_eq!(notify.body, None);
    let long = find(&frames, |f| {
        f.content_type == ContentType::ApiResponse
            && f.body.as_ref().is_some_and(|b| b.len() > 39000)
    });
    assert_eq!(long.headers.get("Content-Length"), Some("39063"));
    let log = find(&frames, |f| f.content_type == ContentType::LogData);
    assert_eq!(log.headers.get("Log-Level"), Some("5"));
    assert_eq!(log.headers.get("User-Data"), Some(""));
}

#[test]
fn xml_event_values_are_decoded() {
    let events = events(&frames(&raw_fixture("inbound-events-xml.raw")));
    let bg = events
        .iter()
        .find(|e| e.name() == Some("BACKGROUND_JOB"))
        .unwrap();
    assert_eq!(bg.get("Event-Date-Local"), Some("2026-11-25 12:44:32"));
    assert_eq!(bg.get("FreeSWITCH-IPv6"), Some("fd00::2"));
    assert_eq!(
        bg.body.as_deref(),
        Some(&b"FreeSWITCH Version 1.11.3-dev~64bit ( 64bit)\n"[..])
    );
    let arr = events
        .iter()
        .find_map(|e| e.get("variable_DP_MATCH"))
        .expect("an array header");
    assert_eq!(arr, "ARRAY::customer|:customer");
}

#[test]
fn outbound_connect_reply_is_a_decoded_channel_data_event() {
    let frames = frames(&raw_fixture("outbound-full-session.raw"));
    let connect = &frames[0];
    assert_eq!(connect.content_type, ContentType::CommandReply);
    assert_eq!(
        connect.reply_text(),
        Some("%2BOK%0A"),
        "frame headers stay verbatim"
    );
    let e = connect.event().unwrap().expect("connect reply event");
    assert_eq!(e.name(), Some("CHANNEL_DATA"));
    assert_eq!(e.get("Reply-Text"), Some("+OK\n"));
    assert_eq!(e.unique_id(), Some("ed4fa17f-825e-4a7b-a5f1-e0abbc83225d"));
    assert_eq!(e.get("Socket-Mode"), Some("async"));
    assert_eq!(e.get("Control"), Some("full"));
    assert_eq!(e.get("variable_DP_MATCH"), Some("ARRAY::socket|:socket"));
    assert_eq!(frames[1].reply_text(), Some("+OK Events Enabled"));
    assert_eq!(frames[1].event().unwrap(), None);
}

#[test]
fn api_response_bodies_without_trailing_newline() {
    let frames = frames(&raw_fixture("inbound-call-control.raw"));
    let bodies: Vec<&[u8]> = frames
        .iter()
        .filter(|f| f.content_type == ContentType::ApiResponse)
        .filter_map(|f| f.body.as_deref())
        .collect();
    assert!(bodies.contains(&&b"true"[..]));
    assert!(bodies.contains(&&b"false"[..]));
}

#[test]
fn disconnect_notices() {
    let frames = frames(&raw_fixture("outbound-full-session.raw"));
    let notices: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.content_type == ContentType::DisconnectNotice)
        .collect();
    assert_eq!(notices.len(), 2);
    let linger = notices[0];
    assert_eq!(linger.headers.get("Content-Disposition"), Some("linger"));
    assert_eq!(linger.headers.get("Linger-Time"), Some("-1"));
    assert_eq!(
        linger.headers.get("Channel-Name"),
        Some("loopback/socket-b")
    );
    assert_eq!(
        linger.headers.get("Controlled-Session-UUID"),
        Some("ed4fa17f-825e-4a7b-a5f1-e0abbc83225d")
    );
    assert_eq!(linger.body.as_deref(), Some(&b""[..]));
    let bye = notices[1];
    assert_eq!(bye.headers.get("Content-Disposition"), Some("disconnect"));
    assert_eq!(
        bye.body.as_deref(),
        Some(&b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"[..])
    );
    let wrong = frames_of("inbound-auth-wrong-password.raw");
    assert_eq!(wrong[1].reply_text(), Some("-ERR invalid"));
    assert_eq!(wrong[2].content_type, ContentType::DisconnectNotice);
    assert_eq!(wrong[2].headers.get("Content-Length"), Some("67"));
}
