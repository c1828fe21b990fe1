//! A web page the agent visits, attacking confpayd's API from the browser while a real call is up:
//! a cross-site `text/plain` POST (no CORS preflight needed) and a DNS-rebound `Host`. Neither may
//! start a payment or read a call; the agent's own page then takes the payment as usual.

use super::world::World;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SETUP: Duration = Duration::from_secs(20);

/// One raw request (what a browser sends for the page's `fetch`); the raw answer.
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

#[tokio::test]
#[ignore = "needs a real FreeSWITCH with the live conf tree: CONFPAY_LIVE_ESL (README, \"Live suite\")"]
async fn a_cross_site_page_can_neither_start_nor_read_a_payment() {
    let w = World::start(|_| {}).await;
    let call = w.socket_call().await;
    let (_, agent) = w.agent_of(&call).await;
    w.api.call(&call.channel, SETUP).await;
    let addr = w.api.addr;
    let body = format!(
        r#"{{"target": {{"type": "customer", "id": "{}"}}}}"#,
        call.channel
    );

    let cross = raw(
        addr,
        &format!(
            "POST /api/v1/sessions HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain"
        ),
        &body,
    )
    .await;
    assert!(cross.starts_with("HTTP/1.1 403"), "{cross}");
    let rebound = raw(
        addr,
        &format!(
            "GET /api/v1/calls HTTP/1.1\r\nHost: evil.example:{}",
            addr.port()
        ),
        "",
    )
    .await;
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
    assert!(!rebound.contains(&call.channel), "{rebound}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = w.api.call(&call.channel, SETUP).await;
    assert!(
        c["session"].is_null(),
        "a cross-site request started a payment: {c}"
    );

    let id = w.api.pay("customer", &call.channel).await;
    w.pays(&call, &agent, &id).await;
    w.finish(&call).await;
}
