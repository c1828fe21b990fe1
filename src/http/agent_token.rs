//! Per-agent tokens: a JWT (HS256) the call-centre platform signs with `http.agent_token_secret`
//! for one agent, so that agent's browser can act on that agent's calls and no others.
//!
//! Claims: `agent_id` (the ID FreeSWITCH knows the agent by, `confpay_agent_id`), `exp` (Unix
//! seconds, required), `iat` (optional). A token living longer than `http.agent_token_max_s` from
//! now is refused, so a leaked token is worth little. Only HS256 is accepted (no `none`, no
//! algorithm switching). The platform side is a few lines in any JWT library; README shows one.

use crate::secret::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Seconds of clock difference allowed between the platform and this host.
const LEEWAY_S: u64 = 30;

/// What a verified token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentClaims {
    pub agent_id: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
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
    #[error("agent_id is not a valid agent ID")]
    BadAgentId,
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
    let data = jsonwebtoken::decode::<AgentClaims>(token, &key, &validation)
        .map_err(|_| TokenError::Invalid)?;
    let claims = data.claims;
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

/// Signs `claims` (what the platform does; used by tests and `confpayd` tooling).
pub fn mint(claims: &AgentClaims, secret: &Secret) -> String {
    let key =
        EncodingKey::from_secret(secret.expose().as_bytes()).expect("any bytes are an HMAC key");
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key)
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
