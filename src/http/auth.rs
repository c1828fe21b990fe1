//! Who is asking: the admin bearer token (`http.token`) or a per-agent token
//! ([`super::agent_token`], signed by the call-centre platform), read from the live configuration
//! on every request (SIGHUP may change either).
//!
//! - Neither configured: every request is [`Authority::Admin`]; validation accepts that only on a
//!   loopback `http.listen`, so only local processes reach the API.
//! - Otherwise `Authorization: Bearer <token>` is required on `/api/v1/*` (except `openapi.json`):
//!   the admin token gives [`Authority::Admin`], a valid agent token [`Authority::Agent`], anything
//!   else a 401.
//!
//! No token is ever logged: a refusal's log line says only whether a header was present.
//! The page keeps its token in `sessionStorage` and sends the header, never a URL.

use super::Shared;
use super::agent_token::{self, TokenError};
use super::error::ApiError;
use crate::config::schema::HttpConfig;
use crate::pay::engine::CallView;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::info;

/// What a request may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authority {
    /// Everything.
    Admin,
    /// Only calls carrying this agent ID (`confpay_agent_id`) and their sessions.
    Agent { agent_id: String },
}

impl Authority {
    /// Whether this authority may see and act on `call`.
    pub fn covers(&self, call: &CallView) -> bool {
        match self {
            Authority::Admin => true,
            Authority::Agent { agent_id } => call.agent_id.as_deref() == Some(agent_id.as_str()),
        }
    }

    /// Who the token names, for the audit record: `admin` for the admin token (or an API without
    /// tokens, reachable only from this host), `agent:<agent ID>` for a per-agent token (the agent
    /// ID is its `sub` claim, or `agent_id` in an older token).
    pub fn subject(&self) -> String {
        match self {
            Authority::Admin => "admin".to_owned(),
            Authority::Agent { agent_id } => format!("agent:{agent_id}"),
        }
    }

    /// The agent ID of an agent token; `None` for the admin.
    pub fn agent_id(&self) -> Option<String> {
        match self {
            Authority::Admin => None,
            Authority::Agent { agent_id } => Some(agent_id.clone()),
        }
    }

    /// Refuses an agent acting under another agent's ID.
    pub fn may_use_agent_id(&self, id: &str) -> Result<(), ApiError> {
        match self {
            Authority::Admin => Ok(()),
            Authority::Agent { agent_id } if agent_id == id => Ok(()),
            Authority::Agent { .. } => Err(ApiError::forbidden(
                "an agent token acts only under its own agent ID",
            )),
        }
    }
}

/// Middleware: attaches the request's [`Authority`], or answers 401.
pub async fn require_token(State(shared): State<Shared>, mut req: Request, next: Next) -> Response {
    // Forwarded by another cluster node, which checked the token (set only in process).
    if let Some(fwd) = req.extensions().get::<crate::cluster::Forwarded>() {
        let authority = fwd.authority.clone();
        req.extensions_mut().insert(authority);
        return next.run(req).await;
    }
    let sent = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned());
    let verdict = {
        let config = shared.app.config.borrow();
        authorize(&config.http, sent.as_deref(), unix_now())
    };
    match verdict {
        Ok(authority) => {
            req.extensions_mut().insert(authority);
            next.run(req).await
        }
        Err(why) => {
            info!(
                path = %req.uri().path(),
                header = sent.is_some(),
                reason = why.map_or("no matching token", |e| match e {
                    TokenError::Invalid => "agent token invalid",
                    TokenError::Expired => "agent token expired",
                    TokenError::TooLong => "agent token lives too long",
                    TokenError::BadAgentId => "agent token names no valid agent ID (sub)",
                    TokenError::SubjectMismatch => "agent token's sub and agent_id differ",
                }),
                "API request refused"
            );
            ApiError::Unauthorized.into_response()
        }
    }
}

/// The authority `sent` gives under `http` at `now`; `Err(Some(_))` says why an agent token failed.
pub fn authorize(
    http: &HttpConfig,
    sent: Option<&str>,
    now: u64,
) -> Result<Authority, Option<TokenError>> {
    let admin = http.token.expose();
    let agent_secret = &http.agent_token_secret;
    if admin.is_empty() && agent_secret.expose().is_empty() {
        return Ok(Authority::Admin);
    }
    let Some(token) = sent else { return Err(None) };
    if !admin.is_empty() && constant_time_eq(token.as_bytes(), admin.as_bytes()) {
        return Ok(Authority::Admin);
    }
    if agent_secret.expose().is_empty() {
        return Err(None);
    }
    agent_token::verify(token, agent_secret, http.agent_token_max_s, now)
        .map(|c| Authority::Agent {
            agent_id: c.agent_id,
        })
        .map_err(Some)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Compares without stopping at the first difference (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::agent_token::{AgentClaims, mint};
    use crate::secret::Secret;

    #[test]
    fn compares_whole_tokens() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3creT"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    fn http(admin: &str, agent_secret: &str) -> HttpConfig {
        HttpConfig {
            token: Secret::new(admin.to_owned()),
            agent_token_secret: Secret::new(agent_secret.to_owned()),
            ..HttpConfig::default()
        }
    }

    #[test]
    fn who_a_request_is() {
        let key = "platform-secret-platform-secret-platform";
        let now = 1_000_000;
        let agent = mint(
            &AgentClaims {
                agent_id: "1234".to_owned(),
                exp: now + 300,
                iat: Some(now),
            },
            &Secret::new(key.to_owned()),
        );
        assert_eq!(authorize(&http("", ""), None, now), Ok(Authority::Admin));
        assert_eq!(Authority::Admin.subject(), "admin");
        let both = http("admin-token", key);
        assert_eq!(
            authorize(&both, Some("admin-token"), now),
            Ok(Authority::Admin)
        );
        assert_eq!(
            authorize(&both, Some(&agent), now),
            Ok(Authority::Agent {
                agent_id: "1234".to_owned()
            })
        );
        let subject = authorize(&both, Some(&agent), now).map(|a| a.subject());
        assert_eq!(subject, Ok("agent:1234".to_owned()));
        assert_eq!(authorize(&both, None, now), Err(None));
        assert_eq!(
            authorize(&both, Some("admin-tokeN"), now),
            Err(Some(TokenError::Invalid))
        );
        // Agent tokens alone: no request is admin, not even one without a header.
        let agents_only = http("", key);
        assert_eq!(authorize(&agents_only, None, now), Err(None));
        assert_eq!(
            authorize(&agents_only, Some(""), now),
            Err(Some(TokenError::Invalid))
        );
        // An agent token means nothing when agent tokens are off.
        assert_eq!(
            authorize(&http("admin-token", ""), Some(&agent), now),
            Err(None)
        );
    }
}
