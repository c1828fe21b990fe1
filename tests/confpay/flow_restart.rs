//! The daemon dies (its runtime is dropped mid-session: every task and socket gone at once, as with
//! SIGKILL) and a new one starts against the same FreeSWITCH: it finds its conference and restores or
//! resumes — never leaving agent and customer unable to hear each other once the capture leg is gone,
//! never letting the agent hear the customer while a capture leg is present; the call's recordings
//! stay masked while a capture leg is present and are unmasked once it is gone.

use crate::flow_harness::doomed::Doomed;
use crate::flow_harness::*;
use confpay::daemon::stack::Stack;
use confpay::pay::engine::Target;
use confpay::pay::{Outcome, State};
use confpay::sim::party::Party;
use confpay::sim::{SimConfig, Simulator};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const LEG_REC: &str = "/rec/leg.wav";
const ROOM_REC: &str = "/rec/room.wav";

/// Whether the customer's leg and the room are recorded, masked (`true`) or not.
fn recorded(sim: &Simulator, cu: &str, masked: bool) -> bool {
    let want = |path: &str| vec![(path.to_owned(), masked)];
    sim.core().recordings(cu) == want(LEG_REC)
        && sim.core().recordings(&format!("confpay-{cu}")) == want(ROOM_REC)
}

fn hearing_ok(sim: &Simulator, isolated: bool) -> bool {
    let h = sim.core().hearing();
    let apart = !h.hears("agent", "customer") && !h.hears("customer", "agent");
    let together = h.hears("agent", "customer") && h.hears("customer", "agent");
    if isolated { apart } else { together }
}

async fn restart_during_capture(capture_leaves_while_down: bool) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let capture = Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    let (customer, _agent) = parties(&sim, &capture);
    let first = Doomed::start(config(sim.esl_addr()));
    let outbound = first.outbound;
    install_dialplan(&sim, outbound);
    let cu = sim
        .core()
        .incoming_call(&customer, "confpay", "Customer", "1001")
        .expect("call");
    // The call is recorded on the customer's leg and in the conference (once it exists).
    sim.core()
        .api("uuid_record", &format!("{cu} start {LEG_REC}"))
        .await;
    loop {
        let args = format!("confpay-{cu} recording start {ROOM_REC}");
        if sim.core().api("conference", &args).await.starts_with("+OK") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Both legs in the conference, then a payment to Capturing.
    let session = loop {
        match first
            .engine
            .start_payment(Target::Customer(cu.clone()), None)
            .await
        {
            Ok(v) => break v,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    reach_on(&first.engine, &session.id, State::Ready).await;
    sim.core().press(&cu, "1").expect("1");
    reach_on(&first.engine, &session.id, State::Capturing).await;
    assert!(hearing_ok(&sim, true));
    assert!(recorded(&sim, &cu, true), "masked during capture");

    first.kill();
    // The customer's call survives the daemon (socket_resume=false: the conference keeps running).
    assert!(!customer.is_hung_up());
    assert!(hearing_ok(&sim, true), "isolation must outlive the daemon");
    if capture_leaves_while_down {
        sim.core().press(&cu, CARD).expect("card");
        for _ in 0..200 {
            if capture.is_hung_up() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(capture.is_hung_up());
    }

    let tracker = TaskTracker::new();
    let shutdown = CancellationToken::new();
    let second = Stack::start(&config(sim.esl_addr()), &tracker, &shutdown)
        .await
        .expect("second daemon starts");
    let calls = second.engine.calls().await;
    let call = calls
        .iter()
        .find(|c| c.customer == cu)
        .expect("call recovered");
    // The recovered call knows its caller again, from the switch (the agent page shows it).
    assert_eq!(call.caller.number.as_deref(), Some("1001"));
    assert_eq!(call.caller.name.as_deref(), Some("Customer"));
    assert!(call.caller.answered_at.is_some());
    // With nothing to resume the rebuilt session may already have restored and ended (history).
    let s = call
        .session
        .clone()
        .or_else(|| call.history.last().cloned())
        .expect("a session was rebuilt");
    if capture_leaves_while_down {
        // Nothing to resume: agent and customer are put back together.
        let mut w = second.engine.watch(&s.id).await.expect("watch");
        let v = tokio::time::timeout(
            Duration::from_secs(10),
            w.wait_for(|v| v.state == State::Done),
        )
        .await
        .expect("restored in time")
        .expect("alive")
        .clone();
        assert!(matches!(v.outcome, Some(Outcome::Failed(_))), "{v:?}");
    } else {
        reach_on(&second.engine, &s.id, State::Capturing).await;
        assert!(hearing_ok(&sim, true));
        assert!(recorded(&sim, &cu, true), "still masked after the restart");
        sim.core().press(&cu, CARD).expect("card");
        reach_on(&second.engine, &s.id, State::Done).await;
    }
    assert!(hearing_ok(&sim, false), "{:?}", sim.core().hearing());
    assert!(!customer.is_hung_up());
    // Unmasked by the daemon that never masked them: it read them back from FreeSWITCH.
    let unmasked = || recorded(&sim, &cu, false);
    for _ in 0..200 {
        if unmasked() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        unmasked(),
        "{:?} {:?}",
        sim.core().recordings(&cu),
        sim.core().recordings(&format!("confpay-{cu}"))
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_killed_mid_capture_resumes_after_restart() {
    restart_during_capture(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_killed_mid_capture_restores_when_capture_ended_meanwhile() {
    restart_during_capture(true).await;
}
