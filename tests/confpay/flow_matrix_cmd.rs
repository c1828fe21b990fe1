//! Fault matrix, command by command: FreeSWITCH answers `-ERR …` to each command a
//! payment sends, or answers it only after `esl.command_timeout` (the late reply must be discarded, not
//! matched to the next command). The same faults on an attached call are `flow_matrix_attach`; 100
//! payments failing at once are `flow_hundred_at_once`.
//!
//! Outcome asserted in every case: the session ends with the specific outcome; the customer's call is
//! not dropped; agent and customer hear each other again (no hold music) once no capture leg is
//! present; no capture leg is left behind; the daemon's '1' is sent only after isolation was confirmed.
//!
//! Error texts are FreeSWITCH's own (recorded in `tests/fixtures/freeswitch-esl/inbound-*-control.txt`
//! or read in mod_commands.c): `-ERR Non-Existant ID <n>` (conference member commands),
//! `-ERR relationship <a>-><b> not found.`, `-ERR Conference <name> not found`,
//! `-ERR Cannot locate session!` (`uuid_send_dtmf`), `-ERR No such channel!` (`uuid_kill`,
//! `uuid_setvar`, `uuid_transfer`).

use crate::flow_harness::cmd_case::*;
use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::{FailReason, Outcome, StartMethod, State, Step};
use confpay::sim::party::AnswerMode;

// ---- (1) `-ERR` to each command -------------------------------------------------------------

#[tokio::test]
async fn err_to_conference_hold() {
    let _shared = EXCLUSIVE.read().await;
    // mod_conference before `hold` existed. A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = run(
        At::Start,
        hold,
        Fault::Err("-ERR Conference command 'hold' not found."),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(
            Step::HoldCustomer,
            "-ERR Conference command 'hold' not found."
        )
    );
    assert!(w.capture.channel().is_none(), "nothing dialled");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_capture_originate() {
    let _shared = EXCLUSIVE.read().await;
    // The originate's own failure is its job's `-ERR <CAUSE>` (bgapi itself always answers +OK):
    // the gateway refuses the call.
    let w = World::start_with(|_| {}, capture_party().answering(AnswerMode::Reject)).await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu)).await;
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CaptureUnavailable {
            cause: "CALL_REJECTED".into()
        }))
    );
    assert_eq!(sent_to_capture(&w), "");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_send_agent_id() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::Start,
        send_agent_id,
        Fault::Err("-ERR Cannot locate session!"),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::SendAgentId, "-ERR Cannot locate session!")
    );
    assert_eq!(sent_to_capture(&w), "");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_conference_unhold() {
    let _shared = EXCLUSIVE.read().await;
    // mod_conference before `unhold` existed. A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = run(
        At::Start,
        unhold,
        Fault::Err("-ERR Conference command 'unhold' not found."),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(
            Step::UnholdCustomer,
            "-ERR Conference command 'unhold' not found."
        )
    );
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"));
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_watch_start_key_setvar() {
    let _shared = EXCLUSIVE.read().await;
    // A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = run(
        At::Start,
        watch_start_key,
        Fault::Err("-ERR No variable specified"),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::WatchStartKey, "-ERR No variable specified")
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_relate_nospeak_nohear_keyphone() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::ReadyKeyphone,
        isolate,
        Fault::Err("-ERR relationship 2->1 not found."),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::Isolate, "-ERR relationship 2->1 not found.")
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_relate_nospeak_nohear_aca_never_sends_start() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::ReadyAca,
        isolate,
        Fault::Err("-ERR relationship 2->1 not found."),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::Isolate, "-ERR relationship 2->1 not found.")
    );
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"), "'1' sent");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_sensitive_setvar_never_sends_start() {
    let _shared = EXCLUSIVE.read().await;
    // A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = run(
        At::ReadyAca,
        sensitive,
        Fault::Err("-ERR No variable specified"),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::Sensitive, "-ERR No variable specified")
    );
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"), "'1' sent");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_precapture_json_list_never_sends_start() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::ReadyAca,
        verify,
        Fault::Err("-ERR Conference confpay-x not found"),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(
            Step::Verify,
            "-ERR the capture leg or the customer is not in the conference"
        )
    );
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"), "'1' sent");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_send_start_key() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::ReadyAca,
        send_start,
        Fault::Err("-ERR Cannot locate session!"),
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::SendStart, "-ERR Cannot locate session!")
    );
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"));
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_relate_clear_is_retried() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(
        At::CapturingCard,
        restore,
        Fault::Err("-ERR relationship 2->1 not found."),
    )
    .await;
    // The capture completed; the refused restore was tried again and went through.
    assert_eq!(
        done.outcome,
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_kill_of_the_capture_leg_already_gone() {
    let _shared = EXCLUSIVE.read().await;
    // `uuid_kill` fails only with `-ERR No such channel!`: the capture leg hung up by itself, and
    // the reply comes before its hangup event (held, the leg hung up meanwhile, then released).
    let w = World::start().await;
    let (_cu, id) = w.capturing().await;
    let capture = w.channel_of(&w.capture);
    let gate = w
        .sim
        .faults()
        .hold_next(&format!("bgapi uuid_kill {capture}"));
    w.stack.engine.cancel(&id).await.expect("cancel");
    gate.reached().await;
    w.sim
        .core()
        .hangup(&capture, "NORMAL_CLEARING")
        .expect("capture hangs up");
    gate.release();
    let done = w.reach(&id, State::Done).await;
    assert_eq!(done.outcome, Some(Outcome::Cancelled));
    safe_after(&w).await;
    w.stop().await;
}

// ---- (2) each reply late (after `esl.command_timeout`) ------------------------------------------

/// A command held past the command timeout: the session ends timed out on that step, the two
/// talk again, and a next payment on the call completes (the late reply matched nothing else).
async fn late_then_the_next_payment_completes(at: At, prefix: fn(&Ctx) -> String, step: Step) {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(at, prefix, Fault::Late).await;
    assert_eq!(done.outcome, timed_out(step));
    safe_after(&w).await;
    let cu = w.channel_of(&w.customer);
    next_payment_completes(&w, &cu).await;
    w.stop().await;
}

#[tokio::test]
async fn late_conference_hold() {
    late_then_the_next_payment_completes(At::Start, hold, Step::HoldCustomer).await;
}

#[tokio::test]
async fn late_capture_originate() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(At::Start, originate, Fault::Late).await;
    assert_eq!(
        done.outcome,
        Some(Outcome::Failed(FailReason::CaptureUnavailable {
            cause: format!("`bgapi` got no reply within {TIMEOUT:?}")
        }))
    );
    // The late originate still runs in FreeSWITCH: the capture leg it brings must not stay.
    safe_after(&w).await;
    let cu = w.channel_of(&w.customer);
    next_payment_completes(&w, &cu).await;
    w.stop().await;
}

#[tokio::test]
async fn late_send_agent_id() {
    late_then_the_next_payment_completes(At::Start, send_agent_id, Step::SendAgentId).await;
}

#[tokio::test]
async fn late_conference_unhold() {
    late_then_the_next_payment_completes(At::Start, unhold, Step::UnholdCustomer).await;
}

#[tokio::test]
async fn late_watch_start_key_setvar() {
    late_then_the_next_payment_completes(At::Start, watch_start_key, Step::WatchStartKey).await;
}

/// A step of the ACA start held past the command timeout: the session ends timed out on that
/// step, the '1' is never sent, and the two talk again.
async fn late_before_the_start_key(prefix: fn(&Ctx) -> String, step: Step) {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(At::ReadyAca, prefix, Fault::Late).await;
    assert_eq!(done.outcome, timed_out(step));
    assert_eq!(sent_to_capture(&w), format!("{AGENT_ID}#"), "'1' sent");
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn late_relate_nospeak_nohear_never_sends_start() {
    late_before_the_start_key(isolate, Step::Isolate).await;
}

#[tokio::test]
async fn late_sensitive_setvar_never_sends_start() {
    late_before_the_start_key(sensitive, Step::Sensitive).await;
}

#[tokio::test]
async fn late_precapture_json_list_never_sends_start() {
    late_before_the_start_key(verify, Step::Verify).await;
}

#[tokio::test]
async fn late_send_start_key() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(At::ReadyAca, send_start, Fault::Late).await;
    assert_eq!(done.outcome, timed_out(Step::SendStart));
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn late_relate_clear() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(At::CapturingCard, restore, Fault::Late).await;
    // The clear and its retry both queued behind the held command and timed out: the session
    // reports it could not confirm the restore; the late clear went through in FreeSWITCH.
    assert_eq!(done.outcome, timed_out(Step::Restore));
    safe_after(&w).await;
    let cu = w.channel_of(&w.customer);
    next_payment_completes(&w, &cu).await;
    w.stop().await;
}

#[tokio::test]
async fn late_kill_of_the_capture_leg() {
    let _shared = EXCLUSIVE.read().await;
    let (w, done) = run(At::CapturingCancel, kill_capture, Fault::Late).await;
    // The kill ran late; the capture leg's hangup ends the wait, then agent and customer talk again.
    assert_eq!(done.outcome, Some(Outcome::Cancelled));
    safe_after(&w).await;
    let cu = w.channel_of(&w.customer);
    next_payment_completes(&w, &cu).await;
    w.stop().await;
}
