//! PCI, proven: complete captures with known card numbers run at TRACE log level through the real
//! daemon parts against the simulator, with every log line (audit records included), API response,
//! status-stream message, metrics scrape, webhook body and panic message captured. None may contain
//! the customer's capture-phase digits. Agent-ID digits may appear.

use crate::flow_harness::panics;
use crate::flow_harness::receiver::{Receiver, SECRET, free_addr};
use crate::flow_harness::*;
use crate::log_capture::Logs;
use confpay::config::WebhookEndpoint;
use confpay::pay::engine::Target;
use confpay::pay::{Outcome, State};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Opens a status stream and collects what it sends until `stop` is cancelled.
fn collect_stream(
    addr: SocketAddr,
    path: String,
    sink: Arc<Mutex<String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        s.write_all(req.as_bytes()).await.expect("write");
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

/// Runs `test` with its own TRACE log capture: on a two-worker runtime every thread of which (and
/// the calling thread, which polls the test itself) logs into the capture. Not the process-wide
/// subscriber: the other tests of this binary share the process and must neither log into this
/// capture nor find a global subscriber taken. The panic messages come from the binary's one panic
/// record ([`panics`]), which sees every thread.
fn with_trace_capture<F: Future<Output = ()>>(test: impl FnOnce(Logs) -> F) {
    panics::record();
    let logs = Logs::default();
    // With exactly one scoped dispatcher alive, tracing-core decides a callsite's interest by the
    // registering thread's own default only: a callsite another test (no subscriber) hits first is
    // then cached as "never" and this capture misses its lines. A second dispatcher, alive as long
    // as this capture and wanting everything, makes every registration ask all of them.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    let dispatch = logs.dispatch_at(tracing::Level::TRACE);
    let for_workers = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        // The guard is never dropped: a runtime thread logs into the capture until it ends.
        .on_thread_start(move || std::mem::forget(tracing::dispatcher::set_default(&for_workers)))
        .build()
        .expect("runtime");
    let _on_this_thread = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(test(logs));
}

/// Every 8-digit window of `card` (long enough that UUIDs and timestamps cannot match by chance).
fn windows(card: &str) -> Vec<&str> {
    (0..=card.len() - 8).map(|i| &card[i..i + 8]).collect()
}

fn assert_clean(what: &str, text: &str, card: &str) {
    for w in windows(card) {
        assert!(!text.contains(w), "{what} contains card digits {w}");
    }
}

#[test]
fn no_capture_digit_reaches_logs_api_stream_metrics_or_panics() {
    with_trace_capture(two_payments_leave_no_card_digit);
}

async fn two_payments_leave_no_card_digit(logs: Logs) {
    let cards = ["5105105105105100", "4929387465019283"];
    let hooks = Receiver::start_on(free_addr().await).await;
    let spool = std::env::temp_dir().join(format!("confpay-pci-hooks-{}", uuid::Uuid::new_v4()));
    let url = Receiver::url(hooks.addr);
    let w = World::start_with(
        |c| {
            c.webhooks.spool_dir = spool.display().to_string();
            c.webhooks.endpoints = vec![WebhookEndpoint {
                url,
                secret: SECRET.into(),
                events: Vec::new(),
            }];
        },
        confpay::sim::party::Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len()),
    )
    .await;
    let cu = w.dialplan_call().await;
    let stream = Arc::new(Mutex::new(String::new()));
    let reader = collect_stream(
        w.stack.http_addr,
        format!("/api/v1/events?call={cu}"),
        stream.clone(),
    );
    let mut api = String::new();
    for (round, card) in cards.iter().enumerate() {
        api.push_str(&one_payment_keyed_slowly(&w, &cu, round, card).await);
    }
    let metrics = http_get(w.stack.http_addr, "/metrics").await;
    assert!(
        metrics.contains("completed"),
        "metrics counted nothing: {metrics}"
    );
    // Both outcomes reach the receiver (every state change before them was sent first).
    let webhooks = w
        .until("both outcomes delivered", || async {
            let bodies: String = hooks
                .received()
                .iter()
                .map(|r| String::from_utf8_lossy(&r.body).into_owned())
                .collect();
            (bodies.matches("\"type\":\"session.done\"").count() == 2).then_some(bodies)
        })
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    reader.abort();
    w.stop().await;
    let _ = std::fs::remove_dir_all(&spool);

    let logs = logs.text();
    let stream = stream.lock().unwrap_or_else(|p| p.into_inner()).clone();
    captures_are_real(&logs, &stream);
    let panics = panics::messages();
    for card in cards {
        assert_clean("a log line", &logs, card);
        assert_clean("an API response", &api, card);
        assert_clean("the status stream", &stream, card);
        assert_clean("a metrics scrape", &metrics, card);
        assert_clean("a webhook body", &webhooks, card);
        assert_clean("a panic message", &panics, card);
    }
    // Not even one digit at a time: no DTMF of the customer's leg was seen once capture ran
    // (sensitive_dtmf), so the engine never logged one.
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("DTMF") && l.contains(&cu) && l.contains("Capturing")),
        "a customer DTMF was handled during capture"
    );
}

/// One payment on call `cu` (Keyphone in round 0, ACA after), the customer keying `card` one
/// digit at a time while the API is read; it completes. Returns the API responses read.
async fn one_payment_keyed_slowly(w: &World, cu: &str, round: usize, card: &str) -> String {
    let mut api = String::new();
    if round > 0 {
        w.sim.core().register_party(
            CAPTURE_DIAL,
            confpay::sim::party::Party::capture("capture", &format!("{AGENT_ID}#"), card.len()),
        );
    }
    let s = w.start_payment(Target::Customer(cu.to_owned())).await;
    w.reach(&s.id, State::Ready).await;
    if round == 0 {
        w.sim.core().press(cu, "1").expect("keyphone start");
    } else {
        w.stack
            .engine
            .start_capture(&s.id)
            .await
            .expect("aca start");
    }
    w.reach(&s.id, State::Capturing).await;
    // The customer keys slowly enough for every state change to be observed meanwhile.
    for d in card.chars() {
        w.sim.core().press(cu, &d.to_string()).expect("digit");
        api.push_str(&http_get(w.stack.http_addr, &format!("/api/v1/sessions/{}", s.id)).await);
    }
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    api.push_str(&http_get(w.stack.http_addr, "/api/v1/calls").await);
    api.push_str(&http_get(w.stack.http_addr, "/api/v1/sessions").await);
    api.push_str(&http_get(w.stack.http_addr, &format!("/api/v1/sessions/{}", s.id)).await);
    api
}

/// The captures hold what they should: the audit record, agent-ID digits, DEBUG lines and the
/// stream's state changes.
fn captures_are_real(logs: &str, stream: &str) {
    assert!(
        logs.contains("payment session ended"),
        "the audit record is captured"
    );
    assert!(
        logs.contains(AGENT_ID),
        "agent-ID digits may appear (and do)"
    );
    assert!(
        logs.lines().any(|l| l.contains(" DEBUG ")),
        "the capture holds the most verbose lines the daemon writes"
    );
    assert!(
        stream.contains("capturing"),
        "the stream was captured: {stream}"
    );
    operations_lines_are_captured(logs);
}

/// The operator's lines are in the capture (so the card checks above cover them): each command with
/// the first line of its reply in the session's span, each event routed to a session by name and leg
/// role, TRACE lines; and `uuid_send_dtmf` (agent ID, ACA '1') never shows its digits.
fn operations_lines_are_captured(logs: &str) {
    let ours = |l: &&str| l.contains("confpay::");
    let has = |what: &str, f: &dyn Fn(&str) -> bool| {
        if !logs.lines().filter(ours).any(f) {
            let _ = std::fs::write("/tmp/pci-logs.txt", logs);
            panic!("{what} is logged");
        }
    };
    has("a command and its reply, in the session span", &|l| {
        l.contains("command answered")
            && l.contains("uuid_setvar")
            && l.contains("sensitive_dtmf")
            && l.contains("reply=+OK")
            && l.contains("session{session=")
    });
    has("the capture service's originate result", &|l| {
        l.contains("command answered") && l.contains("kind=\"bgapi\"")
    });
    has("a command going out (TRACE)", &|l| l.contains("api sent"));
    has("the customer's start key routed to the session", &|l| {
        l.contains("event routed to session")
            && l.contains("event=\"DTMF\"")
            && l.contains("leg=\"customer\"")
    });
    has("the capture leg joining", &|l| {
        l.contains("event routed to session") && l.contains("leg=\"capture\"")
    });
    has("the agent ID sent as tones", &|l| {
        l.contains("uuid_send_dtmf") && l.contains("(digits withheld)")
    });
    let metered = |l: &&str| l.contains("confpay::daemon::stack::metered");
    for l in logs.lines().filter(metered) {
        assert!(
            !l.contains("uuid_send_dtmf") || l.contains("(digits withheld)"),
            "tones shown: {l}"
        );
    }
    for l in logs.lines().filter(|l| l.contains("event routed")) {
        assert!(!l.contains("digit"), "a routed event names a digit: {l}");
    }
}

/// The one path where a customer digit can reach the daemon: digits keyed in the instant between
/// the start key and `sensitive_dtmf` taking effect (here: the `uuid_setvar … sensitive_dtmf true`
/// held by FreeSWITCH while the customer keys half the card). Those DTMF events do arrive; they are
/// dropped without a trace of their digits, and the payment completes.
#[test]
fn digits_keyed_before_sensitive_dtmf_takes_effect_leave_no_trace() {
    with_trace_capture(early_digits_leave_no_trace);
}

async fn early_digits_leave_no_trace(logs: Logs) {
    let card = "6011000990139424";
    let w = World::start_with(
        |_| {},
        confpay::sim::party::Party::capture("capture", &format!("{AGENT_ID}#"), card.len()),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    let gate = w.sim.faults().hold_next("bgapi uuid_setvar");
    w.sim.core().press(&cu, "1").expect("keyphone start");
    gate.reached().await;
    // sensitive_dtmf is still off on the customer leg: these digits fire DTMF events (queued for
    // the daemon behind the held command) and reach the capture leg through dist-dtmf.
    let (early, late) = card.split_at(8);
    for d in early.chars() {
        w.sim.core().press(&cu, &d.to_string()).expect("digit");
    }
    gate.release();
    w.reach(&s.id, State::Capturing).await;
    for d in late.chars() {
        w.sim.core().press(&cu, &d.to_string()).expect("digit");
    }
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    let api = http_get(w.stack.http_addr, &format!("/api/v1/sessions/{}", s.id)).await;
    let metrics = http_get(w.stack.http_addr, "/metrics").await;
    w.stop().await;

    let logs = logs.text();
    assert!(
        logs.lines()
            .any(|l| l.contains("DTMF ignored") && l.contains(&cu)),
        "the stray DTMF events did reach the engine (else this test proves nothing)"
    );
    for l in logs
        .lines()
        .filter(|l| l.contains("DTMF") && l.contains(&cu))
    {
        for d in card.chars().filter(|d| *d != '1') {
            assert!(
                !l.contains(&format!("digit={d}")) && !l.contains(&format!("\"{d}\"")),
                "a DTMF line names a digit: {l}"
            );
        }
    }
    let panics = panics::messages();
    assert_clean("a log line", &logs, card);
    assert_clean("an API response", &api, card);
    assert_clean("a metrics scrape", &metrics, card);
    assert_clean("a panic message", &panics, card);
}

#[test]
fn cluster_forwarding_carries_no_card_digit() {
    with_trace_capture(forwarded_payment_leaves_no_card_digit);
}

/// A payment on node B taken through node A at TRACE: A's and B's logs, A's API answers, status
/// stream and metrics, and every message on NATS (heartbeats, forwarded requests and replies).
async fn forwarded_payment_leaves_no_card_digit(logs: Logs) {
    use crate::cluster_harness::{InProcess, Nats, until};
    use crate::http_harness::{get, post};
    use futures_util::StreamExt;
    use tokio_util::{sync::CancellationToken, task::TaskTracker};
    let Some(nats) = Nats::start("cluster_forwarding_carries_no_card_digit").await else {
        return;
    };
    let card = "6011000990139424";
    let wire = async_nats::connect(nats.url())
        .await
        .expect("NATS observer");
    let mut everything = wire.subscribe("confpay.>").await.expect("subscribe");
    let mut inboxes = wire.subscribe("_INBOX.>").await.expect("subscribe");
    let (tracker, stop) = (TaskTracker::new(), CancellationToken::new());
    let a = InProcess::start("a", &nats, &tracker, &stop).await;
    let b = InProcess::start("b", &nats, &tracker, &stop).await;
    let cu = b
        .sim
        .core()
        .incoming_call(&b.customer, "confpay", "Customer", "1001")
        .expect("call");
    let front = a.stack.http_addr;
    until("A lists B's call", || async {
        let calls = get(front, "/api/v1/calls", None).await.json();
        calls["calls"].as_array().and_then(|c| {
            c.iter()
                .find(|c| c["customer"] == cu.as_str() && c["reachable"] == true)
                .cloned()
        })
    })
    .await;
    let stream = Arc::new(Mutex::new(String::new()));
    let reader = collect_stream(front, format!("/api/v1/events?call={cu}"), stream.clone());
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{cu}"}}}}"#);
    let started = until("payment starts on B through A", || async {
        let r = post(front, "/api/v1/sessions", None, &body).await;
        (r.status == 201).then_some(r)
    })
    .await;
    let id = started.json()["id"].as_str().expect("id").to_owned();
    let mut answers = started.body.clone();
    reach_on(&b.stack.engine, &id, State::Ready).await;
    b.sim.core().press(&cu, "1").expect("1");
    reach_on(&b.stack.engine, &id, State::Capturing).await;
    b.sim.core().press(&cu, card).expect("card");
    let done = reach_on(&b.stack.engine, &id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    for path in [
        format!("/api/v1/sessions/{id}"),
        "/api/v1/calls".to_owned(),
        "/api/v1/sessions".to_owned(),
        "/metrics".to_owned(),
    ] {
        answers.push_str(&http_get(front, &path).await);
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    reader.abort();
    // Nodes stopped first: with no heartbeats left, draining the observer ends.
    stop.cancel();
    tracker.close();
    let _ = tokio::time::timeout(Duration::from_secs(3), tracker.wait()).await;
    let mut on_wire = String::new();
    for sub in [&mut everything, &mut inboxes] {
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
            on_wire.push_str(&String::from_utf8_lossy(&m.payload));
        }
    }
    assert!(
        on_wire.contains(&id),
        "the observer saw the forwarded traffic"
    );
    assert!(
        stream
            .lock()
            .expect("stream")
            .contains("\"state\":\"done\""),
        "the stream through A followed B"
    );
    assert!(
        logs.text().contains("forward") || logs.text().contains("cluster"),
        "cluster logs were captured"
    );
    for (what, text) in [
        ("logs", logs.text()),
        ("API answers", answers),
        ("status stream", stream.lock().expect("stream").clone()),
        ("NATS messages", on_wire),
    ] {
        assert_clean(what, &text, card);
    }
}
