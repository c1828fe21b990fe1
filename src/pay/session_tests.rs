//! The actor with a scripted switch: commands go out in order, timers fire, the view follows.

use super::machine::{Legs, Machine, MachineConfig, State};
use super::session::{SpawnOptions, spawn};
use super::switch::{BoxFut, Switch, SwitchError};
use super::types::*;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct FakeSwitch {
    sent: Mutex<Vec<String>>,
}

impl Switch for FakeSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        // The pre-capture check reads the member list (shape of `conference <c> json_list`).
        let reply = if cmd.starts_with("uuid_exists ") {
            "true".to_string()
        } else if cmd.starts_with("uuid_buglist ") {
            // A recording on the customer's leg, as FreeSWITCH lists it.
            let target = if cmd.ends_with("cust-1") {
                " <media-bug>\n  <function>session_record</function>\n  <target>/rec/c.wav</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n"
            } else {
                ""
            };
            format!("<media-bugs>\n{target}</media-bugs>\n")
        } else if cmd.ends_with("recording check") {
            "-ERR Conference is not being recorded.\n".to_string()
        } else if cmd.ends_with("json_list") {
            r#"[{"conference_name":"confpay-x","members":[{"id":3,"uuid":"cust-1"},{"id":4,"uuid":"agent-1"},{"id":5,"uuid":"capt-1"}]}]"#.to_string()
        } else {
            "+OK\n".to_string()
        };
        self.sent.lock().unwrap().push(cmd);
        Box::pin(async move { Ok(reply) })
    }
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.sent.lock().unwrap().push(format!("bg {cmd}"));
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok("+OK capt-1\n".to_string())
        })
    }
}

fn cfg() -> MachineConfig {
    MachineConfig {
        capture_dial: "sofia/gateway/paytia/pay".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: "*".into(),
        agent_id_suffix: "#".into(),
        dtmf_duration_ms: 120,
        agent_id_delay: Duration::from_millis(1500),
        capture_answer_timeout: Duration::from_secs(30),
        max_capture: Duration::from_secs(600),
        agent_id_entry_timeout: Duration::from_secs(20),
        step_timeout: Duration::from_secs(10),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    }
}

/// The legs of room `confpay-x`: customer member 3, agent member 4.
fn legs() -> Legs {
    Legs {
        customer: "cust-1".into(),
        agent: "agent-1".into(),
        capture: "capt-1".into(),
        customer_member: Some(3),
        agent_member: Some(4),
        ..Legs::default()
    }
}

/// A started session on room `confpay-x` (customer member 3, agent member 4, agent ID 31).
fn start(id: &str, cfg: MachineConfig, switch: &Arc<FakeSwitch>) -> super::session::SessionHandle {
    let legs = legs();
    let m = Machine::new(
        cfg,
        "confpay-x".into(),
        Topology::InConference,
        legs,
        AgentId::parse("31"),
    );
    spawn(
        id.into(),
        m,
        switch.clone(),
        SpawnOptions {
            first: Some(Input::Start { agent_id: None }),
            ..SpawnOptions::default()
        },
    )
}

#[tokio::test(start_paused = true)]
async fn actor_runs_a_payment_with_real_timers() {
    let switch = Arc::new(FakeSwitch::default());
    let h = start("s1", cfg(), &switch);
    let mut watch = h.watch();
    // hold → originate (3 s) → answered → 1.5 s → agent ID → unhold → Ready
    tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|v| v.state == State::Ready),
    )
    .await
    .expect("ready in time")
    .expect("session alive");
    assert!(h.send(Input::CustomerStartKey).await);
    watch
        .wait_for(|v| v.state == State::Capturing)
        .await
        .unwrap();
    assert!(h.view().capture_started.is_some());
    assert!(h.send(Input::Hangup { leg: Leg::Capture }).await);
    let v = watch
        .wait_for(|v| v.state == State::Done)
        .await
        .unwrap()
        .clone();
    assert_eq!(
        v.outcome,
        Some(Outcome::Completed {
            method: StartMethod::Keyphone
        })
    );
    let sent = switch.sent.lock().unwrap().clone();
    assert_eq!(
        sent,
        [
            "conference confpay-x hold 3 local_stream://moh",
            "uuid_buglist cust-1",
            "uuid_buglist agent-1",
            "conference confpay-x recording check",
            "uuid_record cust-1 mask /rec/c.wav",
            "bg originate {origination_uuid=capt-1,originate_timeout=30,ignore_early_media=true,confpay_role=capture}sofia/gateway/paytia/pay &conference(confpay-x@confpay)",
            "uuid_send_dtmf capt-1 *31#@120",
            "conference confpay-x unhold 3",
            "uuid_setvar cust-1 sensitive_dtmf false",
            "conference confpay-x relate 4 3 nospeak,nohear",
            "uuid_setvar cust-1 sensitive_dtmf true",
            "conference confpay-x relate 4 3 clear",
            "uuid_record cust-1 unmask /rec/c.wav",
        ]
    );
    // The actor is gone once finished.
    tokio::task::yield_now().await;
    assert!(!h.send(Input::Cancel).await);
}

#[tokio::test(start_paused = true)]
async fn max_capture_timer_fires() {
    let switch = Arc::new(FakeSwitch::default());
    let mut c = cfg();
    c.max_capture = Duration::from_secs(5);
    let h = start("s2", c, &switch);
    let mut watch = h.watch();
    watch.wait_for(|v| v.state == State::Ready).await.unwrap();
    h.send(Input::StartCapture).await;
    watch
        .wait_for(|v| v.state == State::Capturing)
        .await
        .unwrap();
    // 5 s later the capture leg is killed; its hangup lets the session restore and end.
    watch
        .wait_for(|v| v.state == State::Unwinding)
        .await
        .unwrap();
    assert!(
        switch
            .sent
            .lock()
            .unwrap()
            .contains(&"uuid_kill capt-1 NORMAL_CLEARING".to_string())
    );
    h.send(Input::Hangup { leg: Leg::Capture }).await;
    let v = watch
        .wait_for(|v| v.state == State::Done)
        .await
        .unwrap()
        .clone();
    assert_eq!(v.outcome, Some(Outcome::Failed(FailReason::CaptureTimeout)));
}

/// A session that suspends when nobody will resync it any more (its own command reported the lost
/// connection after the engine's resync went out) reads FreeSWITCH's state back by itself once the
/// connection answers, and resumes: never stuck in `Suspended`.
#[tokio::test(start_paused = true)]
async fn a_late_suspension_resyncs_by_itself() {
    let switch = Arc::new(FakeSwitch::default());
    let h = start("s3", cfg(), &switch);
    let mut watch = h.watch();
    watch.wait_for(|v| v.state == State::Ready).await.unwrap();
    h.send(Input::StartCapture).await;
    watch
        .wait_for(|v| v.state == State::Capturing)
        .await
        .unwrap();
    let before = switch.sent.lock().unwrap().len();
    assert!(h.send(Input::ConnectionLost).await);
    watch
        .wait_for(|v| v.state == State::Suspended)
        .await
        .unwrap();
    // No engine resync comes. The session probes, reads the conference back (the fake answers
    // every leg present, members 3/4/5) and resumes the capture, re-isolated.
    let v = tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|v| v.state == State::Capturing),
    )
    .await
    .expect("resumed in time")
    .expect("session alive")
    .clone();
    assert_eq!(v.state, State::Capturing);
    let sent = switch.sent.lock().unwrap()[before..].to_vec();
    assert_eq!(sent.first().map(String::as_str), Some("uuid_exists cust-1"));
    assert!(
        sent.iter().any(|c| c == "conference confpay-x json_list"),
        "{sent:?}"
    );
    assert!(
        sent.iter()
            .any(|c| c == "conference confpay-x relate 4 3 nospeak,nohear"),
        "{sent:?}"
    );
}

/// A switch whose futures do nothing until polled (as the daemon's own): it counts the commands
/// made and the commands that went out.
#[derive(Default)]
struct LazySwitch {
    made: std::sync::atomic::AtomicUsize,
    sent: Arc<std::sync::atomic::AtomicUsize>,
}

impl Switch for LazySwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        use std::sync::atomic::Ordering::SeqCst;
        self.made.fetch_add(1, SeqCst);
        let sent = self.sent.clone();
        let reply = if cmd.starts_with("uuid_buglist ") {
            "<media-bugs>\n</media-bugs>\n"
        } else if cmd.ends_with("recording check") {
            "-ERR Conference is not being recorded.\n"
        } else {
            "+OK\n"
        };
        Box::pin(async move {
            sent.fetch_add(1, SeqCst);
            Ok(reply.to_owned())
        })
    }
    fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("+OK capt-1\n".to_owned()) })
    }
}

/// A watcher of the session's view (as a status stream is) never runs while a command the session
/// made is still unsent: the session hands each command over before it lets other tasks run.
#[tokio::test]
async fn a_command_goes_out_before_watchers_of_the_change_run() {
    use std::sync::atomic::Ordering::SeqCst;
    let switch = Arc::new(LazySwitch::default());
    let legs = legs();
    let mut c = cfg();
    c.agent_id_delay = Duration::from_millis(1);
    let m = Machine::new(
        c,
        "confpay-x".into(),
        Topology::InConference,
        legs,
        AgentId::parse("31"),
    );
    let (go, gate) = tokio::sync::oneshot::channel::<()>();
    let h = spawn(
        "s1".into(),
        m,
        switch.clone(),
        SpawnOptions {
            first: Some(Input::Start { agent_id: None }),
            gate: Some(Box::pin(async move {
                let _ = gate.await;
            })),
            ..SpawnOptions::default()
        },
    );
    let (mut w, sw) = (h.watch(), switch.clone());
    let watcher = tokio::spawn(async move {
        let (mut states, mut unsent) = (Vec::new(), Vec::new());
        let _ = go.send(());
        while w.changed().await.is_ok() {
            let state = w.borrow_and_update().state.clone();
            let (made, sent) = (sw.made.load(SeqCst), sw.sent.load(SeqCst));
            if made > sent {
                unsent.push((state.clone(), made, sent));
            }
            let ready = state == State::Ready;
            states.push(state);
            if ready {
                break;
            }
        }
        (states, unsent)
    });
    let (states, unsent) = tokio::time::timeout(Duration::from_secs(10), watcher)
        .await
        .expect("ready in time")
        .expect("watcher");
    assert!(states.len() > 2, "{states:?}");
    assert!(
        unsent.is_empty(),
        "a watcher ran before the command went out: {unsent:?}"
    );
}
