//! Live tests against a real FreeSWITCH, `#[ignore]`d by default. Run them with
//!
//! ```sh
//! CONFPAY_LIVE_ESL=127.0.0.1:8021 CONFPAY_LIVE_PASSWORD=ClueCon cargo test --test live_freeswitch -- --ignored
//! ```
//!
//! What must be loaded on that FreeSWITCH (see README "Live tests"): the files of
//! `freeswitch-dialplan/` — the `confpay` conference profile (caller-controls none), and for the
//! call tests loopback endpoints for the three legs: dialplan extensions `customer` (answers, then
//! silence), `agent` (answers, then a tone) and `capture` (answers and consumes DTMF), as in the
//! recordings' test dialplan (`../shared/fixtures/freeswitch-esl/README.md`). The daemon's parts run
//! in-process with `payment.capture_dial = loopback/capture`.

use confpay::config::Config;
use confpay::daemon::stack::Stack;
use confpay::esl::inbound::{InboundClient, InboundConfig};
use confpay::pay::State;
use confpay::pay::engine::Target;
use confpay::secret::Secret;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn live() -> Option<(String, String)> {
    let addr = std::env::var("CONFPAY_LIVE_ESL").ok()?;
    let pw = std::env::var("CONFPAY_LIVE_PASSWORD").unwrap_or_else(|_| "ClueCon".into());
    Some((addr, pw))
}

fn config(addr: &str, pw: &str) -> Config {
    let mut c = Config::default();
    c.esl.address = addr.to_owned();
    c.esl.password = Secret::new(pw);
    c.outbound.listen = "127.0.0.1:0".parse().expect("addr");
    c.http.listen = "127.0.0.1:0".parse().expect("addr");
    c.payment.capture_dial = "loopback/capture".into();
    c.payment.agent_id_delay_ms = 300;
    c
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH: set CONFPAY_LIVE_ESL and CONFPAY_LIVE_PASSWORD"]
async fn live_auth_api_and_wrong_password() {
    let Some((addr, pw)) = live() else {
        panic!("set CONFPAY_LIVE_ESL (host:port) and CONFPAY_LIVE_PASSWORD");
    };
    let cfg = InboundConfig {
        addr: addr.clone(),
        password: Secret::new(pw.as_str()),
        ..InboundConfig::default()
    };
    let (client, _events) = InboundClient::connect(cfg.clone())
        .await
        .expect("auth accepted");
    let status = client.api("status").await.expect("api status");
    assert!(status.body.contains("FreeSWITCH"), "{}", status.body);
    let exists = client
        .api("uuid_exists 00000000-0000-0000-0000-000000000000")
        .await
        .expect("api");
    assert_eq!(exists.text(), "false");
    let job = client.bgapi("version").await.expect("bgapi version");
    assert!(job.contains("FreeSWITCH Version"), "{job}");
    // The start-up log-ceiling check reads (never sets) FreeSWITCH's hard log level.
    let before = client.api("fsctl loglevel").await.expect("fsctl");
    let parsed = confpay::daemon::loglevel::parse(&before.body);
    assert!(
        parsed.is_some(),
        "unparsed fsctl loglevel reply: {:?}",
        before.body
    );
    let again = client.api("fsctl loglevel").await.expect("fsctl");
    assert_eq!(before.body, again.body, "asking changed the level");
    let wrong = InboundConfig {
        password: Secret::new(format!("{pw}-wrong")),
        ..cfg
    };
    assert!(matches!(
        InboundClient::connect(wrong).await,
        Err(confpay::esl::client_error::ClientError::AuthFailed)
    ));
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with freeswitch-dialplan/ loaded: set CONFPAY_LIVE_ESL"]
async fn live_attach_payment_isolates_and_restores() {
    let Some((addr, pw)) = live() else {
        panic!("set CONFPAY_LIVE_ESL (host:port) and CONFPAY_LIVE_PASSWORD");
    };
    let tracker = TaskTracker::new();
    let shutdown = CancellationToken::new();
    let stack = Stack::start(&config(&addr, &pw), &tracker, &shutdown)
        .await
        .expect("daemon parts start");
    // A bridged customer/agent pair of loopback legs, parked after bridge so attach can move them.
    let customer = uuid::Uuid::new_v4().to_string();
    let agent = uuid::Uuid::new_v4().to_string();
    let r = stack
        .switch
        .bgapi(format!(
            "originate {{origination_uuid={customer},park_after_bridge=true,hangup_after_bridge=false}}loopback/customer &park()"
        ))
        .await
        .expect("originate customer");
    assert!(r.starts_with("+OK"), "{r}");
    let r = stack
        .switch
        .bgapi(format!(
            "originate {{origination_uuid={agent},park_after_bridge=true,hangup_after_bridge=false}}loopback/agent &park()"
        ))
        .await
        .expect("originate agent");
    assert!(r.starts_with("+OK"), "{r}");
    let r = stack
        .switch
        .api(format!("uuid_bridge {customer} {agent}"))
        .await
        .expect("bridge");
    assert!(r.starts_with("+OK"), "{r}");
    tokio::time::sleep(Duration::from_millis(500)).await;

    let s = stack
        .engine
        .start_payment(Target::Customer(customer.clone()), Some("4711".into()))
        .await
        .expect("attach");
    let mut w = stack.engine.watch(&s.id).await.expect("watch");
    let ready = tokio::time::timeout(
        Duration::from_secs(30),
        w.wait_for(|v| v.state == State::Ready || v.state == State::Done),
    )
    .await
    .expect("ready in time")
    .expect("alive")
    .clone();
    assert_eq!(ready.state, State::Ready, "{:?}", ready.outcome);
    stack
        .engine
        .start_capture(&s.id)
        .await
        .expect("start capture");
    let capturing = tokio::time::timeout(
        Duration::from_secs(15),
        w.wait_for(|v| v.state == State::Capturing || v.state == State::Done),
    )
    .await
    .expect("capturing in time")
    .expect("alive")
    .clone();
    assert_eq!(capturing.state, State::Capturing, "{:?}", capturing.outcome);
    let capture = capturing.capture.clone().expect("capture leg");
    // The capture service "finishes": hang its leg up; agent and customer are restored.
    stack
        .switch
        .api(format!("uuid_kill {capture}"))
        .await
        .expect("kill capture");
    let done = tokio::time::timeout(
        Duration::from_secs(15),
        w.wait_for(|v| v.state == State::Done),
    )
    .await
    .expect("done in time")
    .expect("alive")
    .clone();
    assert!(
        matches!(done.outcome, Some(confpay::pay::Outcome::Completed { .. })),
        "{done:?}"
    );
    for leg in [&customer, &agent] {
        let _ = stack.switch.api(format!("uuid_kill {leg}")).await;
    }
    shutdown.cancel();
}
