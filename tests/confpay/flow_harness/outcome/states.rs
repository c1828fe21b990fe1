//! Pins a payment session in a chosen state, deterministically, so a fault can be injected there.
//!
//! Natural waiting states need nothing: `Ready`, `Capturing` (the customer has keyed part of the
//! card), `Answered` (a long `agent_id_delay_ms`, see [`tweak`]) and `AwaitingAgentId` (a socket
//! extension without `confpay_agent_id`, so the agent must key it). Transient states are pinned by
//! holding the one ESL command the session is waiting on ([`confpay::sim::esl::faults::Gate`]), with
//! the exact text the engine sends (`src/pay/actions.rs`):
//! - `Moving` (attach): `bgapi uuid_transfer <customer> conference:…` (the customer's move);
//! - `Holding`: `bgapi conference confpay-<customer> hold …`;
//! - `Masking`: `bgapi uuid_buglist <customer>` (the first recording list);
//! - `Dialling`: `bgapi originate …`;
//! - `SendingAgentId`: `bgapi uuid_send_dtmf <capture> 4711#@…`;
//! - `Unholding`: `bgapi conference confpay-<customer> unhold …`;
//! - `Arming` (ACA): `bgapi conference confpay-<customer> relate … nospeak,nohear`;
//! - `Unwinding` (agent cancelled in `Ready`): `bgapi uuid_kill <capture> …`.
//!
//! While a command is held the simulator writes nothing on that connection (no events, no replies),
//! like a blocking `api` in FreeSWITCH: a fault injected meanwhile reaches the daemon after
//! [`Pinned::release`].

use crate::flow_harness::{AGENT_DIAL, AGENT_ID, CARD, World};
use confpay::config::Config;
use confpay::pay::State;
use confpay::pay::engine::Target;
use confpay::sim::PaymentDialplan;
use confpay::sim::esl::faults::Gate;
use confpay::sim::party::Party;

/// The card digits keyed before the fault when pinned in `Capturing`.
pub const KEYED_BEFORE_FAULT: &str = "4111";

/// A session held in a state.
pub struct Pinned {
    pub customer: String,
    pub agent: String,
    pub session: String,
    gate: Option<Gate>,
}

impl Pinned {
    /// Lets the held command (if any) run.
    pub fn release(&self) {
        if let Some(g) = &self.gate {
            g.release();
        }
    }
}

/// Config changes a state needs (on top of `tweak`s of the case, applied after).
pub fn tweak(state: &State, c: &mut Config) {
    if *state == State::Answered {
        // Long enough to inject the fault while the capture leg waits for the agent ID.
        c.payment.agent_id_delay_ms = 60_000;
    }
}

/// The capture service for `state`: the agent keys "99" on the phone for `AwaitingAgentId`.
pub fn capture_party(state: &State) -> Party {
    let id = if *state == State::AwaitingAgentId {
        "99#".to_owned()
    } else {
        format!("{AGENT_ID}#")
    };
    Party::capture("capture", &id, CARD.len())
}

/// Drives a fresh call of `w` into `state` and keeps it there.
pub async fn pin(w: &World, state: &State) -> Pinned {
    let (customer, session, gate) = match state {
        State::AwaitingAgentId => start_without_agent_id(w).await,
        State::Moving => attach_holding_the_move(w).await,
        State::Ready | State::Answered | State::Capturing => start_naturally(w, state).await,
        State::Arming | State::Unwinding => from_ready_holding_the_next(w, state).await,
        State::Holding
        | State::Masking
        | State::Dialling
        | State::SendingAgentId
        | State::Unholding => start_holding_the_setup_command(w, state).await,
        State::Idle | State::Suspended | State::Done => {
            panic!("{state:?} is not a state the matrix pins")
        }
    };
    if let Some(g) = &gate {
        tokio::time::timeout(std::time::Duration::from_secs(10), g.reached())
            .await
            .unwrap_or_else(|_| panic!("[{state:?}] `{}` never sent", g.prefix()));
    }
    w.reach(&session, state.clone()).await;
    Pinned {
        agent: w.channel_of(&w.agent),
        customer,
        session,
        gate,
    }
}

/// (customer channel, session ID, the held command's gate if any).
type Started = (String, String, Option<Gate>);

/// `AwaitingAgentId`: a socket extension without `confpay_agent_id`.
async fn start_without_agent_id(w: &World) -> Started {
    PaymentDialplan::new(w.stack.outbound_addr, AGENT_DIAL, None)
        .socket_only("confpay-noid")
        .install(w.sim.core());
    let cu = w.call("confpay-noid");
    w.call_ready(&cu).await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    (cu, s.id, None)
}

/// `Moving`: attach to a bridged call, holding the customer's transfer into the conference.
async fn attach_holding_the_move(w: &World) -> Started {
    let faults = w.sim.faults();
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    let gate = faults.hold_next(&format!("bgapi uuid_transfer {cu} conference:"));
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu.clone()), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    (cu, s.id, Some(gate))
}

/// `Ready`, `Answered`, `Capturing`: natural waits (for `Capturing`, after part of the card).
async fn start_naturally(w: &World, state: &State) -> Started {
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    if *state == State::Capturing {
        w.reach(&s.id, State::Ready).await;
        w.sim.core().press(&cu, "1").expect("start key");
        w.reach(&s.id, State::Capturing).await;
        w.sim
            .core()
            .press(&cu, KEYED_BEFORE_FAULT)
            .expect("part of the card");
    }
    (cu, s.id, None)
}

/// `Arming` (ACA start) or `Unwinding` (cancel) from `Ready`, holding the command it waits on.
async fn from_ready_holding_the_next(w: &World, state: &State) -> Started {
    let faults = w.sim.faults();
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    let gate = if *state == State::Arming {
        let g = faults.hold_next(&format!("bgapi conference confpay-{cu} relate "));
        w.stack.engine.start_capture(&s.id).await.expect("start");
        g
    } else {
        let capture = w.channel_of(&w.capture);
        let g = faults.hold_next(&format!("bgapi uuid_kill {capture} "));
        w.stack.engine.cancel(&s.id).await.expect("cancel");
        g
    };
    (cu, s.id, Some(gate))
}

/// `Holding`, `Dialling`, `SendingAgentId`, `Unholding`: the setup command of that state is held.
async fn start_holding_the_setup_command(w: &World, state: &State) -> Started {
    let faults = w.sim.faults();
    let cu = w.dialplan_call().await;
    let prefix = match state {
        State::Holding => format!("bgapi conference confpay-{cu} hold "),
        State::Masking => format!("bgapi uuid_buglist {cu}"),
        State::Dialling => "bgapi originate ".to_owned(),
        State::SendingAgentId => "bgapi uuid_send_dtmf ".to_owned(),
        _ => format!("bgapi conference confpay-{cu} unhold "),
    };
    let gate = faults.hold_next(&prefix);
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    (cu, s.id, Some(gate))
}

/// Runs, directly in the simulated FreeSWITCH, the command `pin` holds for `state` — what
/// FreeSWITCH does when the command ran but its reply never reached the daemon. `None` for states
/// pinned without a held command.
pub async fn run_held_command(w: &World, state: &State, p: &Pinned) -> Option<String> {
    let cfg = Config::default().payment;
    let cu = &p.customer;
    let room = format!("confpay-{cu}");
    let call = w
        .stack
        .engine
        .calls()
        .await
        .into_iter()
        .find(|c| c.customer == *cu);
    let member = |agent: bool| {
        call.as_ref()
            .and_then(|c| {
                if agent {
                    c.agent_member
                } else {
                    c.customer_member
                }
            })
            .unwrap_or_default()
    };
    let view = w
        .stack
        .engine
        .watch(&p.session)
        .await
        .map(|v| v.borrow().clone());
    let capture_uuid = view.and_then(|v| v.capture).unwrap_or_default();
    let (cmd, args) = match state {
        State::Moving => (
            "uuid_transfer",
            format!(
                "{cu} conference:{room}@{}+flags{{dist-dtmf|endconf}} inline",
                cfg.conference_profile
            ),
        ),
        State::Holding => (
            "conference",
            format!("{room} hold {} {}", member(false), cfg.hold_music),
        ),
        State::Masking => ("uuid_buglist", cu.clone()),
        State::Dialling => (
            "originate",
            format!(
                "{{origination_uuid={capture_uuid},originate_timeout=2,ignore_early_media=true,confpay_role=capture}}{} &conference({room}@{})",
                cfg.capture_dial, cfg.conference_profile
            ),
        ),
        State::SendingAgentId => (
            "uuid_send_dtmf",
            format!("{capture_uuid} {AGENT_ID}#@{}", cfg.dtmf_duration_ms),
        ),
        State::Unholding => ("conference", format!("{room} unhold {}", member(false))),
        State::Arming => (
            "conference",
            format!(
                "{room} relate {} {} nospeak,nohear",
                member(true),
                member(false)
            ),
        ),
        State::Unwinding => ("uuid_kill", format!("{capture_uuid} NORMAL_CLEARING")),
        State::Idle
        | State::AwaitingAgentId
        | State::Answered
        | State::Ready
        | State::Capturing
        | State::Suspended
        | State::Done => return None,
    };
    Some(w.sim.core().api(cmd, &args).await)
}

/// A capture in progress whose session is `Suspended`: the connection dropped, the daemon is back,
/// and the resync's first question (`api conference confpay-<customer> json_list`) is held. Release
/// to let the resync read FreeSWITCH's state.
pub async fn pin_suspended(w: &World) -> Pinned {
    let mut p = pin(w, &State::Capturing).await;
    let gate = w
        .sim
        .faults()
        .hold_next(&format!("api conference confpay-{} json_list", p.customer));
    w.sim.faults().drop_connections();
    tokio::time::timeout(std::time::Duration::from_secs(10), gate.reached())
        .await
        .unwrap_or_else(|_| panic!("[Suspended] the resync never asked FreeSWITCH"));
    w.reach(&p.session, State::Suspended).await;
    p.gate = Some(gate);
    p
}

/// `Arming` by the customer's '1' (Keyphone): the conference has relayed '1' to the capture service;
/// the isolation (`relate … nospeak,nohear`) is held.
pub async fn pin_arming_keyphone(w: &World) -> Pinned {
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    let gate = w
        .sim
        .faults()
        .hold_next(&format!("bgapi conference confpay-{cu} relate "));
    w.sim.core().press(&cu, "1").expect("start key");
    tokio::time::timeout(std::time::Duration::from_secs(10), gate.reached())
        .await
        .unwrap_or_else(|_| panic!("[Arming, Keyphone] the isolation was never sent"));
    w.reach(&s.id, State::Arming).await;
    Pinned {
        agent: w.channel_of(&w.agent),
        customer: cu,
        session: s.id,
        gate: Some(gate),
    }
}
