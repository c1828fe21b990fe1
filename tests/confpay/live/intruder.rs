//! Another local ESL client (it needs only the password) injecting events with `sendevent` while
//! calls run: forged start events, forged conference and channel events, made-up header names,
//! invalid UTF-8, bodies with blank lines and a nested Content-Length, for the subclasses and event
//! types confpayd listens to. confpayd must keep its connection, start nothing on them, and still get
//! every event it needs: the payment around them completes.

use super::parties::{AGENT_ID, CARD};
use super::switch::Target;
use super::world::World;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SETUP: Duration = Duration::from_secs(20);

/// A raw ESL connection that sends `sendevent` requests as bytes (invalid UTF-8 included).
struct Intruder {
    sock: TcpStream,
}

impl Intruder {
    async fn connect(target: &Target) -> Intruder {
        let sock = TcpStream::connect(&target.esl).await.expect("connect");
        let mut i = Intruder { sock };
        i.reply().await; // auth/request
        i.sock
            .write_all(format!("auth {}\n\n", target.password).as_bytes())
            .await
            .expect("auth");
        let r = i.reply().await;
        assert!(r.contains("+OK accepted"), "{r}");
        i
    }

    /// Reads one header block (what FreeSWITCH answers to a `sendevent`: a command/reply).
    async fn reply(&mut self) -> String {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\n\n") {
            let n = tokio::time::timeout(SETUP, self.sock.read(&mut byte))
                .await
                .expect("a reply in time")
                .expect("read");
            assert_eq!(n, 1, "FreeSWITCH closed the intruder's connection");
            got.push(byte[0]);
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// `sendevent <name>` with `headers` and an optional body; FreeSWITCH's `+OK <Event-UUID>`.
    async fn send(&mut self, name: &str, headers: &[(&[u8], &[u8])], body: Option<&[u8]>) {
        let mut msg = format!("sendevent {name}\n").into_bytes();
        for (n, v) in headers {
            msg.extend_from_slice(n);
            msg.extend_from_slice(b": ");
            msg.extend_from_slice(v);
            msg.push(b'\n');
        }
        if let Some(b) = body {
            msg.extend_from_slice(format!("Content-Length: {}\n\n", b.len()).as_bytes());
            msg.extend_from_slice(b);
        } else {
            msg.push(b'\n');
        }
        self.sock.write_all(&msg).await.expect("sendevent");
        let r = self.reply().await;
        assert!(r.contains("Reply-Text: +OK"), "sendevent {name}: {r}");
    }
}

const MADE_UP: &[u8] = b"0badc0de-0000-4000-8000-00000000dead";

/// Everything odd, for what confpayd subscribes to, about the call in `room` and made-up channels.
async fn flood(i: &mut Intruder, room: &str) {
    let body: &[u8] = b"line\n\nafter: blank\nContent-Length: 999\n\n\xff\xfe end\n";
    i.send(
        "CUSTOM",
        &[
            (b"Event-Subclass", b"confpay::start"),
            (b"Name With Spaces", b"odd \xff value"),
            (b"confpay_agent_id", AGENT_ID.as_bytes()),
        ],
        Some(body),
    )
    .await;
    i.send(
        "CUSTOM",
        &[
            (b"Event-Subclass", b"confpay::start"),
            (b"Unique-ID", MADE_UP),
            (b"confpay_agent_id", AGENT_ID.as_bytes()),
        ],
        None,
    )
    .await;
    for action in [&b"add-member"[..], b"del-member", b"hold-member"] {
        i.send(
            "CUSTOM",
            &[
                (b"Event-Subclass", b"conference::maintenance"),
                (b"Action", action),
                (b"Conference-Name", room.as_bytes()),
                (b"Unique-ID", MADE_UP),
                (b"Member-ID", b"not-a-number \xc3"),
            ],
            None,
        )
        .await;
    }
    i.send(
        "DTMF",
        &[(b"Unique-ID", MADE_UP), (b"DTMF-Digit", b"1")],
        None,
    )
    .await;
    i.send(
        "CHANNEL_HANGUP",
        &[(b"Unique-ID", MADE_UP), (b"Hangup-Cause", b"\xff\xff")],
        Some(b"\n\n\n"),
    )
    .await;
    i.send(
        "BACKGROUND_JOB",
        &[(b"Job-UUID", MADE_UP), (b"Job-Command", b"originate")],
        Some(b"+OK 0badc0de-0000-4000-8000-00000000dead\n"),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn events_another_client_injects_change_nothing() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (agent_uuid, agent) = w.agent_of(&call).await;
    let room = w.api.call(&call.channel, SETUP).await["room"]
        .as_str()
        .expect("room")
        .to_owned();
    let mut intruder = Intruder::connect(&w.target).await;
    let lost = || w.daemon.log().matches("ESL connection lost").count();

    // A start event forged for the real agent's channel: FreeSWITCH queues an event carrying a live
    // channel's Unique-ID to that channel instead of broadcasting it, so no listener gets it.
    intruder
        .send(
            "CUSTOM",
            &[
                (b"Event-Subclass", b"confpay::start"),
                (b"Unique-ID", agent_uuid.as_bytes()),
                (b"confpay_agent_id", b"999"),
            ],
            None,
        )
        .await;
    // Forged and odd events for everything confpayd listens to.
    flood(&mut intruder, &room).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = w.api.call(&call.channel, SETUP).await;
    assert!(
        c["session"].is_null(),
        "a payment started on a forged event: {c}"
    );
    assert_eq!(c["agent_id"], AGENT_ID, "{c}");

    // The same again in the middle of a real payment, which must complete.
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    flood(&mut intruder, &room).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    flood(&mut intruder, &room).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    w.check_capture(mark, &report, &agent);
    assert_eq!(lost(), 0, "confpayd lost its ESL connection");
    let calls = w.api.calls().await;
    assert_eq!(calls["calls"].as_array().map(Vec::len), Some(1), "{calls}");
    assert!(!w.daemon.log().contains(CARD));
    w.finish(&call).await;
}
