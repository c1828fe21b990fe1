//! The demo's scripted part, in process: the simulator and the daemon's real parts over loopback
//! TCP, one Keyphone and one ACA payment. Checks both completed, that the timeline shows the
//! customer on hold (music only) during setup and cut off from the agent during capture, and that
//! the printed timeline holds no card digit.

use confpay::demo::{DemoOptions, Timeline, What, run_script};
use confpay::pay::{Outcome, StartMethod, State};
use confpay::sim::hearing::{Hearing, Source};

const CARD: &str = "4111111111111111";

async fn timeline() -> Timeline {
    let opts = DemoOptions {
        speed: 10.0,
        ..DemoOptions::default()
    };
    run_script(&opts).await.expect("the scripted call runs")
}

fn sessions(t: &Timeline) -> Vec<String> {
    t.outcomes().iter().map(|(s, _)| (*s).to_owned()).collect()
}

fn music_only(h: &Hearing, who: &str) -> bool {
    let s = h.sources(who);
    !s.is_empty() && s.iter().all(|x| matches!(x, Source::Music(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_methods_complete_with_hold_and_isolation_and_no_digits() {
    let t = timeline().await;
    let printed = t.to_string();

    // Both methods completed, Keyphone first.
    let outcomes: Vec<Outcome> = t.outcomes().into_iter().map(|(_, o)| o.clone()).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Completed {
                method: StartMethod::Keyphone
            },
            Outcome::Completed {
                method: StartMethod::Aca
            },
        ],
        "{printed}"
    );
    assert_eq!(
        printed.matches("outcome: Completed (Keyphone)").count(),
        1,
        "{printed}"
    );
    assert_eq!(
        printed.matches("outcome: Completed (Aca)").count(),
        1,
        "{printed}"
    );

    for s in sessions(&t) {
        let states = t.states(&s);
        let seen: Vec<State> = states.iter().map(|(st, _)| st.clone()).collect();
        assert_eq!(seen.first(), Some(&State::Idle), "{printed}");
        assert_eq!(seen.last(), Some(&State::Done), "{printed}");
        // Setup: while the capture service is dialled / answers / gets the agent ID, the customer
        // hears hold music and nothing else.
        let setup: Vec<_> = states
            .iter()
            .filter(|(st, _)| {
                matches!(
                    st,
                    State::Dialling | State::Answered | State::SendingAgentId
                )
            })
            .collect();
        assert!(!setup.is_empty(), "no setup state seen: {printed}");
        for (st, h) in &setup {
            assert!(
                music_only(h, "customer"),
                "{st:?}: customer hears {:?}\n{printed}",
                h.sources("customer")
            );
        }
        // Capture: customer and capture service hear each other; agent and customer do not.
        let (_, h) = states
            .iter()
            .find(|(st, _)| *st == State::Capturing)
            .unwrap_or_else(|| panic!("session {s} never seen capturing: {printed}"));
        assert!(h.hears("customer", "capture") && h.hears("capture", "customer"));
        assert!(!h.hears("customer", "agent"), "{h:?}");
        assert!(!h.hears("agent", "customer"), "{h:?}");
        // And back to talking once done.
        let (_, h) = states.last().expect("a last state");
        assert!(h.hears("customer", "agent") && h.hears("agent", "customer"));
    }

    // The digits went to the capture service only, and the printed timeline says so.
    let keyed: Vec<_> = t
        .entries
        .iter()
        .filter_map(|e| match &e.what {
            What::Keyed { count, reached, .. } => Some((*count, reached.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(keyed.len(), 2);
    for (count, reached) in keyed {
        assert_eq!(count, 16);
        assert_eq!(reached.get("capture"), Some(&16));
        assert_eq!(reached.get("agent"), None);
    }
    assert_eq!(
        printed
            .matches("customer keys 16 digits → capture service only")
            .count(),
        2,
        "{printed}"
    );
    assert!(printed.contains("agent 0 (0 keyed, 0 sent by confpayd)"));

    // PCI: no card digits in what the demo prints — not the number, not its first six, not any run
    // of 13 or more digits.
    assert!(!printed.contains(CARD));
    assert!(!printed.contains(&CARD[..6]));
    let longest_run = printed
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_run < 13, "a long digit run in:\n{printed}");
    assert!(!format!("{t:?}").contains(CARD));
}
