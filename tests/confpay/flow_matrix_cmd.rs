//! Fault matrix, command by command: FreeSWITCH answers `-ERR …` to each command a
//! payment sends, or answers it only after `esl.command_timeout` (the late reply must be discarded, not
//! matched to the next command); and 100 payments failing at once.
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
use crate::flow_harness::hundred::*;
use crate::flow_harness::*;
use confpay::pay::engine::Target;
use confpay::pay::session::SessionView;
use confpay::pay::{FailReason, Outcome, StartMethod, State, Step};
use confpay::sim::party::{AnswerMode, Party};
use std::time::Duration;

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
        .hold_next(&format!("api uuid_kill {capture}"));
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

// ---- (3) 100 payments failing at once ---------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_payments_refused_by_the_capture_gateway_at_once() {
    let _alone = EXCLUSIVE.write().await;
    let w = World::start_with(
        |_| {},
        Party::agent("capture").answering(AnswerMode::Reject),
    )
    .await;
    let pairs = hundred_calls(&w).await;
    let ids = start_all(&w, &pairs).await;
    let done = all_sessions(&w, &ids, "ended", |v| v.state == State::Done).await;
    for v in &done {
        // The cause is the originate's (`-ERR CALL_REJECTED`), or `HANGUP` when the capture leg's
        // CHANNEL_HANGUP overtakes the job's result (under load; the event's cause is not kept).
        assert!(
            matches!(
                &v.outcome,
                Some(Outcome::Failed(FailReason::CaptureUnavailable { cause }))
                    if cause == "CALL_REJECTED" || cause == "HANGUP"
            ),
            "{v:?}"
        );
        assert_eq!(
            v.outcome.as_ref().map(Outcome::code),
            Some("capture_unavailable")
        );
    }
    until_all_talking(&w, &pairs).await;
    for p in &pairs {
        assert!(!p.party.is_hung_up(), "{} dropped", p.customer);
    }
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_captures_lose_the_esl_connection_at_once() {
    let _alone = EXCLUSIVE.write().await;
    // The capture service (one party behind every capture leg) never hangs up by itself.
    // A loaded CI machine must not turn the mass read-back into command timeouts: those are
    // tested on their own above (`late_*`); this test is about 100 sessions at once.
    let w = World::start_with(
        |c| {
            c.payment.max_capture_s = 30;
            c.esl.command_timeout_ms = 20_000;
        },
        Party::agent("capture"),
    )
    .await;
    let pairs = hundred_calls(&w).await;
    let ids = start_all(&w, &pairs).await;
    all_sessions(&w, &ids, "ready", |v| v.state == State::Ready).await;
    for p in &pairs {
        w.sim.core().press(&p.cu, "1").expect("start key");
    }
    let capturing = all_sessions(&w, &ids, "capturing", |v| v.state == State::Capturing).await;
    let h = w.sim.core().hearing();
    for p in &pairs {
        assert!(
            !h.hears(&p.agent, &p.customer),
            "{} hears {}",
            p.agent,
            p.customer
        );
    }
    // One fault hits them all: the connection drops; while the daemon is away every capture
    // service finishes (its leg hangs up).
    w.sim.faults().drop_connections();
    for v in &capturing {
        let leg = v.capture.clone().expect("capture leg");
        w.sim
            .core()
            .hangup(&leg, "NORMAL_CLEARING")
            .expect("capture leg hangs up");
    }
    let done = all_sessions(&w, &ids, "ended", |v| v.state == State::Done).await;
    let completed = Some(Outcome::Completed {
        method: StartMethod::Keyphone,
    });
    for v in &done {
        // Completed: the read-back found the capture leg gone. Under heavy load a read-back can
        // still see the leg (its hangup lands between the read-back and the session taking it,
        // or `uuid_exists` goes unanswered and the leg is assumed present): the session then
        // resumes isolated and `payment.max_capture_s` ends it (`capture_timeout`, leg killed,
        // then restored). Either way it ends and agent and customer talk again.
        assert!(
            v.outcome == completed
                || v.outcome == Some(Outcome::Failed(FailReason::CaptureTimeout)),
            "{v:?}"
        );
    }
    let n = done.iter().filter(|v| v.outcome == completed).count();
    assert!(n >= CALLS * 9 / 10, "only {n} of {CALLS} completed");
    until_all_talking(&w, &pairs).await;
    for p in &pairs {
        assert!(!p.party.is_hung_up(), "{} dropped", p.customer);
    }
    w.stop().await;
}

// ---- attach (a bridged call moved into a conference) ------------------------------------------

/// A bridged call (the `attach` extension); a payment started on it with `fault` armed on the
/// command starting with `prefix(customer uuid)`.
async fn attach_with(prefix: fn(&str) -> String, reply: &'static str) -> (World, SessionView) {
    let w = World::start().await;
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    w.sim.faults().fail_next(&prefix(&cu), reply);
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    let done = w.reach(&s.id, State::Done).await;
    // Commands already queued behind the refused one still run: let them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    (w, done)
}

#[tokio::test]
async fn err_to_attach_setvar_multi() {
    let _shared = EXCLUSIVE.read().await;
    // A text meaning the leg is gone (`No such channel`, `Non-Existant ID`) would be that leg's hangup; a refusal of a live leg is another text.
    let (w, done) = attach_with(
        |cu| format!("api uuid_setvar_multi {cu} "),
        "-ERR No variable specified",
    )
    .await;
    assert_eq!(
        done.outcome,
        failed(Step::PrepareCustomer, "-ERR No variable specified")
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_attach_transfer_is_retried_and_the_payment_goes_on() {
    let _shared = EXCLUSIVE.read().await;
    // The agent's transfer (sent beside the customer's) goes ahead: giving up would leave the
    // agent in the conference and the customer parked. The refused transfer is sent once more.
    let w = World::start().await;
    let cu = w.call("attach");
    w.until("bridge", || async {
        let h = w.sim.core().hearing();
        (h.hears("agent", "customer") && h.hears("customer", "agent")).then_some(())
    })
    .await;
    w.sim.faults().fail_next(
        &format!("api uuid_transfer {cu} conference:"),
        // mod_commands `transfer_function` when `switch_ivr_session_transfer` fails.
        "-ERR",
    );
    let s = w
        .stack
        .engine
        .start_payment(Target::Customer(cu.clone()), Some(AGENT_ID.into()))
        .await
        .expect("attach");
    w.reach(&s.id, State::Ready).await;
    w.sim.core().press(&cu, "1").expect("start key");
    w.reach(&s.id, State::Capturing).await;
    w.sim.core().press(&cu, CARD).expect("card");
    let done = w.reach(&s.id, State::Done).await;
    assert!(
        matches!(done.outcome, Some(Outcome::Completed { .. })),
        "{done:?}"
    );
    safe_after(&w).await;
    w.stop().await;
}

#[tokio::test]
async fn err_to_the_agent_hangup_policy_transfer() {
    let _shared = EXCLUSIVE.read().await;
    // The agent hangs up before capture; the policy's transfer of the customer is refused. The
    // session has ended (`agent_hung_up`) with the capture leg down and the customer off hold;
    // the customer stays in the conference, not hung up.
    let w = World::start_with(
        |c| {
            c.payment.on_agent_hangup = confpay::config::OnAgentHangup::Transfer;
            c.payment.agent_hangup_transfer = "park XML default".into();
        },
        capture_party(),
    )
    .await;
    let cu = w.dialplan_call().await;
    let s = w.start_payment(Target::Customer(cu.clone())).await;
    w.reach(&s.id, State::Ready).await;
    w.sim.faults().fail_next(
        &format!("api uuid_transfer {cu} park"),
        "-ERR No such channel!",
    );
    let agent = w.channel_of(&w.agent);
    w.sim
        .core()
        .hangup(&agent, "NORMAL_CLEARING")
        .expect("agent hangs up");
    let done = w.reach(&s.id, State::Done).await;
    assert_eq!(done.outcome, Some(Outcome::Failed(FailReason::AgentHungUp)));
    w.until("capture leg gone", || async {
        w.capture.is_hung_up().then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!w.customer.is_hung_up(), "the customer was hung up");
    assert_eq!(w.sim.core().current_app(&cu).as_deref(), Some("conference"));
    assert!(!w.sim.core().hearing().hears_music("customer"));
    w.stop().await;
}
