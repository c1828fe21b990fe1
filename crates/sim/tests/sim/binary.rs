//! The `confpay-sim` binary as an integrator uses it: spawned as a process, an `fs_cli`-like raw TCP
//! client authenticates and runs `api status`, calls are placed through stdin, `quit` ends it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

struct Sim {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Only the child this test spawned, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> (Sim, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_confpay-sim"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn confpay-sim");
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut banner = String::new();
    stdout.read_line(&mut banner).expect("banner");
    (
        Sim {
            child,
            stdin,
            stdout,
        },
        banner,
    )
}

impl Sim {
    fn command(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("write");
        self.stdin.flush().expect("flush");
        let mut out = String::new();
        self.stdout.read_line(&mut out).expect("read");
        out
    }
}

/// Reads one ESL frame (headers, and a body if Content-Length says so).
fn frame(sock: &mut BufReader<TcpStream>) -> (String, String) {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(sock.read_line(&mut line).expect("read") > 0, "EOF");
        if line == "\n" {
            break;
        }
        head.push_str(&line);
    }
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).expect("body");
    (head, String::from_utf8_lossy(&body).into_owned())
}

fn esl_addr(banner: &str) -> String {
    banner
        .split_whitespace()
        .find_map(|w| w.strip_prefix("esl="))
        .expect("esl= in banner")
        .to_owned()
}

fn connect(addr: &str) -> (BufReader<TcpStream>, TcpStream) {
    let sock = TcpStream::connect(addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let w = sock.try_clone().expect("clone");
    (BufReader::new(sock), w)
}

#[test]
fn raw_tcp_client_authenticates_and_runs_api_status() {
    let (mut sim, banner) = spawn(&["--listen", "127.0.0.1:0", "--outbound", "127.0.0.1:9"]);
    assert!(banner.starts_with("ready esl=127.0.0.1:"), "{banner}");
    assert!(banner.contains(" outbound=127.0.0.1:9 "), "{banner}");
    let addr = esl_addr(&banner);
    let (mut r, mut w) = connect(&addr);
    assert_eq!(frame(&mut r).0, "Content-Type: auth/request\n");
    w.write_all(b"auth ClueCon\n\n").expect("auth");
    assert_eq!(
        frame(&mut r).0,
        "Content-Type: command/reply\nReply-Text: +OK accepted\n"
    );
    w.write_all(b"api status\n\n").expect("api");
    let (head, body) = frame(&mut r);
    assert!(head.starts_with("Content-Type: api/response\n"), "{head}");
    assert!(body.starts_with("UP 0 years, 0 days"), "{body}");
    assert!(body.contains("FreeSWITCH (Version 1.11.3-dev  64bit) is ready"));

    // A call placed on stdin is visible over ESL.
    let uuid = sim.command("call park Bob");
    let uuid = uuid.trim();
    assert_eq!(uuid.len(), 36, "{uuid}");
    w.write_all(format!("api uuid_exists {uuid}\n\n").as_bytes())
        .expect("api");
    assert_eq!(frame(&mut r).1, "true");
    assert_eq!(sim.command(&format!("hangup {uuid}")), "+OK\n");
    w.write_all(format!("api uuid_exists {uuid}\n\n").as_bytes())
        .expect("api");
    assert_eq!(frame(&mut r).1, "false");

    assert_eq!(sim.command("quit"), "+OK bye\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(s) = sim.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "confpay-sim did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn the_password_flag_is_honoured() {
    let (_sim, banner) = spawn(&["--listen", "127.0.0.1:0", "--password", "s3cret"]);
    let (mut r, mut w) = connect(&esl_addr(&banner));
    frame(&mut r);
    w.write_all(b"auth ClueCon\n\n").expect("auth");
    assert_eq!(
        frame(&mut r).0,
        "Content-Type: command/reply\nReply-Text: -ERR invalid\n"
    );
    let (mut r, mut w) = connect(&esl_addr(&banner));
    frame(&mut r);
    w.write_all(b"auth s3cret\n\n").expect("auth");
    assert_eq!(
        frame(&mut r).0,
        "Content-Type: command/reply\nReply-Text: +OK accepted\n"
    );
}

#[test]
fn help_and_bad_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_confpay-sim"))
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--listen <ADDR>"));
    let out = Command::new(env!("CARGO_BIN_EXE_confpay-sim"))
        .arg("--frobnicate")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unexpected argument '--frobnicate'"));
}
