//! Per-agent tokens: a JWT (HS256) the call-centre platform signs with `http.agent_token_secret`
//! for one agent, so that agent's browser can act on that agent's calls and no others.
//!
//! Claims: `sub` (the standard JWT subject: the ID FreeSWITCH knows the agent by,
//! `confpay_agent_id`), `exp` (Unix seconds, required), `iat` (optional). Tokens minted before
//! `sub` was read name the agent in `agent_id` instead, and still work; a token with both must give
//! the same ID in each (else it is refused: which agent it means would be a guess). [`mint`] writes
//! both, so its tokens also work on a node still running an older `confpayd` (a cluster mid-upgrade). A token living longer than `http.agent_token_max_s` from
//! now is refused, so a leaked token is worth little. Only HS256 is accepted (no `none`, no
//! algorithm switching). The platform side is a few lines in any JWT library; README shows one.

use crate::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Seconds of clock difference allowed between the platform and this host.
const LEEWAY_S: u64 = 30;

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentClaims {
    /// The agent's ID: the token's `sub` (or, in an older token, its `agent_id`).
    pub agent_id: String,
    pub exp: u64,
    pub iat: Option<u64>,
}

/// The claims as they are in the token.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent_id: Option<String>,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
}

impl Wire {
    /// The agent the token names: `sub`, else `agent_id`; both must agree when both are given.
    fn agent(self) -> Result<AgentClaims, TokenError> {
        let agent_id = match (self.sub, self.agent_id) {
            (Some(sub), Some(old)) if sub != old => return Err(TokenError::SubjectMismatch),
            (Some(id), _) | (None, Some(id)) => id,
            (None, None) => return Err(TokenError::BadAgentId),
        };
        Ok(AgentClaims {
            agent_id,
            exp: self.exp,
            iat: self.iat,
        })
    }
}

/// Why a token was refused. Never carries the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a valid HS256 token signed with the configured secret")]
    Invalid,
    #[error("expired")]
    Expired,
    #[error("lives longer than http.agent_token_max_s")]
    TooLong,
    #[error("sub (or agent_id) is missing or not a valid agent ID")]
    BadAgentId,
    #[error("sub and agent_id name different agents")]
    SubjectMismatch,
}

/// Verifies `token` against `secret` at `now` (Unix seconds).
pub fn verify(
    token: &str,
    secret: &Secret,
    max_s: u64,
    now: u64,
) -> Result<AgentClaims, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    validation.leeway = LEEWAY_S;
    // Expiry is checked below against the caller's clock (tests pass their own).
    validation.validate_exp = false;
    let key =
        DecodingKey::from_secret(secret.expose().as_bytes()).map_err(|_| TokenError::Invalid)?;
    let data =
        jsonwebtoken::decode::<Wire>(token, &key, &validation).map_err(|_| TokenError::Invalid)?;
    let claims = data.claims.agent()?;
    if claims.exp + LEEWAY_S < now {
        return Err(TokenError::Expired);
    }
    if claims.exp > now + max_s + LEEWAY_S {
        return Err(TokenError::TooLong);
    }
    if !valid_agent_id(&claims.agent_id) {
        return Err(TokenError::BadAgentId);
    }
    Ok(claims)
}

/// Signs `claims` (what the platform does; used by tests and `confpayd` tooling): the agent ID as
/// `sub`, and as `agent_id` for nodes that predate `sub`.
pub fn mint(claims: &AgentClaims, secret: &Secret) -> String {
    let wire = Wire {
        sub: Some(claims.agent_id.clone()),
        agent_id: Some(claims.agent_id.clone()),
        exp: claims.exp,
        iat: claims.iat,
    };
    sign(&wire, secret)
}

fn sign(wire: &Wire, secret: &Secret) -> String {
    let key =
        EncodingKey::from_secret(secret.expose().as_bytes()).expect("any bytes are an HMAC key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), wire, &key)
        .expect("HS256 signing with an in-memory key does not fail")
}

/// Agent IDs are sent as DTMF and matched against channel variables: 1–64 of `0-9 A-D * #`
/// or letters, digits and `-` as the platform names agents.
fn valid_agent_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("a-platform-secret-of-at-least-32-bytes!".to_owned())
    }

    fn claims(agent_id: &str, exp: u64) -> AgentClaims {
        AgentClaims {
            agent_id: agent_id.to_owned(),
            exp,
            iat: None,
        }
    }

    #[test]
    fn a_token_signed_with_the_secret_names_its_agent() {
        let t = mint(&claims("1234", 1_000_600), &secret());
        let c = verify(&t, &secret(), 3600, 1_000_000).expect("valid");
        assert_eq!(c.agent_id, "1234");
    }

    fn wire(sub: Option<&str>, agent_id: Option<&str>, exp: u64) -> Wire {
        Wire {
            sub: sub.map(str::to_owned),
            agent_id: agent_id.map(str::to_owned),
            exp,
            iat: None,
        }
    }

    #[test]
    fn the_agent_is_the_standard_subject_or_an_older_tokens_agent_id() {
        let now = 1_000_000;
        let only_sub = sign(&wire(Some("1234"), None, now + 60), &secret());
        let only_old = sign(&wire(None, Some("1234"), now + 60), &secret());
        let both = mint(&claims("1234", now + 60), &secret());
        for t in [&only_sub, &only_old, &both] {
            let c = verify(t, &secret(), 3600, now).expect("valid");
            assert_eq!(c.agent_id, "1234");
        }
        // What mint writes: the standard `sub`, and `agent_id` for older nodes.
        let body = both.split('.').nth(1).expect("payload");
        assert_eq!(
            body,
            b64_payload(r#"{"sub":"1234","agent_id":"1234","exp":1000060}"#)
        );
        let refused = [
            (
                wire(Some("1234"), Some("9999"), now + 60),
                TokenError::SubjectMismatch,
            ),
            (wire(None, None, now + 60), TokenError::BadAgentId),
            (wire(Some("12 34"), None, now + 60), TokenError::BadAgentId),
        ];
        for (w, want) in refused {
            assert_eq!(
                verify(&sign(&w, &secret()), &secret(), 3600, now),
                Err(want)
            );
        }
    }

    fn b64_payload(json: &str) -> String {
        base64_like::b64(json.as_bytes())
    }

    #[test]
    fn refused_tokens() {
        let now = 1_000_000;
        let other = Secret::new("another-secret-another-secret-another".to_owned());
        let cases = [
            (
                mint(&claims("1234", now + 600), &other),
                TokenError::Invalid,
            ),
            (
                mint(&claims("1234", now - 100), &secret()),
                TokenError::Expired,
            ),
            (
                mint(&claims("1234", now + 90_000), &secret()),
                TokenError::TooLong,
            ),
            (
                mint(&claims("12 34", now + 60), &secret()),
                TokenError::BadAgentId,
            ),
            (
                mint(&claims("", now + 60), &secret()),
                TokenError::BadAgentId,
            ),
            ("not.a.token".to_owned(), TokenError::Invalid),
        ];
        for (token, want) in cases {
            assert_eq!(verify(&token, &secret(), 3600, now), Err(want));
        }
    }

    #[test]
    fn an_unsigned_or_other_algorithm_token_is_refused() {
        use base64_like::b64;
        let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let body = b64(br#"{"agent_id":"1234","exp":1000600}"#);
        let none = format!("{header}.{body}.");
        assert_eq!(
            verify(&none, &secret(), 3600, 1_000_000),
            Err(TokenError::Invalid)
        );
        let good = mint(&claims("1234", 1_000_600), &secret());
        let (_, rest) = good.split_once('.').expect("three parts");
        let hs512 = format!("{}.{rest}", b64(br#"{"alg":"HS512","typ":"JWT"}"#));
        assert_eq!(
            verify(&hs512, &secret(), 3600, 1_000_000),
            Err(TokenError::Invalid)
        );
    }

    /// Base64url without padding, enough to forge headers in tests.
    mod base64_like {
        pub fn b64(bytes: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
