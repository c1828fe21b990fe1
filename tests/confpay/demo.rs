//! The demo's scripted part, in process: the simulator and the daemon's real parts over loopback
//! TCP, one Keyphone and one ACA payment. Checks both completed, that the timeline shows the
//! customer on hold (music only) during setup and cut off from the agent during capture, and that
//! the printed timeline holds no card digit. And `confpayd demo --serve` as a process: the HTTP API
//! over the real stack takes a payment on its fresh call; SIGINT stops it with status 0.

use confpay::demo::{DemoOptions, Timeline, What, World, run_script};
use confpay::pay::{Outcome, StartMethod, State};
use confpay::sim::hearing::{Hearing, Source};

const CARD: &str = "4111111111111111";

async fn timeline() -> Timeline {
    let opts = DemoOptions {
        speed: 10.0,
        ..DemoOptions::default()
    };
    run_script(&opts).await.expect("the scripted call runs")
}

fn sessions(t: &Timeline) -> Vec<String> {
    t.outcomes().iter().map(|(s, _)| (*s).to_owned()).collect()
}

fn music_only(h: &Hearing, who: &str) -> bool {
    let s = h.sources(who);
    !s.is_empty() && s.iter().all(|x| matches!(x, Source::Music(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_methods_complete_with_hold_and_isolation_and_no_digits() {
    let t = timeline().await;
    let printed = t.to_string();
    both_methods_completed_keyphone_first(&t, &printed);
    for s in sessions(&t) {
        session_holds_then_isolates_then_talks(&t, &s, &printed);
    }
    digits_reached_the_capture_service_only(&t, &printed);
    printed_timeline_holds_no_card_digit(&t, &printed);
}

/// Both methods completed, Keyphone first.
fn both_methods_completed_keyphone_first(t: &Timeline, printed: &str) {
    let outcomes: Vec<Outcome> = t.outcomes().into_iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Completed {
                method: StartMethod::Keyphone
            },
            Outcome::Completed {
                method: StartMethod::Aca
            },
        ],
        "{printed}"
    );
    assert_eq!(
        printed.matches("outcome: Completed (Keyphone)").count(),
        1,
        "{printed}"
    );
    assert_eq!(
        printed.matches("outcome: Completed (Aca)").count(),
        1,
        "{printed}"
    );
}

/// Setup keeps the customer on hold music, capture cuts them off from the agent, and they talk
/// again once done.
fn session_holds_then_isolates_then_talks(t: &Timeline, s: &str, printed: &str) {
    let states = t.states(s);
    let seen: Vec<State> = states.iter().map(|(st, _)| st.clone()).collect();
    assert_eq!(seen.first(), Some(&State::Idle), "{printed}");
    assert_eq!(seen.last(), Some(&State::Done), "{printed}");
    // Setup: while the capture service is dialled / answers / gets the agent ID, the customer
    // hears hold music and nothing else.
    let setup: Vec<_> = states
        .iter()
        .filter(|(st, _)| {
            matches!(
                st,
                State::Dialling | State::Answered | State::SendingAgentId
            )
        })
        .collect();
    assert!(!setup.is_empty(), "no setup state seen: {printed}");
    for (st, h) in &setup {
        assert!(
            music_only(h, "customer"),
            "{st:?}: customer hears {:?}\n{printed}",
            h.sources("customer")
        );
    }
    // Capture: customer and capture service hear each other; agent and customer do not.
    let (_, h) = states
        .iter()
        .find(|(st, _)| *st == State::Capturing)
        .unwrap_or_else(|| panic!("session {s} never seen capturing: {printed}"));
    assert!(h.hears("customer", "capture") && h.hears("capture", "customer"));
    assert!(!h.hears("customer", "agent"), "{h:?}");
    assert!(!h.hears("agent", "customer"), "{h:?}");
    // And back to talking once done.
    let (_, h) = states.last().expect("a last state");
    assert!(h.hears("customer", "agent") && h.hears("agent", "customer"));
}

/// The digits went to the capture service only, and the printed timeline says so.
fn digits_reached_the_capture_service_only(t: &Timeline, printed: &str) {
    let keyed: Vec<_> = t
        .entries
        .iter()
        .filter_map(|e| match &e.what {
            What::Keyed { count, reached, .. } => Some((*count, reached.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(keyed.len(), 2);
    for (count, reached) in keyed {
        assert_eq!(count, 16);
        assert_eq!(reached.get("capture"), Some(&16));
        assert_eq!(reached.get("agent"), None);
    }
    assert_eq!(
        printed
            .matches("customer keys 16 digits → capture service only")
            .count(),
        2,
        "{printed}"
    );
    assert!(printed.contains("agent 0 (0 keyed, 0 sent by confpayd)"));
}

/// PCI: no card digits in what the demo prints — not the number, not its first six, not any run
/// of 13 or more digits.
fn printed_timeline_holds_no_card_digit(t: &Timeline, printed: &str) {
    assert!(!printed.contains(CARD));
    assert!(!printed.contains(&CARD[..6]));
    let longest_run = printed
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_run < 13, "a long digit run in:\n{printed}");
    assert!(!format!("{t:?}").contains(CARD));
}

/// `confpayd demo --serve` (the binary): after the scripted run, the agent API on the real stack
/// (HTTP → engine → ESL over TCP → simulator) takes a payment on the fresh call, and Ctrl-C (SIGINT)
/// ends the process with status 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mode_takes_a_payment_through_the_api_and_stops_on_ctrl_c() {
    let (mut child, ready) = spawn_serve_and_read_ready_line();
    let field = |name: &str| {
        ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_owned))
            .unwrap_or_else(|| panic!("{name} missing in {ready}"))
    };
    let url = field("url");
    let customer = field("customer");
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("url host:port");
    assert_eq!(addr.ip().to_string(), "127.0.0.1");

    api_lists_the_fresh_call_behind_the_token(addr, &customer).await;
    api_takes_an_aca_payment_without_digits(addr, &customer).await;
    sigint_stops_serve_with_status_zero(&mut child);
}

const SERVE_TOKEN: &str = "demo-test-token";

/// Runs `confpayd demo --serve`, reads its stdout up to the DEMO_READY line, checks the stop hint
/// and token lines that come with it, and returns the child and the DEMO_READY fields.
fn spawn_serve_and_read_ready_line() -> (std::process::Child, String) {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::time::Duration;

    const TOKEN: &str = SERVE_TOKEN;
    let mut child = Command::new(env!("CARGO_BIN_EXE_confpayd"))
        .args(["demo", "--serve", "--token", TOKEN, "--speed", "8"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run confpayd demo --serve");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = String::new();
    let ready = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no DEMO_READY line; got:\n{printed}"));
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("DEMO_READY ") {
            break rest.to_owned();
        }
    };
    // The stop hint follows the DEMO_READY line.
    let next = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    assert_eq!(next, "press Ctrl-C to stop");
    assert!(printed.contains(&format!("API token (paste it into the page): {TOKEN}")));
    assert!(!printed.contains(CARD), "{printed}");
    (child, ready)
}

/// The one fresh call is listed with its customer and agent ID; without the token, 401.
async fn api_lists_the_fresh_call_behind_the_token(addr: std::net::SocketAddr, customer: &str) {
    use crate::http_harness::get;
    const TOKEN: &str = SERVE_TOKEN;
    let calls = get(addr, "/api/v1/calls", Some(TOKEN)).await.json();
    let list = calls["calls"].as_array().expect("calls");
    assert_eq!(list.len(), 1, "{calls}");
    assert_eq!(list[0]["customer"], customer);
    assert_eq!(list[0]["agent_id"], "4711");
    assert_eq!(get(addr, "/api/v1/calls", None).await.status, 401);
}

/// A session on the customer reaches ready, capture is accepted, it completes by ACA, and no
/// response body holds card digits.
async fn api_takes_an_aca_payment_without_digits(addr: std::net::SocketAddr, customer: &str) {
    use crate::http_harness::{get, post};
    use std::time::Duration;
    const TOKEN: &str = SERVE_TOKEN;
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{customer}"}}}}"#);
    let r = post(addr, "/api/v1/sessions", Some(TOKEN), &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json()["id"].as_str().expect("id").to_owned();
    let mut bodies = vec![r.body.clone()];
    let wait = |state: &'static str| {
        let id = id.clone();
        async move {
            for _ in 0..200 {
                let r = get(addr, &format!("/api/v1/sessions/{id}"), Some(TOKEN)).await;
                if r.json()["state"] == state {
                    return r.body;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("session {id} never reached {state}");
        }
    };
    bodies.push(wait("ready").await);
    let r = post(
        addr,
        &format!("/api/v1/sessions/{id}/capture"),
        Some(TOKEN),
        "",
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let done = wait("done").await;
    let v: serde_json::Value = serde_json::from_str(&done).expect("json");
    assert_eq!(v["outcome"]["code"], "completed", "{done}");
    assert_eq!(v["method"], "aca");
    bodies.push(done);
    for b in &bodies {
        assert!(!b.contains(CARD), "card digits in {b}");
    }
}

/// SIGINT ends the process, with status 0.
fn sigint_stops_serve_with_status_zero(child: &mut std::process::Child) {
    use std::process::Command;
    use std::time::Duration;
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let mut status = None;
    for _ in 0..200 {
        if let Some(s) = child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("confpayd demo --serve did not stop on SIGINT");
    };
    assert!(status.success(), "{status}");
}

/// A dialplan-driven call (outbound socket, peer checked with the switch) carries the caller as
/// the switch knows them and, once the agent answered, when the talking began: what the agent
/// page shows instead of channel UUIDs.
#[tokio::test]
async fn a_dialplan_call_knows_its_caller_from_the_switch() {
    use confpay::demo::world::{CALLER_NAME, CALLER_NUMBER};
    use std::time::Duration;
    let mut world = World::start(&DemoOptions::default())
        .await
        .expect("world starts");
    let call = world.call().await.expect("the call is set up");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let caller = loop {
        let caller = world
            .stack
            .engine
            .call(&call.customer)
            .map(|c| c.caller)
            .unwrap_or_default();
        if caller.answered_at.is_some() || tokio::time::Instant::now() >= deadline {
            break caller;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    world.stop().await;
    assert_eq!(caller.number.as_deref(), Some(CALLER_NUMBER));
    assert_eq!(caller.name.as_deref(), Some(CALLER_NAME));
    let since = caller.answered_at.expect("the agent's answer time");
    assert!(since.elapsed().expect("in the past") < Duration::from_secs(10));
}
