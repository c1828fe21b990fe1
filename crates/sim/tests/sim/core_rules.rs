//! Conference end rules, conference hold, loopback pairs, restart and API faults.

use confpay_sim::core::{Core, CoreConfig};
use confpay_sim::party::Party;

async fn member(core: &Core, uuid: &str, target: &str) {
    core.register_party(uuid, Party::customer(uuid));
    let r = core
        .api(
            "originate",
            &format!("{{origination_uuid={uuid}}}sofia/gateway/g/{uuid} &conference({target})"),
        )
        .await;
    assert_eq!(r, format!("+OK {uuid}\n"));
    core.settle().await;
}

#[tokio::test]
async fn endconf_member_leaving_ends_the_conference_and_hangs_up_the_rest() {
    let core = Core::new(CoreConfig::default());
    member(&core, "boss", "r1@confpay+flags{endconf}").await;
    member(&core, "m1", "r1@confpay").await;
    member(&core, "m2", "r1@confpay").await;
    core.api("uuid_setvar", "m2 hangup_after_conference false")
        .await;
    core.api("uuid_kill", "boss").await;
    assert_eq!(
        core.api("conference", "list").await,
        "+OK No active conferences.\n"
    );
    assert_eq!(core.api("uuid_exists", "m1").await, "false");
    // m2's conference app returned; its dialplan (just the conference) is done, so it hangs up too,
    // but through the dialplan rather than the conference.
    assert_eq!(core.api("uuid_exists", "m2").await, "false");
}

#[tokio::test]
async fn mintwo_ends_when_fewer_than_two_and_capture_leaving_keeps_others() {
    let core = Core::new(CoreConfig::default());
    member(&core, "a", "r2@confpay+flags{mintwo}").await;
    member(&core, "b", "r2@confpay").await;
    core.api("uuid_kill", "b").await;
    assert_eq!(core.api("uuid_exists", "a").await, "false");

    member(&core, "c", "r3@confpay").await;
    member(&core, "d", "r3@confpay").await;
    member(&core, "k", "r3@confpay").await;
    core.api("uuid_kill", "k").await;
    assert_eq!(core.api("conference", "r3 list count").await, "2");
    assert!(core.hearing().hears("c", "d"));
}

#[tokio::test]
async fn conference_hold_with_a_file_replaces_the_mix_and_deaf_hears_nothing() {
    let core = Core::new(CoreConfig::default());
    member(&core, "cu", "r4@confpay").await;
    member(&core, "ag", "r4@confpay").await;
    let cu_id = core.var("cu", "conference_member_id").unwrap();
    assert_eq!(
        core.api("conference", &format!("r4 hold {cu_id} local_stream://moh"))
            .await,
        format!("+OK hold {cu_id}\n")
    );
    let h = core.hearing();
    assert!(h.hears_music("cu") && !h.hears("cu", "ag"));
    assert!(!h.hears("ag", "cu"), "a held member is out of the mix");
    core.api("conference", &format!("r4 unhold {cu_id}")).await;
    core.api("conference", &format!("r4 deaf {cu_id}")).await;
    let h = core.hearing();
    assert!(h.sources("cu").is_empty() && h.hears("ag", "cu"));
}

#[tokio::test]
async fn loopback_pairs_run_the_extension_and_carry_dtmf() {
    let core = Core::new(CoreConfig::default());
    let mut rx = core.subscribe();
    let r = core
        .api(
            "originate",
            "{origination_uuid=LA}loopback/dtmf/default &park()",
        )
        .await;
    assert_eq!(r, "+OK LA\n");
    let b = core.var("LA", "other_loopback_leg_uuid").unwrap();
    assert_eq!(core.current_app(&b).as_deref(), Some("playback"));
    assert_eq!(
        core.api("uuid_send_dtmf", "LA 12@300").await,
        "+OK LA sent DTMF 12@300.\n"
    );
    let mut got = Vec::new();
    while let Some(e) = rx.try_recv() {
        if e.name() == Some("DTMF") {
            let g = |n: &str| e.get(n).unwrap_or("").to_owned();
            got.push((
                g("Unique-ID"),
                g("DTMF-Digit"),
                g("DTMF-Duration"),
                g("DTMF-Source"),
            ));
        }
    }
    let want = |d: &str| {
        (
            b.clone(),
            d.to_owned(),
            "2400".to_owned(),
            "UNKNOWN".to_owned(),
        )
    };
    assert_eq!(got, vec![want("1"), want("2")]);
    core.api("uuid_kill", "LA").await;
    assert_eq!(core.api("uuid_exists", &b).await, "false");
}

#[tokio::test]
async fn restart_and_api_faults() {
    let core = Core::new(CoreConfig::default());
    member(&core, "x", "r5@confpay").await;
    let before = core.core_uuid();
    let mut rx = core.subscribe();
    core.restart();
    assert_ne!(core.core_uuid(), before);
    assert!(rx.recv().await.is_none(), "listeners die with the process");
    assert_eq!(core.api("uuid_exists", "x").await, "false");
    assert_eq!(
        core.api("conference", "list").await,
        "+OK No active conferences.\n"
    );
    // The member counter restarts with the process.
    member(&core, "y", "r6@confpay").await;
    assert_eq!(core.var("y", "conference_member_id").as_deref(), Some("1"));

    core.set_api_fault("uuid_bridge", Some("-ERR Operation failed\n"));
    assert_eq!(
        core.api("uuid_bridge", "a b").await,
        "-ERR Operation failed\n"
    );
    core.set_api_fault("uuid_bridge", None);
    assert_eq!(core.api("uuid_bridge", "a b").await, "-ERR Invalid uuid\n");
}

/// mod_commands `fsctl loglevel`: with a level it sets the ceiling (numbers clamp to DEBUG), an
/// unknown name is refused, and without one it sets DISABLE (-1): the real switch (1.11.3) does,
/// which silences all its logging. The configured level stays readable with `xml_locate`.
#[tokio::test]
async fn fsctl_loglevel_sets_the_hard_log_level_even_without_a_level() {
    let core = Core::new(CoreConfig::default());
    assert_eq!(
        core.api("fsctl", "loglevel notice").await,
        "+OK log level: NOTICE [5]\n"
    );
    assert_eq!(
        core.api("fsctl", "loglevel 9").await,
        "+OK log level: DEBUG [7]\n"
    );
    assert_eq!(
        core.api("fsctl", "loglevel").await,
        "+OK log level: DISABLE [-1]\n"
    );
    assert_eq!(
        core.api("fsctl", "loglevel loud").await,
        "-ERR syntax error, log level not set!\n"
    );
    let conf = core
        .api("xml_locate", "configuration configuration name switch.conf")
        .await;
    assert!(
        conf.contains("<param name=\"loglevel\" value=\"debug\"></param>"),
        "{conf}"
    );
    assert_eq!(
        core.api("xml_locate", "configuration configuration name none.conf")
            .await,
        "can't find anything\n"
    );
    assert_eq!(
        core.api("global_getvar", "core_uuid").await,
        core.core_uuid()
    );
    assert!(core.api("fsctl", "").await.starts_with("-USAGE: [recover|"));
}
