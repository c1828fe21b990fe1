//! End to end over TCP: a controller drives customer, agent and capture legs through a payment
//! conference using only ESL commands (as the daemon will), reading the simulator's output with the
//! daemon's own decoder (`EslCodec`, `Frame::event`). The scripted parties act on the far ends; the
//! hearing matrix and the DTMF log are checked at each step.

use confpay_esl::{ContentType, EslCodec, Event, Frame};
use confpay_sim::hearing::DtmfOrigin;
use confpay_sim::party::{CapturePhase, Party};
use confpay_sim::{SimConfig, Simulator};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::codec::FramedRead;

struct Ctl {
    rd: FramedRead<OwnedReadHalf, EslCodec>,
    wr: OwnedWriteHalf,
    events: Vec<Event>,
}

impl Ctl {
    async fn connect(sim: &Simulator) -> Ctl {
        let sock = TcpStream::connect(sim.esl_addr()).await.expect("connect");
        let (r, w) = sock.into_split();
        let mut c = Ctl {
            rd: FramedRead::new(r, EslCodec::default()),
            wr: w,
            events: Vec::new(),
        };
        assert_eq!(c.next().await.content_type, ContentType::AuthRequest);
        assert_eq!(c.cmd("auth ClueCon").await, "+OK accepted");
        c
    }
    async fn next(&mut self) -> Frame {
        tokio::time::timeout(Duration::from_secs(5), self.rd.next())
            .await
            .expect("a frame within 5 s")
            .expect("stream open")
            .expect("the daemon's decoder accepts the simulator's bytes")
    }
    /// The next non-event frame; events are decoded and kept.
    async fn reply(&mut self) -> Frame {
        loop {
            let f = self.next().await;
            if f.content_type.is_event() {
                let ev = f.event().expect("event decodes").expect("is an event");
                self.events.push(ev);
            } else {
                return f;
            }
        }
    }
    async fn send(&mut self, text: &str) {
        self.wr
            .write_all(format!("{text}\n\n").as_bytes())
            .await
            .expect("send");
    }
    async fn cmd(&mut self, text: &str) -> String {
        self.send(text).await;
        let f = self.reply().await;
        assert_eq!(f.content_type, ContentType::CommandReply, "{text}");
        f.reply_text().unwrap_or_default().to_owned()
    }
    async fn api(&mut self, line: &str) -> String {
        self.send(&format!("api {line}")).await;
        let f = self.reply().await;
        assert_eq!(f.content_type, ContentType::ApiResponse, "{line}");
        f.body_text().unwrap_or_default().into_owned()
    }
    /// Waits for an event matching `pred` (already received ones included), removing it.
    async fn wait(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return self.events.remove(i);
            }
            let f = self.next().await;
            assert!(
                f.content_type.is_event(),
                "unexpected {f:?} while waiting for {what}"
            );
            self.events
                .push(f.event().expect("decodes").expect("event"));
        }
    }
    /// Reads whatever arrives within `d`.
    async fn settle(&mut self, d: Duration) {
        while let Ok(Some(Ok(f))) = tokio::time::timeout(d, self.rd.next()).await {
            if let Ok(Some(ev)) = f.event() {
                self.events.push(ev);
            }
        }
    }
    /// bgapi originate and wait for its BACKGROUND_JOB, then for the leg's application to start
    /// (it runs once originate has returned, as on FreeSWITCH); returns the job body.
    async fn originate(&mut self, job: &str, args: &str) -> String {
        self.send(&format!("bgapi originate {args}\nJob-UUID: {job}"))
            .await;
        let r = self.reply().await;
        assert_eq!(
            r.reply_text(),
            Some(format!("+OK Job-UUID: {job}").as_str())
        );
        let ev = self
            .wait("BACKGROUND_JOB", |e| e.get("Job-UUID") == Some(job))
            .await;
        let body = ev.body_text().unwrap_or_default().into_owned();
        self.settle(Duration::from_millis(100)).await;
        body
    }
}

fn member_id(ev: &Event) -> String {
    ev.get("Member-ID").unwrap_or_default().to_owned()
}

#[tokio::test]
async fn payment_conference_over_esl_keeps_card_digits_from_the_agent() {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let customer = Party::customer("customer");
    let agent = Party::agent("agent");
    let capture = Party::capture("capture", "42", 4);
    sim.core().register_party("customer", customer.clone());
    sim.core().register_party("agent", agent.clone());
    sim.core().register_party("capture", capture.clone());

    let mut c = Ctl::connect(&sim).await;
    assert_eq!(
        c.cmd("event plain CHANNEL_ANSWER CHANNEL_HANGUP DTMF BACKGROUND_JOB CUSTOM conference::maintenance").await,
        "+OK event listener enabled plain"
    );
    let cu = "c0000000-0000-4000-8000-000000000001";
    let ag = "a0000000-0000-4000-8000-000000000002";
    let ca = "d0000000-0000-4000-8000-000000000003";
    let (cid, aid, kid) = originate_all_three_into_pay(&mut c, [cu, ag, ca]).await;
    let h = sim.core().hearing();
    assert!(
        h.hears("agent", "customer")
            && h.hears("customer", "agent")
            && h.hears("capture", "customer")
    );
    cut_agent_and_customer_apart(&mut c, &sim, &aid, &cid).await;
    let capture_started = send_agent_id_and_arm(&mut c, &capture, &kid, cu).await;
    customer_keys_the_card_to_the_capture_service_only(
        &mut c,
        &sim,
        [&agent, &capture],
        cu,
        capture_started,
    )
    .await;
    capture_hangs_up_and_the_pair_is_put_back_together(
        &mut c,
        &sim,
        [&customer, &agent, &capture],
        ca,
        &aid,
        &cid,
    )
    .await;
}

/// Originates customer, agent and capture (by these uuids) into `pay`; returns their member IDs.
async fn originate_all_three_into_pay(c: &mut Ctl, uuids: [&str; 3]) -> (String, String, String) {
    let [cu, ag, ca] = uuids;
    for (job, uuid, who, flags) in [
        (
            "10000000-0000-4000-8000-000000000001",
            cu,
            "customer",
            "+flags{dist-dtmf}",
        ),
        (
            "10000000-0000-4000-8000-000000000002",
            ag,
            "agent",
            "+flags{skip-dtmf}",
        ),
        ("10000000-0000-4000-8000-000000000003", ca, "capture", ""),
    ] {
        let body = c
            .originate(job, &format!("{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference(pay@confpay{flags})"))
            .await;
        assert_eq!(body, format!("+OK {uuid}\n"));
    }
    let mut ids = std::collections::HashMap::new();
    for uuid in [cu, ag, ca] {
        let ev = c
            .wait("add-member", |e| {
                e.get("Action") == Some("add-member") && e.unique_id() == Some(uuid)
            })
            .await;
        assert_eq!(ev.get("Conference-Name"), Some("pay"));
        ids.insert(uuid, member_id(&ev));
    }
    let (cid, aid, kid) = (ids[cu].clone(), ids[ag].clone(), ids[ca].clone());
    assert_eq!(c.api("conference pay list count").await, "3");
    (cid, aid, kid)
}

/// Cut agent and customer apart; the capture service still hears both, the customer hears it.
async fn cut_agent_and_customer_apart(c: &mut Ctl, sim: &Simulator, aid: &str, cid: &str) {
    assert_eq!(
        c.api(&format!("conference pay relate {aid} {cid} nospeak,nohear"))
            .await,
        format!("+OK {aid}->{cid} nospeak,nohear set\n")
    );
    let h = sim.core().hearing();
    assert!(
        !h.hears("agent", "customer") && !h.hears("customer", "agent"),
        "{h:?}"
    );
    assert!(
        h.hears("capture", "customer")
            && h.hears("capture", "agent")
            && h.hears("customer", "capture")
    );
}

/// Agent ID and `1` to the capture service, then sensitive_dtmf on the customer. Returns when
/// capture started; the events seen so far are cleared.
async fn send_agent_id_and_arm(
    c: &mut Ctl,
    capture: &Party,
    kid: &str,
    cu: &str,
) -> tokio::time::Instant {
    assert_eq!(
        c.api(&format!("conference pay dtmf {kid} 421")).await,
        format!("+OK sent 421 to {kid}\n")
    );
    assert_eq!(capture.capture_phase(), Some(CapturePhase::Collecting(0)));
    assert_eq!(
        c.api(&format!("uuid_setvar {cu} sensitive_dtmf true"))
            .await,
        "+OK\n"
    );
    let capture_started = tokio::time::Instant::now();
    c.settle(Duration::from_millis(100)).await;
    c.events.clear();
    capture_started
}

/// The customer keys the card digits on the phone: all reach the capture service, none the agent
/// or the event socket.
async fn customer_keys_the_card_to_the_capture_service_only(
    c: &mut Ctl,
    sim: &Simulator,
    [agent, capture]: [&Party; 2],
    cu: &str,
    capture_started: tokio::time::Instant,
) {
    sim.core().press(cu, "4111").expect("press");
    c.settle(Duration::from_millis(300)).await;
    let log = sim.core().dtmf_log();
    let during: Vec<_> = log.iter().filter(|d| d.at >= capture_started).collect();
    assert_eq!(during.len(), 4, "{during:?}");
    assert!(
        during
            .iter()
            .all(|d| d.party == "capture" && d.origin == DtmfOrigin::Party("customer".into()))
    );
    assert!(
        !log.iter().any(|d| d.party == "agent"),
        "a digit reached the agent: {log:?}"
    );
    assert_eq!(agent.received(), "");
    assert_eq!(capture.capture_phase(), Some(CapturePhase::Done));
    assert!(
        !c.events
            .iter()
            .any(|e| e.name() == Some("DTMF") && e.unique_id() == Some(cu)),
        "a DTMF event of the customer's leg went out on the event socket"
    );
}

/// The capture service hangs up; agent and customer stay, then are put back together.
async fn capture_hangs_up_and_the_pair_is_put_back_together(
    c: &mut Ctl,
    sim: &Simulator,
    [customer, agent, capture]: [&Party; 3],
    ca: &str,
    aid: &str,
    cid: &str,
) {
    c.wait("capture hangup", |e| {
        e.name() == Some("CHANNEL_HANGUP") && e.unique_id() == Some(ca)
    })
    .await;
    assert!(capture.is_hung_up());
    assert_eq!(c.api("conference pay list count").await, "2");
    assert_eq!(
        c.api(&format!("conference pay relate {aid} {cid} clear"))
            .await,
        format!("+OK relationship {aid}->{cid} cleared.\n")
    );
    let h = sim.core().hearing();
    assert!(h.hears("agent", "customer") && h.hears("customer", "agent"));
    assert!(!customer.is_hung_up() && !agent.is_hung_up());
}

async fn hash_in(profile: &str) -> (String, bool) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    for who in ["p1", "p2"] {
        sim.core().register_party(who, Party::customer(who));
    }
    let mut c = Ctl::connect(&sim).await;
    c.cmd("event plain BACKGROUND_JOB CUSTOM conference::maintenance")
        .await;
    for (n, who) in ["p1", "p2"].iter().enumerate() {
        let uuid = format!("e0000000-0000-4000-8000-00000000000{n}");
        let job = format!("20000000-0000-4000-8000-00000000000{n}");
        let body = c
            .originate(&job, &format!("{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference(room@{profile})"))
            .await;
        assert!(body.starts_with("+OK "), "{body}");
    }
    sim.core()
        .press("e0000000-0000-4000-8000-000000000000", "#")
        .expect("press");
    c.settle(Duration::from_millis(300)).await;
    let left = c.events.iter().any(|e| {
        e.get("Action") == Some("del-member")
            && e.unique_id() == Some("e0000000-0000-4000-8000-000000000000")
    });
    (c.api("conference room list count").await, left)
}

#[tokio::test]
async fn hash_ejects_under_default_caller_controls() {
    assert_eq!(hash_in("default").await, ("1".to_owned(), true));
}

#[tokio::test]
async fn hash_does_nothing_under_caller_controls_none() {
    assert_eq!(hash_in("confpay").await, ("2".to_owned(), false));
}

/// The daemon's real shape: the customer's call arrives on the `socket` extension, the daemon takes
/// it over the outbound socket (async full), answers and puts it into the conference through the
/// socket, and brings agent and capture in over its inbound connection.
#[tokio::test]
async fn customer_controlled_over_the_outbound_socket_joins_the_payment_conference() {
    let daemon = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let cfg = SimConfig {
        outbound_target: Some(daemon.local_addr().expect("addr")),
        ..SimConfig::default()
    };
    let sim = Simulator::start(cfg).await.expect("sim");
    let customer = Party::customer("customer");
    let agent = Party::agent("agent");
    let capture = Party::capture("capture", "7", 2);
    sim.core().register_party("agent", agent.clone());
    sim.core().register_party("capture", capture.clone());
    let cu = sim
        .core()
        .incoming_call(&customer, "socket", "Customer", "5551234")
        .expect("incoming call");
    let mut out = take_over_and_join_the_conference(&daemon, &cu).await;
    let mut c = bring_in_agent_and_capture(&sim).await;
    cut_apart_and_arm_the_capture_service(&mut c, &cu).await;
    out.settle(Duration::from_millis(100)).await;
    out.events.clear();
    sim.core().press(&cu, "42").expect("press");
    out.settle(Duration::from_millis(300)).await;
    assert_eq!(capture.capture_phase(), Some(CapturePhase::Done));
    assert!(!sim.core().dtmf_log().iter().any(|d| d.party == "agent"));
    assert!(
        !out.events.iter().any(|e| e.name() == Some("DTMF")),
        "no customer DTMF on the controlling socket"
    );
    let h = sim.core().hearing();
    assert!(!h.hears("agent", "customer") && !h.hears("customer", "agent"));
    assert_eq!(
        sim.core().current_app(&cu).as_deref(),
        Some("conference"),
        "still in the conference, under socket control"
    );
}

/// The daemon's side of the outbound socket: accepts the call `cu`, connects, subscribes,
/// answers, and sends the customer into the conference. Returns the controlling connection.
async fn take_over_and_join_the_conference(daemon: &tokio::net::TcpListener, cu: &str) -> Ctl {
    let (sock, _) = tokio::time::timeout(Duration::from_secs(5), daemon.accept())
        .await
        .expect("dials out")
        .expect("accept");
    let (r, w) = sock.into_split();
    let mut out = Ctl {
        rd: FramedRead::new(r, EslCodec::default()),
        wr: w,
        events: Vec::new(),
    };
    out.send("connect").await;
    let data = out.next().await;
    let data = data
        .event()
        .expect("connect reply decodes")
        .expect("channel data");
    assert_eq!(data.unique_id(), Some(cu));
    assert_eq!(out.cmd("myevents").await, "+OK Events Enabled");
    assert_eq!(out.cmd("linger").await, "+OK will linger");
    assert_eq!(
        out.cmd("sendmsg\ncall-command: execute\nexecute-app-name: answer")
            .await,
        "+OK"
    );
    out.wait("answer", |e| {
        e.name() == Some("CHANNEL_EXECUTE_COMPLETE") && e.get("Application") == Some("answer")
    })
    .await;
    assert_eq!(
        out.cmd("sendmsg\ncall-command: execute\nexecute-app-name: conference\nexecute-app-arg: pay@confpay+flags{dist-dtmf}").await,
        "+OK"
    );
    out
}

/// Agent and capture service are originated into the conference over the inbound connection.
async fn bring_in_agent_and_capture(sim: &Simulator) -> Ctl {
    let mut c = Ctl::connect(sim).await;
    c.cmd("event plain BACKGROUND_JOB CUSTOM conference::maintenance")
        .await;
    for (job, uuid, who, flags) in [
        (
            "30000000-0000-4000-8000-000000000002",
            "a1000000-0000-4000-8000-000000000002",
            "agent",
            "+flags{skip-dtmf}",
        ),
        (
            "30000000-0000-4000-8000-000000000003",
            "d1000000-0000-4000-8000-000000000003",
            "capture",
            "",
        ),
    ] {
        let body = c
            .originate(job, &format!("{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference(pay@confpay{flags})"))
            .await;
        assert_eq!(body, format!("+OK {uuid}\n"));
    }
    assert_eq!(c.api("conference pay list count").await, "3");
    c
}

/// Agent and customer are cut apart, the agent ID goes to the capture service, and the
/// customer's leg gets `sensitive_dtmf`.
async fn cut_apart_and_arm_the_capture_service(c: &mut Ctl, cu: &str) {
    let list = c.api("conference pay list").await;
    let id_of = |uuid: &str| {
        list.lines()
            .find(|l| l.split(';').nth(2) == Some(uuid))
            .and_then(|l| l.split(';').next())
            .map(str::to_owned)
            .expect("member")
    };
    let (cid, aid, kid) = (
        id_of(cu),
        id_of("a1000000-0000-4000-8000-000000000002"),
        id_of("d1000000-0000-4000-8000-000000000003"),
    );
    assert_eq!(
        c.api(&format!("conference pay relate {aid} {cid} nospeak,nohear"))
            .await,
        format!("+OK {aid}->{cid} nospeak,nohear set\n")
    );
    assert_eq!(
        c.api(&format!("conference pay dtmf {kid} 71")).await,
        format!("+OK sent 71 to {kid}\n")
    );
    assert_eq!(
        c.api(&format!("uuid_setvar {cu} sensitive_dtmf true"))
            .await,
        "+OK\n"
    );
}
