//! The `socket` extension seen from the core: outbound requests, sendmsg execute, socket_resume.

use confpay_sim::core::{Core, CoreConfig};
use confpay_sim::party::Party;

fn core_with_target() -> Core {
    Core::new(CoreConfig {
        outbound_target: Some("127.0.0.1:9999".parse().unwrap()),
        ..CoreConfig::default()
    })
}

#[tokio::test(start_paused = true)]
async fn socket_extension_requests_outbound_and_executes_sendmsg() {
    let core = core_with_target();
    let mut reqs = core.outbound_requests();
    let mut rx = core.subscribe();
    let uuid = core
        .incoming_call(&Party::customer("cust"), "socket", "Customer", "5551234")
        .unwrap();
    let req = reqs.recv().await.unwrap();
    assert_eq!(req.uuid, uuid);
    assert_eq!(req.addr.to_string(), "127.0.0.1:9999");
    assert!(req.async_mode && req.full);
    let data = core.channel_data(&uuid).unwrap();
    assert_eq!(data.name(), Some("CHANNEL_DATA"));
    assert_eq!(data.get("variable_socket_resume"), Some("false"));
    core.socket_connected(&uuid);
    core.execute(&uuid, "answer", "", Some("app-1".into()), true)
        .unwrap();
    let mut saw = Vec::new();
    while let Some(e) = rx.try_recv() {
        if e.name() == Some("CHANNEL_EXECUTE_COMPLETE") {
            saw.push((
                e.get("Application").map(str::to_owned),
                e.get("Application-UUID").map(str::to_owned),
            ));
        }
    }
    assert!(
        saw.contains(&(Some("answer".into()), Some("app-1".into()))),
        "{saw:?}"
    );
    assert_eq!(core.channel_status(&uuid).map(|s| s.2), Some(true));
    // Abrupt close with socket_resume=false: the running app goes on, no dialplan continuation.
    core.execute(&uuid, "playback", "local_stream://moh", None, false)
        .unwrap();
    core.socket_closed(&uuid);
    assert_eq!(core.current_app(&uuid).as_deref(), Some("playback"));
    // An unknown app hangs the channel up with DESTINATION_OUT_OF_ORDER.
    let other = core
        .incoming_call(&Party::customer("c2"), "socket", "C2", "2")
        .unwrap();
    core.socket_connected(&other);
    core.execute(&other, "no_such_app", "", None, false)
        .unwrap();
    assert_eq!(core.api("uuid_exists", &other).await, "false");
}

#[tokio::test(start_paused = true)]
async fn socket_resume_true_continues_the_dialplan_and_failure_returns_at_once() {
    let core = core_with_target();
    let _reqs = core.outbound_requests();
    let uuid = core
        .incoming_call(&Party::customer("cust"), "socket-resume", "Customer", "1")
        .unwrap();
    core.socket_connected(&uuid);
    core.execute(&uuid, "playback", "local_stream://moh", None, false)
        .unwrap();
    core.socket_closed(&uuid);
    // Next dialplan actions: log, then playback silence_stream://3000, then hangup.
    assert_eq!(core.current_app(&uuid).as_deref(), Some("playback"));
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(core.api("uuid_exists", &uuid).await, "false");

    let u2 = core
        .incoming_call(&Party::customer("c2"), "socket", "C", "2")
        .unwrap();
    core.socket_failed(&u2);
    assert_eq!(core.current_app(&u2).as_deref(), Some("playback"));
}

/// (Event-Name, Application, Application-Response) of every event of `uuid`.
fn trail(rx: &mut confpay_sim::core::EventRx, uuid: &str) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    while let Some(e) = rx.try_recv() {
        if e.unique_id() != Some(uuid) {
            continue;
        }
        let g = |n: &str| e.get(n).unwrap_or("").to_owned();
        v.push((g("Event-Name"), g("Application"), g("Application-Response")));
    }
    v
}

#[tokio::test(start_paused = true)]
async fn hangup_under_socket_control_ends_like_the_recording() {
    let core = core_with_target();
    let _reqs = core.outbound_requests();
    let uuid = core
        .incoming_call(&Party::customer("cust"), "socket", "Customer", "1")
        .unwrap();
    let mut rx = core.subscribe();
    core.socket_connected(&uuid);
    core.execute(&uuid, "answer", "", None, true).unwrap();
    core.execute(
        &uuid,
        "playback",
        "tone_stream://%(1000,1000,440);loops=-1",
        None,
        false,
    )
    .unwrap();
    core.api("uuid_recv_dtmf", &format!("{uuid} 12")).await;
    core.hangup(&uuid, "NORMAL_CLEARING").unwrap();
    let t = trail(&mut rx, &uuid);
    let names: Vec<&str> = t.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"CHANNEL_PARK"));
    let hang = names.iter().position(|n| *n == "CHANNEL_HANGUP").unwrap();
    assert_eq!(
        &t[hang + 1..hang + 4],
        &[
            (
                "CHANNEL_EXECUTE_COMPLETE".into(),
                "playback".into(),
                "FILE PLAYED".into()
            ),
            ("CHANNEL_UNPARK".into(), String::new(), String::new()),
            (
                "CHANNEL_EXECUTE_COMPLETE".into(),
                "socket".into(),
                "FILE PLAYED".into()
            ),
        ]
    );
    let complete = t
        .iter()
        .filter(|(n, _, _)| n == "CHANNEL_HANGUP_COMPLETE")
        .count();
    assert_eq!(complete, 1);
    assert_eq!(names.iter().filter(|n| **n == "DTMF").count(), 2);
}

#[tokio::test]
async fn digits_dialed_omits_sensitive_digits() {
    let core = core_with_target();
    core.register_party("p", Party::customer("p"));
    let mut rx = core.subscribe();
    core.api("originate", "{origination_uuid=P}sofia/gateway/g/p &park()")
        .await;
    core.settle().await;
    core.api("uuid_recv_dtmf", "P 12").await;
    core.api("uuid_setvar", "P sensitive_dtmf true").await;
    core.api("uuid_recv_dtmf", "P 4111").await;
    core.api("uuid_kill", "P").await;
    let mut dialed = None;
    let mut dtmf = String::new();
    while let Some(e) = rx.try_recv() {
        if e.name() == Some("CHANNEL_HANGUP_COMPLETE") {
            dialed = e.get("variable_digits_dialed").map(str::to_owned);
            assert_eq!(e.get("variable_hangup_cause_q850"), Some("16"));
        }
        if e.name() == Some("DTMF") {
            dtmf.push_str(e.get("DTMF-Digit").unwrap_or(""));
        }
    }
    assert_eq!(dialed.as_deref(), Some("12"));
    assert_eq!(dtmf, "12");
}
