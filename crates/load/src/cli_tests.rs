//! Every `confpay-load` invocation README.md and BENCHMARKS.md document parses to what it always
//! meant; mistakes are refused with clap's message.

use super::*;
use clap::CommandFactory;
use clap::error::ErrorKind;

/// A pid file as the test install's `start.sh` writes it, for the commands that give no pid.
fn pid_file() -> PathBuf {
    // One file per call: the tests run in parallel, and a file being rewritten reads empty.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("confpay-load-cli-{}-{n}.pid", std::process::id());
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, "4242\n").expect("pid file");
    path
}

fn mode(line: &str) -> Mode {
    let cli = Cli::parse_args(line.split_whitespace()).unwrap_or_else(|e| panic!("{line}: {e}"));
    let pid = pid_file();
    let mode = cli.into_mode_with(&pid).expect(line);
    let _ = std::fs::remove_file(pid);
    mode
}

fn sim(line: &str) -> SimRuns {
    match mode(line) {
        Mode::Sim(runs) => runs,
        other => panic!("{line}: {other:?}"),
    }
}

fn real(line: &str) -> RealOptions {
    match mode(line) {
        Mode::Switch(o) => o,
        other => panic!("{line}: {other:?}"),
    }
}

fn refused(line: &str) -> ErrorKind {
    match Cli::parse_args(line.split_whitespace()) {
        Ok(cli) => panic!("{line} was accepted: {cli:?}"),
        Err(e) => {
            // The message names what was wrong (clap's own wording), never a bare failure.
            assert!(
                !e.use_stderr() || e.to_string().starts_with("error:"),
                "{e}"
            );
            e.kind()
        }
    }
}

fn ms(v: &[u64]) -> Vec<Duration> {
    v.iter().copied().map(Duration::from_millis).collect()
}

#[test]
fn the_declaration_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn no_option_is_one_run_of_100_calls_with_production_timings() {
    let r = sim("");
    assert_eq!(r.calls, [100]);
    assert_eq!(r.staggers, ms(&[0]));
    assert_eq!(r.agent_id_delay, Duration::from_millis(1000));
    assert_eq!(r.deadline, Duration::from_secs(120));
    assert_eq!((r.batch, r.idle_only), (100, false));
}

#[test]
fn documented_simulator_runs_parse() {
    // README.md and BENCHMARKS.md, as written there.
    assert_eq!(sim("--calls 100,1000,5000").calls, [100, 1000, 5000]);
    let r = sim("--calls 100,1000 --stagger-ms 2");
    assert_eq!((r.calls, r.staggers), (vec![100, 1000], ms(&[2])));
    assert_eq!(sim("--stagger-ms 0,2").staggers, ms(&[0, 2]));
    let r = sim("--calls 5000 --batch 250 --deadline-s 90");
    assert_eq!(r.calls, [5000]);
    assert_eq!((r.batch, r.deadline), (250, Duration::from_secs(90)));
    let r = sim("--calls 1000 --stagger-ms 2 --deadline-s 150 --batch 250");
    assert_eq!(r.staggers, ms(&[2]));
    assert_eq!((r.batch, r.deadline), (250, Duration::from_secs(150)));
    let r = sim("--calls 1000 --idle-only");
    assert!(r.idle_only);
    assert_eq!(
        sim("--agent-id-delay-ms 300").agent_id_delay,
        Duration::from_millis(300)
    );
    // The `=` form clap accepts as well.
    assert_eq!(sim("--calls=5,10").calls, [5, 10]);
}

#[test]
fn one_run_per_n_and_stagger() {
    let cmd = SimCommand {
        program: "/x/confpay-load".into(),
        prefix: vec!["--sim-side".into()],
    };
    let runs = sim("--calls 5,10 --stagger-ms 0,2 --idle-only").runs(&cmd);
    let shape: Vec<_> = runs.iter().map(|o| (o.calls, o.stagger)).collect();
    let z = Duration::ZERO;
    let two = Duration::from_millis(2);
    assert_eq!(shape, [(5, z), (5, two), (10, z), (10, two)]);
    assert!(
        runs.iter()
            .all(|o| o.idle_only && o.sim.program == cmd.program)
    );
}

#[test]
fn documented_real_switch_runs_parse() {
    let o = real("--switch 127.0.0.1:8021 --calls 5,10,20,40,60,80,100 --deadline-s 60");
    assert_eq!(o.daemon.esl, "127.0.0.1:8021");
    assert_eq!(o.steps, [5, 10, 20, 40, 60, 80, 100]);
    assert_eq!(o.deadline, Duration::from_secs(60));
    // Not given: the pid file's, and the real-switch defaults.
    assert_eq!(o.freeswitch_pid, 4242);
    assert_eq!((o.methods, o.batch), (Methods::Both, 10));
    assert_eq!(o.daemon.password, "ClueCon");
    assert_eq!(o.daemon.outbound, SocketAddr::from(([127, 0, 0, 1], 8084)));
    assert_eq!(o.daemon.agent_id_delay_ms, 1000);
    assert_eq!(
        real("--switch 127.0.0.1:8021").steps,
        [5, 10, 20, 40, 80, 160, 320]
    );
    assert_eq!(real("--switch 127.0.0.1:8021 --calls 5").steps, [5]);
    let o = real(
        "--switch 127.0.0.1:8021 --calls 5,10,20,40,80 --method keyphone --password ClueCon \
         --freeswitch-pid 42 --deadline-s 60",
    );
    assert_eq!((o.methods, o.freeswitch_pid), (Methods::Keyphone, 42));
    let o = real(
        "--switch 127.0.0.1:9021 --calls 5,10 --method aca --freeswitch-pid 42 \
         --confpayd /x/confpayd --batch 4 --deadline-s 30 --agent-id-delay-ms 300 \
         --workdir /tmp/w --outbound 127.0.0.1:9084 --password -pw",
    );
    assert_eq!(o.methods, Methods::Aca);
    assert_eq!(o.daemon.program, PathBuf::from("/x/confpayd"));
    assert_eq!((o.batch, o.deadline), (4, Duration::from_secs(30)));
    assert_eq!(o.daemon.agent_id_delay_ms, 300);
    assert_eq!(o.workdir, PathBuf::from("/tmp/w"));
    assert_eq!(o.daemon.outbound.port(), 9084);
    assert_eq!(o.daemon.password, "-pw");
}

#[test]
fn sim_side_hands_everything_after_it_to_the_simulator() {
    let line = "--sim-side --listen 127.0.0.1:0 --outbound 127.0.0.1:9";
    match mode(line) {
        Mode::SimSide(args) => {
            assert_eq!(
                args,
                ["--listen", "127.0.0.1:0", "--outbound", "127.0.0.1:9"]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(mode("--sim-side"), Mode::SimSide(a) if a.is_empty()));
    // Only as the whole command line: never beside the tool's own options.
    assert_eq!(
        refused("--calls 5 --sim-side --listen 127.0.0.1:0"),
        ErrorKind::ArgumentConflict
    );
}

#[test]
fn bad_values_are_refused() {
    assert_eq!(refused("--calls 5,ten"), ErrorKind::ValueValidation);
    assert_eq!(refused("--calls 0"), ErrorKind::ValueValidation);
    assert_eq!(refused("--calls"), ErrorKind::InvalidValue);
    assert_eq!(refused("--stagger-ms -1"), ErrorKind::UnknownArgument);
    assert_eq!(refused("--batch 0"), ErrorKind::ValueValidation);
    assert_eq!(refused("--deadline-s 0"), ErrorKind::ValueValidation);
    assert_eq!(
        refused("--agent-id-delay-ms soon"),
        ErrorKind::ValueValidation
    );
    assert_eq!(refused("--switch x --method card"), ErrorKind::InvalidValue);
    assert_eq!(
        refused("--switch x --freeswitch-pid -1"),
        ErrorKind::UnknownArgument
    );
    assert_eq!(
        refused("--switch x --outbound nowhere"),
        ErrorKind::ValueValidation
    );
    assert_eq!(refused("--bogus"), ErrorKind::UnknownArgument);
}

#[test]
fn options_of_the_other_mode_are_refused() {
    assert_eq!(
        refused("--switch x --idle-only"),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        refused("--switch x --stagger-ms 2"),
        ErrorKind::ArgumentConflict
    );
    for only in [
        "--method aca",
        "--password pw",
        "--freeswitch-pid 1",
        "--confpayd /x",
        "--workdir /x",
        "--outbound 127.0.0.1:1",
    ] {
        assert_eq!(refused(only), ErrorKind::MissingRequiredArgument, "{only}");
    }
}

#[test]
fn help_names_every_option_and_both_modes() {
    assert_eq!(refused("--help"), ErrorKind::DisplayHelp);
    let help = Cli::command().render_long_help().to_string();
    for flag in [
        "--calls",
        "--stagger-ms",
        "--agent-id-delay-ms",
        "--deadline-s",
        "--batch",
        "--idle-only",
        "--switch",
        "--password",
        "--method",
        "--confpayd",
        "--freeswitch-pid",
        "--workdir",
        "--outbound",
        "--sim-side",
        "keyphone",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}

#[test]
fn a_missing_pid_file_names_the_option_to_give() {
    let cli = Cli::parse_args(["--switch", "127.0.0.1:8021"]).expect("parses");
    let err = cli
        .into_mode_with(Path::new("/nonexistent/started.pid"))
        .expect_err("no pid");
    assert!(err.to_string().contains("--freeswitch-pid"), "{err}");
}

#[test]
fn both_methods_alternate() {
    let m: Vec<_> = (0..4).map(|i| Methods::Both.for_call(i).name()).collect();
    assert_eq!(m, ["keyphone", "aca", "keyphone", "aca"]);
    assert_eq!(Methods::Aca.for_call(0).name(), "aca");
}
