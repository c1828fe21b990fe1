//! A member id the session does not know when it must cut the agent off: FreeSWITCH's member list
//! is read first, and without both legs in it the payment fails safe ('1' never sent, restored).

use super::*;

/// A session in `Ready` whose agent's `add-member` never arrived (member id unknown).
fn ready_without_agent_member() -> Machine {
    let (mut m, _) = to_ready();
    m.legs.agent_member = None;
    m
}

fn list(members: &[(u32, &str)]) -> Input {
    let members: Vec<String> = members
        .iter()
        .map(|(id, uuid)| format!(r#"{{"id":{id},"uuid":"{uuid}"}}"#))
        .collect();
    Input::Reply {
        step: Step::FindMembers,
        ok: true,
        reply: format!(
            r#"[{{"conference_name":"pay-1","members":[{}]}}]"#,
            members.join(",")
        ),
    }
}

#[test]
fn an_unknown_agent_member_is_looked_up_before_isolating() {
    let mut m = ready_without_agent_member();
    let a = m.step(Input::StartCapture);
    let steps: Vec<Step> = sends(&a).into_iter().map(|(s, _)| s).collect();
    assert_eq!(steps, [Step::FindMembers, Step::Sensitive]);
    assert_eq!(sends(&a)[0].1, "conference pay-1 json_list");
    assert!(!m.legs().isolated);
    // The keys are hidden at once, but nothing goes on before FreeSWITCH named both members.
    assert!(sends(&m.step(ok(Step::Sensitive))).is_empty());
    assert_eq!(m.state(), &State::Arming);
    let a = m.step(list(&[(13, C), (21, A), (15, P)]));
    assert_eq!(
        sends(&a),
        [(
            Step::Isolate,
            "conference pay-1 relate 21 13 nospeak,nohear".to_owned()
        )]
    );
    let a = answer_all(&mut m, a);
    assert!(sends(&a).iter().any(|(s, _)| *s == Step::SendStart));
    assert_eq!(m.state(), &State::Capturing);
}

#[test]
fn without_both_members_in_the_list_the_payment_fails_safe() {
    for (start, reply) in [
        (Input::StartCapture, list(&[(13, C), (15, P)])),
        (Input::CustomerStartKey, list(&[(13, C), (15, P)])),
        (
            Input::StartCapture,
            fail(Step::FindMembers, "-ERR Conference pay-1 not found\n"),
        ),
    ] {
        let mut m = ready_without_agent_member();
        let mut a = m.step(start);
        a.extend(m.step(ok(Step::Sensitive)));
        a.extend(m.step(reply));
        let a = answer_all(&mut m, a);
        assert!(
            !sends(&a).iter().any(|(s, _)| *s == Step::SendStart),
            "'1' sent without isolation: {a:?}"
        );
        let outcome = finished(&a).expect("session ended");
        assert!(
            matches!(
                outcome,
                Outcome::Failed(FailReason::CommandFailed {
                    step: Step::FindMembers,
                    ..
                })
            ),
            "{outcome:?}"
        );
        assert_eq!(outcome.code(), "command_failed");
        assert!(!m.legs().capture_up && !m.legs().customer_held && !m.legs().keys_exposed);
    }
}
