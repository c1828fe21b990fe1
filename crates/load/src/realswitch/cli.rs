//! The command line of real-switch mode:
//!
//! `confpay-load --switch 127.0.0.1:8021 [--password ClueCon] [--calls 5,10,20,40,80,160,320]
//! [--method keyphone|aca|both] [--batch 10] [--deadline-s 120] [--agent-id-delay-ms 1000]
//! [--confpayd PATH] [--freeswitch-pid PID] [--workdir DIR]`
//!
//! `--confpayd` defaults to the `confpayd` beside this program (both built by
//! `cargo build --release -p confpay -p confpay-load`); `--freeswitch-pid` to the pid file of
//! the test install's `start.sh` ([`super::STARTED_PID`]).

use super::daemon::DaemonSettings;
use super::{Methods, RealOptions, STARTED_PID};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A bad command line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{flag}: cannot read {value:?}")]
    Value { flag: &'static str, value: String },
    #[error("no FreeSWITCH pid: give --freeswitch-pid (no readable {STARTED_PID})")]
    NoPid,
    #[error("cannot find this program's directory for confpayd: give --confpayd")]
    NoDaemon,
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn parsed<T: std::str::FromStr>(
    args: &[String],
    flag: &'static str,
    default: &str,
) -> Result<T, CliError> {
    let value = arg(args, flag).unwrap_or(default);
    value.parse().map_err(|_| CliError::Value {
        flag,
        value: value.to_owned(),
    })
}

/// Real-switch options from the command line (`args` as `std::env::args`, `--switch` present).
pub fn options(args: &[String]) -> Result<RealOptions, CliError> {
    let esl: String = parsed(args, "--switch", "127.0.0.1:8021")?;
    let steps = arg(args, "--calls").unwrap_or("5,10,20,40,80,160,320");
    let steps = steps
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| CliError::Value {
            flag: "--calls",
            value: steps.to_owned(),
        })?;
    let methods = match arg(args, "--method").unwrap_or("both") {
        "keyphone" => Methods::Keyphone,
        "aca" => Methods::Aca,
        "both" => Methods::Both,
        other => {
            return Err(CliError::Value {
                flag: "--method",
                value: other.to_owned(),
            });
        }
    };
    let freeswitch_pid = match arg(args, "--freeswitch-pid") {
        Some(_) => parsed(args, "--freeswitch-pid", "")?,
        None => std::fs::read_to_string(STARTED_PID)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or(CliError::NoPid)?,
    };
    let confpayd = match arg(args, "--confpayd") {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("confpayd")))
            .ok_or(CliError::NoDaemon)?,
    };
    let workdir = match arg(args, "--workdir") {
        Some(p) => PathBuf::from(p),
        None => std::env::temp_dir().join(format!("confpay-load-real-{}", std::process::id())),
    };
    let outbound: SocketAddr = parsed(args, "--outbound", "127.0.0.1:8084")?;
    Ok(RealOptions {
        daemon: DaemonSettings {
            program: confpayd,
            esl,
            password: parsed(args, "--password", "ClueCon")?,
            outbound,
            capture_dial: "sofia/gateway/paytia/pay".to_owned(),
            agent_id_delay_ms: parsed(args, "--agent-id-delay-ms", "1000")?,
            calls: 0,
        },
        freeswitch_pid,
        steps,
        methods,
        batch: parsed(args, "--batch", "10")?,
        deadline: Duration::from_secs(parsed(args, "--deadline-s", "120")?),
        workdir,
    })
}

/// Runs real-switch mode on a single-thread runtime (the tool's own load stays on one core);
/// true when every step's payments all completed.
pub fn main(args: &[String]) -> Result<bool, Box<dyn std::error::Error>> {
    let opts = options(args)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reports = rt.block_on(super::run(&opts))?;
    let best = reports
        .iter()
        .filter(|r| r.all_completed())
        .map(|r| r.calls)
        .max();
    match best {
        Some(n) => println!("real switch: largest step with every payment completed: {n}"),
        None => println!("real switch: no step completed every payment"),
    }
    Ok(reports.iter().all(|r| r.all_completed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_read_the_command_line() {
        let o = options(&args(
            "load --switch 127.0.0.1:9021 --calls 5,10 --method aca --freeswitch-pid 42 \
             --confpayd /x/confpayd --batch 4 --deadline-s 30 --agent-id-delay-ms 300",
        ))
        .expect("options");
        assert_eq!(o.daemon.esl, "127.0.0.1:9021");
        assert_eq!(o.steps, vec![5, 10]);
        assert_eq!(o.methods, Methods::Aca);
        assert_eq!(o.freeswitch_pid, 42);
        assert_eq!(o.daemon.program, PathBuf::from("/x/confpayd"));
        assert_eq!((o.batch, o.deadline), (4, Duration::from_secs(30)));
        assert_eq!(o.daemon.agent_id_delay_ms, 300);
        assert_eq!(o.daemon.outbound.port(), 8084);
        assert!(matches!(
            options(&args("load --switch x --freeswitch-pid 1 --method card")),
            Err(CliError::Value {
                flag: "--method",
                ..
            })
        ));
        assert!(matches!(
            options(&args("load --switch x --freeswitch-pid 1 --calls 5,ten")),
            Err(CliError::Value {
                flag: "--calls",
                ..
            })
        ));
    }

    #[test]
    fn both_methods_alternate() {
        let m: Vec<_> = (0..4).map(|i| Methods::Both.for_call(i).name()).collect();
        assert_eq!(m, ["keyphone", "aca", "keyphone", "aca"]);
        assert_eq!(Methods::Aca.for_call(0).name(), "aca");
    }
}
