//! The questions a payment start asks the switch, each in a task of its own beside the engine's: the
//! engine never waits for a reply itself (see [`super::start`]). Each step ends by handing its
//! answer back to the engine as a message, with the request it belongs to.

use super::start::StartRequest;
use super::{EngineError, Msg, Target};
use crate::pay::attach::{self, AttachError, Claim};
use crate::pay::caller::{self, Caller};
use crate::pay::recover;
use crate::pay::switch::Switch;
use crate::pay::types::Uuid;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A payment requested the moment a call was set up: how long its legs may take to appear in the
/// member list (`MEMBER_POLLS` reads, `MEMBER_POLL_EVERY` apart).
const MEMBER_POLLS: u32 = 20;
const MEMBER_POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// An unknown call as the switch described it.
pub(super) struct Found {
    pub pair: attach::Pair,
    /// Display only: a call is attached to even if the switch does not say who is calling.
    pub caller: Caller,
}

/// Which legs the call `req` names has, by asking the switch; answered with [`Msg::Attached`].
/// `seen`: the channels the event stream showed carrying the agent ID (attach by agent ID).
pub(super) fn attach(
    switch: Arc<dyn Switch>,
    engine: mpsc::Sender<Msg>,
    req: StartRequest,
    seen: Vec<Uuid>,
) {
    tokio::spawn(async move {
        let found = find(switch.as_ref(), &req.target, &seen).await;
        let _ = engine.send(Msg::Attached { req, found }).await;
    });
}

async fn find(switch: &dyn Switch, target: &Target, seen: &[Uuid]) -> Result<Found, EngineError> {
    let pair = match target {
        Target::Customer(c) => attach::resolve(switch, &Claim::Customer, c).await?,
        Target::Agent(a) => attach::resolve(switch, &Claim::Agent, a).await?,
        Target::AgentId(id) => by_agent_id(switch, id, seen).await?,
    };
    let caller = caller::read(switch, &pair.customer)
        .await
        .unwrap_or_default();
    Ok(Found { pair, caller })
}

/// Attach by agent ID: the channels seen carrying it, each checked with the switch; when none is
/// (e.g. the daemon started after the call was bridged), every channel the switch has.
async fn by_agent_id(
    switch: &dyn Switch,
    id: &str,
    seen: &[Uuid],
) -> Result<attach::Pair, EngineError> {
    match attach::resolve_agent_id(switch, id, seen).await {
        Err(AttachError::NoCallForAgentId { .. }) => {
            let all = attach::all_channels(switch).await?;
            let unseen: Vec<Uuid> = all.into_iter().filter(|u| !seen.contains(u)).collect();
            Ok(attach::resolve_agent_id(switch, id, &unseen).await?)
        }
        other => Ok(other?),
    }
}

/// The member ids of `customer` (and `agent`) in `room` as FreeSWITCH lists them, read until the
/// customer is there or [`MEMBER_POLLS`] reads said otherwise; answered with [`Msg::Members`].
/// Each read is a command about the call's own conference, so it goes where the switch runs many
/// calls' commands in parallel ([`Switch::call_api`]).
pub(super) fn members(
    switch: Arc<dyn Switch>,
    engine: mpsc::Sender<Msg>,
    req: StartRequest,
    customer: Uuid,
    room: String,
    agent: Option<Uuid>,
) {
    tokio::spawn(async move {
        let mut found = None;
        for poll in 0..MEMBER_POLLS {
            if poll > 0 {
                tokio::time::sleep(MEMBER_POLL_EVERY).await;
            }
            let reply = switch
                .call_api(format!("conference {room} json_list"))
                .await
                .unwrap_or_default();
            let list = recover::parse_members(&reply, &room).unwrap_or_default();
            let id_of = |u: &str| list.iter().find(|(_, m)| m == u).map(|(id, _)| *id);
            if let Some(c) = id_of(&customer) {
                found = Some((c, agent.as_deref().and_then(id_of)));
                break;
            }
        }
        let msg = Msg::Members {
            customer,
            req,
            members: found,
        };
        let _ = engine.send(msg).await;
    });
}
