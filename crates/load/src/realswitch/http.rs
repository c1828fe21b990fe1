//! The daemon's HTTP API as the load tool uses it in real-switch mode: start a payment, start ACA
//! capture, and follow a session's Server-Sent Events stream (`GET /api/v1/events?session=ID`), which
//! pushes the session's view at every state change, so the time to Ready is taken when the daemon
//! says so, without polling.
//!
//! One pooled hyper client (keep-alive) for every request of a run; an SSE stream holds its own
//! connection until the session is done.

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;

/// What went wrong talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request: {0}")]
    Request(String),
    #[error("{what}: status {status}: {body}")]
    Status {
        what: &'static str,
        status: u16,
        body: String,
    },
    #[error("{what}: not the JSON expected: {body}")]
    Json { what: &'static str, body: String },
}

/// The daemon's API at one address.
#[derive(Clone, Debug)]
pub struct Api {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Api {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Api {
            base: format!("http://{addr}"),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<String>,
    ) -> Result<hyper::Response<Incoming>, HttpError> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if body.is_some() {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Request(e.to_string()))?;
        self.client
            .request(req)
            .await
            .map_err(|e| HttpError::Request(e.to_string()))
    }

    async fn call(
        &self,
        what: &'static str,
        path: &str,
        body: Option<String>,
        want: u16,
    ) -> Result<String, HttpError> {
        let resp = self.send(hyper::Method::POST, path, body).await?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| HttpError::Request(e.to_string()))?
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        match status == want {
            true => Ok(body),
            false => Err(HttpError::Status { what, status, body }),
        }
    }

    /// `POST /api/v1/sessions` for the call whose customer channel is `customer`; the session id.
    pub async fn start(&self, customer: &str) -> Result<String, HttpError> {
        let body = serde_json::json!({"target": {"type": "customer", "id": customer}});
        let what = "start payment";
        let text = self
            .call(what, "/api/v1/sessions", Some(body.to_string()), 201)
            .await?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|_| HttpError::Json {
            what,
            body: text.clone(),
        })?;
        match v["id"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => Err(HttpError::Json { what, body: text }),
        }
    }

    /// `POST /api/v1/sessions/{id}/capture`: the agent starts ACA capture.
    pub async fn capture(&self, id: &str) -> Result<(), HttpError> {
        let path = format!("/api/v1/sessions/{id}/capture");
        self.call("start capture", &path, None, 202).await.map(drop)
    }

    /// `GET /healthz` answers 200.
    pub async fn healthy(&self) -> bool {
        match self.send(hyper::Method::GET, "/healthz", None).await {
            Ok(r) => r.status() == hyper::StatusCode::OK,
            Err(_) => false,
        }
    }

    /// Opens session `id`'s event stream.
    pub async fn follow(&self, id: &str) -> Result<SessionStream, HttpError> {
        let path = format!("/api/v1/events?session={id}");
        let resp = self.send(hyper::Method::GET, &path, None).await?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(HttpError::Status {
                what: "session events",
                status,
                body: String::new(),
            });
        }
        Ok(SessionStream {
            body: resp.into_body(),
            buf: BytesMut::new(),
        })
    }
}

/// A session's SSE stream: one session view (JSON) per state change; ends after `done`.
pub struct SessionStream {
    body: Incoming,
    buf: BytesMut,
}

impl SessionStream {
    /// The next session view; `None` when the stream ended.
    pub async fn next(&mut self) -> Option<serde_json::Value> {
        loop {
            if let Some(data) = next_event(&mut self.buf) {
                if let Ok(v) = serde_json::from_str(&data) {
                    return Some(v);
                }
                continue;
            }
            let frame = self.body.frame().await?.ok()?;
            if let Ok(data) = frame.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }
}

/// Takes the first complete SSE event (ended by a blank line) out of `buf` and returns its `data`
/// (data lines joined by `\n`), skipping events without data (keep-alive comments).
pub fn next_event(buf: &mut BytesMut) -> Option<String> {
    loop {
        let end = memchr::memmem::find(buf, b"\n\n")?;
        let event = buf.split_to(end + 2);
        let text = String::from_utf8_lossy(&event);
        let data: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if !data.is_empty() {
            return Some(data.join("\n"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_events_split_at_blank_lines_and_skip_comments() {
        let mut buf = BytesMut::from(
            &b":keep-alive\n\nevent: session\ndata: {\"state\":\"ready\"}\n\nevent: sess"[..],
        );
        assert_eq!(
            next_event(&mut buf).as_deref(),
            Some("{\"state\":\"ready\"}")
        );
        assert_eq!(next_event(&mut buf), None, "the rest is incomplete");
        buf.extend_from_slice(b"ion\ndata:a\ndata: b\n\n");
        assert_eq!(next_event(&mut buf).as_deref(), Some("a\nb"));
        assert!(buf.is_empty());
    }
}
