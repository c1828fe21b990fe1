//! Answering requests other nodes forward here: each one goes through this node's own router (so
//! the same handlers, checks and errors apply) with the caller's authority as the forwarding node
//! verified it, marked [`Forwarded`] so it is never forwarded again.

use super::Cluster;
use super::route::Forwarded;
use super::subscribe::each_message;
use super::wire::{ForwardReply, ForwardRequest, api_subject};
use axum::Router;
use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, Request};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Largest answer body sent back (a full call list of a busy node fits easily).
const MAX_REPLY: usize = 4 * 1024 * 1024;

/// Serves `confpay.node.<this node>.api` until `stop`. The requests carry no `Host` (none came
/// from a browser) and no token: [`Forwarded`] carries the authority.
pub async fn run(cluster: Cluster, router: Router, stop: CancellationToken) {
    let client = cluster.inner.client.clone();
    let consequence = "other nodes see this one as unreachable";
    each_message(
        &client,
        api_subject(cluster.node()),
        &stop,
        consequence,
        |msg| {
            let Some(reply_to) = msg.reply else { return };
            let (router, client) = (router.clone(), client.clone());
            let instance = cluster.inner.instance.clone();
            tokio::spawn(async move {
                let mut answer = match serde_json::from_slice::<ForwardRequest>(&msg.payload) {
                    Ok(req) => answer(router, req).await,
                    Err(e) => refusal(
                        400,
                        "bad_request",
                        &format!("unreadable forwarded request: {e}"),
                    ),
                };
                answer.instance = instance;
                if let Ok(bytes) = serde_json::to_vec(&answer) {
                    let _ = client.publish(reply_to, bytes.into()).await;
                }
            });
        },
    )
    .await;
}

/// Runs one forwarded request through the router.
async fn answer(router: Router, req: ForwardRequest) -> ForwardReply {
    let method = Method::from_bytes(req.method.as_bytes()).unwrap_or(Method::GET);
    let built = Request::builder()
        .method(method)
        .uri(&req.path)
        .header(CONTENT_TYPE, "application/json")
        .extension(Forwarded {
            authority: req.authority.into(),
        })
        .body(Body::from(req.body));
    let request = match built {
        Ok(r) => r,
        Err(e) => return refusal(400, "bad_request", &e.to_string()),
    };
    let Ok(resp) = router.oneshot(request).await;
    let status = resp.status().as_u16();
    match axum::body::to_bytes(resp.into_body(), MAX_REPLY).await {
        Ok(b) => ForwardReply {
            status,
            body: String::from_utf8_lossy(&b).into_owned(),
            instance: String::new(),
        },
        Err(_) => refusal(502, "reply_too_large", "the owner's answer was too large"),
    }
}

/// An answer in the API's error shape.
fn refusal(status: u16, code: &str, message: &str) -> ForwardReply {
    ForwardReply {
        status,
        body: serde_json::json!({"error": {"code": code, "message": message}}).to_string(),
        instance: String::new(),
    }
}
