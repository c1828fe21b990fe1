//! Shared by `tests/http_api.rs`, `tests/http_auth.rs` and `tests/metrics.rs` (and the HTTP client by
//! `tests/demo.rs`): the engine
//! driven by the simulator's switch model (no ESL wire in between: `api`/`bgapi` go straight to the
//! sim core and its events straight to the engine), the HTTP server on `127.0.0.1`, scripted parties,
//! and a tiny HTTP/1.1 client (no extra dependency).
//! The same HTTP API over the real stack (ESL over TCP to the simulator) is exercised through
//! `confpayd demo --serve` by `tests/demo.rs` and the browser test (`tests/browser/`).
#![allow(dead_code)]

use confpay::config::Config;
use confpay::http::{self, AppState, Health};
use confpay::metrics::Metrics;
use confpay::pay::engine::{Engine, EngineConfig};
use confpay::pay::session::{BoxFut, Switch};
use confpay::pay::{AgentHangupPolicy, AgentId, MachineConfig};
use confpay::secret::Secret;
use confpay::sim::core::{Core, CoreConfig};
use confpay::sim::party::Party;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The card number the scripted customer keys. Must never appear in anything the daemon says.
pub const CARD: &str = "4111111111111111";
/// The agent ID of the rig's call (what the capture service expects before '1').
pub const AGENT_ID: &str = "31";
pub const ROOM_PREFIX: &str = "confpay-";

/// The engine's switch: the simulator core, in process.
pub struct SimSwitch(pub Core);

impl Switch for SimSwitch {
    fn api(&self, cmd: String) -> BoxFut<Result<String, String>> {
        let core = self.0.clone();
        Box::pin(async move {
            let (name, args) = cmd.split_once(' ').unwrap_or((cmd.as_str(), ""));
            Ok(core.api(name, args).await)
        })
    }
    fn bgapi(&self, cmd: String) -> BoxFut<Result<String, String>> {
        self.api(cmd)
    }
}

pub fn machine_config() -> MachineConfig {
    MachineConfig {
        capture_dial: "sofia/gateway/pstn/capture".into(),
        profile: "confpay".into(),
        hold_music: "local_stream://moh".into(),
        agent_id_prefix: String::new(),
        // The simulated capture service expects the agent ID then '1', no terminator.
        agent_id_suffix: String::new(),
        dtmf_duration_ms: 100,
        agent_id_delay: Duration::from_millis(200),
        capture_answer_timeout: Duration::from_secs(5),
        max_capture: Duration::from_secs(120),
        agent_id_entry_timeout: Duration::from_secs(20),
        step_timeout: Duration::from_secs(5),
        on_agent_hangup: AgentHangupPolicy::Hangup,
    }
}

/// One running engine + HTTP server on a simulated switch.
pub struct Rig {
    pub core: Core,
    pub engine: Engine,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub config: watch::Sender<Arc<Config>>,
    pub addr: SocketAddr,
    pub capture: Party,
    pub shutdown: CancellationToken,
}

impl Rig {
    /// Starts everything; `token` is `http.token` ("" = no auth); `listen` usually `127.0.0.1:0`.
    pub async fn start(token: &str, listen: SocketAddr, capture: Party) -> Rig {
        let core = Core::new(CoreConfig::default());
        core.register_party("capture", capture.clone());
        let metrics = Arc::new(Metrics::new());
        let cfg = EngineConfig {
            machine: machine_config(),
            start_subclass: "confpay::start".into(),
            room_prefix: ROOM_PREFIX.into(),
        };
        let engine = Engine::spawn_with_metrics(
            cfg,
            Arc::new(SimSwitch(core.clone())),
            Some(metrics.clone()),
        );
        let mut events = core.subscribe();
        let pump = engine.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                pump.event((*e).clone()).await;
            }
        });
        let mut config = Config::default();
        config.http.token = Secret::new(token);
        let config = watch::Sender::new(Arc::new(config));
        let health = Arc::new(Health::new());
        health.set_esl_connected(true);
        health.set_outbound_listening(true);
        let listener = http::bind(listen).await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let app = AppState {
            engine: engine.clone(),
            config: config.subscribe(),
            metrics: metrics.clone(),
            health: health.clone(),
        };
        tokio::spawn(http::serve(listener, app, shutdown.clone()));
        Rig {
            core,
            engine,
            metrics,
            health,
            config,
            addr,
            capture,
            shutdown,
        }
    }

    /// A dialplan-driven call: customer and agent parties joined to the call's conference and
    /// registered with the engine. Returns `(customer uuid, agent uuid)`.
    pub async fn call(&self, n: u32, agent_id: Option<&str>) -> (String, String) {
        let customer = format!("cust-{n:04}-0000-4000-8000-000000000000");
        let agent = format!("agnt-{n:04}-0000-4000-8000-000000000000");
        let cname = format!("customer{n}");
        let aname = format!("agent{n}");
        self.core.register_party(&cname, Party::customer(&cname));
        self.core.register_party(&aname, Party::agent(&aname));
        self.engine
            .register_call(
                customer.clone(),
                agent.clone(),
                agent_id.and_then(AgentId::parse),
            )
            .await;
        let room = format!("{ROOM_PREFIX}{customer}");
        // As the dialplan joins them: the customer relays DTMF to the capture service, the agent's
        // ears get none.
        for (uuid, who, flags) in [
            (&customer, &cname, "dist-dtmf"),
            (&agent, &aname, "skip-dtmf"),
        ] {
            let reply = self
                .core
                .api(
                    "originate",
                    &format!("{{origination_uuid={uuid}}}sofia/gateway/pstn/{who} &conference({room}@confpay+flags{{{flags}}})"),
                )
                .await;
            assert!(reply.starts_with("+OK"), "originate {who}: {reply}");
        }
        (customer, agent)
    }

    /// The scripted customer: once session `id` is capturing, keys the card (after `delay`).
    pub fn customer_keys_card_when_capturing(&self, id: &str, customer: &str, delay: Duration) {
        let engine = self.engine.clone();
        let core = self.core.clone();
        let id = id.to_owned();
        let customer = customer.to_owned();
        tokio::spawn(async move {
            let Some(mut rx) = engine.watch(&id).await else {
                return;
            };
            let capturing = rx
                .wait_for(|v| v.state == confpay::pay::State::Capturing)
                .await
                .is_ok();
            if capturing {
                tokio::time::sleep(delay).await;
                let _ = core.press(&customer, CARD);
            }
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    /// `error.code` of a JSON error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `METHOD path` with an optional bearer token and JSON body; reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Resp {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut raw))
        .await
        .expect("response in time")
        .expect("read");
    parse(&raw)
}

pub async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> Resp {
    request(addr, "GET", path, token, None).await
}

pub async fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> Resp {
    request(addr, "POST", path, token, Some(body)).await
}

/// Parses a complete response (Content-Length or chunked).
pub fn parse(raw: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            out.push_str(&after[..n.min(after.len())]);
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// Opens an SSE stream and collects `(event, data)` pairs until the server ends it or `limit` passes.
pub async fn sse(
    addr: SocketAddr,
    query: &str,
    token: Option<&str>,
    limit: Duration,
) -> (Resp, Vec<(String, String)>) {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "GET /api/v1/events?{query} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\nConnection: close\r\n"
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut raw)).await;
    let resp = parse(&raw);
    let mut events = Vec::new();
    for block in resp.body.split("\n\n") {
        let mut name = String::new();
        let mut data = String::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                name = v.trim().to_owned();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push_str(v.trim_start());
            }
        }
        if !name.is_empty() {
            events.push((name, data));
        }
    }
    (resp, events)
}
