//! A recording started mid-capture (the agent presses record: `uuid_record` on the agent's leg, or a
//! recording of the payment conference) is masked before the customer keys another digit, and
//! unmasked with the others once the capture leg is gone; a mask FreeSWITCH refuses ends the capture.

use crate::flow_harness::*;
use confpay::pay::{FailReason, Outcome, State, Step};

const AGENT_REC: &str = "/rec/agent-mid-capture.wav";
const ROOM_REC: &str = "/rec/room-mid-capture.wav";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_started_mid_capture_is_masked_before_the_next_digit() {
    let w = World::start().await;
    let (cu, id) = w.capturing().await;
    let agent = w.channel_of(&w.agent);
    let room = format!("confpay-{cu}");
    let (first, rest) = CARD.split_at(6);
    w.sim.core().press(&cu, first).expect("first digits");
    // The agent starts recording their leg, and the conference, in the middle of the card.
    let core = w.sim.core();
    let started = core
        .api("uuid_record", &format!("{agent} start {AGENT_REC}"))
        .await;
    assert_eq!(started, "+OK Success\n");
    let started = core
        .api("conference", &format!("{room} recording start {ROOM_REC}"))
        .await;
    assert!(started.starts_with("+OK"), "{started}");
    let masked = |path: &str, on: bool| vec![(path.to_owned(), on)];
    w.until("the new recordings masked", || async {
        (core.recordings(&agent) == masked(AGENT_REC, true)
            && core.recordings(&room) == masked(ROOM_REC, true))
        .then_some(())
    })
    .await;
    assert_eq!(
        w.stack
            .engine
            .watch(&id)
            .await
            .expect("session")
            .borrow()
            .state,
        State::Capturing,
        "capture goes on"
    );
    w.sim.core().press(&cu, rest).expect("the rest of the card");
    let done = w.reach(&id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert_eq!(w.capture.received(), format!("{AGENT_ID}#1{CARD}"));
    w.until("the new recordings unmasked", || async {
        (core.recordings(&agent) == masked(AGENT_REC, false)
            && core.recordings(&room) == masked(ROOM_REC, false))
        .then_some(())
    })
    .await;
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mask_refused_mid_capture_ends_the_capture() {
    let w = World::start().await;
    let (_, id) = w.capturing().await;
    let agent = w.channel_of(&w.agent);
    // FreeSWITCH lists a recording it then refuses to mask (it knows no recording by that path).
    let ghost = "<media-bugs>\n <media-bug>\n  <function>session_record</function>\n  <target>/rec/ghost.wav</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n</media-bugs>\n";
    w.sim.core().set_api_fault("uuid_buglist", Some(ghost));
    let started = w
        .sim
        .core()
        .api("uuid_record", &format!("{agent} start {AGENT_REC}"))
        .await;
    assert_eq!(started, "+OK Success\n");
    let done = w.reach(&id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CommandFailed {
            step: Step::MaskRecording,
            reply: "-ERR Cannot mask recording session!".into()
        }))
    );
    assert!(w.capture.is_hung_up(), "the capture leg is gone");
    let h = w.sim.core().hearing();
    assert!(
        h.hears("agent", "customer") && h.hears("customer", "agent"),
        "agent and customer talk again: {h:?}"
    );
    assert_ne!(w.capture.received(), format!("{AGENT_ID}#1{CARD}"));
    w.stop().await;
}
