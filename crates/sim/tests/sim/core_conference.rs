//! The sim core driven through its API commands only: a payment conference, hearing and DTMF matrix,
//! caller-controls, member ids, reply texts.

use confpay_sim::core::{Core, CoreConfig, EventRx};
use confpay_sim::hearing::DtmfOrigin;
use confpay_sim::party::{CapturePhase, Party};

async fn join(core: &Core, uuid: &str, who: &str, flags: &str, profile: &str) -> String {
    let flags = if flags.is_empty() {
        String::new()
    } else {
        format!("+flags{{{flags}}}")
    };
    let reply = core
        .api(
            "originate",
            &format!(
                "{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference(pay@{profile}{flags})"
            ),
        )
        .await;
    core.settle().await;
    reply
}

fn drain(rx: &mut EventRx) -> Vec<std::sync::Arc<confpay_esl::Event>> {
    let mut v = Vec::new();
    while let Some(e) = rx.try_recv() {
        v.push(e);
    }
    v
}

#[tokio::test]
async fn payment_conference_hearing_and_dtmf_matrix() {
    let core = Core::new(CoreConfig::default());
    let customer = Party::customer("customer");
    let agent = Party::agent("agent");
    let capture = Party::capture("capture", "42", 4);
    core.register_party("customer", customer.clone());
    core.register_party("agent", agent.clone());
    core.register_party("capture", capture.clone());
    let mut rx = core.subscribe();
    customer_and_agent_join_and_talk(&core).await;
    capture_joins_as_member_three(&core, &mut rx).await;
    cut_agent_and_customer_apart(&core).await;
    card_digits_reach_the_capture_service_only(&core, &mut rx, &agent, &capture).await;

    // Capture hangs up after collecting; agent and customer stay connected (no endconf/mintwo).
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(capture.is_hung_up());
    assert_eq!(core.api("conference", "pay list count").await, "2");
    assert_eq!(
        core.api("conference", "pay relate 2 1 clear").await,
        "+OK relationship 2->1 cleared.\n"
    );
    assert!(core.hearing().hears("agent", "customer"));
}

async fn customer_and_agent_join_and_talk(core: &Core) {
    assert_eq!(
        join(core, "c-1", "customer", "dist-dtmf", "confpay").await,
        "+OK c-1\n"
    );
    assert_eq!(
        join(core, "a-1", "agent", "skip-dtmf", "confpay").await,
        "+OK a-1\n"
    );
    let list = core.api("conference", "pay list").await;
    assert_eq!(list.lines().count(), 2);
    assert!(
        list.starts_with("2;sofia/gateway/pstn/agent;a-1;"),
        "{list}"
    );
    let h = core.hearing();
    assert!(h.hears("agent", "customer") && h.hears("customer", "agent"));
}

/// Capture leg joins; member ids come from one counter: 1, 2, 3.
async fn capture_joins_as_member_three(core: &Core, rx: &mut EventRx) {
    assert_eq!(
        join(core, "k-1", "capture", "", "confpay").await,
        "+OK k-1\n"
    );
    let adds: Vec<String> = drain(rx)
        .iter()
        .filter(|e| e.get("Action") == Some("add-member"))
        .filter_map(|e| e.get("Member-ID").map(str::to_owned))
        .collect();
    assert_eq!(adds, ["1", "2", "3"]);
    assert_eq!(core.api("conference", "pay list count").await, "3");
}

/// Cut agent and customer apart; the capture service hears both and the customer hears it.
async fn cut_agent_and_customer_apart(core: &Core) {
    assert_eq!(
        core.api("conference", "pay relate 2 1 nospeak,nohear")
            .await,
        "+OK 2->1 nospeak,nohear set\n"
    );
    let h = core.hearing();
    assert!(!h.hears("agent", "customer"), "{h:?}");
    assert!(!h.hears("customer", "agent"), "{h:?}");
    assert!(h.hears("capture", "customer") && h.hears("capture", "agent"));
    assert!(h.hears("customer", "capture"));
}

/// Agent ID + 1 to the capture service, then the customer keys 4 digits with sensitive_dtmf:
/// all go to the capture service, none to the agent, no DTMF event goes out.
async fn card_digits_reach_the_capture_service_only(
    core: &Core,
    rx: &mut EventRx,
    agent: &Party,
    capture: &Party,
) {
    assert_eq!(
        core.api("conference", "pay dtmf 3 421").await,
        "+OK sent 421 to 3\n"
    );
    assert_eq!(capture.capture_phase(), Some(CapturePhase::Collecting(0)));
    assert_eq!(
        core.api("uuid_setvar", "c-1 sensitive_dtmf true").await,
        "+OK\n"
    );
    drain(rx);
    let start = core.dtmf_log().len();
    core.press("c-1", "4111").unwrap();
    let log = core.dtmf_log();
    let after: Vec<_> = log[start..].iter().collect();
    assert_eq!(after.len(), 4);
    assert!(
        after
            .iter()
            .all(|d| d.party == "capture" && d.origin == DtmfOrigin::Party("customer".into()))
    );
    assert!(!log.iter().any(|d| d.party == "agent"), "agent got a digit");
    assert_eq!(capture.capture_phase(), Some(CapturePhase::Done));
    assert_eq!(agent.received(), "");
    let dtmf_events = drain(rx)
        .iter()
        .filter(|e| e.name() == Some("DTMF") && e.unique_id() == Some("c-1"))
        .count();
    assert_eq!(dtmf_events, 0, "sensitive_dtmf must suppress DTMF events");
}

#[tokio::test]
async fn hash_ejects_under_default_caller_controls_only() {
    let core = Core::new(CoreConfig::default());
    for who in ["d1", "d2", "n1", "n2"] {
        core.register_party(who, Party::customer(who));
    }
    join(&core, "d1", "d1", "", "default").await;
    join(&core, "d2", "d2", "", "default").await;
    core.press("d1", "#").unwrap();
    assert_eq!(core.api("conference", "pay list count").await, "1");
    // The conference app returned and nothing follows in the dialplan: the leg hung up.
    assert_eq!(core.api("uuid_exists", "d1").await, "false");
    core.api("uuid_kill", "d2").await;

    join(&core, "n1", "n1", "", "confpay").await;
    join(&core, "n2", "n2", "", "confpay").await;
    core.press("n1", "#0*").unwrap();
    assert_eq!(core.api("conference", "pay list count").await, "2");
    assert_eq!(core.api("uuid_exists", "n1").await, "true");
}

#[tokio::test]
async fn conference_reply_texts_match_the_recording() {
    let core = Core::new(CoreConfig::default());
    assert_eq!(
        core.api("conference", "test list").await,
        "-ERR Conference test not found\n"
    );
    assert_eq!(
        core.api("conference", "list").await,
        "+OK No active conferences.\n"
    );
    core.register_party("x", Party::customer("x"));
    core.register_party("y", Party::customer("y"));
    join(&core, "x", "x", "", "confpay").await;
    join(&core, "y", "y", "", "confpay").await;
    assert_eq!(core.api("conference", "pay mute 1").await, "+OK mute 1\n");
    assert_eq!(
        core.api("conference", "pay mute 999").await,
        "-ERR Non-Existant ID 999\n"
    );
    assert_eq!(
        core.api("conference", "pay mute abc").await,
        "mute <[member_id|all]|last|non_moderator> [<quiet>]"
    );
    assert_eq!(
        core.api("conference", "pay frobnicate 1").await,
        "-ERR Conference command 'frobnicate' not found.\n"
    );
    assert_eq!(
        core.api("conference", "pay relate 1").await,
        "+OK No relationships\n"
    );
    assert_eq!(
        core.api("conference", "pay relate 1 999 nohear").await,
        "-ERR relationship 1->999 not found.\n"
    );
    assert_eq!(core.api("conference", "pay kick 2").await, "+OK kicked 2\n");
    assert_eq!(core.api("uuid_exists", "y").await, "false");
    // The last member leaves: the conference is destroyed.
    assert_eq!(core.api("conference", "pay hup 1").await, "+OK hup 1\n");
    assert_eq!(
        core.api("conference", "list").await,
        "+OK No active conferences.\n"
    );
}

/// `uuid_send_dtmf <leg> <digits>`: the leg's far end (the capture service) hears the digits.
async fn key(core: &Core, line: &str) {
    let reply = core.api("uuid_send_dtmf", line).await;
    assert!(reply.starts_with("+OK "), "{reply}");
}

/// Two calls with their own agent IDs, one capture service checking each leg's own call: a capture
/// leg keyed the other call's ID (a cross-call mix-up) never starts collecting; its own ID does.
#[tokio::test]
async fn a_capture_leg_expects_the_agent_id_of_the_call_it_joined() {
    let core = Core::new(CoreConfig::default());
    core.register_party("customer", Party::customer("customer"));
    let capture = Party::capture("capture", "4711#", 2).checking_its_call("#");
    core.register_party("capture", capture.clone());
    for (room, customer, id) in [("pay-a", "c-a", "100000"), ("pay-b", "c-b", "100001")] {
        let reply = core
            .api(
                "originate",
                &format!(
                    "{{origination_uuid={customer},confpay_agent_id={id}}}sofia/gateway/pstn/customer \
                     &conference({room}@confpay)"
                ),
            )
            .await;
        assert_eq!(reply, format!("+OK {customer}\n"));
    }
    for (room, leg) in [("pay-a", "k-a"), ("pay-b", "k-b")] {
        let reply = core
            .api(
                "originate",
                &format!("{{origination_uuid={leg}}}sofia/gateway/pstn/capture &conference({room}@confpay)"),
            )
            .await;
        assert_eq!(reply, format!("+OK {leg}\n"));
    }
    core.settle().await;
    // Call b's agent ID into call a's capture leg.
    key(&core, "k-a 100001#1").await;
    assert!(matches!(
        capture.capture_phase_on("k-a"),
        Some(CapturePhase::AwaitingAgent(_))
    ));
    key(&core, "k-a 100000#1").await;
    assert_eq!(
        capture.capture_phase_on("k-a"),
        Some(CapturePhase::Collecting(0))
    );
    key(&core, "k-b 100001#1").await;
    assert_eq!(
        capture.capture_phase_on("k-b"),
        Some(CapturePhase::Collecting(0))
    );
}

/// Digits sent the moment `originate` answered reach the capture leg before its conference
/// application has run (FreeSWITCH replies first, the leg joins on its own thread): the leg still
/// serves the call of the room it was originated into.
#[tokio::test]
async fn a_capture_leg_keyed_before_it_joined_expects_its_rooms_agent_id() {
    let core = Core::new(CoreConfig::default());
    core.register_party("customer", Party::customer("customer"));
    let capture = Party::capture("capture", "4711#", 2).checking_its_call("#");
    core.register_party("capture", capture.clone());
    let reply = core
        .api(
            "originate",
            "{origination_uuid=c-a,confpay_agent_id=100000}sofia/gateway/pstn/customer \
             &conference(pay-a@confpay)",
        )
        .await;
    assert_eq!(reply, "+OK c-a\n");
    core.settle().await;
    let reply = core
        .api(
            "originate",
            "{origination_uuid=k-a}sofia/gateway/pstn/capture &conference(pay-a@confpay)",
        )
        .await;
    assert_eq!(reply, "+OK k-a\n");
    key(&core, "k-a 100000#1").await;
    assert_eq!(
        capture.capture_phase_on("k-a"),
        Some(CapturePhase::Collecting(0))
    );
}
