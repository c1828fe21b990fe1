//! The built `confpayd` binary: flags, exit codes, and a real run with signals and a fake systemd.

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_confpayd");
const SHIPPED_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/confpay.toml");

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("confpay-cli-{tag}-{}", uuid::Uuid::new_v4()))
}

fn confpayd(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run confpayd")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_prints_crate_version() {
    let out = confpayd(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("confpayd {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_on_shipped_example_exits_0_and_masks_secrets() {
    let out = confpayd(
        &["--check-config", "--config", SHIPPED_EXAMPLE],
        &[("CONFPAY_LIVE_ESL", "127.0.0.1:8021")],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("password = \"***\""), "{stdout}");
    assert!(!stdout.contains("ClueCon"), "{stdout}");
    assert!(stdout.contains("capture_answer_timeout_s = 30"), "{stdout}");
}

#[test]
fn check_config_applies_env_override_masked() {
    let out = confpayd(
        &["--check-config", "--config", SHIPPED_EXAMPLE],
        &[
            ("CONFPAY_ESL__PASSWORD", "pw-from-env-991"),
            ("CONFPAY_PAYMENT__MAX_CAPTURE_S", "42"),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("max_capture_s = 42"), "{stdout}");
    assert!(!stdout.contains("pw-from-env-991"), "{stdout}");
}

#[test]
fn check_config_on_bad_file_exits_2_naming_the_key() {
    let path = temp_path("bad.toml");
    std::fs::write(&path, "[payment]\ncapture_answer_timeout_s = 0\n").expect("write");
    let out = confpayd(
        &["--check-config", "--config", path.to_str().expect("utf-8")],
        &[],
    );
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("payment.capture_answer_timeout_s: must be > 0"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn missing_config_file_and_bad_usage_exit_2() {
    let missing = temp_path("missing.toml");
    let out = confpayd(&["--config", missing.to_str().expect("utf-8")], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );

    let out = confpayd(&["--frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("unexpected argument '--frobnicate'"));
    assert!(text(&out.stderr).contains("Usage: confpayd"));
    assert!(out.stdout.is_empty());

    for args in [
        &["demo", "--speed", "0"][..],
        &["--config", "a.toml", "decode"],
        &["completions", "tcsh"],
    ] {
        let out = confpayd(args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains("try '--help'"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_goes_to_stdout_and_exits_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["demo", "--help"],
        &["help", "decode"],
    ] {
        let out = confpayd(args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: confpayd"), "{args:?}");
        assert!(out.stderr.is_empty(), "{args:?}");
    }
    let help = text(&confpayd(&["--help"], &[]).stdout);
    for word in [
        "--config <FILE>",
        "--check-config",
        "decode",
        "demo",
        "completions",
        "man",
    ] {
        assert!(help.contains(word), "no {word}: {help}");
    }
    assert!(
        help.contains("78  FreeSWITCH refused the ESL password"),
        "{help}"
    );
}

#[test]
fn completions_and_man_page_print_to_stdout() {
    let out = confpayd(&["completions", "bash"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.contains("_confpayd()"), "{script}");
    for word in [
        "--check-config",
        "--config",
        "decode",
        "demo",
        "completions",
        "man",
    ] {
        assert!(script.contains(word), "no {word}: {script}");
    }

    let out = confpayd(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let page = text(&out.stdout);
    assert!(page.contains(".TH confpayd 1"), "{page}");
    assert!(page.contains(".SH SYNOPSIS"), "{page}");
    // roff escapes each dash of a flag.
    for flag in ["\\-\\-config", "\\-\\-check\\-config", "\\-\\-version"] {
        assert!(page.contains(flag), "no {flag}: {page}");
    }
}

/// The next notification, without the newline that ends its last line.
fn recv(socket: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let len = socket
        .recv(&mut buf)
        .expect("notification within the timeout");
    text(&buf[..len]).trim_end_matches('\n').to_owned()
}

/// The next notification is `RELOADING=1`, with the `MONOTONIC_USEC=` systemd pairs it by.
fn recv_reloading(socket: &UnixDatagram) {
    let got = recv(socket);
    let usec = got.strip_prefix("RELOADING=1\nMONOTONIC_USEC=");
    assert!(usec.is_some_and(|u| u.parse::<u64>().is_ok()), "{got}");
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("kill -{sig} {pid}"))
        .status()
        .expect("run kill");
    assert!(status.success());
}

/// A port nothing listens on right now (for the daemon's outbound listener).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A simulated FreeSWITCH on its own thread and runtime, for the daemon binary to connect to.
fn simulator() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let sim = confpay::sim::Simulator::start(confpay::sim::SimConfig::default())
                .await
                .expect("simulator");
            tx.send(sim.esl_addr()).expect("send addr");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("simulator address")
}

#[test]
fn wrong_esl_password_exits_78_without_ready() {
    let esl = simulator();
    let port = free_port();
    let config = temp_path("badpw.toml");
    std::fs::write(
        &config,
        format!("[esl]\naddress = \"{esl}\"\npassword = \"not-it-5150\"\n[outbound]\nlisten = \"127.0.0.1:{port}\"\n"),
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["--config", config.to_str().expect("utf-8")])
        .env_remove("RUST_LOG")
        .output()
        .expect("run confpayd");
    let _ = std::fs::remove_file(&config);
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("ESL authentication refused"), "{all}");
    assert!(
        !all.contains("not-it-5150"),
        "the password was printed: {all}"
    );
}

#[test]
fn daemon_notifies_systemd_reloads_on_sighup_and_stops_on_sigterm() {
    let esl = simulator();
    let port = free_port();
    let http = free_port();
    let base = format!(
        "[esl]\naddress = \"{esl}\"\n[outbound]\nlisten = \"127.0.0.1:{port}\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n"
    );
    let notify_path = temp_path("notify");
    let notify = UnixDatagram::bind(&notify_path).expect("bind notify socket");
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let config = temp_path("run.toml");
    std::fs::write(&config, format!("{base}[log]\nformat = \"journald\"\n")).expect("write");

    let mut child = Command::new(BIN)
        .args(["--config", config.to_str().expect("utf-8")])
        .env_remove("RUST_LOG")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start confpayd");
    let pid = child.id();

    assert_eq!(recv(&notify), "READY=1\nSTATUS=running");
    sighup_with_a_bad_file_is_refused(&config, &base, pid, &notify);
    sighup_with_a_good_file_reloads(&config, esl, port, pid, &notify);
    let stdout = sigterm_stops_with_status_zero(&mut child, pid, &notify);
    let _ = std::fs::remove_file(&config);
    let _ = std::fs::remove_file(&notify_path);
    journal_lines_report_the_reloads_without_secrets(&stdout, http);
}

/// A bad file: refused, nothing published.
fn sighup_with_a_bad_file_is_refused(
    config: &std::path::Path,
    base: &str,
    pid: u32,
    notify: &UnixDatagram,
) {
    std::fs::write(config, format!("{base}[payment]\nmax_capture_s = 0\n")).expect("write");
    signal(pid, "HUP");
    recv_reloading(notify);
    assert_eq!(recv(notify), "READY=1\nSTATUS=running");
}

/// A good file with a live key, a restart key and a secret.
fn sighup_with_a_good_file_reloads(
    config: &std::path::Path,
    esl: std::net::SocketAddr,
    port: u16,
    pid: u32,
    notify: &UnixDatagram,
) {
    std::fs::write(
        config,
        format!(
            "[log]\nformat = \"journald\"\n[payment]\nmax_capture_s = 300\n\
             [esl]\naddress = \"{esl}\"\npassword = \"pw-NEW-5150\"\n[http]\nlisten = \"127.0.0.1:9085\"\n\
             [outbound]\nlisten = \"127.0.0.1:{port}\"\n"
        ),
    )
    .expect("write");
    signal(pid, "HUP");
    recv_reloading(notify);
    assert_eq!(recv(notify), "READY=1\nSTATUS=running");
}

/// SIGTERM: STOPPING is notified and the process exits 0 within 10 s. Returns its stdout.
fn sigterm_stops_with_status_zero(
    child: &mut std::process::Child,
    pid: u32,
    notify: &UnixDatagram,
) -> String {
    signal(pid, "TERM");
    assert_eq!(recv(notify), "STOPPING=1\nSTATUS=stopping");
    let started = Instant::now();
    let status = child.wait().expect("wait");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));

    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    stdout
}

/// The journal-format log: ready, the level warning, the refused and accepted reloads, stopped;
/// no secret, no colour, a priority prefix on every line.
fn journal_lines_report_the_reloads_without_secrets(stdout: &str, http: u16) {
    assert!(
        stdout.contains("<6>INFO confpay::daemon: confpayd ready"),
        "{stdout}"
    );
    // The simulator runs at FreeSWITCH's vanilla ceiling (DEBUG): the operator is told.
    assert!(
        stdout.contains("<4>WARN confpay::daemon::loglevel: FreeSWITCH logs INFO/DEBUG lines")
            && stdout.contains("freeswitch_log_level=debug level=7"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "<4>WARN confpay::daemon: config reload failed; keeping the running configuration"
        ) && stdout.contains("payment.max_capture_s: must be > 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "config changed key=\"payment.max_capture_s\" old=600 new=300 apply=\"live\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "config changed key=\"esl.password\" old=\"***\" new=\"***\" apply=\"needs restart\""
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "key=\"http.listen\" old=\"127.0.0.1:{http}\" new=\"127.0.0.1:9085\" apply=\"needs restart\""
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("<6>INFO confpay::daemon: confpayd stopped"),
        "{stdout}"
    );
    assert!(!stdout.contains("pw-NEW-5150"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "{stdout}");
    // Every line is one journal entry with a priority prefix.
    assert!(stdout.lines().all(|l| l.starts_with('<')), "{stdout}");
}
