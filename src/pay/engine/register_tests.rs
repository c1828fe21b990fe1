//! Registering dialplan-driven calls: a channel already a leg of a known call is refused and the
//! known call left as it is; a call whose channel the switch reports gone is forgotten.

use super::{Engine, EngineConfig, RegisterError};
use crate::pay::caller::Caller;
use crate::pay::machine::MachineConfig;
use crate::pay::switch::{BoxFut, Switch, SwitchError};
use crate::pay::types::{AgentHangupPolicy, AgentId, Leg};
use std::sync::Arc;
use std::time::Duration;

struct Quiet;

impl Switch for Quiet {
    fn api(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("+OK\n".to_owned()) })
    }
    fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
        Box::pin(async { Ok("+OK\n".to_owned()) })
    }
}

fn engine() -> Engine {
    engine_on(Arc::new(Quiet))
}

/// An engine with short timers over `switch`.
pub(super) fn engine_on(switch: Arc<dyn Switch>) -> Engine {
    Engine::spawn(config(), switch)
}

/// Engine settings with short timers.
pub(super) fn config() -> EngineConfig {
    let machine = MachineConfig {
        capture_dial: "sofia/gateway/paytia/pay".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: String::new(),
        agent_id_suffix: "#".into(),
        dtmf_duration_ms: 100,
        agent_id_delay: Duration::from_millis(100),
        capture_answer_timeout: Duration::from_secs(2),
        max_capture: Duration::from_secs(20),
        agent_id_entry_timeout: Duration::from_secs(3),
        step_timeout: Duration::from_secs(2),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    };
    EngineConfig {
        machine,
        start_subclass: "confpay::start".into(),
        room_prefix: "confpay-".into(),
    }
}

#[tokio::test]
async fn a_second_registration_of_a_known_leg_is_refused() {
    let e = engine();
    let id = AgentId::parse("4711");
    e.register_call(
        "cust-1".into(),
        "agent-1".into(),
        id.clone(),
        Caller::default(),
    )
    .await
    .expect("first registration");
    for uuid in ["cust-1", "agent-1"] {
        let again = e
            .register_call(
                uuid.into(),
                "agent-x".into(),
                AgentId::parse("999"),
                Caller::default(),
            )
            .await;
        assert!(
            matches!(again, Err(RegisterError::KnownLeg { ref call, .. }) if call == "cust-1"),
            "{again:?}"
        );
    }
    let again = e
        .register_call("agent-1".into(), "agent-y".into(), None, Caller::default())
        .await;
    assert!(matches!(
        again,
        Err(RegisterError::KnownLeg {
            leg: Leg::Agent,
            ..
        })
    ));
    let calls = e.calls().await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].agent.as_deref(), Some("agent-1"));
    assert_eq!(calls[0].agent_id.as_deref(), Some("4711"));
}

#[tokio::test]
async fn a_call_whose_channel_is_gone_is_forgotten() {
    let e = engine();
    e.register_call("cust-1".into(), "agent-1".into(), None, Caller::default())
        .await
        .expect("registered");
    e.channel_gone("cust-1".into()).await;
    e.settled().await;
    assert_eq!(e.calls().await, Vec::new());
}
