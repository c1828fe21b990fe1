//! Fault matrix, hang-ups: the customer hangs up in every session state; the agent hangs up in every
//! session state, under both agent-hangup policies. Each (fault, state) pair is its own test
//! (`<fault>::in_<state>`), pinned in its state by `crate::flow_harness::outcome::states` and judged by the
//! one checker `crate::flow_harness::outcome::check`.

use crate::flow_harness::outcome::states::{
    KEYED_BEFORE_FAULT, Pinned, capture_party, pin, pin_suspended, tweak,
};
use crate::flow_harness::outcome::{CustomerEnd, Expect, Watcher, check, per_state};
use crate::flow_harness::{CARD, World};
use confpay::config::{Config, OnAgentHangup};
use confpay::pay::{FailReason, Outcome, StartMethod, State};
use tokio::time::Instant;

/// Where `payment.on_agent_hangup = "transfer"` sends the customer in these tests.
const TRANSFER_TO: &str = "park XML default";

fn quick(state: &State, c: &mut Config) {
    c.payment.max_capture_s = 8;
    tweak(state, c);
}

/// Pins `state`; `Suspended` is a capture whose connection dropped, its resync held.
async fn pin_any(w: &World, state: &State) -> Pinned {
    match state {
        State::Suspended => pin_suspended(w).await,
        _ => pin(w, state).await,
    }
}

async fn customer_hangs_up_in(state: State) {
    let case = format!("customer hangs up in {state:?}");
    let w = World::start_with(|c| quick(&state, c), capture_party(&state)).await;
    let p = pin_any(&w, &state).await;
    let watcher = Watcher::start(&w, &p.session).await;
    let fault_at = Instant::now();
    w.sim
        .core()
        .hangup(&p.customer, "NORMAL_CLEARING")
        .expect("customer hangs up");
    p.release();
    let outcome = match state {
        // The agent had already cancelled: that stays the outcome.
        State::Unwinding => Outcome::Cancelled,
        _ => Outcome::Failed(FailReason::CustomerHungUp),
    };
    let expect = Expect {
        outcome,
        customer: CustomerEnd::HungUpThemselves,
        // The customer's leaving ends the conference (`endconf`): FreeSWITCH hangs the agent up.
        agent_hung_up: true,
    };
    check(&w, &case, &p.session, watcher, fault_at, expect).await;
    w.stop().await;
}

async fn agent_hangs_up_in(state: State, transfer: bool) {
    let policy = if transfer { "transfer" } else { "hangup" };
    let case = format!("agent hangs up in {state:?} (on_agent_hangup = {policy})");
    let w = World::start_with(
        |c| {
            quick(&state, c);
            if transfer {
                c.payment.on_agent_hangup = OnAgentHangup::Transfer;
                c.payment.agent_hangup_transfer = TRANSFER_TO.into();
            }
        },
        capture_party(&state),
    )
    .await;
    let p = pin_any(&w, &state).await;
    let watcher = Watcher::start(&w, &p.session).await;
    let fault_at = Instant::now();
    w.sim
        .core()
        .hangup(&p.agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    p.release();
    let outcome = match state {
        // Suspended mid-capture: the resync finds the capture leg and resumes it.
        State::Capturing | State::Suspended => {
            // The customer stays with the capture service and finishes keying.
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            assert!(
                !w.customer.is_hung_up(),
                "[{case}] customer cut off mid-capture"
            );
            w.sim
                .core()
                .press(&p.customer, &CARD[KEYED_BEFORE_FAULT.len()..])
                .expect("rest of the card");
            Outcome::Completed {
                method: StartMethod::Keyphone,
            }
        }
        State::Unwinding => Outcome::Cancelled,
        _ => Outcome::Failed(FailReason::AgentHungUp),
    };
    let customer = if transfer {
        CustomerEnd::TransferredTo("park")
    } else {
        CustomerEnd::HungUpByPolicy
    };
    let expect = Expect {
        outcome,
        customer,
        agent_hung_up: true,
    };
    check(&w, &case, &p.session, watcher, fault_at, expect).await;
    w.stop().await;
}

per_state!(customer_hangs_up, customer_hangs_up_in);
per_state!(agent_hangs_up_policy_hangup, |s| agent_hangs_up_in(
    s, false
));
per_state!(agent_hangs_up_policy_transfer, |s| agent_hangs_up_in(
    s, true
));

/// While the daemon is disconnected (session `Suspended` mid-capture, its resync held): the resync
/// must read the hangup from FreeSWITCH, since the event went to the dropped connection.
mod while_suspended {
    use super::*;

    #[tokio::test]
    async fn customer_hangs_up() {
        customer_hangs_up_in(State::Suspended).await
    }

    #[tokio::test]
    async fn agent_hangs_up_policy_hangup() {
        agent_hangs_up_in(State::Suspended, false).await
    }

    #[tokio::test]
    async fn agent_hangs_up_policy_transfer() {
        agent_hangs_up_in(State::Suspended, true).await
    }
}
