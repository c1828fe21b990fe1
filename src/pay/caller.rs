//! Who is on the customer leg, as FreeSWITCH knows them, and since when the call is talking: what
//! the agent page shows instead of a channel UUID.
//!
//! Read from the switch with `uuid_getvar`, never from an event or a peer's claim alone. Besides the
//! channel variables, `uuid_getvar` falls back to the channel's caller-profile fields; checked on
//! the real switch (FreeSWITCH 1.11.3): `caller_id_number` and `caller_id_name` give what events
//! carry as `Caller-Caller-ID-Number` / `Caller-Caller-ID-Name`, `answered_time` gives
//! `Caller-Channel-Answered-Time` (microseconds since the Unix epoch, `0` before answer), and a
//! missing channel answers `-ERR No such channel!`.
//!
//! Display only: nothing is decided on these values. A caller name is whatever the far end sent,
//! so it is cut to [`MAX_CHARS`] with control characters dropped, and the page renders it as text.

use super::switch::{Switch, SwitchError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Longest caller number or name kept (characters).
pub const MAX_CHARS: usize = 80;

/// The customer as the switch knows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// `caller_id_number` of the customer's channel.
    pub number: Option<String>,
    /// `caller_id_name` of the customer's channel.
    pub name: Option<String>,
    /// When the talking began: the customer's channel answered (attached and recovered calls) or
    /// the agent answered (dialplan-driven calls, whose customer the daemon answers itself).
    pub answered_at: Option<SystemTime>,
}

/// Reads number, name and answer time of channel `uuid` (three `uuid_getvar`s). A missing channel
/// or unset value gives `None` for that field; only a failure to ask is an error.
pub async fn read(switch: &dyn Switch, uuid: &str) -> Result<Caller, SwitchError> {
    Ok(Caller {
        number: getvar(switch, uuid, "caller_id_number").await?,
        name: getvar(switch, uuid, "caller_id_name").await?,
        answered_at: getvar(switch, uuid, "answered_time")
            .await?
            .as_deref()
            .and_then(parse_micros),
    })
}

/// Number and name only (the answer time is read, or known, elsewhere).
pub async fn read_id(switch: &dyn Switch, uuid: &str) -> Result<Caller, SwitchError> {
    Ok(Caller {
        number: getvar(switch, uuid, "caller_id_number").await?,
        name: getvar(switch, uuid, "caller_id_name").await?,
        answered_at: None,
    })
}

async fn getvar(
    switch: &dyn Switch,
    uuid: &str,
    name: &str,
) -> Result<Option<String>, SwitchError> {
    let reply = switch
        .call_api(format!("uuid_getvar {uuid} {name}"))
        .await?;
    Ok(clean(&reply))
}

/// A `uuid_getvar` reply as a value worth showing: not unset, not an error, no control characters,
/// at most [`MAX_CHARS`].
fn clean(reply: &str) -> Option<String> {
    let v = reply.trim();
    if v.is_empty() || v == "_undef_" || v.starts_with("-ERR") || v.starts_with("-USAGE") {
        return None;
    }
    let kept: String = v
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CHARS)
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// `answered_time`: microseconds since the epoch; `0` (not answered) is `None`.
fn parse_micros(v: &str) -> Option<SystemTime> {
    let us: u64 = v.trim().parse().ok().filter(|us| *us > 0)?;
    UNIX_EPOCH.checked_add(Duration::from_micros(us))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::switch::BoxFut;

    /// Replies as the real switch did (see the module docs).
    struct Fs;
    impl Switch for Fs {
        fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
            let reply = match cmd.as_str() {
                "uuid_getvar c1 caller_id_number" => "0151234567",
                "uuid_getvar c1 caller_id_name" => "Ada Lovelace",
                "uuid_getvar c1 answered_time" => "1796333290186299",
                "uuid_getvar c2 answered_time" => "0",
                c if c.starts_with("uuid_getvar c2") => "_undef_",
                _ => "-ERR No such channel!\n",
            }
            .to_owned();
            Box::pin(async move { Ok(reply) })
        }
        fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
            Box::pin(async { Ok(String::new()) })
        }
    }

    #[tokio::test]
    async fn reads_what_the_switch_says() {
        let c = read(&Fs, "c1").await.expect("asked");
        assert_eq!(c.number.as_deref(), Some("0151234567"));
        assert_eq!(c.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(
            c.answered_at,
            Some(UNIX_EPOCH + Duration::from_micros(1_796_333_290_186_299))
        );
        assert_eq!(read(&Fs, "c2").await.expect("asked"), Caller::default());
        assert_eq!(read(&Fs, "gone").await.expect("asked"), Caller::default());
        let id = read_id(&Fs, "c1").await.expect("asked");
        assert_eq!(id.answered_at, None);
        assert_eq!(id.name.as_deref(), Some("Ada Lovelace"));
    }

    #[test]
    fn names_are_cut_and_stripped() {
        assert_eq!(
            clean("Ada\u{1b}[31m Lovelace\n").as_deref(),
            Some("Ada[31m Lovelace")
        );
        assert_eq!(clean(&"x".repeat(200)).map(|s| s.len()), Some(MAX_CHARS));
        assert_eq!(clean("\u{7}"), None);
        assert_eq!(clean("-USAGE: <uuid> <var>\n"), None);
        assert_eq!(parse_micros("garbage"), None);
    }
}
