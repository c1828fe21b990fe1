//! The exhaustive sweep: every reachable state × every input, checked against the safety invariants.

use super::*;

/// A recording started on the agent's leg after masking.
const NEW_REC: &str = "/rec/agent-new.wav";

fn all_inputs() -> Vec<Input> {
    let mut v = vec![
        Input::Start { agent_id: None },
        Input::Start {
            agent_id: AgentId::parse("55"),
        },
        Input::AgentDigit('5'),
        Input::AgentDigit('#'),
        Input::CustomerStartKey,
        Input::StartCapture,
        Input::Cancel,
        Input::CaptureAnswered { uuid: P.into() },
        Input::CaptureFailed {
            cause: "USER_BUSY".into(),
        },
        Input::Joined {
            leg: Leg::Customer,
            member: 13,
        },
        Input::Joined {
            leg: Leg::Agent,
            member: 14,
        },
        Input::Joined {
            leg: Leg::Capture,
            member: 15,
        },
        Input::ConnectionLost,
        Input::Resync(Snapshot {
            customer_alive: true,
            agent_alive: true,
            capture_alive: true,
            customer_member: Some(13),
            agent_member: Some(14),
            capture_member: Some(15),
            customer_held: false,
            agent_isolated: false,
            recordings: Vec::new(),
        }),
        Input::Resync(Snapshot {
            customer_alive: true,
            agent_alive: true,
            capture_alive: false,
            customer_member: Some(13),
            agent_member: Some(14),
            capture_member: None,
            customer_held: false,
            agent_isolated: false,
            recordings: Vec::new(),
        }),
    ];
    for leg in [Leg::Customer, Leg::Agent, Leg::Capture] {
        v.push(Input::Hangup { leg });
    }
    for kind in [
        TimerKind::AgentIdEntry,
        TimerKind::Join,
        TimerKind::CaptureAnswer,
        TimerKind::AgentIdDelay,
        TimerKind::MaxCapture,
        TimerKind::Step,
    ] {
        v.push(Input::Timer(kind));
    }
    // The lists as FreeSWITCH answers them (a bare `+OK` is no list: it fails the session).
    for leg in [C, A] {
        let cmd = Cmd::ListLegRecordings { uuid: leg.into() };
        let step = if leg == C {
            Step::ListCustomerRecordings
        } else {
            Step::ListAgentRecordings
        };
        v.push(Input::Reply {
            step,
            ok: true,
            reply: recordings_reply(&cmd).unwrap_or_default(),
        });
    }
    v.push(Input::Reply {
        step: Step::ListConferenceRecordings,
        ok: true,
        reply: recordings_reply(&Cmd::ListConferenceRecordings {
            room: "pay-1".into(),
        })
        .unwrap_or_default(),
    });
    // A recording the agent started after masking, and FreeSWITCH's word that one started.
    v.push(Input::Reply {
        step: Step::ListAgentRecordings,
        ok: true,
        reply: format!(
            "<media-bugs>\n <media-bug>\n  <function>session_record</function>\n  <target>{NEW_REC}</target>\n  <thread-locked>0</thread-locked>\n </media-bug>\n</media-bugs>\n"
        ),
    });
    v.push(Input::RecordingStarted);
    for step in Step::ALL {
        v.push(ok(step));
        v.push(Input::Reply {
            step,
            ok: false,
            reply: "-ERR Operation failed\n".into(),
        });
        v.push(Input::Reply {
            step,
            ok: false,
            reply: "-ERR No such channel!\n".into(),
        });
    }
    v
}

/// Every machine reachable from a fresh session (both topologies) in up to `depth` inputs, with
/// duplicate states collapsed by their debug form.
fn reachable(depth: usize) -> Vec<Machine> {
    let inputs = all_inputs();
    let mut seen = std::collections::HashSet::new();
    let ready = to_ready().0;
    let mut capturing = ready.clone();
    let a = capturing.step(Input::CustomerStartKey);
    answer_all(&mut capturing, a);
    // Ready with the agent's member id unknown (its `add-member` event lost).
    let mut unknown_member = ready.clone();
    unknown_member.legs.agent_member = None;
    // Listing and masking the recordings takes more inputs than the depth allows from a fresh
    // session: start the sweep also at Masking (lists sent) and at Dialling (all masked).
    let mut masking = machine(Topology::InConference, Some("4711"));
    masking.step(Input::Start { agent_id: None });
    masking.step(ok(Step::HoldCustomer));
    let mut dialling = machine(Topology::InConference, Some("4711"));
    let a = dialling.step(Input::Start { agent_id: None });
    answer_all(&mut dialling, a);
    let mut frontier = vec![
        masking,
        dialling,
        unknown_member,
        machine(Topology::InConference, Some("4711")),
        machine(Topology::InConference, None),
        machine(Topology::Bridged, Some("4711")),
        ready,
        capturing,
    ];
    let mut all = Vec::new();
    for _ in 0..depth {
        let mut next = Vec::new();
        for m in frontier {
            if !seen.insert(format!("{m:?}")) {
                continue;
            }
            for i in &inputs {
                let mut n = m.clone();
                n.step(i.clone());
                next.push(n);
            }
            all.push(m);
        }
        frontier = next;
    }
    all
}

/// An input that tells the session the capture leg is gone.
fn capture_gone_signal(input: &Input) -> bool {
    match input {
        Input::Hangup { leg: Leg::Capture } => true,
        Input::Reply {
            step: Step::KillCapture,
            reply,
            ..
        } => reply.contains("No such channel"),
        Input::Resync(snap) => !snap.capture_alive,
        _ => false,
    }
}

/// Checks the safety invariants of one step.
fn check_step(before: &Machine, input: &Input, after: &Machine, actions: &[Action]) {
    let ctx = || {
        format!(
            "{:?} --{input:?}--> {:?}: {actions:?}",
            before.state(),
            after.state()
        )
    };
    for (step, text) in sends(actions) {
        if step == Step::Restore {
            assert!(
                !before.legs().capture_up || capture_gone_signal(input),
                "isolation cleared while the capture leg may be present: {}",
                ctx()
            );
            assert!(
                !after.legs().capture_up && !after.legs().dialling,
                "{}",
                ctx()
            );
        }
        if step == Step::UnmaskRecording {
            assert!(
                !after.legs().capture_up && !after.legs().dialling,
                "recording unmasked while the capture leg may be present: {}",
                ctx()
            );
        }
        if step == Step::DialCapture {
            let masking = [
                Step::ListCustomerRecordings,
                Step::ListAgentRecordings,
                Step::ListConferenceRecordings,
                Step::MaskRecording,
            ];
            assert!(
                !after.pending.iter().any(|s| masking.contains(s))
                    && (after.recordings().is_empty() || after.legs().masked),
                "capture dialled before every recording was masked: {}",
                ctx()
            );
        }
        if step == Step::SendStart {
            assert!(
                after.legs().isolated,
                "'1' sent without isolation: {}",
                ctx()
            );
        }
        assert!(!text.contains('\n'), "{}", ctx());
    }
    new_recordings_masked(before, input, after, actions, &ctx);
    let done: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::Finished(_)))
        .collect();
    assert!(done.len() <= 1, "{}", ctx());
    if !done.is_empty() {
        assert_eq!(after.state(), &State::Done, "{}", ctx());
        if after.legs().customer_alive {
            assert!(!after.legs().isolated, "ended isolated: {}", ctx());
            assert!(!after.legs().customer_held, "ended on hold: {}", ctx());
            assert!(
                !after.legs().keys_exposed,
                "ended with sensitive_dtmf off: {}",
                ctx()
            );
            assert!(
                !after.legs().capture_up,
                "ended with capture leg up: {}",
                ctx()
            );
            assert!(
                !after.legs().masked,
                "ended with recordings masked: {}",
                ctx()
            );
        }
    }
    if before.state() == &State::Done {
        assert!(actions.is_empty(), "{}", ctx());
    }
    if before.state() == &State::Capturing && after.state() != &State::Suspended {
        assert!(
            after.legs().isolated
                || !after.legs().customer_alive
                || !after.legs().capture_up
                || !after.legs().agent_alive,
            "capture leg present without isolation: {}",
            ctx()
        );
    }
    // From dialling to capture (a capture leg answering out of nowhere, which the sweep also feeds
    // to earlier states, is not one the session dialled).
    let dialled = matches!(
        after.state(),
        State::Dialling
            | State::Answered
            | State::SendingAgentId
            | State::Unholding
            | State::Ready
            | State::Arming
            | State::Capturing
    );
    if dialled && (after.legs().capture_up || after.legs().dialling) && after.legs().customer_alive
    {
        assert!(
            after.legs().masked || after.recordings().is_empty(),
            "capture leg present with recordings not masked: {}",
            ctx()
        );
    }
}

/// Whether a capture leg may be there to hear, from the session's view.
fn capture_may_be_heard(m: &Machine) -> bool {
    matches!(
        m.state(),
        State::Dialling
            | State::Answered
            | State::SendingAgentId
            | State::Unholding
            | State::Ready
            | State::Arming
            | State::Capturing
    ) || (m.state() == &State::Unwinding && (m.legs().capture_up || m.legs().dialling))
}

/// After masking, a recording FreeSWITCH lists is masked at once, or the capture ends; and its
/// word that a recording started makes the session read the lists (now or once those out are in).
fn new_recordings_masked(
    before: &Machine,
    input: &Input,
    after: &Machine,
    actions: &[Action],
    ctx: &dyn Fn() -> String,
) {
    if !capture_may_be_heard(before) {
        return;
    }
    let sent = sends(actions);
    if *input == Input::RecordingStarted && after.state() != &State::Suspended {
        let listed = sent.iter().any(|(s, _)| *s == Step::ListCustomerRecordings);
        assert!(listed || after.relist, "no lists read: {}", ctx());
    }
    let Input::Reply {
        step: Step::ListAgentRecordings,
        ok: true,
        reply,
    } = input
    else {
        return;
    };
    if !before.pending.contains(&Step::ListAgentRecordings) || !reply.contains(NEW_REC) {
        return;
    }
    let masked = sent
        .iter()
        .any(|(s, t)| *s == Step::MaskRecording && t.ends_with(&format!(" mask {NEW_REC}")));
    assert!(
        masked || !capture_may_be_heard(after),
        "a recording listed after masking was not masked: {}",
        ctx()
    );
    assert!(
        after.legs().masked || !capture_may_be_heard(after),
        "{}",
        ctx()
    );
}

/// From any state, a well-behaved FreeSWITCH plus the session's own timers end the session.
fn ends_eventually(m: &Machine) {
    let mut m = m.clone();
    for _ in 0..20 {
        if m.state() == &State::Done {
            return;
        }
        let a = m.step(Input::Cancel);
        answer_all(&mut m, a);
        if m.state() == &State::Suspended {
            let a = m.step(Input::Resync(Snapshot {
                customer_alive: true,
                agent_alive: true,
                capture_alive: m.legs().capture_up,
                customer_member: Some(13),
                agent_member: Some(14),
                capture_member: None,
                customer_held: false,
                agent_isolated: false,
                recordings: Vec::new(),
            }));
            answer_all(&mut m, a);
        }
        for kind in [TimerKind::Step, TimerKind::CaptureAnswer] {
            let a = m.step(Input::Timer(kind));
            answer_all(&mut m, a);
        }
        if m.legs().dialling {
            let a = m.step(Input::CaptureFailed {
                cause: "ORIGINATOR_CANCEL".into(),
            });
            answer_all(&mut m, a);
        }
    }
    panic!("session stuck in {:?}: {m:?}", m.state());
}

#[test]
fn exhaustive_state_by_input_sweep() {
    let machines = reachable(6);
    let states: std::collections::HashSet<String> = machines
        .iter()
        .map(|m| format!("{:?}", m.state()))
        .collect();
    // Every state of the flow is reached by the sweep.
    for s in [
        "Idle",
        "AwaitingAgentId",
        "Moving",
        "Holding",
        "Masking",
        "Dialling",
        "Answered",
        "SendingAgentId",
        "Unholding",
        "Ready",
        "Arming",
        "Capturing",
        "Unwinding",
        "Suspended",
        "Done",
    ] {
        assert!(
            states.contains(s),
            "state {s} not reached; reached {states:?}"
        );
    }
    let inputs = all_inputs();
    for m in &machines {
        for i in &inputs {
            let mut n = m.clone();
            let actions = n.step(i.clone());
            check_step(m, i, &n, &actions);
        }
        ends_eventually(m);
    }
}
