//! Faults of the machinery around a payment, on the real switch: confpayd killed (SIGKILL) and
//! restarted mid-capture, its ESL connection cut in `Ready` and in `Capturing`, FreeSWITCH's event
//! socket module reloaded mid-payment (refused by the switch: see the test), and FreeSWITCH itself
//! restarted with calls up.

use super::world::World;
use std::time::Duration;

const SETUP: Duration = Duration::from_secs(30);

/// The running session of the call whose customer channel is `customer` (after a restart the
/// daemon has rebuilt it under a new id).
async fn session_of(w: &World, customer: &str) -> String {
    super::parties::until_some(SETUP, "the call's session", || async {
        let c = w.api.call(customer, SETUP).await;
        c["session"]["id"].as_str().map(str::to_owned)
    })
    .await
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn daemon_killed_mid_capture_and_restarted() {
    let mut w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    w.daemon.kill().await;
    // Nobody there to keep them apart: the switch does.
    w.isolated(&call.phone, &agent).await;
    w.daemon.restart().await;
    let id = session_of(&w, &call.channel).await;
    w.api.reach(&id, "capturing", SETUP).await;
    w.isolated(&call.phone, &agent).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    w.check_capture(mark, &report, &agent);
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn esl_connection_cut_in_ready() {
    let w = World::start_proxied(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    w.esl_proxy.as_ref().expect("proxy").cut();
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "connection_lost", "{s}");
    w.talking(&call.phone, &agent).await;
    // The next payment on the call works.
    let id = w.api.pay("customer", &call.channel).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn esl_connection_cut_mid_capture() {
    let w = World::start_proxied(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    w.esl_proxy.as_ref().expect("proxy").cut();
    w.api.reach(&id, "suspended", SETUP).await;
    w.isolated(&call.phone, &agent).await;
    w.api.reach(&id, "capturing", SETUP).await;
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    w.check_capture(mark, &report, &agent);
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

/// `reload mod_event_socket` while a payment runs. On FreeSWITCH 1.11.3 the unload half is refused
/// ("Module in use.") as long as any ESL client is connected, and a reload can only be asked for
/// through one: nothing is cut, and the payment must simply go on.
#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn event_socket_module_reload_mid_capture() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let mark = w.sw.mark();
    let lost_before = w.daemon.log().matches("ESL connection lost").count();
    // mod_event_socket runs this one command as a background job (its own unload would block the
    // listener asking for it); the result is the job's event.
    let reply = w.sw.api("reload mod_event_socket").await;
    let job = reply
        .trim()
        .strip_prefix("+OK Job-UUID: ")
        .expect("a job")
        .to_owned();
    let done =
        w.sw.wait(mark, SETUP, "the reload's result", |e| {
            e.name() == "BACKGROUND_JOB" && e.get("Job-UUID") == Some(job.as_str())
        })
        .await;
    let result = done.event.body_text().unwrap_or_default().into_owned();
    assert!(
        result.contains("Module in use"),
        "reload mod_event_socket: {result}"
    );
    w.isolated(&call.phone, &agent).await;
    assert_eq!(
        w.daemon.log().matches("ESL connection lost").count(),
        lost_before,
        "the daemon lost its connection"
    );
    let report = w.key_card(&call.phone).await;
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    w.check_capture(mark, &report, &agent);
    w.talking(&call.phone, &agent).await;
    w.finish(&call).await;
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn freeswitch_restarted_with_a_call_up() {
    let Ok(restart) = std::env::var("CONFPAY_LIVE_RESTART") else {
        eprintln!(
            "SKIPPED freeswitch_restarted_with_a_call_up: set CONFPAY_LIVE_RESTART to a command \
             that restarts the switch with the live conf tree"
        );
        return;
    };
    let mut w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    let status = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&restart)
        .status()
        .await
        .expect("run CONFPAY_LIVE_RESTART");
    assert!(status.success(), "{restart}: {status}");
    w.daemon.until_healthy(SETUP).await;
    // Every call is gone with the old switch; the daemon keeps no stale session or call.
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "customer_hung_up", "{s}");
    super::parties::until_some(SETUP, "no call left in the daemon", || async {
        let calls = w.api.calls().await;
        calls["calls"]
            .as_array()
            .is_some_and(|c| c.is_empty())
            .then_some(())
    })
    .await;
    // ... and it takes the next call and payment.
    super::parties::until_some(SETUP, "the suite reconnected", || async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.sw.connected().then_some(())
    })
    .await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}
