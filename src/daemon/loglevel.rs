//! FreeSWITCH's own log ceiling, checked at start-up and after every reconnect.
//!
//! With `sensitive_dtmf` the customer's digits still reach FreeSWITCH's INFO and DEBUG log lines on
//! some paths (`RECV DTMF` on the receiving side of the conference relay, SIP INFO, inband detection;
//! see the facts doc, "Where digits leak"). The only switch-wide guard is the hard log ceiling
//! (`runtime.hard_log_level`: switch.conf.xml `loglevel`, vanilla `debug`, or `fsctl loglevel`).
//! `api fsctl loglevel` without a level reports it (mod_commands `ctl_function`:
//! `+OK log level: DEBUG [7]`); at INFO (6) or above the daemon warns. It never changes the level:
//! that is the operator's call.

use crate::pay::session::Switch;
use tracing::{info, warn};

/// INFO: the first level whose lines can carry a digit (`RECV DTMF`, `EXECUTE`).
pub const FIRST_LEAKING_LEVEL: i32 = 6;

/// What FreeSWITCH said about its log ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogCeiling {
    /// NOTICE or quieter: INFO and DEBUG lines are dropped for every logger.
    Safe { name: String, level: i32 },
    /// INFO or DEBUG: lines that can carry card digits are logged.
    Verbose { name: String, level: i32 },
    /// No usable answer (older FreeSWITCH answers `-ERR syntax error…` to a bare `fsctl loglevel`,
    /// or the command failed).
    Unknown { reply: String },
}

/// Parses `+OK log level: <NAME> [<n>]`.
pub fn parse(reply: &str) -> Option<(String, i32)> {
    let rest = reply.trim_end().strip_prefix("+OK log level: ")?;
    let (name, num) = rest.rsplit_once(" [")?;
    let level = num.strip_suffix(']')?.parse::<i32>().ok()?;
    Some((name.to_owned(), level))
}

/// Classifies an `fsctl loglevel` answer.
pub fn classify(reply: Result<&str, &str>) -> LogCeiling {
    match reply {
        Ok(body) => match parse(body) {
            Some((name, level)) if level >= FIRST_LEAKING_LEVEL => {
                LogCeiling::Verbose { name, level }
            }
            Some((name, level)) => LogCeiling::Safe { name, level },
            None => LogCeiling::Unknown {
                reply: body.trim_end().to_owned(),
            },
        },
        Err(e) => LogCeiling::Unknown {
            reply: e.to_owned(),
        },
    }
}

/// Asks FreeSWITCH and logs the verdict (a warning when digits could reach its logs).
pub async fn check(switch: &dyn Switch) -> LogCeiling {
    let reply = switch.api("fsctl loglevel".to_owned()).await;
    let verdict = classify(reply.as_deref().map_err(String::as_str));
    match &verdict {
        LogCeiling::Verbose { name, level } => warn!(
            freeswitch_log_level = %name,
            level = *level,
            "FreeSWITCH logs INFO/DEBUG lines, which can record card digits (RECV DTMF, SIP INFO); \
             set <param name=\"loglevel\" value=\"notice\"/> in switch.conf.xml \
             (or run `fsctl loglevel notice`) on a payment server"
        ),
        LogCeiling::Safe { name, level } => info!(
            freeswitch_log_level = %name,
            level = *level,
            "FreeSWITCH log ceiling keeps INFO/DEBUG lines out"
        ),
        LogCeiling::Unknown { reply } => warn!(
            reply = %reply,
            "could not read FreeSWITCH's log level (fsctl loglevel); make sure it is NOTICE or \
             quieter on a payment server"
        ),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::session::BoxFut;

    struct Answer(Result<String, String>);

    impl Switch for Answer {
        fn api(&self, cmd: String) -> BoxFut<Result<String, String>> {
            assert_eq!(cmd, "fsctl loglevel");
            let r = self.0.clone();
            Box::pin(async move { r })
        }
        fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, String>> {
            Box::pin(async { Err("not used".to_owned()) })
        }
    }

    #[test]
    fn parses_the_mod_commands_reply() {
        assert_eq!(
            parse("+OK log level: DEBUG [7]\n"),
            Some(("DEBUG".to_owned(), 7))
        );
        assert_eq!(
            parse("+OK log level: NOTICE [5]\n"),
            Some(("NOTICE".to_owned(), 5))
        );
        assert_eq!(parse("-ERR syntax error, log level not set!\n"), None);
        assert_eq!(parse("+OK log level: DEBUG [x]\n"), None);
        assert_eq!(parse(""), None);
    }

    #[tokio::test]
    async fn warns_from_info_up_and_not_below() {
        let cases = [
            (
                Ok("+OK log level: DEBUG [7]\n"),
                LogCeiling::Verbose {
                    name: "DEBUG".into(),
                    level: 7,
                },
            ),
            (
                Ok("+OK log level: INFO [6]\n"),
                LogCeiling::Verbose {
                    name: "INFO".into(),
                    level: 6,
                },
            ),
            (
                Ok("+OK log level: NOTICE [5]\n"),
                LogCeiling::Safe {
                    name: "NOTICE".into(),
                    level: 5,
                },
            ),
            (
                Ok("-ERR syntax error, log level not set!\n"),
                LogCeiling::Unknown {
                    reply: "-ERR syntax error, log level not set!".into(),
                },
            ),
            (
                Err("api got no reply within 5s"),
                LogCeiling::Unknown {
                    reply: "api got no reply within 5s".into(),
                },
            ),
        ];
        for (reply, want) in cases {
            let sw = Answer(reply.map(str::to_owned).map_err(str::to_owned));
            assert_eq!(check(&sw).await, want);
        }
    }
}
