//! The payment flow end to end: daemon parts ↔ simulator over TCP, both start methods, both ways of
//! getting the call, repeat and cancel. Every test checks through the simulator's hearing and DTMF
//! matrix that (a) no digit the customer keyed after capture started reached the agent, (b) agent and
//! customer hear each other after the capture leg left, (c) the customer heard nothing of the setup
//! while on hold, (d) the capture service received the agent ID, then '1', then the customer's digits.

use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::{Outcome, StartMethod, State};
use confpay::sim::PaymentDialplan;
use confpay::sim::hearing::{DtmfOrigin, Source};
use confpay::sim::party::CapturePhase;

/// (c): on hold the customer hears music only — not the agent, not the capture service.
fn assert_customer_hears_only_music(w: &World) {
    let h = w.sim.core().hearing();
    let heard = h.sources("customer");
    assert!(
        h.hears_music("customer"),
        "customer on hold hears no music: {heard:?}"
    );
    assert!(
        heard.iter().all(|s| matches!(s, Source::Music(_))),
        "customer hears the setup: {heard:?}"
    );
}

/// (a) and (d) for a capture that started at DTMF log index `start`.
fn assert_digits_went_to_capture_only(w: &World, start: usize) {
    let log = w.sim.core().dtmf_log();
    let after: Vec<_> = log[start..].iter().collect();
    assert!(
        !after.iter().any(|d| d.party == "agent"),
        "a customer digit reached the agent: {after:?}"
    );
    let card: String = after
        .iter()
        .filter(|d| d.party == "capture" && d.origin == DtmfOrigin::Party("customer".into()))
        .map(|d| d.digit)
        .collect();
    assert!(card.ends_with(CARD), "capture got {card:?}");
    assert_eq!(w.agent.received(), "", "the agent's phone received digits");
    let got = w.capture.received();
    assert_eq!(
        got,
        format!("{AGENT_ID}#1{CARD}"),
        "capture service received {got:?}"
    );
    assert_eq!(w.capture.capture_phase(), Some(CapturePhase::Done));
}

/// (b)
fn assert_talking(w: &World) {
    let h = w.sim.core().hearing();
    assert!(
        h.hears("agent", "customer") && h.hears("customer", "agent"),
        "agent and customer cannot hear each other: {h:?}"
    );
}

#[tokio::test]
async fn dialplan_call_keyphone_payment() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    assert_talking(&w);
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Answered).await;
    assert_customer_hears_only_music(&w);
    let ready = w.reach(&s.id, State::Ready).await;
    assert_eq!(ready.agent_id.as_deref(), Some(AGENT_ID));
    assert_talking(&w);
    // While Ready the customer's start key is visible to the daemon (sensitive_dtmf off)...
    assert_eq!(
        w.sim.core().var(&cu, "sensitive_dtmf").as_deref(),
        Some("false")
    );
    let start = w.sim.core().dtmf_log().len();
    w.sim.core().press(&cu, "1").expect("press 1");
    w.reach(&s.id, State::Capturing).await;
    // ... and hidden again once capture runs.
    assert_eq!(
        w.sim.core().var(&cu, "sensitive_dtmf").as_deref(),
        Some("true")
    );
    let h = w.sim.core().hearing();
    assert!(
        !h.hears("agent", "customer") && !h.hears("customer", "agent"),
        "{h:?}"
    );
    assert!(
        h.hears("capture", "customer") && h.hears("customer", "capture"),
        "{h:?}"
    );
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
    assert_digits_went_to_capture_only(&w, start);
    assert_talking(&w);
    assert!(!w.customer.is_hung_up() && !w.agent.is_hung_up());
    w.stop().await;
}

#[tokio::test]
async fn dialplan_call_aca_payment_then_a_second_one() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    for round in 0..2 {
        let s = w.start_payment(Target::Agent(w.channel_of(&w.agent))).await;
        w.reach(&s.id, State::Ready).await;
        let start = w.sim.core().dtmf_log().len();
        w.stack
            .engine
            .start_capture(&s.id)
            .await
            .expect("start capture");
        w.reach(&s.id, State::Capturing).await;
        let h = w.sim.core().hearing();
        assert!(
            !h.hears("agent", "customer") && !h.hears("customer", "agent"),
            "{h:?}"
        );
        w.sim.core().press(&cu, CARD).expect("card");
        let done = w.reach(&s.id, State::Done).await;
        assert_eq!(
            done.outcome,
            Some(Outcome::Completed {
                method: StartMethod::Aca
            }),
            "round {round}"
        );
        let log = w.sim.core().dtmf_log();
        assert!(!log[start..].iter().any(|d| d.party == "agent"), "{log:?}");
        assert_talking(&w);
        if round == 0 {
            // The capture service of the second payment is a fresh call to the same party.
            assert_eq!(w.capture.received(), format!("{AGENT_ID}#1{CARD}"));
            w.sim.core().register_party(
                CAPTURE_DIAL,
                confpay::sim::party::Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len()),
            );
        }
    }
    w.stop().await;
}

#[tokio::test]
async fn attach_to_a_bridged_call_by_agent_id() {
    let w = World::start().await;
    let cu = w.call("attach");
    let agent = w
        .until("bridge", || async {
            let h = w.sim.core().hearing();
            (h.hears("agent", "customer") && h.hears("customer", "agent"))
                .then(|| w.channel_of(&w.agent))
        })
        .await;
    // The agent ID is given by the request here (the agent leg carries none).
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu.clone()), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    w.reach(&s.id, State::Ready).await;
    let call = w.call_ready(&cu).await;
    assert_eq!(call.agent.as_deref(), Some(agent.as_str()));
    assert_talking(&w);
    let start = w.sim.core().dtmf_log().len();
    w.sim.core().press(&cu, "1").expect("1");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert_digits_went_to_capture_only(&w, start);
    assert_talking(&w);
    w.stop().await;
}

#[tokio::test]
async fn agent_keys_the_agent_id_on_the_phone() {
    let w = World::start_with(
        |_| {},
        confpay::sim::party::Party::capture("capture", "99#", CARD.len()),
    )
    .await;
    // The socket extension, on a call that arrives without confpay_agent_id.
    PaymentDialplan::new(w.stack.outbound_addr, AGENT_DIAL, None)
        .socket_only("confpay-noid")
        .install(w.sim.core());
    let cu = w.call("confpay-noid");
    w.call_ready(&cu).await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::AwaitingAgentId).await;
    w.sim
        .core()
        .press(&w.channel_of(&w.agent), "99#")
        .expect("agent keys");
    let ready = w.reach(&s.id, State::Ready).await;
    assert_eq!(ready.agent_id.as_deref(), Some("99"));
    assert!(w.capture.received().starts_with("99#"));
    w.stop().await;
}

#[tokio::test]
async fn agent_phone_feature_code_starts_the_payment() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    let agent = w.channel_of(&w.agent);
    // What `bind_meta_app ... execute_extension::confpay_start` fires on the agent's leg
    // (freeswitch-dialplan/dialplan/confpay_features.xml): a CUSTOM event carrying the agent's
    // channel data and the agent ID.
    let headers: confpay::esl::Headers = [
        ("Event-Subclass", "confpay::start"),
        ("Unique-ID", agent.as_str()),
        ("confpay_agent_id", AGENT_ID),
    ]
    .into_iter()
    .collect();
    w.sim.core().send_event("CUSTOM", headers, None);
    let session = w
        .until("a payment started from the phone", || async {
            w.stack
                .engine
                .calls()
                .await
                .into_iter()
                .find(|c| c.customer == cu)
                .and_then(|c| c.session)
        })
        .await;
    let ready = w.reach(&session.id, State::Ready).await;
    assert_eq!(ready.agent.as_str(), agent.as_str());
    assert_eq!(ready.agent_id.as_deref(), Some(AGENT_ID));
    w.sim.core().press(&cu, "1").expect("1");
    w.reach(&session.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&session.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    w.stop().await;
}

#[tokio::test]
async fn attach_by_agent_id_seen_on_the_agent_leg() {
    let w = World::start().await;
    // A queue-style bridge whose agent leg carries confpay_agent_id (e.g. from the directory).
    w.sim
        .core()
        .set_extension(confpay::sim::core::Extension::new(
            "attach-id",
            &[
                ("set", "park_after_bridge=true"),
                ("set", "hangup_after_bridge=false"),
                ("answer", ""),
                (
                    "bridge",
                    &format!("{{confpay_agent_id={AGENT_ID}}}{AGENT_DIAL}"),
                ),
            ],
        ));
    let cu = w.call("attach-id");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    let s = w
        .until("attach by agent ID", || async {
            w.stack
                .engine
                .start_payment(Target::AgentId(AGENT_ID.into()), None)
                .await
                .ok()
        })
        .await;
    assert_eq!(s.customer, cu);
    assert_eq!(s.agent_id.as_deref(), Some(AGENT_ID));
    w.reach(&s.id, State::Ready).await;
    w.sim.core().press(&cu, "1").expect("1");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    assert_talking(&w);
    w.stop().await;
}

/// The shipped attach dialplan exports `confpay_agent_id` to both legs (as FreeSWITCH does): attach
/// by agent ID and by agent UUID must still find the customer's and the agent's leg the right way
/// round (the switch says which leg the bridge originated), and the payment must work.
#[tokio::test]
async fn attach_by_agent_id_and_agent_uuid_with_the_id_on_both_legs() {
    for by_id in [true, false] {
        let w = World::start().await;
        let cu = w.call("attach");
        let agent = w
            .until("bridge", || async {
                let h = w.sim.core().hearing();
                (h.hears("agent", "customer") && h.hears("customer", "agent"))
                    .then(|| w.channel_of(&w.agent))
            })
            .await;
        // Naming the agent's leg as the customer's is refused, not obeyed.
        let wrong = |w: &World| {
            let (engine, agent) = (w.stack.engine.clone(), agent.clone());
            async move {
                let r = engine.start_payment(Target::Customer(agent), None).await;
                assert!(
                    matches!(&r, Err(e) if e.code() == "wrong_leg"),
                    "the agent's leg named as the customer's: {r:?}"
                );
            }
        };
        wrong(&w).await;
        let target = if by_id {
            Target::AgentId(AGENT_ID.into())
        } else {
            Target::Agent(agent.clone())
        };
        let s = w
            .stack
            .engine
            .start_payment(target, None)
            .await
            .expect("attach");
        assert_eq!(s.customer, cu, "by_id={by_id}: the customer's leg");
        assert_eq!(s.agent, agent, "by_id={by_id}: the agent's leg");
        assert_eq!(s.agent_id.as_deref(), Some(AGENT_ID));
        w.reach(&s.id, State::Ready).await;
        let start = w.sim.core().dtmf_log().len();
        w.sim.core().press(&cu, "1").expect("1");
        w.reach(&s.id, State::Capturing).await;
        w.sim.core().press(&cu, CARD).expect("card");
        let done = w.reach(&s.id, State::Done).await;
        assert!(
            matches!(done.outcome, Some(Outcome::Completed { .. })),
            "{done:?}"
        );
        assert_digits_went_to_capture_only(&w, start);
        assert_talking(&w);
        wrong(&w).await;
        w.stop().await;
    }
}
