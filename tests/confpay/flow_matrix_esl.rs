//! Fault matrix, connection loss: the daemon's inbound ESL connection drops in every session state.
//! The daemon reconnects and the session resynchronises from FreeSWITCH's own state: a capture in
//! progress resumes (and completes); anything else ends `connection_lost` with agent and customer
//! restored. Each state is its own test (`esl_drops::in_<state>`), pinned by
//! `crate::flow_harness::outcome::states` and judged by `crate::flow_harness::outcome::check`.

use crate::flow_harness::outcome::states::{
    KEYED_BEFORE_FAULT, capture_party, pin, pin_arming_keyphone, run_held_command, tweak,
};
use crate::flow_harness::outcome::{CustomerEnd, Expect, Watcher, check, eventually, per_state};
use crate::flow_harness::{AGENT_ID, CARD, World};
use confpay::pay::{FailReason, Outcome, StartMethod, State};
use std::time::Duration;
use tokio::time::Instant;

async fn esl_drops_in(state: State) {
    let case = format!("ESL connection drops in {state:?}");
    let w = World::start_with(
        |c| {
            c.payment.max_capture_s = 8;
            tweak(&state, c);
        },
        capture_party(&state),
    )
    .await;
    let p = pin(&w, &state).await;
    let watcher = Watcher::start(&w, &p.session).await;
    let mut view = w.stack.engine.watch(&p.session).await.expect("session");
    let fault_at = Instant::now();
    // The held command (if any) is never released: it dies with the connection, unanswered.
    w.sim.faults().drop_connections();
    let outcome = match state {
        State::Capturing => {
            // Suspended, then resumed once FreeSWITCH confirms the capture leg is still there.
            let resumed = tokio::time::timeout(Duration::from_secs(10), async {
                view.wait_for(|v| v.state == State::Suspended).await.ok();
                view.wait_for(|v| v.state != State::Suspended).await.ok();
            })
            .await;
            assert!(
                resumed.is_ok(),
                "[{case}] never resynchronised: {:?}",
                view.borrow()
            );
            assert_eq!(
                view.borrow().state,
                State::Capturing,
                "[{case}] did not resume"
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
        _ => Outcome::Failed(FailReason::ConnectionLost),
    };
    let expect = Expect {
        outcome,
        customer: CustomerEnd::Alive,
        agent_hung_up: false,
    };
    check(&w, &case, &p.session, watcher, fault_at, expect).await;
    w.stop().await;
}

/// The connection drops after FreeSWITCH ran the command the session waits on, its reply lost: the
/// session must undo what it cannot know was done (a hold, an isolation, a dialled capture leg).
async fn esl_drops_after_the_command_ran_in(state: State) {
    let case = format!("ESL connection drops in {state:?} after the command ran");
    let w = World::start_with(|c| tweak(&state, c), capture_party(&state)).await;
    let p = pin(&w, &state).await;
    let watcher = Watcher::start(&w, &p.session).await;
    let ran = run_held_command(&w, &state, &p).await;
    assert!(
        ran.as_deref().is_some_and(|r| r.starts_with("+OK")),
        "[{case}] the command did not run: {ran:?}"
    );
    let fault_at = Instant::now();
    w.sim.faults().drop_connections();
    let outcome = match state {
        State::Unwinding => Outcome::Cancelled,
        _ => Outcome::Failed(FailReason::ConnectionLost),
    };
    let expect = Expect {
        outcome,
        customer: CustomerEnd::Alive,
        agent_hung_up: false,
    };
    check(&w, &case, &p.session, watcher, fault_at, expect).await;
    w.stop().await;
}

per_state!(esl_drops, esl_drops_in);

/// Keyphone: the '1' reached the capture service through the conference, so the session resumes
/// once the resync finds the capture leg, isolating first; the customer then keys the card.
#[tokio::test]
async fn esl_drops_in_arming_by_keyphone() {
    let case = "ESL connection drops in Arming (Keyphone)";
    let w = World::start().await;
    let p = pin_arming_keyphone(&w).await;
    let mut view = w.stack.engine.watch(&p.session).await.expect("session");
    let fault_at = Instant::now();
    w.sim.faults().drop_connections();
    let resumed = tokio::time::timeout(Duration::from_secs(10), async {
        view.wait_for(|v| v.state == State::Capturing).await.is_ok()
    })
    .await;
    assert_eq!(
        resumed,
        Ok(true),
        "[{case}] never resumed: {:?}",
        view.borrow()
    );
    // The resync sends the isolation as it resumes; until FreeSWITCH applies it (and all the while
    // the daemon was disconnected) agent and customer still hear each other: the customer keys
    // the card only once it holds, and the sampling starts there.
    let isolated = eventually(Duration::from_secs(3), || {
        let h = w.sim.core().hearing();
        !h.hears("agent", "customer") && !h.hears("customer", "agent")
    })
    .await;
    assert!(
        isolated,
        "[{case}] not re-isolated: {:?}",
        w.sim.core().hearing()
    );
    let watcher = Watcher::start(&w, &p.session).await;
    w.sim.core().press(&p.customer, CARD).expect("card");
    let expect = Expect {
        outcome: Outcome::Completed {
            method: StartMethod::Keyphone,
        },
        customer: CustomerEnd::Alive,
        agent_hung_up: false,
    };
    check(&w, case, &p.session, watcher, fault_at, expect).await;
    assert_eq!(w.capture.received(), format!("{AGENT_ID}#1{CARD}"));
    w.stop().await;
}

/// The states pinned by holding a command (see `crate::flow_harness::outcome::states`). Not
/// `Masking`: the command held there (`uuid_buglist`) reads and changes nothing; a mask lost with
/// the connection is covered by the machine's tests (`recordings`, `sweep`).
mod esl_drops_after_the_command_ran {
    use super::*;

    per_state!(@tests esl_drops_after_the_command_ran_in;
        in_moving => Moving,
        in_holding => Holding,
        in_dialling => Dialling,
        in_sending_agent_id => SendingAgentId,
        in_unholding => Unholding,
        in_arming => Arming,
        in_unwinding => Unwinding,
    );
}
