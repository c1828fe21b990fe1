//! Recordings never hold the capture: a call recorded on the customer's leg (`uuid_record`) and in
//! the payment conference (`conference … recording start`) before the payment; the files, read back
//! afterwards, hold the conversation before and after and no tone from the capture window.

use super::parties;
use super::tones::{read_wav, tones};
use super::world::World;
use std::time::{Duration, Instant};

const SETUP: Duration = Duration::from_secs(20);

/// The samples and rate of the recording at `path` (written by FreeSWITCH on this machine).
fn samples_of(path: &str) -> (Vec<f64>, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("recording {path}: {e}"));
    read_wav(&bytes)
}

/// Checks one recording: tones of the conversation before `capture_at` (seconds into the file)
/// and after it, and no other tone anywhere.
fn conversation_only(path: &str, capture_at: f64) {
    let (samples, rate) = samples_of(path);
    let keys = tones(&samples, rate);
    let foreign: Vec<&(char, f64)> = keys.iter().filter(|(k, _)| !"57".contains(*k)).collect();
    assert!(
        foreign.is_empty(),
        "{path}: tones of the capture window: {foreign:?} (all: {keys:?})"
    );
    let before = keys.iter().filter(|(_, t)| *t < capture_at).count();
    let after = keys.len() - before;
    assert!(
        before > 0 && after > 0,
        "{path}: the conversation before and after the capture ({capture_at:.1} s): {keys:?}"
    );
}

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn recordings_hold_the_conversation_but_no_tone_of_the_capture() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let room = w.api.call(&call.channel, SETUP).await["room"]
        .as_str()
        .expect("room")
        .to_owned();
    let leg_file = format!("/tmp/confpay-live-rec-{}-leg.wav", call.channel);
    let room_file = format!("/tmp/confpay-live-rec-{}-room.wav", call.channel);
    w.sw.ok(&format!("uuid_record {} start {leg_file}", call.channel))
        .await;
    w.sw.ok(&format!("conference {room} recording start {room_file}"))
        .await;
    // A recording starts writing a moment after `+OK`, and keeps the last frames buffered until
    // it stops: a second of quiet on either side of the conversation keeps its tones whole.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let recording_from = Instant::now();
    // Before: the customer says 5, the agent 7.
    w.talking(&call.phone, &agent).await;
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    // Masked since before the capture leg was dialled: everything from here to the capture's end
    // is out of the recordings (the leg's file holds silence, the conference's skips it).
    let masked_from = recording_from.elapsed();
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    // During capture the customer's phone sounds 9 as audio and keys the card.
    for _ in 0..3 {
        call.phone.say(&w.sw, '9').await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = w.key_card(&call.phone).await;
    assert_eq!(report.card, parties::CARD, "what the capture service got");
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    let masked_until = recording_from.elapsed();
    // After: unmasked again.
    w.talking(&call.phone, &agent).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    w.sw.ok(&format!("uuid_record {} stop {leg_file}", call.channel))
        .await;
    // `recording stop <path>` answers `non-existant recording` on this build (seen on 1.11.3):
    // `all` is what stops it.
    w.sw.api(&format!("conference {room} recording stop all"))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The recordings started a second before `recording_from`.
    let capture_at = 1.0 + masked_from.as_secs_f64();
    conversation_only(&leg_file, capture_at);
    conversation_only(&room_file, capture_at);
    // The leg's file keeps its length and holds silence where it was masked (a margin of 0.3 s for
    // when FreeSWITCH and the test saw each change).
    let (samples, rate) = samples_of(&leg_file);
    let at = |secs: f64| ((secs * f64::from(rate)) as usize).min(samples.len());
    let window = &samples[at(capture_at + 0.3)..at(1.0 + masked_until.as_secs_f64() - 0.3)];
    assert!(
        window.len() > rate as usize,
        "a capture window of over a second"
    );
    assert!(
        window.iter().all(|x| *x == 0.0),
        "{leg_file}: sound while masked"
    );
    for file in [&leg_file, &room_file] {
        let _ = std::fs::remove_file(file);
    }
    w.finish(&call).await;
}

/// A recording the agent starts on the customer's leg after capture started (`uuid_record … start`
/// mid-capture): confpayd hears of it (RECORD_START), reads it back from FreeSWITCH and masks it
/// before the customer's next key; the file holds silence until the capture leg is gone, then the
/// conversation, and no tone of the card.
#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn a_recording_started_mid_capture_holds_no_tone_of_the_capture() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    let file = format!("/tmp/confpay-live-rec-{}-mid.wav", call.channel);
    let id = w.api.pay("customer", &call.channel).await;
    w.api.reach(&id, "ready", SETUP).await;
    call.phone.key(&w.sw, "1").await;
    w.api.reach(&id, "capturing", SETUP).await;
    w.sw.ok(&format!("uuid_record {} start {file}", call.channel))
        .await;
    let recording_from = Instant::now();
    // The mask follows the event within milliseconds; a person keys a card in seconds.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        call.phone.say(&w.sw, '9').await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let report = w.key_card(&call.phone).await;
    assert_eq!(report.card, parties::CARD, "what the capture service got");
    let (code, s) = w.api.outcome(&id, SETUP).await;
    assert_eq!(code, "completed", "{s}");
    let masked_until = recording_from.elapsed();
    // After: unmasked with the others.
    w.talking(&call.phone, &agent).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    w.sw.ok(&format!("uuid_record {} stop {file}", call.channel))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (samples, rate) = samples_of(&file);
    let keys = tones(&samples, rate);
    let foreign: Vec<&(char, f64)> = keys.iter().filter(|(k, _)| !"57".contains(*k)).collect();
    assert!(
        foreign.is_empty(),
        "{file}: tones of the capture window: {foreign:?} (all: {keys:?})"
    );
    let end = masked_until.as_secs_f64();
    assert!(
        keys.iter().any(|(_, t)| *t > end),
        "{file}: the conversation after the capture ({end:.1} s): {keys:?}"
    );
    let at = |secs: f64| ((secs * f64::from(rate)) as usize).min(samples.len());
    let window = &samples[at(0.2)..at(end - 0.3)];
    assert!(
        window.len() > rate as usize,
        "a capture window of over a second"
    );
    assert!(
        window.iter().all(|x| *x == 0.0),
        "{file}: sound while masked"
    );
    let _ = std::fs::remove_file(&file);
    w.finish(&call).await;
}
