//! A local process posing as FreeSWITCH's `socket` application on confpayd's outbound port, on the
//! real switch: it claims a live call's channel with another agent ID and dial string, then a
//! channel that does not exist. confpayd checks both with FreeSWITCH and takes neither; the next
//! payment on the real call sends the real agent ID. The real socket's one-time nonce (set by the
//! shipped dialplan with `${create_uuid()}`) is gone from the channel once confpayd took the call.

use super::parties::AGENT_ID;
use super::world::World;
use crate::forged_peer::{Forged, GUESSED_NONCE, forge};
use std::time::Duration;

const SETUP: Duration = Duration::from_secs(20);

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn a_forged_socket_peer_takes_no_call() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (agent_uuid, agent) = w.agent_of(&call).await;
    let outbound = "127.0.0.1:8084".parse().expect("addr");
    let nonce =
        w.sw.api(&format!("uuid_getvar {} confpay_nonce", call.channel))
            .await;
    assert_eq!(nonce.trim(), "_undef_", "the nonce admits one peer only");
    forge(
        outbound,
        &Forged {
            uuid: &call.channel,
            agent_dial: "user/attacker",
            agent_id: "999",
            nonce: Some(GUESSED_NONCE),
        },
    )
    .await;
    let phantom = "0b0e5f6a-1111-4222-8333-944455556666";
    forge(
        outbound,
        &Forged {
            uuid: phantom,
            agent_dial: "user/attacker",
            agent_id: "999",
            nonce: Some(GUESSED_NONCE),
        },
    )
    .await;
    let c = w.api.call(&call.channel, SETUP).await;
    assert_eq!(
        c["agent_id"], AGENT_ID,
        "the forged peer changed the call: {c}"
    );
    assert_eq!(c["agent"], agent_uuid.as_str(), "{c}");
    let calls = w.api.calls().await;
    assert!(
        !calls.to_string().contains(phantom),
        "a channel FreeSWITCH does not have was registered: {calls}"
    );
    assert!(
        w.daemon.log().contains("outbound socket call refused"),
        "one log line says the peer was refused"
    );
    // The payment on the real call: check_capture asserts the capture service got AGENT_ID.
    let id = w.api.pay("customer", &call.channel).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}
