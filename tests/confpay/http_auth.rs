//! Access and service routes of the HTTP server: bearer auth (live token), the page and OpenAPI
//! document, /healthz, graceful shutdown with open status streams.

use crate::http_harness::*;
use confpay::secret::Secret;
use confpay::sim::party::Party;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "t0ken-for-tests";
const LOCAL: &str = "127.0.0.1:0";

fn local() -> SocketAddr {
    LOCAL.parse().expect("addr")
}

fn capture_party() -> Party {
    Party::capture("capture", AGENT_ID, CARD.len())
}

async fn rig() -> Rig {
    Rig::start(TOKEN, local(), capture_party()).await
}

fn start_body(kind: &str, id: &str) -> String {
    format!(r#"{{"target": {{"type": "{kind}", "id": "{id}"}}}}"#)
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_and_the_token_is_never_echoed() {
    let rig = rig().await;
    for token in [None, Some("wrong"), Some("")] {
        let r = get(rig.addr, "/api/v1/calls", token).await;
        assert_eq!(r.status, 401, "{token:?}");
        assert_eq!(r.error_code(), "unauthorized");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"confpay\"")
        );
        assert!(!r.body.contains(TOKEN));
    }
    let r = post(
        rig.addr,
        "/api/v1/sessions",
        Some("nope"),
        &start_body("agent", "x"),
    )
    .await;
    assert_eq!(r.status, 401);
    let (r, _) = sse(rig.addr, "session=abc", None, Duration::from_secs(2)).await;
    assert_eq!(r.status, 401);
    // The page, the OpenAPI document, health and metrics need no token.
    let page = get(rig.addr, "/", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(page.body.contains("aria-live=\"polite\""));
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("script-src 'self'"))
    );
    let js = get(rig.addr, "/assets/agent.js", None).await;
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(js.body.contains("sessionStorage"));
    assert_eq!(
        get(rig.addr, "/api/v1/openapi.json", None).await.status,
        200
    );
    assert_eq!(get(rig.addr, "/healthz", None).await.status, 200);
    assert_eq!(get(rig.addr, "/metrics", None).await.status, 200);
    let ok = get(rig.addr, "/api/v1/calls", Some(TOKEN)).await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["calls"], serde_json::json!([]));
}

#[tokio::test]
async fn a_reloaded_token_applies_to_the_next_request() {
    let rig = rig().await;
    let mut cfg = confpay::config::Config::default();
    cfg.http.token = Secret::new("new-token");
    rig.config.send_replace(Arc::new(cfg));
    assert_eq!(
        get(rig.addr, "/api/v1/calls", Some(TOKEN)).await.status,
        401
    );
    assert_eq!(
        get(rig.addr, "/api/v1/calls", Some("new-token"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn an_empty_configured_token_leaves_the_loopback_api_open() {
    let rig = Rig::start("", local(), capture_party()).await;
    let r = get(rig.addr, "/api/v1/sessions", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["sessions"], serde_json::json!([]));
}

#[tokio::test]
async fn healthz_says_which_part_is_down() {
    let rig = rig().await;
    let r = get(rig.addr, "/healthz", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"status": "ok", "esl_connected": true, "outbound_listening": true})
    );
    rig.health.set_esl_connected(false);
    let r = get(rig.addr, "/healthz", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        serde_json::json!({"status": "unavailable", "esl_connected": false, "outbound_listening": true})
    );
    rig.health.set_esl_connected(true);
    rig.health.set_outbound_listening(false);
    let r = get(rig.addr, "/healthz", None).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["outbound_listening"], false);
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_nothing_else() {
    let rig = rig().await;
    let doc = get(rig.addr, "/api/v1/openapi.json", None).await.json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                documented.push((method.clone(), path.clone()));
            }
        }
    }
    let mut served: Vec<(String, String)> = confpay::http::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
    // And the router really serves each one (none is a 404 from the fallback).
    for (method, path) in &served {
        let path = path.replace("{id}", "x");
        let r = request(rig.addr, &method.to_uppercase(), &path, Some(TOKEN), None).await;
        assert!(
            r.status != 404 || r.error_code() != "not_found",
            "{method} {path}: {}",
            r.status
        );
    }
}

#[tokio::test]
async fn shutdown_ends_open_status_streams() {
    let rig = rig().await;
    let (customer, _) = rig.call(6, Some(AGENT_ID)).await;
    let addr = rig.addr;
    let q = format!("call={customer}");
    let stream =
        tokio::spawn(async move { sse(addr, &q, Some(TOKEN), Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = std::time::Instant::now();
    rig.shutdown.cancel();
    let (resp, _) = stream.await.expect("stream");
    assert_eq!(resp.status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "stream kept open after shutdown"
    );
}
