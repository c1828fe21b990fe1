//! The `confpay-sim` console in-process: the standalone set-up (extensions, scripted agent and capture
//! service) driven by line commands, checked through the console's answers and a raw ESL client.

use crate::esl_client::{Client, RawFrame};
use confpay_sim::console::{self, Console, Outcome};
use confpay_sim::standalone::{self, Options};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

async fn console_with_outbound(outbound: SocketAddr) -> Console {
    let opts = Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        outbound,
        ..Options::default()
    };
    Console::new(standalone::start(&opts).await.expect("start"))
}

async fn console() -> Console {
    console_with_outbound(SocketAddr::from(([127, 0, 0, 1], 9))).await
}

async fn reply(c: &mut Console, line: &str) -> String {
    match c.execute(line).await {
        Outcome::Reply(r) => r,
        Outcome::Quit(q) => panic!("{line}: quit {q:?}"),
    }
}

/// The call `uuid`'s socket application dials `daemon`; what it says on `connect`.
async fn socket_connect(daemon: &TcpListener, uuid: &str) -> RawFrame {
    assert!(is_uuid(uuid), "{uuid}");
    let (sock, _) = tokio::time::timeout(Duration::from_secs(5), daemon.accept())
        .await
        .expect("the socket app dials out")
        .expect("accept");
    let mut out = Client::from_stream(sock);
    out.cmd("connect").await;
    let data = out.frame().await;
    assert_eq!(data.header("Unique-ID"), Some(uuid));
    data
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4
}

#[tokio::test]
async fn call_press_hearing_dtmf_log_and_hangup() {
    let mut c = console().await;
    // `attach`: the customer is answered and bridged to the scripted agent at user/agent.
    let uuid = reply(&mut c, "call attach Alice").await.trim().to_owned();
    assert!(is_uuid(&uuid), "{uuid}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let hearing = reply(&mut c, "hearing").await;
    assert!(hearing.contains("Alice hears agent\n"), "{hearing}");
    assert!(hearing.contains("agent hears Alice\n"), "{hearing}");

    assert_eq!(reply(&mut c, &format!("press {uuid} 57")).await, "+OK\n");
    let log = reply(&mut c, "dtmf-log").await;
    assert!(log.contains(" 5 from party Alice\n"), "{log}");
    assert!(log.contains(" 7 from party Alice\n"), "{log}");
    assert!(log.ends_with("2 digits.\n"), "{log}");

    let channels = reply(&mut c, "channels").await;
    assert!(channels.starts_with(&format!("{uuid} ")), "{channels}");
    assert!(channels.ends_with("2 total.\n"), "{channels}");

    assert_eq!(
        reply(&mut c, &format!("hangup {uuid} USER_BUSY")).await,
        "+OK\n"
    );
    assert_eq!(
        reply(&mut c, &format!("api uuid_exists {uuid}")).await,
        "false\n"
    );
    assert!(
        reply(&mut c, &format!("press {uuid} 1"))
            .await
            .starts_with("-ERR no such channel")
    );
    assert!(
        reply(&mut c, "call nowhere")
            .await
            .starts_with("-ERR no extension nowhere")
    );
    c.shutdown();
}

#[tokio::test]
async fn the_confpay_extension_dials_the_outbound_socket() {
    let daemon = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut c = console_with_outbound(daemon.local_addr().expect("addr")).await;
    let uuid = reply(&mut c, "call confpay").await.trim().to_owned();
    let data = socket_connect(&daemon, &uuid).await;
    assert_eq!(
        data.header("variable_confpay_agent_dial"),
        Some("user/agent")
    );
    assert_eq!(data.header("variable_confpay_agent_id"), Some("4711"));
    c.shutdown();
}

#[tokio::test]
async fn a_routed_call_keeps_the_agent_id_its_routing_set() {
    let daemon = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mut c = console_with_outbound(daemon.local_addr().expect("addr")).await;
    let line = format!("call {{confpay_agent_id=100007}}{}", standalone::ROUTED);
    let uuid = reply(&mut c, &line).await.trim().to_owned();
    let data = socket_connect(&daemon, &uuid).await;
    assert_eq!(data.header("variable_confpay_agent_id"), Some("100007"));
    assert_eq!(
        data.header("variable_confpay_agent_dial"),
        Some("user/agent")
    );
    // Malformed variables are refused, no call placed.
    for bad in [
        "call {confpay_agent_id=1 confpay",
        "call {=1}confpay",
        "call {x}confpay",
    ] {
        assert!(
            reply(&mut c, bad).await.starts_with("-ERR bad variables"),
            "{bad}"
        );
    }
    c.shutdown();
}

#[tokio::test]
async fn faults_restart_help_and_quit() {
    let mut c = console().await;
    let addr = c.simulator().esl_addr();
    let mut esl = Client::login(addr).await;

    assert_eq!(
        reply(&mut c, "fault err api status -ERR switch on fire").await,
        "+OK next `api status` answers `-ERR switch on fire`\n"
    );
    assert_eq!(esl.api("status").await, "-ERR switch on fire\n");
    assert!(esl.api("status").await.starts_with("UP "));

    assert_eq!(
        reply(&mut c, "fault delay 150").await,
        "+OK replies delayed 150 ms\n"
    );
    let t = tokio::time::Instant::now();
    esl.api("version").await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(reply(&mut c, "fault delay 0").await, "+OK no reply delay\n");
    assert_eq!(reply(&mut c, "fault drip on").await, "+OK drip on\n");
    assert!(esl.api("version").await.starts_with("FreeSWITCH Version"));
    assert_eq!(reply(&mut c, "fault drip off").await, "+OK drip off\n");
    assert_eq!(reply(&mut c, "fault split on").await, "+OK split on\n");
    assert!(esl.api("version").await.starts_with("FreeSWITCH Version"));
    assert_eq!(reply(&mut c, "fault split off").await, "+OK split off\n");
    assert!(
        reply(&mut c, "fault sideways")
            .await
            .starts_with("-ERR fault")
    );

    assert_eq!(
        reply(&mut c, "fault drop").await,
        "+OK connections dropped\n"
    );
    assert!(esl.closed_within(Duration::from_secs(2)).await);

    let before = c.simulator().core().core_uuid();
    let r = reply(&mut c, "restart").await;
    let after = c.simulator().core().core_uuid();
    assert_ne!(before, after);
    assert_eq!(r, format!("+OK restarted, Core-UUID {after}\n"));
    // The dialplan survives a restart.
    assert!(is_uuid(reply(&mut c, "call park").await.trim()));

    assert!(reply(&mut c, "help").await.contains("call <destination>"));
    assert!(
        reply(&mut c, "frobnicate")
            .await
            .starts_with("-ERR unknown")
    );
    assert_eq!(reply(&mut c, "").await, "");
    assert_eq!(c.execute("quit").await, Outcome::Quit("+OK bye\n".into()));
    c.shutdown();
}

#[tokio::test]
async fn run_reads_lines_until_quit() {
    let mut c = console().await;
    let input: &[u8] = b"api uuid_exists nope\nhelp\nquit\napi version\n";
    let mut output = Vec::new();
    console::run(&mut c, input, &mut output)
        .await
        .expect("console");
    let text = String::from_utf8(output).expect("utf8");
    assert!(text.starts_with("false\ncommands:\n"), "{text}");
    assert!(text.ends_with("+OK bye\n"), "{text}");
    assert!(!text.contains("FreeSWITCH Version"), "stopped at quit");
    c.shutdown();
}
