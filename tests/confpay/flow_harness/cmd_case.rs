//! The driver of the command fault cases (`flow_matrix_cmd`): a payment driven to the
//! point where a fault is armed on one command (answered `-ERR …`, or held past the command timeout
//! and answered late), the invariants checked after it, and the exact command prefixes.

use crate::flow_harness::{AGENT_ID, CARD, World};
use confpay::pay::engine::Target;
use confpay::pay::session::SessionView;
use confpay::pay::{FailReason, Outcome, State, Step};
use confpay::sim::hearing::DtmfOrigin;
use confpay::sim::party::Party;
use std::time::Duration;

/// The 100-call cases run alone (write), the others side by side (read): on a loaded machine the
/// other cases' CPU would push the hundred sessions' lookups past their command timeout.
pub static EXCLUSIVE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// `esl.command_timeout` in the late-reply cases.
pub const TIMEOUT: Duration = Duration::from_millis(300);

pub fn capture_party() -> Party {
    Party::capture("capture", &format!("{AGENT_ID}#"), CARD.len())
}

/// What the test knows when it arms a fault.
pub struct Ctx {
    pub cu: String,
    pub room: String,
    pub capture: String,
    pub agent_member: u32,
    pub customer_member: u32,
}

/// Where in the payment the fault is armed, and what the test does right after.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// Before the payment starts (the command comes during set-up).
    Start,
    /// `Ready`; then the customer presses '1' (keyphone).
    ReadyKeyphone,
    /// `Ready`; then the agent starts capture (ACA: the daemon sends '1').
    ReadyAca,
    /// `Capturing`; then the customer keys the card (the capture service hangs up: restore).
    CapturingCard,
    /// `Capturing`; then the agent cancels (capture leg killed, then restore).
    CapturingCancel,
}

pub enum Fault {
    /// The command is answered with this text instead of running.
    Err(&'static str),
    /// The command is held past the command timeout, then runs and is answered (late).
    Late,
}

/// Drives one payment to `at`, arms `fault` on the command starting with `prefix(ctx)`, and waits
/// for the session to end. Returns the world and the final view.
pub async fn run(at: At, prefix: fn(&Ctx) -> String, fault: Fault) -> (World, SessionView) {
    let late = matches!(fault, Fault::Late);
    let w = World::start_with(
        |c| {
            if late {
                c.esl.command_timeout_ms = TIMEOUT.as_millis() as u64;
            }
        },
        capture_party(),
    )
    .await;
    let cu = w.dialplan_call().await;
    let view = w.call_ready(&cu).await;
    let mut ctx = Ctx {
        cu: cu.clone(),
        room: view.room.clone(),
        capture: String::new(),
        agent_member: view.agent_member.expect("agent member"),
        customer_member: view.customer_member.expect("customer member"),
    };
    let arm = |ctx: &Ctx| match fault {
        Fault::Err(text) => {
            w.sim.faults().fail_next(&prefix(ctx), text);
            None
        }
        Fault::Late => Some(w.sim.faults().hold_next(&prefix(ctx))),
    };
    let mut gate = None;
    if at == At::Start {
        gate = arm(&ctx);
    }
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    if at != At::Start {
        let ready = w.reach(&s.id, State::Ready).await;
        ctx.capture = ready.capture.expect("capture leg while ready");
        match at {
            At::ReadyKeyphone => {
                gate = arm(&ctx);
                w.sim.core().press(&cu, "1").expect("start key");
            }
            At::ReadyAca => {
                gate = arm(&ctx);
                w.stack.engine.start_capture(&s.id).await.expect("start");
            }
            At::CapturingCard | At::CapturingCancel => {
                w.sim.core().press(&cu, "1").expect("start key");
                w.reach(&s.id, State::Capturing).await;
                gate = arm(&ctx);
                if at == At::CapturingCard {
                    w.sim.core().press(&cu, CARD).expect("card");
                } else {
                    w.stack.engine.cancel(&s.id).await.expect("cancel");
                }
            }
            At::Start => {}
        }
    }
    if let Some(gate) = gate {
        tokio::time::timeout(Duration::from_secs(10), gate.reached())
            .await
            .expect("the daemon sent the held command");
        // Past the timeout: the daemon has given up on it; then the late reply arrives.
        tokio::time::sleep(TIMEOUT * 2 + Duration::from_millis(100)).await;
        gate.release();
    }
    let done = w.reach(&s.id, State::Done).await;
    (w, done)
}

/// The invariants of every case once the session is over.
pub async fn safe_after(w: &World) {
    w.until("capture leg gone, agent and customer talking", || async {
        let h = w.sim.core().hearing();
        let talking = h.hears("agent", "customer") && h.hears("customer", "agent");
        let capture_gone = w.capture.channel().is_none() || w.capture.is_hung_up();
        (talking && capture_gone && !h.hears_music("customer")).then_some(())
    })
    .await;
    assert!(!w.customer.is_hung_up(), "the customer's call was dropped");
    assert!(!w.agent.is_hung_up(), "the agent's call was dropped");
}

/// The digits the daemon sent to the capture service (API-generated, not relayed from a caller).
pub fn sent_to_capture(w: &World) -> String {
    w.sim
        .core()
        .dtmf_log()
        .iter()
        .filter(|d| d.party == "capture" && matches!(d.origin, DtmfOrigin::Api(_)))
        .map(|d| d.digit)
        .collect()
}

pub fn failed(step: Step, reply: &str) -> Option<Outcome> {
    Some(Outcome::Failed(FailReason::CommandFailed {
        step,
        reply: reply.to_owned(),
    }))
}

pub fn timed_out(step: Step) -> Option<Outcome> {
    failed(step, &format!("`bgapi` got no reply within {TIMEOUT:?}"))
}

/// A second payment on the same call completes: the connection's replies still match their commands.
pub async fn next_payment_completes(w: &World, cu: &str) {
    let s = w.start_payment(Target::Customer(cu.to_owned())).await;
    w.reach(&s.id, State::Ready).await;
    w.sim.core().press(cu, "1").expect("start key");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
}

// Prefixes of the exact command text each step sends (src/pay/actions.rs).
pub fn hold(c: &Ctx) -> String {
    format!("bgapi conference {} hold ", c.room)
}
pub fn originate(_: &Ctx) -> String {
    "bgapi originate ".into()
}
pub fn send_agent_id(_: &Ctx) -> String {
    "bgapi uuid_send_dtmf ".into()
}
pub fn unhold(c: &Ctx) -> String {
    format!("bgapi conference {} unhold ", c.room)
}
pub fn watch_start_key(c: &Ctx) -> String {
    format!("bgapi uuid_setvar {} sensitive_dtmf false", c.cu)
}
pub fn isolate(c: &Ctx) -> String {
    format!(
        "bgapi conference {} relate {} {} nospeak,nohear",
        c.room, c.agent_member, c.customer_member
    )
}
pub fn sensitive(c: &Ctx) -> String {
    format!("bgapi uuid_setvar {} sensitive_dtmf true", c.cu)
}
pub fn verify(c: &Ctx) -> String {
    format!("bgapi conference {} json_list", c.room)
}
pub fn send_start(c: &Ctx) -> String {
    format!("bgapi uuid_send_dtmf {} 1@", c.capture)
}
pub fn restore(c: &Ctx) -> String {
    format!(
        "bgapi conference {} relate {} {} clear",
        c.room, c.agent_member, c.customer_member
    )
}
pub fn kill_capture(c: &Ctx) -> String {
    format!("bgapi uuid_kill {}", c.capture)
}
