//! The fault matrix's one outcome checker. Every (fault, state) case of `flow_matrix_*.rs` ends with
//! [`check`], which asserts, naming the case in every message:
//! - no panic on the test's runtime thread (the daemon's tasks run there: `#[tokio::test]` is
//!   single-threaded), recorded by a panic hook ([`Watcher::start`]);
//! - the session reaches `Done` within a bounded wait, with exactly the expected [`Outcome`];
//! - no capture leg is left up;
//! - the customer's channel ends as expected: alive (never hung up by the daemon), hung up by the
//!   configured agent-hangup policy, or parked by the transfer policy;
//! - whenever both parties are alive at the end, they hear each other, the customer hears no hold
//!   music, and `sensitive_dtmf` is on;
//! - throughout the case (sampled every 2 ms by [`Watcher`]): while the capture service is collecting
//!   card digits with its leg up, or the session is `Capturing`, the agent never hears the customer;
//! - no digit ever reached the agent's phone, and the ACA start key '1' was never delivered to the
//!   capture leg after the fault (the customer or agent gone, or the connection dropped).

pub mod states;

/// One `#[tokio::test]` per matrix state in a module named after the fault:
/// `per_state!(customer_hangs_up, run)` gives `customer_hangs_up::in_ready` calling `run(State::Ready)`.
macro_rules! per_state {
    ($fault:ident, $run:expr) => {
        mod $fault {
            use super::*;
            per_state!(@tests $run;
                in_awaiting_agent_id => AwaitingAgentId,
                in_moving => Moving,
                in_holding => Holding,
                in_masking => Masking,
                in_dialling => Dialling,
                in_answered => Answered,
                in_sending_agent_id => SendingAgentId,
                in_unholding => Unholding,
                in_ready => Ready,
                in_arming => Arming,
                in_capturing => Capturing,
                in_unwinding => Unwinding,
            );
        }
    };
    (@tests $run:expr; $($name:ident => $state:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                ($run)(confpay::pay::State::$state).await
            }
        )*
    };
}
pub(crate) use per_state;

use super::{AGENT_ID, World, panics};
use confpay::pay::{Outcome, State};
use confpay::sim::hearing::DtmfOrigin;
use confpay::sim::party::CapturePhase;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How the customer's call must end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerEnd {
    /// The customer hung up themselves (the customer-hangup faults).
    HungUpThemselves,
    /// Still up: the daemon never hangs the customer up here.
    Alive,
    /// Hung up by `payment.on_agent_hangup = "hangup"` after the agent left.
    HungUpByPolicy,
    /// Transferred by `payment.on_agent_hangup = "transfer"`: now running this application.
    TransferredTo(&'static str),
}

/// What a case must end with.
#[derive(Clone, Debug)]
pub struct Expect {
    pub outcome: Outcome,
    pub customer: CustomerEnd,
    /// The agent's leg is gone at the end (the test hung it up, or the customer's leaving ended the
    /// conference); else it must still be up.
    pub agent_hung_up: bool,
}

/// Samples the simulator and the session while a case runs; records every safety violation.
pub struct Watcher {
    violations: Arc<Mutex<BTreeSet<String>>>,
    stop: watch::Sender<bool>,
    panics_before: usize,
}

impl Watcher {
    /// Starts sampling `w` and session `id` (state read from the engine's watch).
    pub async fn start(w: &World, id: &str) -> Watcher {
        panics::record();
        let violations = Arc::new(Mutex::new(BTreeSet::new()));
        let (stop, mut stopped) = watch::channel(false);
        let session = w.stack.engine.watch(id).await.expect("session known");
        let core = w.sim.core().clone();
        let capture = w.capture.clone();
        let seen = violations.clone();
        tokio::spawn(async move {
            loop {
                let state = session.borrow().state.clone();
                let collecting =
                    matches!(capture.capture_phase(), Some(CapturePhase::Collecting(n)) if n > 0);
                let capture_up = capture.channel().is_some() && !capture.is_hung_up();
                let h = core.hearing();
                if capture_up
                    && (collecting || state == State::Capturing)
                    && h.hears("agent", "customer")
                {
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(format!(
                            "agent heard the customer while capture ran (session {state:?}): {h:?}"
                        ));
                }
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Watcher {
            violations,
            stop,
            panics_before: panics::on_this_thread(),
        }
    }

    fn finish(&self) -> Vec<String> {
        let _ = self.stop.send(true);
        self.violations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

/// Waits (bounded) for `f` to hold; false if it never did within `limit`.
pub async fn eventually(limit: Duration, f: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits at most `limit` for session `id` to be `Done`; its final view.
pub async fn done_within(
    w: &World,
    case: &str,
    id: &str,
    limit: Duration,
) -> confpay::pay::session::SessionView {
    let mut s = w.stack.engine.watch(id).await.expect("session known");
    let seen = tokio::time::timeout(limit, async {
        s.wait_for(|v| v.state == State::Done)
            .await
            .map(|v| v.clone())
            .ok()
    })
    .await;
    match seen {
        Ok(Some(v)) => v,
        Ok(None) => panic!("[{case}] session view closed before Done"),
        Err(_) => panic!(
            "[{case}] session stuck: not Done within {limit:?}: {:?}",
            s.borrow()
        ),
    }
}

/// The checks every case ends with (see the module docs). `fault_at` is when the fault was injected.
pub async fn check(
    w: &World,
    case: &str,
    id: &str,
    watcher: Watcher,
    fault_at: Instant,
    expect: Expect,
) {
    let done = done_within(w, case, id, Duration::from_secs(15)).await;
    assert_eq!(
        done.outcome.as_ref(),
        Some(&expect.outcome),
        "[{case}] wrong outcome: {done:?}"
    );
    assert!(
        eventually(Duration::from_secs(3), || w.capture.channel().is_none()
            || w.capture.is_hung_up())
        .await,
        "[{case}] a capture leg was left up"
    );
    let customer = w.customer.channel().expect("customer channel");
    customer_ended_as_expected(w, case, &customer, &expect.customer).await;
    agent_leg_as_expected(w, case, expect.agent_hung_up).await;
    if !w.customer.is_hung_up() && !w.agent.is_hung_up() {
        survivors_talk_with_sensitive_dtmf_on(w, case, &customer).await;
    }
    no_start_key_to_capture_after_the_fault(w, case, fault_at);
    assert_eq!(w.agent.received(), "", "[{case}] digits reached the agent");
    let violations = watcher.finish();
    assert!(violations.is_empty(), "[{case}] {violations:#?}");
    assert_eq!(
        panics::on_this_thread(),
        watcher.panics_before,
        "[{case}] a task panicked"
    );
}

/// The customer's leg ended as the case expects: hung up, alive, hung up by policy, or transferred.
async fn customer_ended_as_expected(w: &World, case: &str, customer: &str, end: &CustomerEnd) {
    match end {
        CustomerEnd::HungUpThemselves => assert!(w.customer.is_hung_up(), "[{case}] customer up"),
        CustomerEnd::Alive => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(
                !w.customer.is_hung_up(),
                "[{case}] the daemon hung the customer up"
            );
        }
        CustomerEnd::HungUpByPolicy => assert!(
            eventually(Duration::from_secs(3), || w.customer.is_hung_up()).await,
            "[{case}] agent-hangup policy `hangup` did not hang the customer up"
        ),
        CustomerEnd::TransferredTo(app) => {
            assert!(
                eventually(Duration::from_secs(3), || w
                    .sim
                    .core()
                    .current_app(customer)
                    .as_deref()
                    == Some(app))
                .await,
                "[{case}] customer not transferred to {app}: {:?}",
                w.sim.core().current_app(customer)
            );
            assert!(!w.customer.is_hung_up(), "[{case}] customer hung up");
        }
    }
}

/// The agent's leg is hung up (within 6 s) if the case expects it, and up otherwise.
async fn agent_leg_as_expected(w: &World, case: &str, agent_hung_up: bool) {
    if agent_hung_up {
        assert!(
            eventually(Duration::from_secs(6), || w.agent.is_hung_up()).await,
            "[{case}] the agent's leg is still up"
        );
    } else {
        assert!(!w.agent.is_hung_up(), "[{case}] the agent's leg is gone");
    }
}

/// With both legs up: agent and customer talk, without music, and `sensitive_dtmf` stays on.
async fn survivors_talk_with_sensitive_dtmf_on(w: &World, case: &str, customer: &str) {
    let talking = eventually(Duration::from_secs(3), || {
        let h = w.sim.core().hearing();
        h.hears("agent", "customer") && h.hears("customer", "agent") && !h.hears_music("customer")
    })
    .await;
    assert!(
        talking,
        "[{case}] no capture leg, yet agent and customer do not talk: {:?}",
        w.sim.core().hearing()
    );
    assert_eq!(
        w.sim.core().var(customer, "sensitive_dtmf").as_deref(),
        Some("true"),
        "[{case}] sensitive_dtmf left off"
    );
}

/// The ACA start key, if any, was not sent by the daemon after the fault.
fn no_start_key_to_capture_after_the_fault(w: &World, case: &str, fault_at: Instant) {
    // The ACA start key is the capture leg's delivery right after the agent ID and '#'.
    let to_capture: Vec<_> = w
        .sim
        .core()
        .dtmf_log()
        .into_iter()
        .filter(|d| d.party == "capture")
        .collect();
    if let Some(start) = to_capture.get(AGENT_ID.len() + 1) {
        let daemon_sent = matches!(start.origin, DtmfOrigin::Api(_));
        assert!(
            !(daemon_sent && start.digit == '1' && start.at >= fault_at),
            "[{case}] the daemon sent '1' to the capture leg after the fault"
        );
    }
}
