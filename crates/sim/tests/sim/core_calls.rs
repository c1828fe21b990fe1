//! Call control in the sim core: originate outcomes, bridge, SIP-style hold, transfer, header order.

use confpay_sim::core::{Core, CoreConfig};
use confpay_sim::party::{AnswerMode, Party};
use std::time::Duration;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/freeswitch-esl"
);

#[tokio::test(start_paused = true)]
async fn originate_outcomes_follow_the_party_script() {
    let core = Core::new(CoreConfig::default());
    core.register_party(
        "busy",
        Party::capture("busy", "1", 1).answering(AnswerMode::Busy),
    );
    core.register_party("rej", Party::customer("rej").answering(AnswerMode::Reject));
    core.register_party(
        "never",
        Party::customer("never").answering(AnswerMode::Never),
    );
    core.register_party(
        "late",
        Party::customer("late").answering(AnswerMode::After(Duration::from_secs(3))),
    );
    assert_eq!(
        core.api("originate", "sofia/gateway/g/busy &park()").await,
        "-ERR USER_BUSY\n"
    );
    assert_eq!(
        core.api("originate", "sofia/gateway/g/rej &park()").await,
        "-ERR CALL_REJECTED\n"
    );
    let t0 = tokio::time::Instant::now();
    assert_eq!(
        core.api(
            "originate",
            "{originate_timeout=5}sofia/gateway/g/never &park()"
        )
        .await,
        "-ERR NO_ANSWER\n"
    );
    assert_eq!(t0.elapsed().as_secs(), 5);
    let r = core
        .api(
            "originate",
            "{origination_uuid=L}sofia/gateway/g/late &park()",
        )
        .await;
    assert_eq!(r, "+OK L\n");
    // The leg runs its application once originate has returned.
    core.settle().await;
    assert_eq!(core.current_app("L").as_deref(), Some("park"));
    assert_eq!(
        core.api("nosuch", "x").await,
        "-ERR nosuch Command not found!\n"
    );
    assert_eq!(core.api("", "").await, "-ERR  Command not found!\n");
}

#[tokio::test]
async fn bridge_hold_and_transfer() {
    let core = Core::new(CoreConfig::default());
    let cust = Party::customer("customer");
    let agent = Party::agent("agent");
    core.register_party("customer", cust.clone());
    core.register_party("agent", agent.clone());
    core.api(
        "originate",
        "{origination_uuid=C}sofia/gateway/g/customer &park()",
    )
    .await;
    core.api(
        "originate",
        "{origination_uuid=A}sofia/gateway/g/agent &park()",
    )
    .await;
    assert_eq!(core.api("uuid_bridge", "C A").await, "+OK A\n");
    assert_eq!(
        core.api("uuid_bridge", "C nope").await,
        "-ERR Invalid uuid\n"
    );
    let h = core.hearing();
    assert!(h.hears("customer", "agent") && h.hears("agent", "customer"));

    // Agent presses hold: the customer hears music, the agent hears nothing.
    assert_eq!(core.api("uuid_hold", "A").await, "+OK Success\n");
    assert_eq!(core.api("uuid_hold", "A").await, "-ERR Operation failed\n");
    let h = core.hearing();
    assert!(h.hears_music("customer") && !h.hears("customer", "agent"));
    assert!(h.sources("agent").is_empty(), "{h:?}");
    assert_eq!(core.api("uuid_hold", "off A").await, "+OK Success\n");
    assert_eq!(
        core.api("uuid_hold", "off A").await,
        "-ERR Operation failed\n"
    );
    assert_eq!(core.api("uuid_hold", "nosuch-uuid").await, "+OK Success\n");
    assert!(core.hearing().hears("customer", "agent"));

    // DTMF across the bridge reaches the partner's far end.
    core.press("C", "5").unwrap();
    assert_eq!(agent.received(), "5");

    // Transfer of one leg of a plain bridge hangs the other up...
    assert_eq!(
        core.api("uuid_transfer", "C park XML default").await,
        "+OK\n"
    );
    assert_eq!(core.api("uuid_exists", "A").await, "false");
    assert_eq!(core.current_app("C").as_deref(), Some("park"));
    // ...unless park_after_bridge is set.
    core.register_party("agent2", Party::agent("agent2"));
    core.api(
        "originate",
        "{origination_uuid=A2}sofia/gateway/g/agent2 &park()",
    )
    .await;
    core.api("uuid_setvar", "A2 park_after_bridge true").await;
    core.api("uuid_bridge", "C A2").await;
    let r = core
        .api(
            "uuid_transfer",
            "C conference:room@confpay+flags{dist-dtmf} inline",
        )
        .await;
    assert_eq!(r, "+OK\n");
    assert_eq!(core.current_app("A2").as_deref(), Some("park"));
    assert_eq!(core.current_app("C").as_deref(), Some("conference"));
    assert_eq!(core.api("uuid_kill", "C USER_BUSY").await, "+OK\n");
    assert_eq!(core.api("uuid_kill", "C").await, "-ERR No such channel!\n");
}

/// Header names of the first event named `name` in a recording, without `variable_*`.
fn recorded_names(file: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{file}")).unwrap();
    let block = text
        .split("\n\n")
        .find(|b| b.contains(&format!("Event-Name: {name}\n")))
        .unwrap();
    block
        .lines()
        .skip_while(|l| !l.starts_with("Event-Name") && !l.starts_with("Event-Subclass"))
        .filter_map(|l| l.split_once(": ").map(|(n, _)| n.to_owned()))
        .filter(|n| !n.starts_with("variable_"))
        .collect()
}

#[tokio::test]
async fn event_header_sets_match_the_recording() {
    let core = Core::new(CoreConfig::default());
    let mut rx = core.subscribe();
    // A loopback leg, as in the recordings compared with (SIP legs omit empty profile fields such as
    // Caller-Dialplan; see sim_esl_inbound_api_replay's sip-hold replay).
    core.api(
        "originate",
        "{origination_uuid=X,origination_caller_id_name=Customer,origination_caller_id_number=1001}loopback/customer/default &park()",
    )
    .await;
    // Parked (and so consuming digits) once originate has returned and the leg runs park.
    core.settle().await;
    core.api("uuid_recv_dtmf", "X 1").await;
    core.api("uuid_kill", "X").await;
    let mut ours = std::collections::HashMap::new();
    while let Some(e) = rx.try_recv() {
        let names: Vec<String> = e
            .headers
            .iter()
            .map(|(n, _)| n.to_owned())
            .filter(|n| !n.starts_with("variable_"))
            .collect();
        ours.entry(e.name().unwrap_or("").to_owned())
            .or_insert(names);
    }
    for (file, name) in [
        ("inbound-call-control.txt", "CHANNEL_CREATE"),
        ("inbound-call-control.txt", "CHANNEL_ANSWER"),
        ("inbound-call-control.txt", "DTMF"),
        ("inbound-events-plain-all.txt", "CHANNEL_STATE"),
        ("inbound-events-plain-all.txt", "CHANNEL_CALLSTATE"),
    ] {
        assert_eq!(
            ours.get(name).unwrap(),
            &recorded_names(file, name),
            "{name}"
        );
    }
    assert_eq!(ours["DTMF"].last().map(String::as_str), Some("DTMF-Source"));
    assert!(ours.contains_key("CHANNEL_HANGUP_COMPLETE"));
}
