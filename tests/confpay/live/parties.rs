//! The people on a test call, played by loopback legs on the real switch (see
//! `tests/confpay/live/freeswitch/live_extensions.xml`): a customer's phone and the agent's phone, each able to
//! key digits (RFC 2833), speak (play a DTMF tone as audio) and listen (spandsp's inband detector).
//! What a phone *hears* is what its owner would hear: a DTMF event with `DTMF-Source: INBAND_AUDIO`.

use super::switch::{Seen, Switch};
use std::time::Duration;

/// The agent dial string the suite gives calls: a SIP call to this switch's `internal` profile, whose
/// inbound leg (extension `live_agent`) is the agent's phone. SIP, not loopback: a loopback leg gets
/// DTMF queued straight from its partner, past the receive hook `bind_meta_app` listens on, so the
/// agent's feature code would never work on it (seen on FreeSWITCH 1.11; it does over RTP).
/// `absolute_codec_string`: a bridge from a loopback customer (L16) would otherwise offer L16, which
/// the profile refuses (INCOMPATIBLE_DESTINATION); real customers arrive with a SIP codec.
pub const AGENT_DIAL: &str = "[absolute_codec_string=PCMU]sofia/internal/live_agent@127.0.0.1:5060";
/// The capture service as production dials it: the shipped `paytia` gateway, pointed at this switch.
pub const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
/// The agent ID the calls carry.
pub const AGENT_ID: &str = "4711";
/// A test card number (Luhn-valid) the customer keys. Nothing but the capture service may see it.
pub const CARD: &str = "4929738205461183";

/// A phone on the switch: the channel that plays and listens for its owner.
#[derive(Clone, Debug)]
pub struct Phone {
    pub uuid: String,
}

/// A customer call placed through the switch's dialplan.
#[derive(Clone, Debug)]
pub struct CustomerCall {
    pub phone: Phone,
    /// The customer's channel: the one the dialplan ran (what confpayd controls).
    pub channel: String,
}

/// The row and column frequencies of a DTMF digit.
fn dtmf_freqs(digit: char) -> (u32, u32) {
    const ROWS: [u32; 4] = [697, 770, 852, 941];
    const COLS: [u32; 3] = [1209, 1336, 1477];
    let i = "123456789*0#".find(digit).expect("a DTMF digit");
    (ROWS[i / 3], COLS[i % 3])
}

impl Phone {
    /// Keys `digits` on the phone's keypad (RFC 2833 out of the phone, into the call).
    pub async fn key(&self, sw: &Switch, digits: &str) {
        sw.ok(&format!("uuid_send_dtmf {} {digits}@120", self.uuid))
            .await;
    }

    /// Says `digit` as a DTMF tone, i.e. audio anyone hearing this phone's owner hears.
    pub async fn say(&self, sw: &Switch, digit: char) {
        let (lo, hi) = dtmf_freqs(digit);
        sw.ok(&format!(
            "uuid_broadcast {} tone_stream://%(300,100,{lo},{hi}) aleg",
            self.uuid
        ))
        .await;
    }

    /// Tones this phone heard after `mark`.
    pub fn heard(&self, sw: &Switch, mark: usize) -> Vec<char> {
        sw.since(mark, |s| self.heard_event(s))
            .iter()
            .filter_map(|s| s.get("DTMF-Digit").and_then(|d| d.chars().next()))
            .collect()
    }

    fn heard_event(&self, s: &Seen) -> bool {
        s.name() == "DTMF" && s.uuid() == self.uuid && s.get("DTMF-Source") == Some("INBAND_AUDIO")
    }
}

/// `listener` hears `speaker` say `digit` (within 3 s).
pub async fn hears(sw: &Switch, speaker: &Phone, listener: &Phone, digit: char) {
    let mark = sw.mark();
    speaker.say(sw, digit).await;
    let want = digit.to_string();
    sw.wait(
        mark,
        Duration::from_secs(3),
        &format!("tone {digit} heard"),
        |s| listener.heard_event(s) && s.get("DTMF-Digit") == Some(want.as_str()),
    )
    .await;
}

/// `listener` does not hear `speaker` say `digit` (listens 1.5 s after the tone).
pub async fn does_not_hear(sw: &Switch, speaker: &Phone, listener: &Phone, digit: char) {
    let mark = sw.mark();
    speaker.say(sw, digit).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let heard = listener.heard(sw, mark);
    assert!(
        !heard.contains(&digit),
        "{listener:?} heard {digit}: {heard:?}"
    );
}

/// Places a customer call into extension `exten` of context `default` with `vars` on the customer's
/// channel (as whatever routed the call would have set them). Returns once the dialplan runs it.
pub async fn call(sw: &Switch, exten: &str, vars: &[(&str, &str)]) -> CustomerCall {
    let phone = uuid::Uuid::new_v4().to_string();
    let mut list = vec![format!("origination_uuid={phone}")];
    list.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
    let cmd = format!(
        "originate {{{}}}loopback/{exten}/default live_phone XML default",
        list.join(",")
    );
    // The originate returns when the customer's channel is answered (by confpayd or the bridge);
    // run it in the background and find the channel as soon as it exists.
    let bg = sw.clone();
    tokio::spawn(async move {
        bg.api(&format!("bgapi {cmd}")).await;
    });
    let channel = until_some(
        Duration::from_secs(10),
        "the customer's channel",
        || async { sw.var(&phone, "other_loopback_leg_uuid").await },
    )
    .await;
    CustomerCall {
        phone: Phone { uuid: phone },
        channel,
    }
}

/// The agent's phone for agent channel `agent` (the SIP leg confpayd or the bridge dialled): the
/// inbound leg with the same SIP Call-ID.
pub async fn agent_phone(sw: &Switch, agent: &str) -> Phone {
    let uuid = until_some(Duration::from_secs(10), "the agent's phone", || async {
        let call_id = sw.var(agent, "sip_call_id").await?;
        let rows: serde_json::Value =
            serde_json::from_str(sw.api("show channels as json").await.trim()).ok()?;
        for row in rows["rows"].as_array()? {
            let u = row["uuid"].as_str()?;
            if u != agent
                && row["dest"] == "live_agent"
                && sw.var(u, "sip_call_id").await.as_deref() == Some(call_id.as_str())
            {
                return Some(u.to_owned());
            }
        }
        None
    })
    .await;
    Phone { uuid }
}

/// Polls `f` every 50 ms until it yields a value.
pub async fn until_some<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("no {what} within {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
