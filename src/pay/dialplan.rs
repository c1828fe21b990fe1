//! Dialplan-driven calls: a customer call reaches `socket 127.0.0.1:8084 async full`; the daemon
//! answers it, joins it to the call's conference (`dist-dtmf`) through the outbound socket — so the
//! channel stays under the daemon's control — dials the agent (`confpay_agent_dial`) into the same
//! conference (`skip-dtmf`), and registers the call with the engine. The socket stays open until
//! FreeSWITCH says the channel is gone. Whoever connects to the outbound port only claims a
//! channel: the switch confirms it first ([`super::peer`]).
//!
//! Also the [`Switch`] the engine drives FreeSWITCH with: the daemon's inbound ESL connections.

use super::engine::Engine;
use super::peer::{self, Checked, Claim};
use super::switch::{BoxFut, Switch, SwitchError};
use super::types::{AGENT_FLAGS, AgentHangupPolicy, CUSTOMER_FLAGS};
use crate::esl::client_error::ClientError;
use crate::esl::command::{Command, Execute};
use crate::esl::inbound::InboundClient;
use crate::esl::outbound::{OutboundSession, SessionEvent, SessionHandle};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// The agent's feature code on a call confpayd connects through its conference (no bridge, so no
/// B leg for the dialplan's `bind_meta_app ... b ...`): `*9` keyed on the agent's own leg runs
/// `confpay_start` (freeswitch-dialplan/dialplan/confpay_features.xml) on that leg, which fires the
/// start event with the agent's channel data.
pub const AGENT_FEATURE_BIND: &str =
    "bind_meta_app 9 a s execute_extension::confpay_start XML confpay_features";

/// [`Switch`] over the daemon's command connection: an inbound ESL connection of its own, apart
/// from the one whose events the engine consumes, so that no answer waits behind that event
/// backlog (nor behind the engine, which awaits some answers while it is that backlog's only
/// reader). A [`Switch::call_api`] travels as `bgapi`: FreeSWITCH runs the `api` commands of one
/// connection one after another, so with thousands of calls each call's hold waited behind every
/// other call's commands past the command timeout; each `bgapi` job runs on a thread of its own
/// and its BACKGROUND_JOB body is the text `api` answers.
pub struct EslSwitch(pub InboundClient);

impl Switch for EslSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let client = self.0.clone();
        Box::pin(async move { client.api(&cmd).await.map(|r| r.body).map_err(switch_error) })
    }

    fn call_api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let client = self.0.clone();
        Box::pin(async move { client.api_in_parallel(&cmd).await.map_err(switch_error) })
    }

    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        let client = self.0.clone();
        Box::pin(async move { client.bgapi(&cmd).await.map_err(switch_error) })
    }
}

/// A client error as a [`Switch`] error: whether there was a connection to ask over at all, and if
/// there was, what became of the request.
fn switch_error(e: ClientError) -> SwitchError {
    let reason = e.to_string();
    match e {
        ClientError::Connect { .. }
        | ClientError::NotConnected
        | ClientError::ConnectionLost { .. }
        | ClientError::AccessDenied => SwitchError::NoConnection { reason },
        ClientError::Timeout { command, after } => SwitchError::Timeout { command, after },
        ClientError::JobTimeout { job_uuid, after } => SwitchError::JobTimeout { job_uuid, after },
        ClientError::Rejected { command, reply } => SwitchError::Refused { command, reply },
        ClientError::Unexpected { command, what } => SwitchError::Unexpected { command, what },
        ClientError::Command(_) => SwitchError::Unsendable { reason },
        ClientError::AuthFailed | ClientError::NotFullControl { .. } => {
            SwitchError::Unusable { reason }
        }
    }
}

/// What a dialplan-driven call needs to know.
#[derive(Clone, Debug)]
pub struct CallSetup {
    pub room_prefix: String,
    pub profile: String,
    /// Where the customer goes when the agent cannot be reached.
    pub on_agent_unreachable: AgentHangupPolicy,
    /// Prefixes the agent's dial string must start with (`payment.agent_dial_allow`).
    pub agent_dial_allow: Vec<String>,
}

/// Runs one dialplan-driven call for as long as FreeSWITCH keeps its socket open. The peer's
/// channel data is only a claim: the call is taken only once the switch confirmed it
/// ([`peer::check`]) and the engine knows no call with that channel.
///
/// A call spends nearly all its length idle, waiting for FreeSWITCH to let go of the channel, and
/// this future is what it holds meanwhile (with the connection's driver, in the session's one
/// task). So the set-up runs boxed, its state freed once it is done, and only [`Held`] is kept.
/// Not an `async fn`: its state would keep the arguments (the channel data among them) all along.
pub fn handle_call(
    engine: Engine,
    switch: Arc<dyn Switch>,
    setup: CallSetup,
    call: OutboundSession,
) -> impl Future<Output = ()> + Send {
    let setting_up = Box::pin(set_up(engine, switch, setup, call));
    async move {
        let Some(mut held) = setting_up.await else {
            return;
        };
        if let Some(events) = held.events.as_mut() {
            // Hold the socket (and so control of the channel) until FreeSWITCH lets go of it.
            while let Some(ev) = events.recv().await {
                match ev {
                    SessionEvent::Event(_) => {}
                    SessionEvent::Disconnect(_) | SessionEvent::Closed { .. } => break,
                }
            }
            info!(call = %held.handle.uuid(), "customer channel released");
        }
        let uuid = held.handle.uuid();
        Box::pin(forget_if_gone(&held.engine, held.switch.as_ref(), uuid)).await;
    }
}

/// What a call under control keeps once it is set up.
struct Held {
    engine: Engine,
    switch: Arc<dyn Switch>,
    /// Keeps the call's socket open (the connection stops when its last handle is dropped).
    handle: SessionHandle,
    /// The socket's events, to wait on until FreeSWITCH lets go of the channel; `None` when the
    /// customer never joined the conference (the call was handed back to the dialplan).
    events: Option<mpsc::Receiver<SessionEvent>>,
}

/// Takes the call: the claim checked with the switch, the call registered with the engine, the
/// customer answered and joined, the agent dialled. `None` when the call was not taken.
async fn set_up(
    engine: Engine,
    switch: Arc<dyn Switch>,
    setup: CallSetup,
    mut call: OutboundSession,
) -> Option<Held> {
    let uuid = call.uuid.clone();
    let claimed = |name: &str| call.channel.get(name).map(str::to_owned);
    let claim = Claim {
        uuid: uuid.clone(),
        agent_dial: claimed("variable_confpay_agent_dial"),
        agent_id: claimed("variable_confpay_agent_id"),
        nonce: claimed(&format!("variable_{}", peer::NONCE_VAR)),
    };
    // The channel data (several KiB, and it pins the socket's read buffer it was cut from) is not
    // needed past the claim.
    call.channel = Default::default();
    let checked = match peer::check(switch.as_ref(), &claim, &setup.agent_dial_allow).await {
        Ok(checked) => checked,
        Err(refusal) => {
            warn!(call = %uuid, reason = %refusal, "outbound socket call refused");
            if refusal.hand_back() {
                let _ = call.handle.command(&Command::Resume).await;
            }
            return None;
        }
    };
    let room = Engine::room_for(&setup.room_prefix, &uuid);
    let agent = uuid::Uuid::new_v4().to_string();
    let registered = engine
        .register_call(
            uuid.clone(),
            agent.clone(),
            checked.agent_id.clone(),
            checked.caller.clone(),
        )
        .await;
    if let Err(e) = registered {
        warn!(call = %uuid, reason = %e, "outbound socket call refused");
        return None;
    }
    let joined = join_customer(&mut call, &setup, &room).await;
    if joined && dial_agent(&switch, &mut call, &setup, &room, &agent, &checked).await {
        engine
            .agent_joined(uuid.clone(), std::time::SystemTime::now())
            .await;
    }
    let OutboundSession { handle, events, .. } = call;
    Some(Held {
        engine,
        switch,
        handle,
        events: joined.then_some(events),
    })
}

/// Answers the customer and joins them to the call's conference over the call's own socket; on
/// failure hands the call back to the dialplan. True when joined.
async fn join_customer(call: &mut OutboundSession, setup: &CallSetup, room: &str) -> bool {
    let uuid = call.uuid.clone();
    let steps = async {
        call.handle
            .api(&format!("uuid_setvar {uuid} confpay_role customer"))
            .await?;
        call.handle.execute_and_wait(Execute::new("answer")).await?;
        let join = Execute::new("conference").arg(format!(
            "{room}@{}+flags{{{CUSTOMER_FLAGS}}}",
            setup.profile
        ));
        // The conference runs for the call's whole length: nothing waits for its end.
        call.handle.execute_detached(join).await
    };
    match steps.await {
        Ok(_) => true,
        Err(e) => {
            warn!(call = %uuid, error = %e, "could not put the customer into the conference");
            let _ = call.handle.command(&Command::Resume).await;
            false
        }
    }
}

/// The call's socket is closed: if the switch says the channel is gone (its hangup event was
/// missed, or it never existed), the engine forgets the call rather than keep a phantom.
async fn forget_if_gone(engine: &Engine, switch: &dyn Switch, uuid: &str) {
    match switch.call_api(format!("uuid_exists {uuid}")).await {
        Ok(r) if r.trim() == "false" => engine.channel_gone(uuid.to_owned()).await,
        // Still there (its hangup event will come), or unknown for now: a reconnect's resync
        // reads the state back.
        Ok(_) | Err(_) => {}
    }
}

/// Dials the agent into the call's conference; the customer goes where
/// `on_agent_unreachable` says when the agent cannot be reached. With values the switch did not
/// confirm (inbound connection down) everything goes over the call's own socket only. True when
/// the agent answered.
async fn dial_agent(
    switch: &Arc<dyn Switch>,
    call: &mut OutboundSession,
    setup: &CallSetup,
    room: &str,
    agent: &str,
    checked: &Checked,
) -> bool {
    let uuid = call.uuid.clone();
    let id_var = checked
        .agent_id
        .as_ref()
        .map(|a| format!(",confpay_agent_id={a}"))
        .unwrap_or_default();
    let originate = format!(
        "originate {{origination_uuid={agent},confpay_role=agent{id_var},execute_on_answer='{AGENT_FEATURE_BIND}'}}{} &conference({room}@{}+flags{{{AGENT_FLAGS}}})",
        checked.agent_dial, setup.profile
    );
    info!(call = %uuid, agent = %agent, room = %room, "customer in conference; dialling the agent");
    let own_socket = |call: &mut OutboundSession, cmd: String, bg: bool| {
        let handle = call.handle.clone();
        async move {
            if bg {
                handle.bgapi(&cmd).await.map_err(switch_error)
            } else {
                handle.api(&cmd).await.map(|r| r.body).map_err(switch_error)
            }
        }
    };
    let dialled = if checked.confirmed {
        dial_inbound_first(switch, call, &originate).await
    } else {
        info!(call = %uuid, "channel unconfirmed (inbound ESL connection down); dialling the agent over the call's socket");
        own_socket(call, originate, true).await
    };
    let why = match dialled {
        Ok(r) if r.starts_with("+OK") => {
            info!(call = %uuid, agent = %agent, "agent answered");
            return true;
        }
        Ok(r) => r.trim().to_owned(),
        Err(e) => e.to_string(),
    };
    warn!(call = %uuid, reason = %why, "agent unreachable");
    let cmd = match &setup.on_agent_unreachable {
        AgentHangupPolicy::Hangup => format!("uuid_kill {uuid} NORMAL_CLEARING"),
        AgentHangupPolicy::Transfer(dest) => format!("uuid_transfer {uuid} {dest}"),
    };
    let _ = if checked.confirmed {
        switch.call_api(cmd).await
    } else {
        own_socket(call, cmd, false).await
    };
    false
}

/// The originate over the inbound connection. A call can arrive while that connection is being
/// re-established (FreeSWITCH just restarted, or the link dropped) after its channel was confirmed:
/// the call's own socket is up (FreeSWITCH just opened it) and `full` lets it run the originate,
/// so the customer is not turned away for that.
async fn dial_inbound_first(
    switch: &Arc<dyn Switch>,
    call: &mut OutboundSession,
    originate: &str,
) -> Result<String, SwitchError> {
    match switch.bgapi(originate.to_owned()).await {
        Err(SwitchError::NoConnection { .. }) => {
            info!(call = %call.uuid, "inbound ESL connection down; dialling the agent over the call's socket");
            call.handle.bgapi(originate).await.map_err(switch_error)
        }
        other @ (Ok(_)
        | Err(
            SwitchError::Timeout { .. }
            | SwitchError::JobTimeout { .. }
            | SwitchError::Refused { .. }
            | SwitchError::Unexpected { .. }
            | SwitchError::Unsendable { .. }
            | SwitchError::Unusable { .. },
        )) => other,
    }
}
