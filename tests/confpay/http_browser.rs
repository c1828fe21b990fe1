//! The HTTP API against a hostile web page and hostile clients: cross-site writes, DNS rebinding,
//! slow and flooding connections, too many status streams.

use crate::http_harness::*;
use confpay::config::Config;
use confpay::sim::party::Party;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

fn capture() -> Party {
    Party::capture("capture", AGENT_ID, CARD.len())
}

/// Sends `head` (request line and headers, without the blank line) and `body`; the raw answer.
async fn raw(addr: SocketAddr, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{head}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

async fn sessions_started(rig: &Rig) -> usize {
    rig.engine
        .calls()
        .await
        .iter()
        .filter(|c| c.session.is_some() || !c.history.is_empty())
        .count()
}

#[tokio::test]
async fn a_cross_site_page_cannot_start_a_payment() {
    let rig = Rig::start("", local(), capture()).await;
    let (customer, _) = rig.call(1, Some(AGENT_ID)).await;
    let addr = rig.addr;
    let body = format!(r#"{{"target": {{"type": "customer", "id": "{customer}"}}}}"#);
    // What a page on evil.example can send without a CORS preflight: text/plain.
    let simple = raw(
        addr,
        &format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain"
        ),
        &body,
    )
    .await;
    assert_eq!(status(&simple), 403, "{simple}");
    assert!(simple.contains("origin_not_allowed"), "{simple}");
    // The same without an Origin (a non-browser client) but not JSON: 415.
    let plain = raw(
        addr,
        &format!("POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain"),
        &body,
    )
    .await;
    assert_eq!(status(&plain), 415, "{plain}");
    assert!(plain.contains("unsupported_media_type"), "{plain}");
    let form = raw(
        addr,
        &format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded"
        ),
        "a=b",
    )
    .await;
    assert_eq!(status(&form), 415, "{form}");
    assert_eq!(sessions_started(&rig).await, 0, "nothing may have started");
    // The agent page itself (same origin) still works.
    let own = raw(
        addr,
        &format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nContent-Type: application/json"
        ),
        &body,
    )
    .await;
    assert_eq!(status(&own), 201, "{own}");
    assert_eq!(sessions_started(&rig).await, 1);
}

#[tokio::test]
async fn a_rebound_host_name_reads_nothing() {
    let rig = Rig::start("", local(), capture()).await;
    rig.call(1, Some(AGENT_ID)).await;
    let port = rig.addr.port();
    for path in ["/api/v1/calls", "/api/v1/sessions", "/", "/metrics"] {
        let answer = raw(
            rig.addr,
            &format!("GET {path} HTTP/1.1\r\nHost: evil.example:{port}"),
            "",
        )
        .await;
        assert_eq!(status(&answer), 403, "{path}: {answer}");
        assert!(answer.contains("host_not_allowed"), "{path}: {answer}");
        assert!(!answer.contains("cust-"), "{path} leaked a call: {answer}");
    }
    let local_name = raw(
        rig.addr,
        &format!("GET /api/v1/calls HTTP/1.1\r\nHost: localhost:{port}"),
        "",
    )
    .await;
    assert_eq!(status(&local_name), 200, "{local_name}");
}

#[tokio::test]
async fn a_listed_origin_may_call_the_api() {
    let mut config = Config::default();
    config.http.allowed_origins = vec!["https://crm.example.com".to_owned()];
    let rig = Rig::start_with(config, local(), capture()).await;
    let addr = rig.addr;
    let crm = raw(
        addr,
        &format!("GET /api/v1/calls HTTP/1.1\r\nHost: {addr}\r\nOrigin: https://crm.example.com"),
        "",
    )
    .await;
    assert_eq!(status(&crm), 200, "{crm}");
    let other = raw(
        addr,
        &format!(
            "GET /api/v1/calls HTTP/1.1\r\nHost: {addr}\r\nOrigin: https://crm.example.com.evil"
        ),
        "",
    )
    .await;
    assert_eq!(status(&other), 403, "{other}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let mut config = Config::default();
    config.http.header_timeout_ms = 500;
    let rig = Rig::start_with(config, local(), capture()).await;
    let mut s = TcpStream::connect(rig.addr).await.expect("connect");
    s.write_all(b"GET /api/v1/calls HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the server kept a half-sent request open");
    // An idle keep-alive connection is cut off the same way.
    let mut idle = TcpStream::connect(rig.addr).await.expect("connect");
    let closed = tokio::time::timeout(Duration::from_secs(10), idle.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "the server kept an idle connection open");
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_slots_come_back() {
    let mut config = Config::default();
    config.http.max_connections = 8;
    config.http.max_streams = 2;
    let rig = Rig::start_with(config, local(), capture()).await;
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut s = TcpStream::connect(rig.addr).await.expect("connect");
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).await.expect("a response");
        assert!(n > 0);
        held.push(s);
    }
    let refused = raw(rig.addr, "GET /healthz HTTP/1.1\r\nHost: localhost", "").await;
    assert_eq!(refused, "", "a ninth connection must get no answer");
    drop(held);
    let mut answer = String::new();
    for _ in 0..50 {
        answer = raw(rig.addr, "GET /healthz HTTP/1.1\r\nHost: localhost", "").await;
        if status(&answer) == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status(&answer), 200, "slots must come back: {answer}");
}

#[tokio::test]
async fn status_streams_beyond_the_cap_get_503() {
    let mut config = Config::default();
    config.http.max_streams = 1;
    let rig = Rig::start_with(config, local(), capture()).await;
    let (customer, _) = rig.call(1, Some(AGENT_ID)).await;
    let query = format!("call={customer}");
    let first_addr = rig.addr;
    let first_query = query.clone();
    let first =
        tokio::spawn(
            async move { sse(first_addr, &first_query, None, Duration::from_secs(3)).await },
        );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (second, _) = sse(rig.addr, &query, None, Duration::from_secs(2)).await;
    assert_eq!(second.status, 503);
    assert_eq!(second.error_code(), "too_many_streams");
    let (first, _) = first.await.expect("first stream");
    assert_eq!(first.status, 200);
}
