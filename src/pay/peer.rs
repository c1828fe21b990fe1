//! An outbound-socket peer's claim, checked with the switch. Anything that can reach the outbound
//! port can answer `connect` with channel data it makes up, so what the peer says about its channel
//! (its `Unique-ID`, `confpay_agent_dial`, `confpay_agent_id`) is only a claim: before the daemon
//! registers, dials for or changes a call, the switch — over the daemon's own inbound connection —
//! must know the channel and hold the same values, and the values used are the switch's.
//!
//! The channel UUID alone would be a weak secret (it appears in logs and CDRs), so the peer is also
//! asked for a one-time nonce: the dialplan sets `confpay_nonce=${create_uuid()}` right before
//! `socket`, FreeSWITCH sends it to the real socket only, and the daemon compares it with the
//! switch's value and then unsets it, so a second peer claiming the same channel is refused.

use super::caller::{self, Caller};
use super::dial_allow::dial_allowed;
use super::switch::{Switch, SwitchError};
use super::types::{AgentId, Uuid};

/// What the peer said in its `connect` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub uuid: Uuid,
    pub agent_dial: Option<String>,
    pub agent_id: Option<String>,
    /// `variable_confpay_nonce` from the peer's channel data.
    pub nonce: Option<String>,
}

/// The channel variable that carries the one-time nonce.
pub const NONCE_VAR: &str = "confpay_nonce";

/// The call's settings once checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub agent_dial: String,
    pub agent_id: Option<AgentId>,
    /// The switch confirmed the channel and these values. False: the inbound connection is down,
    /// the values are the peer's and may only be acted on over the call's own socket.
    pub confirmed: bool,
    /// The customer's caller number and name, read back from the switch once it confirmed the
    /// channel — never the peer's `Caller-Caller-ID-*` headers, which are as much a claim as the
    /// rest of its channel data. Unconfirmed (inbound connection down), or the read failed: unknown
    /// (the page shows "unknown caller"); this is display only, so a call is never refused for it.
    pub caller: Caller,
}

/// Why a peer's call is not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The switch has no such channel: nobody's call, or one already gone.
    #[error("the switch has no channel {uuid}")]
    NoSuchChannel { uuid: Uuid },
    /// The peer's channel data disagrees with the switch's channel: not the channel it claims.
    #[error("the peer's {var} differs from the switch's channel variable")]
    Mismatch { var: &'static str },
    /// The channel has no `confpay_nonce`: the dialplan must set it before `socket`.
    #[error(
        "channel has no confpay_nonce: set confpay_nonce=${{create_uuid()}} in the dialplan before `socket`"
    )]
    NoNonce,
    /// The channel has no `confpay_agent_dial`: the dialplan must set it before `socket`.
    #[error("channel has no confpay_agent_dial: set it in the dialplan before `socket`")]
    NoAgentDial,
    /// `confpay_agent_dial` is not a form `payment.agent_dial_allow` names.
    #[error("confpay_agent_dial {dial:?} is not allowed by payment.agent_dial_allow")]
    DialNotAllowed { dial: String },
    /// The switch could not be asked (other than the connection being down).
    #[error("could not check the channel with the switch: {0}")]
    Unchecked(SwitchError),
}

impl Refusal {
    /// The channel is real and the dialplan merely set it up wrongly: the call may go back to the
    /// dialplan (over its own socket). Otherwise the peer is not believed and nothing is done.
    pub fn hand_back(&self) -> bool {
        match self {
            Refusal::NoNonce | Refusal::NoAgentDial | Refusal::DialNotAllowed { .. } => true,
            Refusal::NoSuchChannel { .. } | Refusal::Mismatch { .. } | Refusal::Unchecked(_) => {
                false
            }
        }
    }
}

/// A channel variable as `uuid_getvar` reports it: `None` when unset.
enum Var {
    Set(String),
    Unset,
    NoChannel,
}

async fn getvar(switch: &dyn Switch, uuid: &str, name: &str) -> Result<Var, SwitchError> {
    let reply = switch
        .call_api(format!("uuid_getvar {uuid} {name}"))
        .await?;
    let value = reply.trim_end_matches(['\r', '\n']);
    Ok(if value.starts_with("-ERR") {
        Var::NoChannel
    } else if value.is_empty() || value == "_undef_" {
        Var::Unset
    } else {
        Var::Set(value.to_owned())
    })
}

/// The switch's value of `name` on the claimed channel, which must equal the peer's claim.
/// `Ok(None)` from an unset variable; `Err(None)` when the connection is down.
async fn confirmed_var(
    switch: &dyn Switch,
    claim: &Claim,
    name: &'static str,
    claimed: Option<&str>,
) -> Result<Option<String>, Option<Refusal>> {
    let var = match getvar(switch, &claim.uuid, name).await {
        Ok(v) => v,
        Err(SwitchError::NoConnection { .. }) => return Err(None),
        Err(
            e @ (SwitchError::Timeout { .. }
            | SwitchError::JobTimeout { .. }
            | SwitchError::Refused { .. }
            | SwitchError::Unexpected { .. }
            | SwitchError::Unsendable { .. }
            | SwitchError::Unusable { .. }),
        ) => return Err(Some(Refusal::Unchecked(e))),
    };
    let value = match var {
        Var::NoChannel => {
            return Err(Some(Refusal::NoSuchChannel {
                uuid: claim.uuid.clone(),
            }));
        }
        Var::Unset => None,
        Var::Set(v) => Some(v),
    };
    if value.as_deref() != claimed.filter(|c| !c.is_empty()) {
        return Err(Some(Refusal::Mismatch { var: name }));
    }
    Ok(value)
}

/// Checks `claim` with the switch (the nonce, read and then unset, and two more `uuid_getvar`s)
/// and against `allow`; then reads the caller's number and name back (two more). With the inbound connection down the peer's values are taken, marked
/// unconfirmed.
pub async fn check(
    switch: &dyn Switch,
    claim: &Claim,
    allow: &[String],
) -> Result<Checked, Refusal> {
    match confirmed_var(switch, claim, NONCE_VAR, claim.nonce.as_deref()).await {
        Ok(Some(_)) => consume_nonce(switch, &claim.uuid).await?,
        Ok(None) => return Err(Refusal::NoNonce),
        Err(Some(refusal)) => return Err(refusal),
        // Nothing can be confirmed: the values below are the peer's, marked unconfirmed.
        Err(None) => {}
    }
    let dial = confirmed_var(
        switch,
        claim,
        "confpay_agent_dial",
        claim.agent_dial.as_deref(),
    )
    .await;
    let (dial, agent_id, confirmed) = match dial {
        Ok(dial) => {
            let id = confirmed_var(switch, claim, "confpay_agent_id", claim.agent_id.as_deref())
                .await
                .map_err(|r| {
                    r.unwrap_or(Refusal::Unchecked(SwitchError::NoConnection {
                        reason: "lost while checking the channel".to_owned(),
                    }))
                })?;
            (dial, id, true)
        }
        Err(Some(refusal)) => return Err(refusal),
        Err(None) => (claim.agent_dial.clone(), claim.agent_id.clone(), false),
    };
    let agent_dial = dial.filter(|d| !d.is_empty()).ok_or(Refusal::NoAgentDial)?;
    if !dial_allowed(&agent_dial, allow) {
        return Err(Refusal::DialNotAllowed { dial: agent_dial });
    }
    let caller = if confirmed {
        caller::read_id(switch, &claim.uuid)
            .await
            .unwrap_or_default()
    } else {
        Caller::default()
    };
    Ok(Checked {
        agent_dial,
        agent_id: agent_id.as_deref().and_then(AgentId::parse),
        confirmed,
        caller,
    })
}

/// Unsets the channel's nonce once it has been matched: it admits one peer only.
async fn consume_nonce(switch: &dyn Switch, uuid: &str) -> Result<(), Refusal> {
    let reply = switch
        .call_api(format!("uuid_setvar {uuid} {NONCE_VAR}"))
        .await
        .map_err(Refusal::Unchecked)?;
    if reply.starts_with("+OK") {
        Ok(())
    } else {
        // The channel went away between the two commands.
        Err(Refusal::NoSuchChannel {
            uuid: uuid.to_owned(),
        })
    }
}
