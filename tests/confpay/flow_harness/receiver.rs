//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every POST (its
//! `Idempotency-Key`, `Confpay-Signature` and body) and answers 200. The signature is checked here
//! with its own HMAC, not the daemon's code.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The secret the tests' endpoints are configured with.
pub const SECRET: &str = "whsec-test-0123456789abcdef0123456789";

/// One POST as received.
#[derive(Clone, Debug)]
pub struct Received {
    pub key: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    /// `t=<unix>,v1=<hex>` over `<t>.<body>` with [`SECRET`], `t` within 5 minutes of now.
    pub fn signature_ok(&self) -> bool {
        let mut t = None;
        let mut v1 = None;
        for part in self.signature.split(',') {
            match part.split_once('=') {
                Some(("t", value)) => t = value.parse::<u64>().ok(),
                Some(("v1", value)) => v1 = Some(value.to_owned()),
                _ => {}
            }
        }
        let (Some(t), Some(v1)) = (t, v1) else {
            return false;
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.body);
        let want: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        now.abs_diff(t) <= 300 && want == v1
    }
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    pub got: Arc<Mutex<Vec<Received>>>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An address nothing listens on (connection refused), for a receiver started later with
/// [`Receiver::start_on`].
pub async fn free_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    l.local_addr().expect("addr")
}

impl Receiver {
    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = TcpListener::bind(addr).await.expect("bind receiver");
        let got = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route("/hook", post(record))
            .with_state(got.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, got, task }
    }

    /// The endpoint URL.
    pub fn url(addr: SocketAddr) -> String {
        format!("http://{addr}/hook")
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

async fn record(State(got): State<Arc<Mutex<Vec<Received>>>>, headers: HeaderMap, body: Bytes) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let r = Received {
        key: header("idempotency-key"),
        signature: header("confpay-signature"),
        body: body.to_vec(),
    };
    got.lock().unwrap_or_else(|p| p.into_inner()).push(r);
}
