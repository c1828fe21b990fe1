//! Attach: which leg of a bridged call is the customer and which the agent, decided from what
//! FreeSWITCH says about the two legs now, never from which channel an event last mentioned.
//!
//! What the switch says (each read with `uuid_getvar` from the leg itself):
//! - `bridge_to`: the leg it is bridged to right now (cleared at unbridge, unlike `bridge_uuid`);
//!   both legs must name each other;
//! - `confpay_role` (`customer` / `agent`): set by the dialplan or the agent's dial string, the
//!   operator's own statement, used first;
//! - `originator`: set on the leg a `bridge` originated (the agent's) to the leg that dialled it;
//! - `confpay_agent_id`: an `export` in the bridging dialplan puts it on *both* legs, so it alone
//!   never decides a role; it decides only when exactly one of the two legs carries it.
//!
//! [`decide`] is pure and tested on its own; [`resolve`] reads the facts and applies it.

use super::switch::{Switch, SwitchError};
use super::types::{AgentId, Uuid};

/// What the request said about the leg it named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// "This channel is the customer's."
    Customer,
    /// "This channel is the agent's."
    Agent,
    /// "The agent with this ID": the named leg is a channel carrying `confpay_agent_id` = ID.
    AgentId(String),
}

/// A leg's role as written in `confpay_role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Customer,
    Agent,
    /// A capture leg, or a value confpayd does not attach by.
    Other,
}

/// What FreeSWITCH says about one leg.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LegFacts {
    pub uuid: Uuid,
    pub exists: bool,
    pub bridge_to: Option<Uuid>,
    pub originator: Option<Uuid>,
    pub role: Option<Role>,
    pub agent_id: Option<String>,
}

/// A bridged call's legs by role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub customer: Uuid,
    pub agent: Uuid,
    /// From the agent's leg, else the customer's (`confpay_agent_id`).
    pub agent_id: Option<AgentId>,
}

/// Why a call cannot be attached to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    #[error("channel {uuid} does not exist")]
    NoSuchChannel { uuid: Uuid },
    #[error("channel {uuid} is not bridged to another channel")]
    NotBridged { uuid: Uuid },
    #[error("channel {uuid} is the {is} of its call, not the {said}")]
    WrongLeg {
        uuid: Uuid,
        said: &'static str,
        is: &'static str,
    },
    #[error(
        "cannot tell customer from agent on the call of {uuid}: set confpay_role=customer on the \
         customer's leg or confpay_role=agent on the agent's (see 11_confpay_attach.xml)"
    )]
    Ambiguous { uuid: Uuid },
    #[error("channel {uuid} is a {role} leg, not part of a customer-agent call")]
    NotAttachable { uuid: Uuid, role: &'static str },
    #[error("no bridged call carries agent ID {id}")]
    NoCallForAgentId { id: String },
    #[error("agent ID {id} is on more than one call")]
    AgentIdOnSeveralCalls { id: String },
    #[error("FreeSWITCH did not answer: {error}")]
    Switch { error: SwitchError },
}

/// Decides the roles of `named` (the leg the request named) and `peer` (its bridge partner).
pub fn decide(claim: &Claim, named: &LegFacts, peer: &LegFacts) -> Result<Pair, AttachError> {
    for leg in [named, peer] {
        if !leg.exists {
            return Err(AttachError::NoSuchChannel {
                uuid: leg.uuid.clone(),
            });
        }
        if leg.role == Some(Role::Other) {
            return Err(AttachError::NotAttachable {
                uuid: leg.uuid.clone(),
                role: "capture or unknown-role",
            });
        }
    }
    if named.bridge_to.as_deref() != Some(peer.uuid.as_str())
        || peer.bridge_to.as_deref() != Some(named.uuid.as_str())
    {
        return Err(AttachError::NotBridged {
            uuid: named.uuid.clone(),
        });
    }
    let named_is_agent = match switch_says(claim, named, peer) {
        Some(agent) => agent,
        // The switch has no opinion: the request named the leg.
        None => match claim {
            Claim::Agent => true,
            Claim::Customer => false,
            Claim::AgentId(_) => {
                return Err(AttachError::Ambiguous {
                    uuid: named.uuid.clone(),
                });
            }
        },
    };
    let label = |agent: bool| if agent { "agent" } else { "customer" };
    let said = match claim {
        Claim::Customer => Some(false),
        Claim::Agent => Some(true),
        Claim::AgentId(_) => None,
    };
    if let Some(said) = said.filter(|s| *s != named_is_agent) {
        return Err(AttachError::WrongLeg {
            uuid: named.uuid.clone(),
            said: label(said),
            is: label(named_is_agent),
        });
    }
    let (customer, agent) = if named_is_agent {
        (peer, named)
    } else {
        (named, peer)
    };
    let agent_id = agent
        .agent_id
        .as_deref()
        .or(customer.agent_id.as_deref())
        .and_then(AgentId::parse);
    if let Claim::AgentId(id) = claim
        && agent_id.as_ref().map(AgentId::as_str) != Some(id.as_str())
    {
        return Err(AttachError::NoCallForAgentId { id: id.clone() });
    }
    Ok(Pair {
        customer: customer.uuid.clone(),
        agent: agent.uuid.clone(),
        agent_id,
    })
}

/// Whether the switch says `named` is the agent (Some(true)), the customer (Some(false)), or cannot
/// tell (None). Contradicting statements count as "cannot tell".
fn switch_says(claim: &Claim, named: &LegFacts, peer: &LegFacts) -> Option<bool> {
    let by_role = match (named.role, peer.role) {
        (Some(Role::Agent), None | Some(Role::Customer)) => Some(true),
        (None, Some(Role::Customer)) => Some(true),
        (Some(Role::Customer), None | Some(Role::Agent)) => Some(false),
        (None, Some(Role::Agent)) => Some(false),
        _ => None,
    };
    if by_role.is_some() {
        return by_role;
    }
    let by_origin = match (
        named.originator.as_deref() == Some(peer.uuid.as_str()),
        peer.originator.as_deref() == Some(named.uuid.as_str()),
    ) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    };
    if by_origin.is_some() {
        return by_origin;
    }
    match claim {
        Claim::AgentId(id) => {
            let carries = |l: &LegFacts| l.agent_id.as_deref() == Some(id.as_str());
            match (carries(named), carries(peer)) {
                (true, false) => Some(true),
                (false, true) => Some(false),
                _ => None,
            }
        }
        Claim::Customer | Claim::Agent => None,
    }
}

/// Reads what FreeSWITCH says about `uuid`.
pub async fn facts(switch: &dyn Switch, uuid: &str) -> Result<LegFacts, AttachError> {
    let exists = ask(switch, &format!("uuid_exists {uuid}")).await?.trim() == "true";
    if !exists {
        return Ok(LegFacts {
            uuid: uuid.to_owned(),
            ..LegFacts::default()
        });
    }
    let role = getvar(switch, uuid, "confpay_role")
        .await?
        .map(|r| match r.as_str() {
            "customer" => Role::Customer,
            "agent" => Role::Agent,
            _ => Role::Other,
        });
    Ok(LegFacts {
        uuid: uuid.to_owned(),
        exists,
        bridge_to: getvar(switch, uuid, "bridge_to").await?,
        originator: getvar(switch, uuid, "originator").await?,
        role,
        agent_id: getvar(switch, uuid, "confpay_agent_id").await?,
    })
}

/// The customer and agent of the bridged call `uuid` belongs to, as the switch says.
pub async fn resolve(switch: &dyn Switch, claim: &Claim, uuid: &str) -> Result<Pair, AttachError> {
    let named = facts(switch, uuid).await?;
    if !named.exists {
        return Err(AttachError::NoSuchChannel {
            uuid: uuid.to_owned(),
        });
    }
    let Some(peer) = named.bridge_to.clone() else {
        return Err(AttachError::NotBridged {
            uuid: uuid.to_owned(),
        });
    };
    let peer = facts(switch, &peer).await?;
    decide(claim, &named, &peer)
}

/// The bridged call of agent ID `id`, from `candidates` (channels seen carrying it; stale ones are
/// fine, each is checked with the switch). Several candidates naming one call are one call.
pub async fn resolve_agent_id(
    switch: &dyn Switch,
    id: &str,
    candidates: &[Uuid],
) -> Result<Pair, AttachError> {
    let claim = Claim::AgentId(id.to_owned());
    let mut found: Vec<Pair> = Vec::new();
    for c in candidates {
        match resolve(switch, &claim, c).await {
            Ok(p) if !found.iter().any(|f| f.customer == p.customer) => found.push(p),
            Ok(_) => {}
            Err(e @ AttachError::Switch { .. }) => return Err(e),
            Err(_) => {}
        }
    }
    match found.len() {
        0 => Err(AttachError::NoCallForAgentId { id: id.to_owned() }),
        1 => Ok(found.remove(0)),
        _ => Err(AttachError::AgentIdOnSeveralCalls { id: id.to_owned() }),
    }
}

/// Every channel UUID FreeSWITCH has (`show channels as json`), for an agent ID no event named.
pub async fn all_channels(switch: &dyn Switch) -> Result<Vec<Uuid>, AttachError> {
    let reply = ask(switch, "show channels as json").await?;
    let v: serde_json::Value = serde_json::from_str(reply.trim()).unwrap_or_default();
    Ok(v.get("rows")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|row| row.get("uuid").and_then(|u| u.as_str()).map(str::to_owned))
        .collect())
}

async fn ask(switch: &dyn Switch, cmd: &str) -> Result<String, AttachError> {
    switch
        .api(cmd.to_owned())
        .await
        .map_err(|error| AttachError::Switch { error })
}

async fn getvar(
    switch: &dyn Switch,
    uuid: &str,
    name: &str,
) -> Result<Option<String>, AttachError> {
    let v = ask(switch, &format!("uuid_getvar {uuid} {name}")).await?;
    let v = v.trim();
    Ok((!v.is_empty() && v != "_undef_" && !v.starts_with("-ERR")).then(|| v.to_owned()))
}
