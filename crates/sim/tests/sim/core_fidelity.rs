//! Switch-model details taken from the recordings: the loopback `uuid_hold` quirk (and SIP semantics
//! when it is off), a conference hold with a finite file letting the mix back in, CHANNEL_DATA taking a
//! sequence number, the caller profile after `uuid_bridge` / `uuid_transfer`, `show calls` rows.

use confpay_sim::core::{CallState, Core, CoreConfig, EventRx};
use confpay_sim::party::Party;
use std::time::Duration;

fn drain(rx: &mut EventRx) -> Vec<std::sync::Arc<confpay_esl::Event>> {
    let mut v = Vec::new();
    while let Some(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

fn names(evs: &[std::sync::Arc<confpay_esl::Event>]) -> Vec<String> {
    evs.iter()
        .filter_map(|e| e.get("Event-Name").map(str::to_owned))
        .filter(|n| n != "API" && n != "CHANNEL_STATE")
        .collect()
}

/// Two parked loopback calls bridged, like the inbound-call-control recording. Returns (X, Y).
async fn bridged_loopback_pair(core: &Core) -> (String, String) {
    let x = core
        .api(
            "originate",
            "{origination_caller_id_name=Customer,origination_caller_id_number=1001}loopback/customer/default &park()",
        )
        .await;
    let y = core
        .api(
            "originate",
            "{origination_caller_id_name=Agent,origination_caller_id_number=2001}loopback/agent/default &park()",
        )
        .await;
    let x = x.trim().strip_prefix("+OK ").expect("x").to_owned();
    let y = y.trim().strip_prefix("+OK ").expect("y").to_owned();
    assert_eq!(
        core.api("uuid_bridge", &format!("{x} {y}")).await,
        format!("+OK {y}\n")
    );
    (x, y)
}

#[tokio::test]
async fn loopback_uuid_hold_never_reaches_held() {
    let core = Core::new(CoreConfig::default());
    let (x, y) = bridged_loopback_pair(&core).await;
    let mut rx = core.subscribe();
    assert_eq!(core.api("uuid_hold", &x).await, "+OK Success\n");
    let evs = drain(&mut rx);
    assert_eq!(names(&evs), ["CHANNEL_HOLD", "CHANNEL_EXECUTE"]);
    let music = evs
        .iter()
        .find(|e| e.get("Event-Name") == Some("CHANNEL_EXECUTE"))
        .expect("music");
    assert_eq!(music.get("Unique-ID"), Some(y.as_str()));
    assert_eq!(
        music.get("Application-Data"),
        Some("tone_stream://%(200,1800,425);loops=-1")
    );
    assert_eq!(
        core.channel_status(&x).map(|s| s.1),
        Some(CallState::Active)
    );
    // hold_music is a global variable: every channel sees it.
    assert_eq!(
        core.api("uuid_getvar", &format!("{y} hold_music")).await,
        "tone_stream://%(200,1800,425);loops=-1"
    );
    assert_eq!(
        core.api("uuid_hold", &format!("off {x}")).await,
        "-ERR Operation failed\n"
    );
    assert_eq!(
        core.api("uuid_hold", &format!("toggle {x}")).await,
        "+OK Success\n"
    );
    assert_eq!(
        core.api("uuid_hold", &format!("toggle {x}")).await,
        "+OK Success\n"
    );
    let evs = drain(&mut rx);
    assert_eq!(names(&evs), ["CHANNEL_HOLD", "CHANNEL_HOLD"]);
    // Still one hold-music playback on the partner (the extra broadcasts queue behind it).
    assert_eq!(core.current_app(&y).as_deref(), Some("playback"));
}

#[tokio::test]
async fn loopback_uuid_hold_with_the_quirk_off_has_sip_semantics() {
    let core = Core::new(CoreConfig {
        loopback_hold_quirk: false,
        ..CoreConfig::default()
    });
    let (x, _y) = bridged_loopback_pair(&core).await;
    let mut rx = core.subscribe();
    assert_eq!(core.api("uuid_hold", &x).await, "+OK Success\n");
    assert_eq!(core.channel_status(&x).map(|s| s.1), Some(CallState::Held));
    assert_eq!(core.api("uuid_hold", &x).await, "-ERR Operation failed\n");
    assert_eq!(
        core.api("uuid_hold", &format!("off {x}")).await,
        "+OK Success\n"
    );
    let evs = drain(&mut rx);
    let n = names(&evs);
    assert!(n.contains(&"CHANNEL_UNHOLD".to_owned()), "{n:?}");
    assert!(n.contains(&"CHANNEL_EXECUTE_COMPLETE".to_owned()), "{n:?}");
    assert_eq!(
        core.channel_status(&x).map(|s| s.1),
        Some(CallState::Active)
    );
}

#[tokio::test]
async fn bridge_and_transfer_write_new_caller_profiles() {
    let core = Core::new(CoreConfig::default());
    let (x, y) = bridged_loopback_pair(&core).await;
    let mut rx = core.subscribe();
    core.api("uuid_send_dtmf", &format!("{y} 1")).await;
    core.api("uuid_hold", &x).await;
    let hold = drain(&mut rx)
        .into_iter()
        .find(|e| e.get("Event-Name") == Some("CHANNEL_HOLD"))
        .expect("hold");
    assert_eq!(hold.get("Caller-Profile-Index"), Some("2"));
    assert_eq!(hold.get("Caller-Caller-ID-Name"), Some("Outbound Call"));
    assert_eq!(hold.get("Caller-Orig-Caller-ID-Name"), Some("Customer"));
    assert_eq!(hold.get("Caller-Logical-Direction"), Some("inbound"));
    let ts = hold.get("Caller-Transfer-Source").expect("transfer source");
    assert!(ts.ends_with(&format!(":uuid_br:{y}")), "{ts}");
    assert_eq!(hold.get("Other-Type"), Some("originatee"));
    assert_eq!(hold.get("Other-Leg-Unique-ID"), Some(y.as_str()));
    assert_eq!(hold.get("Other-Leg-Profile-Index"), None);
    assert_eq!(hold.get("Other-Leg-Transfer-Source"), None);
    assert!(hold.get("Caller-Caller-Caller-ID-Name").is_none());

    assert_eq!(
        core.api("uuid_transfer", &format!("{y} capture XML default"))
            .await,
        "+OK\n"
    );
    let evs = drain(&mut rx);
    let done = evs
        .iter()
        .find(|e| {
            e.get("Event-Name") == Some("CHANNEL_EXECUTE_COMPLETE")
                && e.get("Unique-ID") == Some(y.as_str())
        })
        .expect("hold music broken off");
    assert_eq!(done.get("Application-Response"), Some("PLAYBACK ERROR"));
    assert_eq!(done.get("Caller-Profile-Index"), Some("3"));
    assert_eq!(done.get("Caller-RDNIS"), Some("agent"));
    assert_eq!(done.get("Caller-Dialplan"), Some("XML"));
    assert_eq!(done.get("Other-Type"), None);
    assert!(
        done.get("Caller-Transfer-Source")
            .is_some_and(|t| t.ends_with(":bl_xfer:capture/default/XML"))
    );
    // The abandoned partner hung up; `show calls` has Y alone.
    assert_eq!(core.api("uuid_exists", &x).await, "false");
    let calls = core.api("show", "calls as json").await;
    let v: serde_json::Value = serde_json::from_str(&calls).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    let y_row = rows
        .iter()
        .find(|r| r["uuid"] == y.as_str())
        .expect("y row");
    assert_eq!(y_row["dest"], "capture");
    assert_eq!(y_row["b_uuid"], "");
    assert!(calls.starts_with("{\"row_count\":"), "{calls}");
}

#[tokio::test]
async fn show_calls_pairs_a_bridge_into_one_row() {
    let core = Core::new(CoreConfig::default());
    let (x, y) = bridged_loopback_pair(&core).await;
    let calls = core.api("show", "calls as json").await;
    let v: serde_json::Value = serde_json::from_str(&calls).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    // customer-b, agent-b alone; customer-a with agent-a as its B leg.
    assert_eq!(v["row_count"], 3);
    let last = rows.last().expect("row");
    assert_eq!(last["uuid"], x.as_str());
    assert_eq!(last["b_uuid"], y.as_str());
    assert_eq!(last["b_name"], "loopback/agent-a");
    assert_eq!(last["state"], "CS_SOFT_EXECUTE");
    let channels = core.api("show", "channels as json").await;
    assert!(
        channels.contains("\"uuid\":")
            && channels.find("\"uuid\"") < channels.find("\"direction\"")
    );
    assert_eq!(
        Core::new(CoreConfig::default())
            .api("show", "channels as json")
            .await,
        "{\"row_count\": 0}\n"
    );
}

#[tokio::test(start_paused = true)]
async fn a_finite_conference_hold_file_lets_the_mix_back_in() {
    let core = Core::new(CoreConfig::default());
    core.register_party("customer", Party::customer("customer"));
    core.register_party("agent", Party::agent("agent"));
    for (u, who) in [("c-1", "customer"), ("a-1", "agent")] {
        core.api(
            "originate",
            &format!("{{origination_uuid={u}}}sofia/gateway/pstn/{who} &conference(pay@confpay)"),
        )
        .await;
        // The leg joins once originate has returned.
        core.settle().await;
    }
    assert_eq!(
        core.api("conference", "pay hold 1 silence_stream://3000")
            .await,
        "+OK hold 1\n"
    );
    let h = core.hearing();
    assert!(!h.hears("customer", "agent") && !h.hears("agent", "customer"));
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let h = core.hearing();
    assert!(h.hears("customer", "agent"), "{h:?}");
    assert!(!h.hears("agent", "customer"), "still held: out of the mix");

    // An endless file keeps the member away from the mix.
    core.api("conference", "pay unhold 1").await;
    core.api("conference", "pay hold 1 local_stream://moh")
        .await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!core.hearing().hears("customer", "agent"));
}

#[tokio::test]
async fn channel_data_takes_a_sequence_number() {
    let core = Core::new(CoreConfig::default());
    core.register_party("customer", Party::customer("customer"));
    let mut rx = core.subscribe();
    let u = core
        .api("originate", "sofia/gateway/pstn/customer &park()")
        .await;
    let u = u.trim().strip_prefix("+OK ").expect("uuid").to_owned();
    let last: u64 = drain(&mut rx)
        .iter()
        .filter_map(|e| e.get("Event-Sequence").and_then(|s| s.parse().ok()))
        .max()
        .expect("events");
    let data = core.channel_data(&u).expect("channel data");
    let seq: u64 = data
        .headers
        .get("Event-Sequence")
        .and_then(|s| s.parse().ok())
        .expect("seq");
    assert_eq!(seq, last + 1);
    core.api("uuid_kill", &u).await;
    let next: u64 = drain(&mut rx)
        .iter()
        .filter_map(|e| e.get("Event-Sequence").and_then(|s| s.parse().ok()))
        .min()
        .expect("events");
    assert_eq!(next, seq + 1);
}

/// As in the `inbound-recording-events` recording: `uuid_record` start/stop fire RECORD_START /
/// RECORD_STOP with the channel's data and the path last; a conference recording fires
/// `start-recording` / `stop-recording` with its `Path`.
#[tokio::test]
async fn recordings_fire_their_start_and_stop_events() {
    let core = Core::new(CoreConfig::default());
    let (x, _y) = bridged_loopback_pair(&core).await;
    let mut rx = core.subscribe();
    core.api("uuid_record", &format!("{x} start /rec/x.wav"))
        .await;
    core.api("uuid_record", &format!("{x} mask /rec/x.wav"))
        .await;
    core.api("uuid_record", &format!("{x} stop /rec/x.wav"))
        .await;
    let evs = drain(&mut rx);
    assert_eq!(names(&evs), ["RECORD_START", "RECORD_STOP"]);
    let records = evs.iter().filter(|e| {
        e.get("Event-Name")
            .is_some_and(|n| n.starts_with("RECORD_"))
    });
    for e in records {
        let last = e.headers.iter().last().map(|(n, _)| n.to_owned());
        if e.get("Event-Name") == Some("RECORD_START") {
            assert_eq!(last.as_deref(), Some("Record-File-Path"));
        }
        assert_eq!(e.get("Unique-ID"), Some(x.as_str()));
        assert_eq!(e.get("Record-File-Path"), Some("/rec/x.wav"));
        assert!(e.get("Channel-Name").is_some(), "the channel's data");
    }
    let room = core
        .api(
            "originate",
            "loopback/customer/default &conference(rec-room@default)",
        )
        .await;
    assert!(room.starts_with("+OK"), "{room}");
    core.settle().await;
    drain(&mut rx);
    core.api("conference", "rec-room recording start /rec/room.wav")
        .await;
    core.api("conference", "rec-room recording stop all").await;
    let actions: Vec<(String, String)> = drain(&mut rx)
        .iter()
        .filter_map(|e| Some((e.get("Action")?.to_owned(), e.get("Path")?.to_owned())))
        .collect();
    assert_eq!(
        actions,
        [
            ("start-recording".to_owned(), "/rec/room.wav".to_owned()),
            ("stop-recording".to_owned(), "/rec/room.wav".to_owned())
        ]
    );
}
