//! The agent page (`/`) and its script and style sheet: plain HTML/JS/CSS compiled into the binary
//! with `include_str!`, no build step. The page holds no data of its own: it calls the API.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};

const HTML: &str = include_str!("assets/agent.html");
const JS: &str = include_str!("assets/agent.js");
const CSS: &str = include_str!("assets/agent.css");

/// Only our own script, style and API: no inline script, nothing from elsewhere.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (CONTENT_TYPE, content_type),
            (CACHE_CONTROL, "no-cache"),
            (CONTENT_SECURITY_POLICY, CSP),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset(HTML, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::JS;

    /// Codes in a `fn code` body of `src`: every `=> "code"` (and `| ... => "code"`) string.
    fn codes_in(src: &str) -> Vec<String> {
        let body = &src[src.find("fn code").expect("fn code")..];
        let body = &body[..body.find("\n    }\n").unwrap_or(body.len())];
        body.split("=> \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .map(str::to_owned)
            .collect()
    }

    /// Every outcome and API error code has its sentence on the page: a failure always reads as
    /// what to do next, never as a bare code.
    #[test]
    fn the_page_has_a_sentence_for_every_code() {
        let mut codes = codes_in(include_str!("../pay/types.rs"));
        let api = codes_in(include_str!("error.rs"));
        let engine = codes_in(include_str!("../pay/engine/error.rs"));
        assert!(codes.len() >= 11 && api.len() >= 10 && engine.len() >= 10);
        codes.extend(api);
        codes.extend(engine);
        for code in codes {
            assert!(
                JS.contains(&format!("\n  {code}: '")),
                "agent.js has no sentence for {code:?}"
            );
        }
    }
}
