//! The `socket` extension seen from the core: outbound requests, sendmsg execute, socket_resume.

use confpay::sim::core::{Core, CoreConfig};
use confpay::sim::party::Party;

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
