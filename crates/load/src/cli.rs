//! The load tool's command line, read once by clap: the simulator mode (the default), the
//! real-switch mode (`--switch ADDR`), and the simulator process a load run starts
//! (`--sim-side …`, the rest handed to `confpay-sim`'s own command line).
//!
//! Some defaults differ by mode (`--calls`, `--batch`): the fields are optional here and
//! [`Cli::into_mode`] fills them in for the mode chosen. Options of one mode are refused in the
//! other rather than silently ignored.

use crate::load::LoadOptions;
use crate::realswitch::daemon::DaemonSettings;
use crate::realswitch::{Methods, RealOptions, STARTED_PID};
use crate::simproc::SimCommand;
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Concurrent payments against the simulator (in its own process) or a real FreeSWITCH
#[derive(Debug, Parser)]
#[command(
    name = "confpay-load",
    disable_version_flag = true,
    after_help = "Simulator mode: one run per N of --calls and per --stagger-ms, each in a fresh daemon \
                  and simulator; RUST_LOG=warn prints warnings of both to stderr.\n\
                  Real-switch mode (--switch): a fresh confpayd per step against a test FreeSWITCH \
                  running the load conf (crates/load/freeswitch/install.py); it hangs up every call \
                  on that switch; stepping stops at the first step where a payment did not complete."
)]
pub struct Cli {
    /// Concurrent payments per run (simulator: one run each; real switch: the steps, rising)
    /// [default: 100; with --switch 5,10,20,40,80,160,320]
    #[arg(long, value_name = "N,...", value_delimiter = ',', value_parser = at_least_one)]
    calls: Vec<usize>,

    /// Pauses between successive payment starts, one run each (simulator mode) [default: 0]
    #[arg(
        long,
        value_name = "MS,...",
        value_delimiter = ',',
        conflicts_with = "switch"
    )]
    stagger_ms: Vec<u64>,

    /// The daemon's pause before keying the agent ID (production default) [default: 1000]
    #[arg(long, value_name = "MS")]
    agent_id_delay_ms: Option<u64>,

    /// Limit for the calls to get ready, and for each payment [default: 120]
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..))]
    deadline_s: Option<u64>,

    /// Calls placed at once while setting up [default: 100; with --switch 10]
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    batch: Option<usize>,

    /// Set the calls up and measure them idle; start no payment (simulator mode)
    #[arg(long, conflicts_with = "switch")]
    idle_only: bool,

    /// Real-switch mode: FreeSWITCH's event socket (a test switch: every call on it is hung up)
    #[arg(long, value_name = "ADDR")]
    switch: Option<String>,

    /// The switch's event-socket password [default: ClueCon]
    #[arg(
        long,
        value_name = "PW",
        allow_hyphen_values = true,
        requires = "switch"
    )]
    password: Option<String>,

    /// How capture starts (real switch); both: Keyphone and ACA alternating [default: both]
    #[arg(long, value_enum, requires = "switch")]
    method: Option<MethodArg>,

    /// The confpayd binary [default: the confpayd beside this program]
    #[arg(long, value_name = "PATH", requires = "switch")]
    confpayd: Option<PathBuf>,

    /// FreeSWITCH's pid, for its CPU [default: from the test install's started.pid]
    #[arg(long, value_name = "PID", requires = "switch")]
    freeswitch_pid: Option<u32>,

    /// Where each step's daemon keeps its configuration and log [default: a directory in /tmp]
    #[arg(long, value_name = "DIR", requires = "switch")]
    workdir: Option<PathBuf>,

    /// The daemon's outbound listener, where the switch's dialplan points [default: 127.0.0.1:8084]
    #[arg(long, value_name = "ADDR", requires = "switch")]
    outbound: Option<SocketAddr>,

    /// Internal: run as a load run's simulator process; the values are confpay-sim's options
    #[arg(
        long,
        value_name = "SIM-OPTION",
        num_args = 0..,
        allow_hyphen_values = true,
        exclusive = true
    )]
    sim_side: Option<Vec<String>>,
}

/// `--method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    Keyphone,
    Aca,
    Both,
}

impl From<MethodArg> for Methods {
    fn from(m: MethodArg) -> Methods {
        match m {
            MethodArg::Keyphone => Methods::Keyphone,
            MethodArg::Aca => Methods::Aca,
            MethodArg::Both => Methods::Both,
        }
    }
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Mode {
    /// Load runs against the simulator.
    Sim(SimRuns),
    /// Capacity steps on a real FreeSWITCH.
    Switch(RealOptions),
    /// Be the simulator process of a load run, with these simulator options.
    SimSide(Vec<String>),
}

/// The simulator mode's runs: one per N and per stagger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRuns {
    pub calls: Vec<usize>,
    pub staggers: Vec<Duration>,
    pub agent_id_delay: Duration,
    pub deadline: Duration,
    pub batch: usize,
    pub idle_only: bool,
}

impl SimRuns {
    /// Every run's options, in order (N outer, stagger inner); `sim` starts the simulator.
    pub fn runs(&self, sim: &SimCommand) -> Vec<LoadOptions> {
        let mut all = Vec::with_capacity(self.calls.len() * self.staggers.len());
        for &calls in &self.calls {
            for &stagger in &self.staggers {
                all.push(LoadOptions {
                    calls,
                    deadline: self.deadline,
                    agent_id_delay: self.agent_id_delay,
                    batch: self.batch,
                    stagger,
                    sim: sim.clone(),
                    idle_only: self.idle_only,
                });
            }
        }
        all
    }
}

/// A command line that parsed but cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("no FreeSWITCH pid: give --freeswitch-pid (no readable {STARTED_PID})")]
    NoPid,
    #[error("cannot find this program's directory for confpayd: give --confpayd")]
    NoDaemon,
}

impl Cli {
    /// Parses the arguments after the program name.
    pub fn parse_args<I, S>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let line =
            std::iter::once("confpay-load".to_owned()).chain(args.into_iter().map(Into::into));
        Cli::try_parse_from(line)
    }

    /// The mode asked for, with every default filled in.
    pub fn into_mode(self) -> Result<Mode, CliError> {
        self.into_mode_with(Path::new(STARTED_PID))
    }

    /// [`Cli::into_mode`], reading FreeSWITCH's pid (when not given) from `started_pid`.
    fn into_mode_with(self, started_pid: &Path) -> Result<Mode, CliError> {
        if let Some(sim) = self.sim_side {
            return Ok(Mode::SimSide(sim));
        }
        let agent_id_delay_ms = self.agent_id_delay_ms.unwrap_or(1000);
        let deadline = Duration::from_secs(self.deadline_s.unwrap_or(120));
        let Some(esl) = self.switch else {
            let staggers = match self.stagger_ms.is_empty() {
                true => vec![0],
                false => self.stagger_ms,
            };
            return Ok(Mode::Sim(SimRuns {
                calls: or_default(self.calls, &[100]),
                staggers: staggers.into_iter().map(Duration::from_millis).collect(),
                agent_id_delay: Duration::from_millis(agent_id_delay_ms),
                deadline,
                batch: self.batch.unwrap_or(100),
                idle_only: self.idle_only,
            }));
        };
        let freeswitch_pid = match self.freeswitch_pid {
            Some(pid) => pid,
            None => std::fs::read_to_string(started_pid)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or(CliError::NoPid)?,
        };
        let confpayd = match self.confpayd {
            Some(p) => p,
            None => std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("confpayd")))
                .ok_or(CliError::NoDaemon)?,
        };
        let workdir = self.workdir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("confpay-load-real-{}", std::process::id()))
        });
        Ok(Mode::Switch(RealOptions {
            daemon: DaemonSettings {
                program: confpayd,
                esl,
                password: self.password.unwrap_or_else(|| "ClueCon".to_owned()),
                outbound: self
                    .outbound
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8084))),
                capture_dial: "sofia/gateway/paytia/pay".to_owned(),
                agent_id_delay_ms,
                calls: 0,
            },
            freeswitch_pid,
            steps: or_default(self.calls, &[5, 10, 20, 40, 80, 160, 320]),
            methods: self.method.map_or(Methods::Both, Methods::from),
            batch: self.batch.unwrap_or(10),
            deadline,
            workdir,
        }))
    }
}

fn or_default(given: Vec<usize>, default: &[usize]) -> Vec<usize> {
    match given.is_empty() {
        true => default.to_vec(),
        false => given,
    }
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
