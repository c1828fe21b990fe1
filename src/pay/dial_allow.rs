//! Which agent dial strings the daemon will originate (`payment.agent_dial_allow`). The dial string
//! reaches `originate` on the daemon's privileged inbound connection, so a dialplan that copies
//! caller-controlled data into `confpay_agent_dial` must not turn that into toll fraud or into
//! running applications: only the endpoint forms the deployment names (prefixes such as `user/`)
//! pass, with at most one leading `[...]` block of plain per-leg variables. Pure.

/// The prefixes the shipped dialplan's agent dial strings use (`freeswitch-dialplan/`).
pub const DEFAULT_AGENT_DIAL_ALLOW: [&str; 3] = ["user/", "sofia/", "loopback/"];

/// Characters a dial string's endpoint part may hold: no `{`/`}`/`[`/`]` (variables), no `,`/`|`
/// (more destinations), no quotes, spaces or `&` (applications).
fn endpoint_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._-@:+=%#*".contains(c)
}

/// Per-leg variable names that run something when the leg answers or hangs up.
fn runs_something(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "execute", "api", "hook", "script", "_on_", "bridge", "transfer",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// One `k=v` of a leading `[...]` block: a plain name and a value without separators or quotes.
fn plain_var(pair: &str) -> bool {
    let Some((name, value)) = pair.split_once('=') else {
        return false;
    };
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !runs_something(name)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@:/+".contains(c))
}

/// Whether `dial` may be originated for the agent: an optional `[k=v,...]` block of plain
/// variables, then an endpoint that starts with one of `allow` and holds nothing but endpoint
/// characters.
pub fn dial_allowed(dial: &str, allow: &[String]) -> bool {
    let endpoint = match dial.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((vars, endpoint)) if vars.split(',').all(plain_var) => endpoint,
            Some(_) | None => return false,
        },
        None => dial,
    };
    !endpoint.is_empty()
        && endpoint.chars().all(endpoint_char)
        && allow
            .iter()
            .any(|p| !p.is_empty() && endpoint.starts_with(p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_AGENT_DIAL_ALLOW.map(str::to_owned).to_vec()
    }

    #[test]
    fn the_shipped_forms_pass() {
        for dial in [
            "user/1000",
            "user/agent",
            "sofia/gateway/paytia/pay",
            "loopback/9664",
            "[absolute_codec_string=PCMU]sofia/internal/live_agent@127.0.0.1:5060",
        ] {
            assert!(dial_allowed(dial, &defaults()), "{dial}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for dial in [
            "",
            "sofia/gateway/premium/0900123456,user/1000",
            "user/1000|sofia/gateway/x/1",
            "{execute_on_answer=system}user/1000",
            "[execute_on_answer=hangup]user/1000",
            "[api_on_answer=x]user/1000",
            "user/1000 &park()",
            "user/1000'",
            "group/agents",
            "[absolute_codec_string=PCMU",
            "[]user/1000",
        ] {
            assert!(!dial_allowed(dial, &defaults()), "{dial}");
        }
    }

    #[test]
    fn only_the_configured_prefixes_pass() {
        let allow = vec!["sofia/gateway/agents/".to_owned()];
        assert!(dial_allowed("sofia/gateway/agents/1001", &allow));
        assert!(!dial_allowed("sofia/gateway/premium/1001", &allow));
        assert!(!dial_allowed("user/1000", &allow));
        assert!(!dial_allowed("user/1000", &[]));
    }
}
