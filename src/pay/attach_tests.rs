//! [`attach::decide`] over the shapes a bridged call has on a real switch.

use super::attach::{AttachError, Claim, LegFacts, Pair, Role, decide};
use super::types::AgentId;

const C: &str = "c0000000-0000-0000-0000-000000000001";
const A: &str = "a0000000-0000-0000-0000-000000000002";

/// A call bridged by the shipped attach dialplan: `export confpay_agent_id` puts the ID on both
/// legs; the agent's leg was originated by the customer's `bridge` (recorded on FreeSWITCH 1.11).
fn exported() -> (LegFacts, LegFacts) {
    let customer = LegFacts {
        uuid: C.into(),
        exists: true,
        bridge_to: Some(A.into()),
        originator: None,
        role: None,
        agent_id: Some("4711".into()),
    };
    let agent = LegFacts {
        uuid: A.into(),
        bridge_to: Some(C.into()),
        originator: Some(C.into()),
        ..customer.clone()
    };
    (customer, agent)
}

fn pair(id: Option<&str>) -> Pair {
    Pair {
        customer: C.into(),
        agent: A.into(),
        agent_id: id.and_then(AgentId::parse),
    }
}

fn agent_id(id: &str) -> Claim {
    Claim::AgentId(id.into())
}

#[test]
fn each_target_of_an_exported_call_finds_the_same_roles() {
    let (c, a) = exported();
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("4711"))));
    assert_eq!(decide(&Claim::Agent, &a, &c), Ok(pair(Some("4711"))));
    // Attach by agent ID: whichever leg carrying the ID was seen first, the roles are the same.
    assert_eq!(decide(&agent_id("4711"), &c, &a), Ok(pair(Some("4711"))));
    assert_eq!(decide(&agent_id("4711"), &a, &c), Ok(pair(Some("4711"))));
}

#[test]
fn a_request_naming_the_wrong_leg_is_refused() {
    let (c, a) = exported();
    assert!(matches!(
        decide(&Claim::Customer, &a, &c),
        Err(AttachError::WrongLeg {
            said: "customer",
            is: "agent",
            ..
        })
    ));
    assert!(matches!(
        decide(&Claim::Agent, &c, &a),
        Err(AttachError::WrongLeg {
            said: "agent",
            is: "customer",
            ..
        })
    ));
}

#[test]
fn confpay_role_wins_over_originator() {
    // uuid_bridge of two parked calls (a queue's way): no originator; the roles say it.
    let (mut c, mut a) = exported();
    a.originator = None;
    c.role = Some(Role::Customer);
    assert_eq!(decide(&agent_id("4711"), &c, &a), Ok(pair(Some("4711"))));
    c.role = None;
    a.role = Some(Role::Agent);
    assert_eq!(decide(&agent_id("4711"), &c, &a), Ok(pair(Some("4711"))));
    // An outbound campaign: the customer's leg was originated by the agent's bridge.
    let (mut c, mut a) = exported();
    a.originator = None;
    c.originator = Some(A.into());
    c.role = Some(Role::Customer);
    a.role = Some(Role::Agent);
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("4711"))));
}

#[test]
fn contradicting_roles_fall_back_to_the_originator() {
    let (mut c, mut a) = exported();
    c.role = Some(Role::Agent);
    a.role = Some(Role::Agent);
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("4711"))));
}

#[test]
fn without_any_statement_the_request_names_the_leg_but_an_agent_id_cannot() {
    let (c, mut a) = exported();
    a.originator = None;
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("4711"))));
    assert_eq!(decide(&Claim::Agent, &a, &c), Ok(pair(Some("4711"))));
    assert!(matches!(
        decide(&agent_id("4711"), &c, &a),
        Err(AttachError::Ambiguous { .. })
    ));
    // ... unless only one leg carries the ID: that one is the agent's.
    let mut c2 = c.clone();
    c2.agent_id = None;
    assert_eq!(decide(&agent_id("4711"), &a, &c2), Ok(pair(Some("4711"))));
    let mut a2 = a.clone();
    a2.agent_id = None;
    assert!(matches!(
        decide(&agent_id("4711"), &c, &a2),
        Ok(Pair { ref agent, .. }) if agent == C
    ));
}

#[test]
fn the_agent_id_comes_from_the_agent_leg_first() {
    let (mut c, mut a) = exported();
    c.agent_id = Some("1".into());
    a.agent_id = Some("2".into());
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("2"))));
    a.agent_id = None;
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(Some("1"))));
    c.agent_id = None;
    assert_eq!(decide(&Claim::Customer, &c, &a), Ok(pair(None)));
}

#[test]
fn an_agent_id_that_the_call_does_not_carry_is_not_found() {
    let (c, a) = exported();
    assert_eq!(
        decide(&agent_id("999"), &a, &c),
        Err(AttachError::NoCallForAgentId { id: "999".into() })
    );
}

#[test]
fn only_two_legs_bridged_to_each_other_and_alive_are_a_call() {
    let (c, a) = exported();
    let mut gone = a.clone();
    gone.exists = false;
    assert!(matches!(
        decide(&Claim::Customer, &c, &gone),
        Err(AttachError::NoSuchChannel { .. })
    ));
    let mut unbridged = a.clone();
    unbridged.bridge_to = None;
    assert!(matches!(
        decide(&Claim::Customer, &c, &unbridged),
        Err(AttachError::NotBridged { .. })
    ));
    let mut elsewhere = a.clone();
    elsewhere.bridge_to = Some("someone-else".into());
    assert!(matches!(
        decide(&Claim::Customer, &c, &elsewhere),
        Err(AttachError::NotBridged { .. })
    ));
    let mut capture = a.clone();
    capture.role = Some(Role::Other);
    assert!(matches!(
        decide(&Claim::Customer, &c, &capture),
        Err(AttachError::NotAttachable { .. })
    ));
}
