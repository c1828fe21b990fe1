//! FreeSWITCH's own log ceiling, read at start-up and after every reconnect.
//!
//! With `sensitive_dtmf` the customer's digits still reach FreeSWITCH's INFO and DEBUG log lines on
//! some paths (`RECV DTMF` on the receiving side of the conference relay, SIP INFO, inband detection;
//! see the facts doc, "Where digits leak"). The only switch-wide guard is the hard log ceiling
//! (`runtime.hard_log_level`): switch.conf.xml `loglevel`, DEBUG when unset (vanilla ships `debug`).
//! At INFO (6) or above the daemon warns. It never changes the level: that is the operator's call.
//!
//! How it is read: `xml_locate configuration configuration name switch.conf`, the configuration
//! FreeSWITCH loaded (read-only). Never `fsctl loglevel` without a level: on FreeSWITCH 1.11.3 that
//! *sets* the ceiling to DISABLE (-1) and answers `+OK log level: DISABLE [-1]`, silencing every log
//! line of the switch, errors included (seen on the real switch; `SCSC_LOGLEVEL` takes any value
//! from `SWITCH_LOG_DISABLE` up). A ceiling changed at run time with `fsctl loglevel <level>` is
//! therefore not visible to the daemon: no read-only command reports it.

use crate::pay::switch::{Switch, SwitchError};
use tracing::{info, warn};

/// INFO: the first level whose lines can carry a digit (`RECV DTMF`, `EXECUTE`).
pub const FIRST_LEAKING_LEVEL: i32 = 6;

/// The API command that reads the configured ceiling.
pub const READ_COMMAND: &str = "xml_locate configuration configuration name switch.conf";

/// FreeSWITCH's level names (`switch_log_str2level`), by number.
const LEVELS: [&str; 8] = [
    "console", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// What FreeSWITCH's configuration says about its log ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogCeiling {
    /// NOTICE or quieter: INFO and DEBUG lines are dropped for every logger.
    Safe { name: String, level: i32 },
    /// INFO or DEBUG: lines that can carry card digits are logged.
    Verbose { name: String, level: i32 },
    /// No usable answer (no switch.conf, or the command failed).
    Unknown { reply: String },
}

/// The `loglevel` of a `switch.conf` configuration as `xml_locate` prints it: its name and number.
/// Unset means FreeSWITCH's default, DEBUG. `None` when `xml` is not that configuration or the
/// value is not a level.
pub fn configured(xml: &str) -> Option<(String, i32)> {
    let xml = xml.trim_start();
    if !xml.starts_with("<configuration") || !xml.contains("name=\"switch.conf\"") {
        return None;
    }
    let Some(value) = xml.split("<param ").find_map(|p| {
        let name = attr(p, "name")?;
        name.eq_ignore_ascii_case("loglevel")
            .then(|| attr(p, "value"))
            .flatten()
    }) else {
        return Some(("debug".to_owned(), 7));
    };
    let level = match value.parse::<i32>() {
        Ok(n) => n.clamp(-1, 7),
        Err(_) if value.eq_ignore_ascii_case("error") => 3,
        Err(_) => LEVELS
            .iter()
            .position(|l| l.eq_ignore_ascii_case(value))
            .and_then(|i| i32::try_from(i).ok())?,
    };
    Some((value.to_ascii_lowercase(), level))
}

/// The value of `name="..."` in the text of one XML element's start.
fn attr<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let start = element.find(&format!("{name}=\""))? + name.len() + 2;
    let len = element[start..].find('"')?;
    Some(&element[start..start + len])
}

/// Classifies the answer to [`READ_COMMAND`].
pub fn classify(reply: Result<&str, &SwitchError>) -> LogCeiling {
    match reply {
        Ok(body) => match configured(body) {
            Some((name, level)) if level >= FIRST_LEAKING_LEVEL => {
                LogCeiling::Verbose { name, level }
            }
            Some((name, level)) => LogCeiling::Safe { name, level },
            None => LogCeiling::Unknown {
                reply: body.trim_end().chars().take(200).collect(),
            },
        },
        // Whatever kept the answer away, the ceiling is not known: the warning says why.
        Err(e) => LogCeiling::Unknown {
            reply: e.to_string(),
        },
    }
}

/// Asks FreeSWITCH and logs the verdict (a warning when digits could reach its logs).
pub async fn check(switch: &dyn Switch) -> LogCeiling {
    let reply = switch.api(READ_COMMAND.to_owned()).await;
    let verdict = classify(reply.as_deref());
    match &verdict {
        LogCeiling::Verbose { name, level } => warn!(
            freeswitch_log_level = %name,
            level = *level,
            "FreeSWITCH logs INFO/DEBUG lines, which can record card digits (RECV DTMF, SIP INFO); \
             set <param name=\"loglevel\" value=\"notice\"/> in switch.conf.xml \
             (and `fsctl loglevel notice` until FreeSWITCH restarts) on a payment server"
        ),
        LogCeiling::Safe { name, level } => info!(
            freeswitch_log_level = %name,
            level = *level,
            "FreeSWITCH's configured log ceiling keeps INFO/DEBUG lines out"
        ),
        LogCeiling::Unknown { reply } => warn!(
            reply = %reply,
            "could not read FreeSWITCH's log ceiling (switch.conf loglevel); make sure it is \
             NOTICE or quieter on a payment server"
        ),
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pay::switch::BoxFut;

    struct Answer(Result<String, SwitchError>);

    impl Switch for Answer {
        fn api(&self, cmd: String) -> BoxFut<Result<String, SwitchError>> {
            // Never the bare `fsctl loglevel`, which silences FreeSWITCH.
            assert_eq!(cmd, READ_COMMAND);
            let r = self.0.clone();
            Box::pin(async move { r })
        }
        fn bgapi(&self, _cmd: String) -> BoxFut<Result<String, SwitchError>> {
            unreachable!("the log ceiling is read with `api`")
        }
    }

    /// `xml_locate` output as FreeSWITCH 1.11.3 prints it.
    fn switch_conf(loglevel: Option<&str>) -> String {
        let param = loglevel
            .map(|l| format!("        <param name=\"loglevel\" value=\"{l}\"></param>\n\n"))
            .unwrap_or_default();
        format!(
            "<configuration name=\"switch.conf\" description=\"Core Configuration\">\n    <settings>\n        \
             <param name=\"switchname\" value=\"fs1.example\"></param>\n\n{param}        \
             <param name=\"max-sessions\" value=\"1000\"></param>\n\n  </settings>\n</configuration>\n"
        )
    }

    #[test]
    fn reads_the_configured_level_by_name_or_number() {
        assert_eq!(
            configured(&switch_conf(Some("notice"))),
            Some(("notice".into(), 5))
        );
        assert_eq!(
            configured(&switch_conf(Some("DEBUG"))),
            Some(("debug".into(), 7))
        );
        assert_eq!(configured(&switch_conf(Some("6"))), Some(("6".into(), 6)));
        assert_eq!(
            configured(&switch_conf(Some("error"))),
            Some(("error".into(), 3))
        );
        // Unset: FreeSWITCH's own default ceiling.
        assert_eq!(configured(&switch_conf(None)), Some(("debug".into(), 7)));
        assert_eq!(configured(&switch_conf(Some("loud"))), None);
        assert_eq!(configured("can't find anything\n"), None);
        assert_eq!(configured("-ERR bad args\n"), None);
        assert_eq!(
            configured(
                "<configuration name=\"other.conf\"><param name=\"loglevel\" value=\"info\"/>"
            ),
            None
        );
    }

    #[tokio::test]
    async fn warns_from_info_up_and_not_below() {
        let verbose = |n: &str, level| LogCeiling::Verbose {
            name: n.into(),
            level,
        };
        let cases = [
            (Ok(switch_conf(Some("debug"))), verbose("debug", 7)),
            (Ok(switch_conf(Some("info"))), verbose("info", 6)),
            (Ok(switch_conf(None)), verbose("debug", 7)),
            (
                Ok(switch_conf(Some("notice"))),
                LogCeiling::Safe {
                    name: "notice".into(),
                    level: 5,
                },
            ),
            (
                Ok("can't find anything\n".to_owned()),
                LogCeiling::Unknown {
                    reply: "can't find anything".into(),
                },
            ),
            (
                Err(SwitchError::Timeout {
                    command: "api",
                    after: std::time::Duration::from_secs(5),
                }),
                LogCeiling::Unknown {
                    reply: "`api` got no reply within 5s".into(),
                },
            ),
        ];
        for (reply, want) in cases {
            assert_eq!(check(&Answer(reply)).await, want);
        }
    }
}
