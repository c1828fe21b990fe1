//! One payment of a real-switch load run, as an agent's screen and a customer would make it: the
//! agent's screen starts it (`POST /api/v1/sessions`) and follows its event stream; at Ready the
//! customer keys '1' (Keyphone) or the agent's screen starts capture (ACA); once capturing, the
//! customer keys the card and '#'; the capture stand-in collects it and hangs up, and the session
//! ends `completed`. Before the card is keyed, the capture leg the session names is registered with
//! the call's own agent ID, against which the stand-in's report is then checked
//! ([`super::calls::Captures`]); the session itself must carry that agent ID too.

use super::calls::{CARD, Call, SwitchSide};
use super::http::Api;
use std::time::Duration;
use tokio::time::Instant;

/// How capture is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The customer keys '1' at Ready.
    Keyphone,
    /// The agent's screen calls `/capture` at Ready.
    Aca,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Keyphone => "keyphone",
            Method::Aca => "aca",
        }
    }
}

/// What became of one payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentResult {
    pub method: Method,
    /// Request sent → the daemon's stream said `ready`.
    pub to_ready: Option<Duration>,
    /// `Ok` when the session ended `completed`; otherwise why not.
    pub outcome: Result<(), String>,
}

/// Runs one payment on `call`, within `limit`.
pub async fn pay(
    api: &Api,
    sw: &SwitchSide,
    call: &Call,
    method: Method,
    limit: Duration,
) -> PaymentResult {
    let mut to_ready = None;
    let outcome =
        match tokio::time::timeout(limit, steps(api, sw, call, method, &mut to_ready)).await {
            Ok(r) => r,
            Err(_) => Err(format!("not done within {limit:?}")),
        };
    PaymentResult {
        method,
        to_ready,
        outcome,
    }
}

async fn steps(
    api: &Api,
    sw: &SwitchSide,
    call: &Call,
    method: Method,
    to_ready: &mut Option<Duration>,
) -> Result<(), String> {
    let t0 = Instant::now();
    let id = api.start(&call.customer).await.map_err(|e| e.to_string())?;
    let mut stream = api.follow(&id).await.map_err(|e| e.to_string())?;
    let mut keyed = false;
    while let Some(view) = stream.next().await {
        match view["state"].as_str().unwrap_or("") {
            "ready" if to_ready.is_none() => {
                *to_ready = Some(t0.elapsed());
                let started = match method {
                    Method::Keyphone => sw.key(&call.phone, "1").await.map_err(|e| e.to_string()),
                    Method::Aca => api.capture(&id).await.map_err(|e| e.to_string()),
                };
                started.map_err(|e| format!("at ready: {e}"))?;
            }
            "capturing" if !keyed => {
                keyed = true;
                expect_capture(sw, call, &view)?;
                sw.key(&call.phone, &format!("{CARD}#"))
                    .await
                    .map_err(|e| format!("keying the card: {e}"))?;
            }
            "done" => {
                let code = view["outcome"]["code"].as_str().unwrap_or("?");
                return match code {
                    "completed" => Ok(()),
                    other => Err(format!("ended {other} in the daemon")),
                };
            }
            _ => {}
        }
    }
    Err("the session's event stream ended before done".into())
}

/// The session (a view while capturing) keys `call`'s agent ID into its capture leg: the leg's report
/// must then carry that ID.
fn expect_capture(sw: &SwitchSide, call: &Call, view: &serde_json::Value) -> Result<(), String> {
    let session_id = view["agent_id"].as_str().unwrap_or("");
    if session_id != call.agent_id {
        return Err(format!(
            "the session carries agent ID {session_id:?}, its call {:?}",
            call.agent_id
        ));
    }
    let capture = view["capture"]
        .as_str()
        .ok_or("no capture leg in the capturing session's view")?;
    sw.captures.expect(capture, &call.agent_id);
    Ok(())
}
