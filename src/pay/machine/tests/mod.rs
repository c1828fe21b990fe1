//! Tests of the pure session machine: scripted paths for every flow, and an exhaustive sweep of every
//! reachable state × every input, checked against the safety invariants.

use super::*;
use std::time::Duration;

mod faults;
mod flows;
mod legs;
mod members;
mod recordings;
mod restore;
mod sweep;

const C: &str = "cust-0000";
const A: &str = "agent-0000";
const P: &str = "capt-0000";

fn cfg() -> MachineConfig {
    MachineConfig {
        capture_dial: "sofia/gateway/paytia/pay".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: "".into(),
        agent_id_suffix: "#".into(),
        dtmf_duration_ms: 100,
        agent_id_delay: Duration::from_millis(1000),
        capture_answer_timeout: Duration::from_secs(30),
        max_capture: Duration::from_secs(600),
        agent_id_entry_timeout: Duration::from_secs(20),
        step_timeout: Duration::from_secs(10),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    }
}

fn legs() -> Legs {
    Legs {
        customer: C.into(),
        agent: A.into(),
        capture: P.into(),
        customer_member: Some(13),
        agent_member: Some(14),
        ..Legs::default()
    }
}

fn machine(topology: Topology, agent_id: Option<&str>) -> Machine {
    let mut l = legs();
    if topology == Topology::Bridged {
        l.customer_member = None;
        l.agent_member = None;
    }
    Machine::new(
        cfg(),
        "pay-1".into(),
        topology,
        l,
        agent_id.and_then(AgentId::parse),
    )
}

fn sends(actions: &[Action]) -> Vec<(Step, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { step, cmd } => Some((*step, crate::pay::commands::api_text(cmd))),
            _ => None,
        })
        .collect()
}

fn finished(actions: &[Action]) -> Option<Outcome> {
    actions.iter().find_map(|a| match a {
        Action::Finished(o) => Some(o.clone()),
        _ => None,
    })
}

fn ok(step: Step) -> Input {
    Input::Reply {
        step,
        ok: true,
        reply: "+OK\n".into(),
    }
}

/// The recording the well-behaved switch of these tests reports on the customer's leg.
const CUSTOMER_REC: &str = "/rec/customer.wav";
/// The recording it reports for the conference.
const ROOM_REC: &str = "/rec/room.wav";

/// FreeSWITCH's answer to a recording list: one recording on the customer's leg, none on the
/// agent's, one of the conference (texts as the real switch writes them).
fn recordings_reply(cmd: &Cmd) -> Option<String> {
    match cmd {
        Cmd::ListLegRecordings { uuid } if uuid == C => Some(format!(
            "<media-bugs>\n <media-bug>\n  <function>session_record</function>\n  <target>{CUSTOMER_REC}</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n</media-bugs>\n"
        )),
        Cmd::ListLegRecordings { .. } => Some("<media-bugs>\n</media-bugs>\n".into()),
        Cmd::ListConferenceRecordings { .. } => Some(format!("+OK Record file {ROOM_REC}\n")),
        _ => None,
    }
}

/// Answers every command of `actions` with success (a well-behaved FreeSWITCH), recursively, and
/// returns every action produced along the way.
fn answer_all(m: &mut Machine, actions: Vec<Action>) -> Vec<Action> {
    let mut all = Vec::new();
    let mut queue = actions;
    while !queue.is_empty() {
        let batch = std::mem::take(&mut queue);
        for a in &batch {
            if let Action::Send { step, cmd } = a {
                match cmd {
                    Cmd::Originate { .. } => {}
                    Cmd::ListLegRecordings { .. } | Cmd::ListConferenceRecordings { .. } => {
                        let reply = recordings_reply(cmd).unwrap_or_default();
                        queue.extend(m.step(Input::Reply {
                            step: *step,
                            ok: true,
                            reply,
                        }));
                    }
                    Cmd::Kill { uuid, .. } if uuid == P => {
                        queue.extend(m.step(ok(*step)));
                        queue.extend(m.step(Input::Hangup { leg: Leg::Capture }));
                    }
                    _ => queue.extend(m.step(ok(*step))),
                }
            }
        }
        all.extend(batch);
    }
    all
}

/// Drives a fresh in-conference session to Ready; returns the machine and every action so far.
fn to_ready() -> (Machine, Vec<Action>) {
    let mut m = machine(Topology::InConference, Some("4711"));
    let mut log = Vec::new();
    let a = m.step(Input::Start { agent_id: None });
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Dialling);
    let a = m.step(Input::CaptureAnswered { uuid: P.into() });
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Answered);
    let a = m.step(Input::Timer(TimerKind::AgentIdDelay));
    log.extend(answer_all(&mut m, a));
    assert_eq!(m.state(), &State::Ready);
    (m, log)
}

fn fail(step: Step, reply: &str) -> Input {
    Input::Reply {
        step,
        ok: false,
        reply: reply.into(),
    }
}
