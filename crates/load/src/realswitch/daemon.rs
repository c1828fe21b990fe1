//! `confpayd` as the real-switch load run starts it: the release binary, a TOML file with production
//! defaults except what a load run needs, its log (level `info`, the production default) in a file the
//! operator can read after the run. One fresh daemon per step, so each step's CPU is its own.

use super::http::Api;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// What the daemon is told for a load run.
#[derive(Clone, Debug)]
pub struct DaemonSettings {
    /// The `confpayd` binary.
    pub program: PathBuf,
    /// FreeSWITCH's event socket and password.
    pub esl: String,
    pub password: String,
    /// Where the shipped dialplan's `socket` points (127.0.0.1:8084).
    pub outbound: SocketAddr,
    pub capture_dial: String,
    pub agent_id_delay_ms: u64,
    /// Concurrent payments of the step: HTTP connection and stream limits are sized from it.
    pub calls: usize,
}

impl DaemonSettings {
    /// The configuration file's text; the API listens on `http`.
    pub fn toml(&self, http: SocketAddr) -> String {
        // One event stream per payment and a few request connections per payment at once.
        let streams = self.calls.max(1) + 16;
        let connections = streams * 2 + 64;
        format!(
            r#"[esl]
address = "{esl}"
password = "{pw}"

[outbound]
listen = "{out}"

[http]
listen = "{http}"
max_connections = {connections}
max_streams = {streams}

[payment]
capture_dial = "{dial}"
agent_id_delay_ms = {delay}

[log]
level = "info"
format = "text"
"#,
            esl = self.esl,
            pw = self.password,
            out = self.outbound,
            dial = self.capture_dial,
            delay = self.agent_id_delay_ms,
        )
    }
}

/// Why the daemon could not be run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("confpayd exited at start ({status}); its log: {log}")]
    Exited { status: String, log: String },
    #[error("confpayd not healthy within 20 s; its log: {log}")]
    NotHealthy { log: String },
}

/// A running `confpayd`.
pub struct DaemonProcess {
    child: Child,
    pub api: Api,
    pub log: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DaemonError + '_ {
    move |source| DaemonError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A free port on 127.0.0.1 (free when asked).
fn free_port() -> Result<SocketAddr, std::io::Error> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

impl DaemonProcess {
    /// Writes the configuration into `dir`, starts the daemon and waits until `/healthz` is 200
    /// (connected to FreeSWITCH and listening).
    pub async fn start(s: &DaemonSettings, dir: &Path) -> Result<DaemonProcess, DaemonError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let http = free_port().map_err(io(dir))?;
        let config = dir.join("confpay.toml");
        std::fs::write(&config, s.toml(http)).map_err(io(&config))?;
        let log = dir.join("confpayd.log");
        let out = std::fs::File::create(&log).map_err(io(&log))?;
        let err = out.try_clone().map_err(io(&log))?;
        let child = Command::new(&s.program)
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(io(&s.program))?;
        let mut d = DaemonProcess {
            child,
            api: Api::new(http),
            log,
        };
        d.until_healthy().await?;
        Ok(d)
    }

    async fn until_healthy(&mut self) -> Result<(), DaemonError> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(DaemonError::Exited {
                    status: status.to_string(),
                    log: self.tail(),
                });
            }
            let probe = tokio::time::timeout(Duration::from_secs(2), self.api.healthy());
            if probe.await == Ok(true) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(DaemonError::NotHealthy { log: self.tail() });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the daemon's log.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// SIGKILL by the child's handle (its calls are hung up by the run anyway) and wait.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confpay::config::{ConfigLocation, load};

    #[test]
    fn the_configuration_is_one_confpayd_accepts() {
        let s = DaemonSettings {
            program: "confpayd".into(),
            esl: "127.0.0.1:8021".into(),
            password: "ClueCon".into(),
            outbound: "127.0.0.1:8084".parse().expect("addr"),
            capture_dial: "sofia/gateway/paytia/pay".into(),
            agent_id_delay_ms: 1000,
            calls: 640,
        };
        let dir = std::env::temp_dir().join(format!("confpay-load-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("confpay.toml");
        std::fs::write(&file, s.toml("127.0.0.1:18085".parse().expect("addr"))).expect("write");
        let c = load(&ConfigLocation::File(file), Vec::new()).expect("valid configuration");
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(c.esl.address, "127.0.0.1:8021");
        assert_eq!(c.outbound.listen.port(), 8084);
        assert_eq!(c.payment.capture_dial, "sofia/gateway/paytia/pay");
        assert_eq!(c.payment.agent_id_delay_ms, 1000);
        // Every payment's event stream fits, below the connection limit.
        assert!(c.http.max_streams >= 640 && c.http.max_streams < c.http.max_connections);
    }
}
