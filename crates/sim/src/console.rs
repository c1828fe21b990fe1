//! The line-command console of the standalone simulator: integrators (a CTI desktop, a CRM) drive calls
//! by hand or by script while their ESL client talks to the simulator.
//!
//! One command per line; each answer is one or more lines, errors start with `-ERR`. The DTMF log shows
//! digits: this is a simulator, never feed it real card data.

use crate::Simulator;
use crate::hearing::{DtmfOrigin, Source};
use crate::party::Party;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// The `help` text.
pub const HELP: &str = "\
commands:
  call <destination> [customer-name]   a customer calls <destination> (e.g. confpay, attach, park);
                                       prints the new channel's uuid; `{var=value,...}<destination>`
                                       sets channel variables first, as the call's routing would
                                       (e.g. call {confpay_agent_id=1234}confpay-routed)
  press <uuid> <digits>                the far end of <uuid> presses DTMF digits
  hangup <uuid> [cause]                hang <uuid> up (default NORMAL_CLEARING)
  channels                             live channels: uuid, name, application
  hearing                              who hears whom
  dtmf-log                             digits delivered to far ends (simulator only: no real card data)
  api <command> [args]                 run an API command as `api` over ESL would
  restart                              FreeSWITCH restarts: connections drop, calls are gone, new Core-UUID
  fault drop                           drop every ESL connection now
  fault delay <ms>                     delay each reply by <ms> (0 = off)
  fault err <command-prefix> <-ERR text>  the next command starting with the prefix gets this reply
  fault drip on|off                    write frames one byte at a time
  fault split on|off                   write each frame in two parts
  help                                 this text
  quit                                 stop the simulator
";

/// What a command line did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Print this (may be empty) and read the next line.
    Reply(String),
    /// Print this and stop.
    Quit(String),
}

/// The console over one running simulator.
#[derive(Debug)]
pub struct Console {
    sim: Simulator,
    callers: u32,
}

impl Console {
    pub fn new(sim: Simulator) -> Console {
        Console { sim, callers: 0 }
    }

    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Stops the simulator (listeners and connections).
    pub fn shutdown(self) {
        self.sim.shutdown();
    }

    /// Runs one command line.
    pub async fn execute(&mut self, line: &str) -> Outcome {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            [] => String::new(),
            ["help"] => HELP.to_owned(),
            ["quit"] | ["exit"] => return Outcome::Quit("+OK bye\n".into()),
            ["call", dest, rest @ ..] => self.call(dest, rest),
            ["press", uuid, digits] => match self.sim.core().press(uuid, digits) {
                Ok(()) => "+OK\n".into(),
                Err(e) => format!("-ERR {e}\n"),
            },
            ["hangup", uuid, rest @ ..] => {
                let cause = rest.first().copied().unwrap_or("NORMAL_CLEARING");
                match self.sim.core().hangup(uuid, cause) {
                    Ok(()) => "+OK\n".into(),
                    Err(e) => format!("-ERR {e}\n"),
                }
            }
            ["channels"] => self.channels(),
            ["hearing"] => self.hearing(),
            ["dtmf-log"] => self.dtmf_log(),
            ["api", cmd, ..] => {
                let args = line
                    .trim_start()
                    .strip_prefix("api")
                    .map(str::trim_start)
                    .and_then(|s| s.strip_prefix(cmd))
                    .unwrap_or("");
                let mut out = self.sim.core().api(cmd, args).await;
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                out
            }
            ["restart"] => {
                self.sim.restart();
                format!("+OK restarted, Core-UUID {}\n", self.sim.core().core_uuid())
            }
            ["fault", rest @ ..] => self.fault(rest),
            _ => format!("-ERR unknown or incomplete command: {}\n", line.trim()),
        };
        Outcome::Reply(reply)
    }

    fn call(&mut self, dest: &str, rest: &[&str]) -> String {
        let Some((vars, dest)) = routing_vars(dest) else {
            return format!("-ERR bad variables, want {{name=value,...}}<destination>: {dest}\n");
        };
        self.callers += 1;
        let name = match rest {
            [] => format!("customer-{}", self.callers),
            words => words.join(" "),
        };
        let number = format!("555{:04}", self.callers);
        let party = Party::customer(&name);
        match self
            .sim
            .core()
            .incoming_call_with(&party, dest, &name, &number, &vars)
        {
            Ok(uuid) => format!("{uuid}\n"),
            Err(e) => format!("-ERR {e}\n"),
        }
    }

    fn channels(&self) -> String {
        let core = self.sim.core();
        let uuids = core.channel_uuids();
        let mut out = String::new();
        for u in &uuids {
            let app = core.current_app(u).unwrap_or_default();
            let name = core.var(u, "channel_name").unwrap_or_default();
            out.push_str(&format!("{u} {name} {app}\n"));
        }
        out.push_str(&format!("{} total.\n", uuids.len()));
        out
    }

    fn hearing(&self) -> String {
        let h = self.sim.core().hearing();
        let mut out = String::new();
        for (listener, sources) in &h.parties {
            let heard: Vec<String> = sources
                .iter()
                .map(|s| match s {
                    Source::Party(p) => p.clone(),
                    Source::Music(f) => format!("music({f})"),
                })
                .collect();
            let heard = if heard.is_empty() {
                "nothing".to_owned()
            } else {
                heard.join(", ")
            };
            out.push_str(&format!("{listener} hears {heard}\n"));
        }
        if out.is_empty() {
            out.push_str("no parties\n");
        }
        out
    }

    fn dtmf_log(&self) -> String {
        let log = self.sim.core().dtmf_log();
        let mut out = String::new();
        for d in &log {
            let from = match &d.origin {
                DtmfOrigin::Party(p) => format!("party {p}"),
                DtmfOrigin::Api(cmd) => format!("api {cmd}"),
            };
            out.push_str(&format!(
                "{} {} {} from {from}\n",
                d.party, d.channel, d.digit
            ));
        }
        out.push_str(&format!("{} digits.\n", log.len()));
        out
    }

    fn fault(&self, rest: &[&str]) -> String {
        let f = self.sim.faults();
        let on_off = |v: &str| match v {
            "on" => Some(true),
            "off" => Some(false),
            _ => None,
        };
        match rest {
            ["drop"] => {
                f.drop_connections();
                "+OK connections dropped\n".into()
            }
            ["delay", ms] => match ms.parse::<u64>() {
                Ok(0) => {
                    f.delay_replies(None);
                    "+OK no reply delay\n".into()
                }
                Ok(ms) => {
                    f.delay_replies(Some(Duration::from_millis(ms)));
                    format!("+OK replies delayed {ms} ms\n")
                }
                Err(_) => "-ERR fault delay <ms>\n".into(),
            },
            ["err", words @ ..] => {
                // The reply text starts at the first word beginning with `-` or `+`.
                let split = words
                    .iter()
                    .position(|w| w.starts_with('-') || w.starts_with('+'));
                match split {
                    Some(i) if i > 0 => {
                        let prefix = words[..i].join(" ");
                        let text = words[i..].join(" ");
                        f.fail_next(&prefix, &text);
                        format!("+OK next `{prefix}` answers `{text}`\n")
                    }
                    _ => "-ERR fault err <command-prefix> <-ERR text>\n".into(),
                }
            }
            ["drip", v] => match on_off(v) {
                Some(on) => {
                    f.slow_drip(on.then_some(Duration::from_millis(1)));
                    format!("+OK drip {v}\n")
                }
                None => "-ERR fault drip on|off\n".into(),
            },
            ["split", v] => match on_off(v) {
                Some(on) => {
                    f.split_frames(on.then_some(Duration::from_millis(5)));
                    format!("+OK split {v}\n")
                }
                None => "-ERR fault split on|off\n".into(),
            },
            _ => "-ERR fault drop|delay <ms>|err <prefix> <text>|drip on|off|split on|off\n".into(),
        }
    }
}

/// Reads command lines from `input` until `quit` or end of input, writing each answer to `output`.
pub async fn run<R, W>(console: &mut Console, input: R, mut output: W) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        match console.execute(&line).await {
            Outcome::Reply(text) => {
                output.write_all(text.as_bytes()).await?;
                output.flush().await?;
            }
            Outcome::Quit(text) => {
                output.write_all(text.as_bytes()).await?;
                output.flush().await?;
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Splits `{a=1,b=2}dest` into its variables and the destination (no braces: none). `None` when
/// the braces are not closed or an entry has no `=` and name.
fn routing_vars(word: &str) -> Option<(Vec<(String, String)>, &str)> {
    let Some(inner) = word.strip_prefix('{') else {
        return Some((Vec::new(), word));
    };
    let (list, dest) = inner.split_once('}')?;
    let vars = list
        .split(',')
        .filter(|e| !e.is_empty())
        .map(|e| match e.split_once('=') {
            Some((n, v)) if !n.is_empty() => Some((n.to_owned(), v.to_owned())),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((vars, dest))
}
