//! [`super::peer::check`] with a scripted switch: the switch's word decides, never the peer's.

use super::peer::{Checked, Claim, Refusal, check};
use super::switch::{BoxFut, Switch, SwitchError};
use super::types::AgentId;
use std::collections::HashMap;

/// Channel variables by channel; `None`: the inbound connection is down.
struct Vars(Option<HashMap<&'static str, HashMap<&'static str, &'static str>>>);

impl Switch for Vars {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let reply = match &self.0 {
            None => Err(SwitchError::NoConnection {
                reason: "down".into(),
            }),
            Some(channels) => {
                let mut words = cmd.split_whitespace().skip(1);
                let (uuid, name) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                Ok(match channels.get(uuid) {
                    None => "-ERR No such channel!\n".to_owned(),
                    Some(vars) => vars.get(name).copied().unwrap_or("_undef_").to_owned(),
                })
            }
        };
        Box::pin(async move { reply })
    }
    fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("-ERR not here\n".to_owned()) })
    }
}

fn switch() -> Vars {
    let vars = HashMap::from([
        ("confpay_agent_dial", "user/1000"),
        ("confpay_agent_id", "4711"),
    ]);
    Vars(Some(HashMap::from([("cust-1", vars)])))
}

fn claim(uuid: &str, dial: &str, id: &str) -> Claim {
    Claim {
        uuid: uuid.into(),
        agent_dial: Some(dial.into()),
        agent_id: Some(id.into()),
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
        })
    );
    let bad = check(&Vars(None), &claim("cust-9", "group/x", "12"), &allow()).await;
    assert!(matches!(bad, Err(Refusal::DialNotAllowed { .. })));
}
