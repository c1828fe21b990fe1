//! Command faults on an attached call (a bridged call moved into a conference): `-ERR` to the attach
//! `uuid_setvar_multi`, to one leg's transfer (retried, then the payment goes on), and to the agent-hangup
//! policy's transfer. Outcomes and error texts as in `flow_matrix_cmd`.
//! And the caller an attached call reads from the switch.

use crate::flow_harness::cmd_case::*;
use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::session::SessionView;
use confpay::pay::{FailReason, Outcome, State, Step};
use std::time::Duration;

/// A bridged call (the `attach` extension); a payment started on it with `fault` armed on the
/// command starting with `prefix(customer uuid)`.
async fn attach_with(prefix: fn(&str) -> String, reply: &'static str) -> (World, SessionView) {
    let w = World::start().await;
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    w.sim.faults().fail_next(&prefix(&cu), reply);
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    let done = w.reach(&s.id, State::Done).await;
    // Commands already queued behind the refused one still run: let them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    (w, done)
}

#[tokio::test]
async fn err_to_attach_setvar_multi() {
    let _shared = EXCLUSIVE.read().await;
    // A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = attach_with(
        |cu| format!("bgapi uuid_setvar_multi {cu} "),
        "-ERR No variable specified",
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::PrepareCustomer, "-ERR No variable specified")
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_attach_transfer_is_retried_and_the_payment_goes_on() {
    let _shared = EXCLUSIVE.read().await;
    // The agent's transfer (sent beside the customer's) goes ahead: giving up would leave the
    // agent in the conference and the customer parked. The refused transfer is sent once more.
    let w = World::start().await;
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    w.sim.faults().fail_next(
        &format!("bgapi uuid_transfer {cu} conference:"),
        // mod_commands `transfer_function` when `switch_ivr_session_transfer` fails.
        "-ERR",
    );
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu.clone()), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    w.reach(&s.id, State::Ready).await;
    w.sim.core().press(&cu, "1").expect("start key");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_the_agent_hangup_policy_transfer() {
    let _shared = EXCLUSIVE.read().await;
    // The agent hangs up before capture; the policy's transfer of the customer is refused. The
    // session has ended (`agent_hung_up`) with the capture leg down and the customer off hold;
    // the customer stays in the conference, not hung up.
    let w = World::start_with(
        |c| {
            c.payment.on_agent_hangup = confpay::config::OnAgentHangup::Transfer;
            c.payment.agent_hangup_transfer = "park XML default".into();
        },
        capture_party(),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    w.sim.faults().fail_next(
        &format!("bgapi uuid_transfer {cu} park"),
        "-ERR No such channel!",
    );
    let agent = w.channel_of(&w.agent);
    w.sim
        .core()
        .hangup(&agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(done.outcome, Some(Outcome::Failed(FailReason::AgentHungUp)));
    w.until("capture leg gone", || async {
        w.capture.is_hung_up().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!w.customer.is_hung_up(), "the customer was hung up");
    assert_eq!(w.sim.core().current_app(&cu).as_deref(), Some("conference"));
    assert!(!w.sim.core().hearing().hears_music("customer"));
    w.stop().await;
}

/// An attached call knows its caller as the switch does (`caller_id_number`/`caller_id_name` and
/// `answered_time` of the customer's channel): what the agent page shows.
#[tokio::test]
async fn an_attached_call_reads_its_caller_from_the_switch() {
    let w = World::start().await;
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    w.stack
        .engine
        .start_payment(Target::Customer(cu.clone()), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    let caller = w.stack.engine.call(&cu).expect("attached").caller;
    assert_eq!(caller.number.as_deref(), Some("1001"));
    assert_eq!(caller.name.as_deref(), Some("Customer"));
    let since = caller.answered_at.expect("answered");
    assert!(since.elapsed().expect("in the past") < Duration::from_secs(30));
}
