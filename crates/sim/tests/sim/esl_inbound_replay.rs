//! Replays the client side of the inbound recordings against the simulator and compares every frame
//! it sends back with what FreeSWITCH sent: reply texts and api bodies exactly (uuids and numbers
//! normalized), events by header names in order, and the connection closing where FreeSWITCH closed it.

use crate::esl_client::{Client, Dir, RawFrame, frames_of, normalize, transcript};
use confpay_sim::{SimConfig, Simulator};
use std::time::Duration;

fn compare(file: &str, expected: &RawFrame, got: &RawFrame) {
    assert_eq!(
        got.content_type(),
        expected.content_type(),
        "{file}: content type; got {got:?}"
    );
    if expected.content_type() == "text/event-plain" {
        let names = |f: &RawFrame| {
            f.plain_event()
                .0
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>()
        };
        assert_eq!(names(got), names(expected), "{file}: event header names");
        let body = |f: &RawFrame| f.plain_event().1.map(|b| normalize(&b));
        assert_eq!(body(got), body(expected), "{file}: event body");
    } else {
        assert_eq!(
            normalize(&got.head),
            normalize(&expected.head),
            "{file}: frame headers"
        );
        assert_eq!(
            normalize(&got.body_text()),
            normalize(&expected.body_text()),
            "{file}: frame body"
        );
    }
}

async fn replay(file: &str) {
    let sim = Simulator::start(SimConfig::default()).await.expect("sim");
    let mut c = Client::connect(sim.esl_addr()).await;
    let mut last_t = 0.0;
    let mut frames_checked = 0;
    for (dir, t, bytes) in transcript(file) {
        match dir {
            Dir::ToServer => {
                let gap = (t - last_t).clamp(0.0, 0.3);
                tokio::time::sleep(Duration::from_secs_f64(gap)).await;
                c.send(&bytes).await;
            }
            Dir::ToClient => {
                for expected in frames_of(&bytes) {
                    let got = c.frame().await;
                    compare(file, &expected, &got);
                    frames_checked += 1;
                }
            }
        }
        last_t = t;
    }
    let text =
        std::fs::read_to_string(format!("{}/{file}.txt", crate::esl_client::DIR)).expect("txt");
    if text.contains("connection closed by FreeSWITCH") {
        assert!(
            c.closed_within(Duration::from_secs(2)).await,
            "{file}: simulator should close"
        );
    } else {
        assert!(
            c.frame_within(Duration::from_millis(300)).await.is_none(),
            "{file}: stray frame"
        );
    }
    assert!(frames_checked >= 3, "{file}: only {frames_checked} frames");
}

#[tokio::test]
async fn wrong_password_is_rejected_and_closed() {
    replay("inbound-auth-wrong-password").await;
}

#[tokio::test]
async fn commands_before_auth_are_refused_then_auth_works() {
    replay("inbound-commands-before-auth").await;
}

#[tokio::test]
async fn subscription_command_replies_match() {
    replay("inbound-subscription-commands").await;
}

#[tokio::test]
async fn auth_api_bgapi_and_exit_match() {
    replay("inbound-auth-and-api").await;
}
