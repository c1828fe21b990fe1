//! [`super::peer::check`] with a scripted switch: the switch's word decides, never the peer's.

use super::caller::Caller;
use super::peer::{Checked, Claim, Refusal, check};
use super::switch::{BoxFut, Switch, SwitchError};
use super::types::AgentId;
use std::collections::HashMap;
use std::sync::Mutex;

type Channels = HashMap<&'static str, HashMap<String, String>>;

/// Channel variables by channel, answering `uuid_getvar` and `uuid_setvar` as FreeSWITCH does;
/// `None`: the inbound connection is down.
struct Vars(Option<Mutex<Channels>>);

impl Switch for Vars {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let reply = match &self.0 {
            None => Err(SwitchError::NoConnection {
                reason: "down".into(),
            }),
            Some(channels) => {
                let mut channels = channels.lock().expect("vars");
                let mut words = cmd.split_whitespace();
                let verb = words.next().unwrap_or("");
                let (uuid, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                Ok(match (channels.get_mut(uuid), verb) {
                    (None, _) => "-ERR No such channel!\n".to_owned(),
                    (Some(vars), "uuid_setvar") => {
                        match words.next() {
                            Some(v) => vars.insert(name.to_owned(), v.to_owned()),
                            None => vars.remove(name),
                        };
                        "+OK\n".to_owned()
                    }
                    (Some(vars), _) => vars.get(name).cloned().unwrap_or("_undef_".into()),
                })
            }
        };
        Box::pin(async move { reply })
    }
    fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("-ERR not here\n".to_owned()) })
    }
}

const NONCE: &str = "5b0f4a0e-0b55-4b3e-9d0e-2f1f8c0b7e11";

fn switch() -> Vars {
    let vars = [
        ("confpay_agent_dial", "user/1000"),
        ("confpay_agent_id", "4711"),
        ("confpay_nonce", NONCE),
        ("caller_id_number", "0151234567"),
        ("caller_id_name", "Ada Lovelace"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    Vars(Some(Mutex::new(HashMap::from([(
        "cust-1",
        HashMap::from(vars),
    )]))))
}

fn claim(uuid: &str, dial: &str, id: &str) -> Claim {
    Claim {
        uuid: uuid.into(),
        agent_dial: Some(dial.into()),
        agent_id: Some(id.into()),
        nonce: Some(NONCE.into()),
    }
}

fn allow() -> Vec<String> {
    vec!["user/".into()]
}

#[tokio::test]
async fn the_switch_confirms_an_honest_claim() {
    let got = check(&switch(), &claim("cust-1", "user/1000", "4711"), &allow()).await;
    assert_eq!(
        got,
        Ok(Checked {
            agent_dial: "user/1000".into(),
            agent_id: AgentId::parse("4711"),
            confirmed: true,
            // Read back from the switch, not taken from the peer.
            caller: Caller {
                number: Some("0151234567".into()),
                name: Some("Ada Lovelace".into()),
                answered_at: None,
            },
        })
    );
}

#[tokio::test]
async fn a_claim_the_switch_does_not_back_is_refused() {
    let cases = [
        (
            claim("cust-2", "user/1000", "4711"),
            Refusal::NoSuchChannel {
                uuid: "cust-2".into(),
            },
        ),
        (
            claim("cust-1", "user/1000", "999"),
            Refusal::Mismatch {
                var: "confpay_agent_id",
            },
        ),
        (
            claim("cust-1", "sofia/gateway/premium/0900", "4711"),
            Refusal::Mismatch {
                var: "confpay_agent_dial",
            },
        ),
    ];
    for (claim, refusal) in cases {
        assert_eq!(
            check(&switch(), &claim, &allow()).await,
            Err(refusal.clone())
        );
        assert!(!refusal.hand_back());
    }
}

#[tokio::test]
async fn the_nonce_admits_one_peer_only() {
    let switch = switch();
    let honest = claim("cust-1", "user/1000", "4711");
    let mut guessed = honest.clone();
    guessed.nonce = Some("00000000-0000-0000-0000-000000000000".into());
    let mut without = honest.clone();
    without.nonce = None;
    let wrong = Refusal::Mismatch {
        var: "confpay_nonce",
    };
    // A peer that knows the channel and its variables but not the nonce changes nothing.
    assert_eq!(check(&switch, &guessed, &allow()).await, Err(wrong.clone()));
    assert_eq!(check(&switch, &without, &allow()).await, Err(wrong.clone()));
    assert!(check(&switch, &honest, &allow()).await.is_ok());
    // Replaying the real socket's data: the nonce is gone from the channel.
    assert_eq!(check(&switch, &honest, &allow()).await, Err(wrong.clone()));
    assert!(!wrong.hand_back());
}

#[tokio::test]
async fn a_dialplan_without_a_nonce_hands_the_call_back() {
    let switch = switch();
    if let Some(channels) = &switch.0 {
        let mut channels = channels.lock().expect("vars");
        channels
            .get_mut("cust-1")
            .map(|v| v.remove("confpay_nonce"));
    }
    let mut plain = claim("cust-1", "user/1000", "4711");
    plain.nonce = None;
    let got = check(&switch, &plain, &allow()).await;
    assert_eq!(got, Err(Refusal::NoNonce));
    assert!(Refusal::NoNonce.hand_back());
}

#[tokio::test]
async fn a_dial_string_outside_the_allow_list_is_refused() {
    let only_sofia = vec!["sofia/".to_owned()];
    let got = check(
        &switch(),
        &claim("cust-1", "user/1000", "4711"),
        &only_sofia,
    )
    .await;
    assert_eq!(
        got,
        Err(Refusal::DialNotAllowed {
            dial: "user/1000".into()
        })
    );
}

#[tokio::test]
async fn with_the_inbound_connection_down_the_claim_is_unconfirmed() {
    let got = check(&Vars(None), &claim("cust-9", "user/7", "12"), &allow()).await;
    assert_eq!(
        got,
        Ok(Checked {
            agent_dial: "user/7".into(),
            agent_id: AgentId::parse("12"),
            confirmed: false,
            caller: Caller::default(),
        })
    );
    let bad = check(&Vars(None), &claim("cust-9", "group/x", "12"), &allow()).await;
    assert!(matches!(bad, Err(Refusal::DialNotAllowed { .. })));
}
