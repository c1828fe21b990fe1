//! 100 payments failing at once in one world: the capture gateway refusing every one, and the ESL
//! connection dropping with 100 captures running. Each holds the command-fault cases' lock
//! exclusively (`cmd_case::EXCLUSIVE`), so no other fault case shares the simulator's timing with it.

use crate::flow_harness::cmd_case::*;
use crate::flow_harness::hundred::*;
use crate::flow_harness::*;
use confpay::pay::{FailReason, Outcome, StartMethod, State};
use confpay::sim::party::{AnswerMode, Party};

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
