//! Starting a payment never holds the engine's task up: a slow member list or a channel scope
//! whose filter replies are late leaves events routed and other calls' payments started, and a
//! session asks for nothing before its legs are followed.

use super::register_tests::config;
use super::{Engine, Target};
use crate::esl::Event;
use crate::pay::caller::Caller;
use crate::pay::scope::ChannelScope;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Lists every call's room with its customer (member 1) and agent (member 2), except the rooms in
/// `stalled`, whose member list never comes; answers every other command `+OK`. Keeps what it was
/// asked, in order.
#[derive(Default)]
struct Recording {
    sent: Mutex<Vec<String>>,
    stalled: Vec<String>,
}

impl Recording {
    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }

    fn answer(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.sent.lock().unwrap().push(cmd.clone());
        let room = cmd
            .strip_prefix("conference ")
            .and_then(|r| r.strip_suffix(" json_list"))
            .map(str::to_owned);
        match room {
            Some(room) if self.stalled.contains(&room) => Box::pin(std::future::pending()),
            Some(room) => {
                let customer = room.trim_start_matches("confpay-");
                let list = format!(
                    r#"[{{"conference_name":"{room}","members":[{{"id":1,"uuid":"{customer}"}},{{"id":2,"uuid":"agent-of-{customer}"}}]}}]"#
                );
                Box::pin(async move { Ok(list) })
            }
            None => Box::pin(async { Ok("+OK\n".to_owned()) }),
        }
    }
}

impl Switch for Recording {
    fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.answer(cmd)
    }
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
        self.answer(cmd)
    }
}

/// A scope whose changes take effect only once the test says so (a `filter` reply held up).
struct HeldScope {
    followed: Mutex<Vec<String>>,
    released: watch::Sender<bool>,
}

impl HeldScope {
    fn new() -> HeldScope {
        HeldScope {
            followed: Mutex::default(),
            released: watch::channel(false).0,
        }
    }
}

impl ChannelScope for HeldScope {
    fn follow(&self, uuid: String) {
        self.followed.lock().unwrap().push(uuid);
    }
    fn unfollow(&self, _uuid: String) {}
    fn settled(&self) -> BoxFut<()> {
        let mut released = self.released.subscribe();
        Box::pin(async move {
            let _ = released.wait_for(|r| *r).await;
        })
    }
}

async fn register(e: &Engine, customer: &str) {
    let agent = format!("agent-of-{customer}");
    let id = crate::pay::types::AgentId::parse("4711");
    e.register_call(customer.into(), agent, id, Caller::default())
        .await
        .expect("registered");
}

/// Commands of a session (not the engine's member-list reads).
fn session_commands(switch: &Recording) -> Vec<String> {
    let sent = switch.sent();
    sent.into_iter()
        .filter(|c| !c.ends_with("json_list"))
        .collect()
}

#[tokio::test]
async fn a_session_asks_for_nothing_before_its_legs_are_followed() {
    let switch = Arc::new(Recording::default());
    let scope = Arc::new(HeldScope::new());
    let e = Engine::spawn_scoped(config(), switch.clone(), None, Some(scope.clone()));
    register(&e, "cust-1").await;
    let started = tokio::time::timeout(
        Duration::from_secs(1),
        e.start_payment(Target::Customer("cust-1".into()), None),
    )
    .await
    .expect("the request is answered while the filters are not yet in effect")
    .expect("started");
    assert_eq!(
        *scope.followed.lock().unwrap(),
        ["cust-1", "agent-of-cust-1"]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        session_commands(&switch),
        Vec::<String>::new(),
        "the session acted before its legs were followed"
    );
    scope.released.send_replace(true);
    let acted = async {
        while session_commands(&switch).is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(2), acted)
        .await
        .expect("the session acts once its legs are followed");
    assert!(e.watch(&started.id).await.is_some());
}

#[tokio::test]
async fn a_slow_member_list_holds_up_neither_events_nor_other_calls() {
    let switch = Arc::new(Recording {
        stalled: vec!["confpay-slow".into()],
        ..Recording::default()
    });
    let scope = Arc::new(HeldScope::new());
    // Every change the scope is told of stays pending: its filter replies are late.
    let e = Engine::spawn_scoped(config(), switch.clone(), None, Some(scope.clone()));
    register(&e, "slow").await;
    let stuck = e.clone();
    let slow = tokio::spawn(async move {
        stuck
            .start_payment(Target::Customer("slow".into()), None)
            .await
    });
    // A burst of events meanwhile: each one is handled (they would queue behind a waiting task).
    let burst = async {
        for i in 0..5_000 {
            let mut ev = Event::default();
            ev.headers.push("Event-Name", "CHANNEL_HANGUP");
            ev.headers.push("Unique-ID", &format!("stranger-{i}"));
            e.event(ev).await;
        }
        e.settled().await;
    };
    tokio::time::timeout(Duration::from_secs(5), burst)
        .await
        .expect("events are handled while a start waits for the switch");
    register(&e, "cust-2").await;
    let other = tokio::time::timeout(
        Duration::from_secs(1),
        e.start_payment(Target::Customer("cust-2".into()), None),
    )
    .await
    .expect("another call's payment starts while the first waits for the switch");
    assert!(other.is_ok(), "{other:?}");
    assert!(!slow.is_finished(), "the slow call is still waiting");
    slow.abort();
}
