//! `confpayd` as an operator runs it: the built binary, a TOML file, its log at the most verbose
//! level (`RUST_LOG=trace`) captured to a file the suite reads afterwards. The outbound listener is
//! where the shipped dialplan's `socket` points (127.0.0.1:8084) unless a test moves it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::process::{Child, Command};

/// The settings a test may change; everything else is the shipped default.
#[derive(Clone, Debug)]
pub struct Settings {
    pub esl: String,
    pub password: String,
    pub outbound: SocketAddr,
    pub capture_dial: String,
    pub capture_answer_timeout_s: u32,
    pub on_agent_hangup: &'static str,
    pub agent_hangup_transfer: String,
    /// `http.token`.
    pub admin_token: Option<String>,
    /// `http.agent_token_secret`: the call-centre platform's signing secret for agent tokens.
    pub agent_token_secret: Option<String>,
    /// A webhook endpoint (secret `receiver::SECRET`, quick retries, spool in [`Daemon::spool`]).
    pub webhook: Option<String>,
}

impl Settings {
    pub fn new(esl: &str, password: &str) -> Settings {
        Settings {
            esl: esl.to_owned(),
            password: password.to_owned(),
            outbound: "127.0.0.1:8084".parse().expect("addr"),
            capture_dial: super::parties::CAPTURE_DIAL.to_owned(),
            capture_answer_timeout_s: 30,
            on_agent_hangup: "hangup",
            agent_hangup_transfer: String::new(),
            admin_token: None,
            agent_token_secret: None,
            webhook: None,
        }
    }

    fn toml(&self, http: SocketAddr, spool: &Path) -> String {
        let hooks = match &self.webhook {
            Some(url) => format!(
                "\n[webhooks]\nspool_dir = \"{}\"\nretry_initial_ms = 100\nretry_max_ms = 1000\n\
                 [[webhooks.endpoints]]\nurl = \"{url}\"\nsecret = \"{}\"\n",
                spool.display(),
                crate::flow_harness::receiver::SECRET
            ),
            None => String::new(),
        };
        let main = format!(
            r#"[esl]
address = "{esl}"
password = "{pw}"
command_timeout_ms = 5000
reconnect_initial_ms = 100
reconnect_max_ms = 1000

[outbound]
listen = "{out}"

[http]
listen = "{http}"
{tokens}
[payment]
capture_dial = "{dial}"
capture_answer_timeout_s = {answer}
agent_id_delay_ms = 300
on_agent_hangup = "{policy}"
agent_hangup_transfer = "{transfer}"

[log]
level = "trace"
format = "text"
"#,
            esl = self.esl,
            pw = self.password,
            out = self.outbound,
            dial = self.capture_dial,
            answer = self.capture_answer_timeout_s,
            policy = self.on_agent_hangup,
            transfer = self.agent_hangup_transfer,
            tokens = self.tokens(),
        );
        main + &hooks
    }

    /// The `[http]` token lines, if any.
    fn tokens(&self) -> String {
        let mut lines = String::new();
        if let Some(t) = &self.admin_token {
            lines.push_str(&format!("token = \"{t}\"\n"));
        }
        if let Some(s) = &self.agent_token_secret {
            lines.push_str(&format!("agent_token_secret = \"{s}\"\n"));
        }
        lines
    }
}

/// A running (or killed) `confpayd`.
pub struct Daemon {
    child: Option<Child>,
    pub api: SocketAddr,
    dir: PathBuf,
    config: PathBuf,
    /// One log file per process start.
    logs: Vec<PathBuf>,
}

static RUNS: AtomicU32 = AtomicU32::new(0);

/// A free port on 127.0.0.1 (free when asked; fine for one test at a time).
pub fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

impl Daemon {
    /// Starts `confpayd` and waits until `/healthz` says it is connected and listening.
    pub async fn start(settings: &Settings) -> Daemon {
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("confpay-live-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let api = free_port();
        let config = dir.join("confpay.toml");
        std::fs::write(&config, settings.toml(api, &dir.join("spool"))).expect("write config");
        let mut d = Daemon {
            child: None,
            api,
            dir,
            config,
            logs: Vec::new(),
        };
        d.spawn().await;
        d
    }

    async fn spawn(&mut self) {
        let log = self.dir.join(format!("confpayd-{}.log", self.logs.len()));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_confpayd"))
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "trace")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn confpayd");
        self.child = Some(child);
        self.logs.push(log);
        self.until_healthy(Duration::from_secs(20)).await;
    }

    /// Waits until `/healthz` answers 200.
    pub async fn until_healthy(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                panic!("confpayd exited ({status}):\n{}", self.log());
            }
            let probe =
                crate::http_harness::client::try_request(self.api, "GET", "/healthz", None, None);
            if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(2), probe).await
                && r.status == 200
            {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("confpayd not healthy within {limit:?}:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL, as the kernel's OOM killer or `kill -9` would.
    pub async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.start_kill().expect("kill");
            c.wait().await.expect("wait");
        }
    }

    /// Starts the same daemon again (after [`Daemon::kill`]), as systemd's `Restart=` would.
    pub async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// The webhook spool directory (with [`Settings::webhook`]).
    pub fn spool(&self) -> PathBuf {
        self.dir.join("spool")
    }

    /// Everything the daemon has logged, across restarts.
    pub fn log(&self) -> String {
        self.logs
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.start_kill();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
