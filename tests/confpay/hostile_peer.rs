//! A local process that is not FreeSWITCH connects to the daemon's outbound port and answers
//! `connect` with channel data it made up. Over the wire against the simulator: the daemon checks
//! every claim with the switch over its own inbound connection, so a forged peer neither takes over
//! a live call (agent, agent ID), nor gets anything originated, killed or transferred, nor leaves a
//! phantom call behind; and an agent dial string outside `payment.agent_dial_allow` is never dialled.

use crate::flow_harness::*;
use crate::forged_peer::{Forged, GUESSED_NONCE, forge};
use confpay::pay::State;
use confpay::pay::engine::{CallView, Target};
use confpay::sim::PaymentDialplan;
use confpay::sim::core::Extension;
use std::time::Duration;

/// The API commands the simulator ran from index `from` on that act on calls.
fn acted_on_calls(w: &World, from: usize) -> Vec<String> {
    w.sim.core().api_log()[from..]
        .iter()
        .filter(|c| {
            [
                "originate",
                "uuid_kill",
                "uuid_transfer",
                "uuid_setvar",
                "conference",
            ]
            .iter()
            .any(|p| c.starts_with(p))
        })
        .cloned()
        .collect()
}

async fn view(w: &World, customer: &str) -> Option<CallView> {
    let calls = w.stack.engine.calls().await;
    calls.into_iter().find(|c| c.customer == customer)
}

#[tokio::test]
async fn a_forged_peer_cannot_take_over_a_live_call() {
    let w = World::start().await;
    let cu = w.dialplan_call().await;
    let before = view(&w, &cu).await.expect("call known");
    assert_eq!(before.agent_id.as_deref(), Some(AGENT_ID));
    let log = w.sim.core().api_log().len();
    // Another agent ID and dial string than the switch has for the channel...
    let attack = Forged {
        uuid: &cu,
        agent_dial: "user/attacker",
        agent_id: "999",
        nonce: Some(GUESSED_NONCE),
    };
    forge(w.stack.outbound_addr, &attack).await;
    // ...and the very values the switch has, from a second socket for a call already known.
    let replay = Forged {
        uuid: &cu,
        agent_dial: AGENT_DIAL,
        agent_id: AGENT_ID,
        nonce: Some(GUESSED_NONCE),
    };
    forge(w.stack.outbound_addr, &replay).await;
    let after = view(&w, &cu).await.expect("call still known");
    assert_eq!(
        after.agent, before.agent,
        "the call's agent leg was replaced"
    );
    assert_eq!(
        after.agent_id.as_deref(),
        Some(AGENT_ID),
        "agent ID replaced"
    );
    assert_eq!(acted_on_calls(&w, log), Vec::<String>::new());
    // The next payment on the real call sends the real agent ID.
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    let ready = w.reach(&s.id, State::Ready).await;
    assert_eq!(ready.agent_id.as_deref(), Some(AGENT_ID));
    assert_eq!(ready.agent, before.agent.expect("agent leg"));
    assert_eq!(w.capture.received(), format!("{AGENT_ID}#"));
    w.stop().await;
}

/// A real channel that set the payment variables but has not reached `socket` (parked): a forger
/// who knows its UUID and every value but the nonce takes nothing.
#[tokio::test]
async fn without_the_channels_nonce_a_peer_takes_nothing() {
    let w = World::start().await;
    let actions = [
        ("set", format!("confpay_agent_dial={AGENT_DIAL}")),
        ("set", format!("confpay_agent_id={AGENT_ID}")),
        ("set", "confpay_nonce=${create_uuid()}".to_owned()),
        ("park", String::new()),
    ];
    let actions: Vec<(&str, &str)> = actions.iter().map(|(a, d)| (*a, d.as_str())).collect();
    w.sim
        .core()
        .set_extension(Extension::new("parked", &actions));
    let cu = w.call("parked");
    let nonce = w.sim.core().var(&cu, "confpay_nonce");
    assert_eq!(nonce.as_ref().map(String::len), Some(36), "{nonce:?}");
    let log = w.sim.core().api_log().len();
    for guess in [Some(GUESSED_NONCE), None] {
        let attack = Forged {
            uuid: &cu,
            agent_dial: AGENT_DIAL,
            agent_id: AGENT_ID,
            nonce: guess,
        };
        let seen = forge(w.stack.outbound_addr, &attack).await;
        // Only the socket's own set-up (filters, linger, subscription): nothing run on a channel.
        assert!(
            !seen.iter().any(|c| ["sendmsg", "api ", "bgapi "]
                .iter()
                .any(|p| c.starts_with(p))),
            "acted over the forged socket: {seen:?}"
        );
    }
    assert_eq!(view(&w, &cu).await, None, "the forged claim was taken");
    assert_eq!(acted_on_calls(&w, log), Vec::<String>::new());
    assert_eq!(w.sim.core().var(&cu, "confpay_nonce"), nonce);
    w.stop().await;
}

#[tokio::test]
async fn a_channel_the_switch_does_not_know_is_not_taken() {
    let w = World::start().await;
    let log = w.sim.core().api_log().len();
    let phantom = uuid::Uuid::new_v4().to_string();
    let attack = Forged {
        uuid: &phantom,
        agent_dial: AGENT_DIAL,
        agent_id: "999",
        nonce: Some(GUESSED_NONCE),
    };
    let seen = forge(w.stack.outbound_addr, &attack).await;
    assert!(
        !seen.iter().any(|c| c.contains("originate")),
        "dialled over the forged socket: {seen:?}"
    );
    assert_eq!(view(&w, &phantom).await, None, "phantom call registered");
    assert_eq!(acted_on_calls(&w, log), Vec::<String>::new());
    w.stop().await;
}

#[tokio::test]
async fn an_agent_dial_string_outside_the_allow_list_is_not_dialled() {
    let w = World::start().await;
    // The dialplan itself sets a dial string the daemon must not originate.
    PaymentDialplan::new(w.stack.outbound_addr, "group/agents", Some(AGENT_ID))
        .socket_only("premium")
        .install(w.sim.core());
    let log = w.sim.core().api_log().len();
    let cu = w.call("premium");
    // Handled: the daemon dialled, or it read the channel's agent ID (its last look before
    // deciding).
    w.until("socket handled", || async {
        let handled = w.sim.core().api_log()[log..].iter().any(|c| {
            c.starts_with("originate")
                || (c.starts_with("uuid_getvar") && c.contains("confpay_agent_id"))
        });
        handled.then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let acted = acted_on_calls(&w, log);
    assert!(
        !acted.iter().any(|c| c.starts_with("originate")),
        "disallowed dial string dialled: {acted:?}"
    );
    assert_eq!(view(&w, &cu).await, None, "call registered");
    w.stop().await;
}

#[tokio::test]
async fn the_allow_list_is_the_configured_one() {
    let capture =
        confpay::sim::party::Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len());
    let w = World::start_with(
        |c| c.payment.agent_dial_allow = vec!["sofia/gateway/agents/".to_owned()],
        capture,
    )
    .await;
    let log = w.sim.core().api_log().len();
    let cu = w.call("confpay");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acted = acted_on_calls(&w, log);
    assert!(
        !acted.iter().any(|c| c.starts_with("originate")),
        "{AGENT_DIAL} dialled though not allowed: {acted:?}"
    );
    assert_eq!(view(&w, &cu).await, None, "call registered");
    w.stop().await;
}
