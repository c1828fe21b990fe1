//! Signed webhooks from `confpayd` on the real switch: a payment with the receiver down completes;
//! the daemon is killed (SIGKILL) once the outcome is spooled and started again; the receiver comes
//! up and gets every notification once, in order, signed, with no card digit in any body, and none
//! from the session the restarted daemon rebuilt for the call (its payment was over).

use super::parties::{AGENT_ID, CARD};
use super::world::World;
use crate::flow_harness::receiver::{Receiver, free_addr};
use crate::webhooks::{Paid, eventually, outcome_spooled, spooled, spooled_keys};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn webhooks_spooled_while_down_survive_a_kill_and_arrive_once_each() {
    let addr = free_addr().await;
    let mut w = World::start(|s| s.webhook = Some(Receiver::url(addr))).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.pays(&call, &agent, &id).await;
    let spool = w.daemon.spool();
    eventually("the outcome spooled", LIMIT, || outcome_spooled(&spool)).await;
    let pending = spooled_keys(&spool);
    assert!(pending.len() >= 5, "{pending:?}");

    w.daemon.restart().await;
    let receiver = Receiver::start_on(addr).await;
    eventually("every spooled notification delivered", LIMIT, || {
        let got: std::collections::HashSet<String> =
            receiver.received().into_iter().map(|r| r.key).collect();
        got.is_superset(&pending) && spooled(&spool).is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let paid = Paid {
        session: &id,
        call: &call.channel,
        agent_id: AGENT_ID,
        card: CARD,
    };
    let got = receiver.received();
    paid.check(&got, &pending);
    // The restarted daemon rebuilt a session for the call (still in its conference); FreeSWITCH
    // showed no payment running (no capture leg, nobody on hold, no relationship): not announced.
    let others: Vec<String> = got
        .iter()
        .filter(|r| r.json()["session"]["id"] != id.as_str())
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(others.is_empty(), "a second outcome: {others:#?}");
    w.finish(&call).await;
}
