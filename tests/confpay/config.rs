//! Configuration: defaults, unknown keys, environment overrides, validation, masking, reload diff.

use confpay::config::{
    Apply, Change, Config, ConfigError, ConfigLocation, LogFormat, OnAgentHangup, diff, load,
    render,
};
use confpay::daemon::reload::reload;
use std::ffi::OsString;
use std::path::PathBuf;

const SHIPPED_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/confpay.toml");

/// A temporary TOML file, removed on drop.
struct TempToml(PathBuf);

impl TempToml {
    fn new(text: &str) -> TempToml {
        let path = std::env::temp_dir().join(format!("confpay-test-{}.toml", uuid::Uuid::new_v4()));
        std::fs::write(&path, text).expect("write temp config");
        TempToml(path)
    }
    fn location(&self) -> ConfigLocation {
        ConfigLocation::File(self.0.clone())
    }
    fn write(&self, text: &str) {
        std::fs::write(&self.0, text).expect("rewrite temp config");
    }
}

impl Drop for TempToml {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn env(vars: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
    vars.iter().map(|(k, v)| (k.into(), v.into())).collect()
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let file = TempToml::new(text);
    load(&file.location(), Vec::new())
}

fn load_err(text: &str) -> String {
    load_text(text)
        .expect_err("config must be refused")
        .to_string()
}

#[test]
fn no_file_gives_valid_defaults() {
    let absent = ConfigLocation::DefaultIfPresent(std::env::temp_dir().join("confpay-none.toml"));
    let c = load(&absent, Vec::new()).expect("defaults are valid");
    assert_eq!(c.esl.address, "127.0.0.1:8021");
    assert_eq!(c.esl.password.expose(), "ClueCon");
    assert_eq!(c.esl.max_frame_bytes, 16_777_216);
    assert_eq!(c.outbound.listen.to_string(), "127.0.0.1:8084");
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:8085");
    assert_eq!(c.http.token.expose(), "");
    assert_eq!(c.payment.capture_answer_timeout_s, 30);
    assert_eq!(c.payment.agent_id_suffix, "#");
    assert_eq!(c.payment.on_agent_hangup, OnAgentHangup::Hangup);
    assert_eq!(c.log.format, LogFormat::Auto);
}

#[test]
fn empty_file_is_valid_and_equals_defaults() {
    let c = load_text("").expect("empty file is valid");
    assert!(diff(&c, &Config::default()).is_empty());
}

#[test]
fn shipped_example_is_valid_and_equals_defaults() {
    let c = load(&ConfigLocation::File(SHIPPED_EXAMPLE.into()), Vec::new())
        .expect("shipped example is valid");
    assert_eq!(diff(&Config::default(), &c), Vec::<Change>::new());
}

#[test]
fn shipped_webhook_endpoint_example_is_valid_uncommented() {
    let text = std::fs::read_to_string(SHIPPED_EXAMPLE).expect("example");
    let (head, tail) = text
        .split_once("# [[webhooks.endpoints]]")
        .expect("the example has a commented endpoint");
    let uncommented: String = tail
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let c = load_text(&format!("{head}[[webhooks.endpoints]]{uncommented}\n")).expect("valid");
    assert_eq!(c.webhooks.endpoints.len(), 1);
    assert!(c.webhooks.endpoints[0].url.starts_with("https://"));
}

#[test]
fn unknown_key_is_rejected_by_name() {
    let e = load_err("[esl]\npasword = \"x\"\n");
    assert!(e.contains("unknown field `pasword`"), "{e}");
    assert!(e.contains("`esl`"), "{e}");
    let e = load_err("[payments]\nmax_capture_s = 1\n");
    assert!(e.contains("unknown field `payments`"), "{e}");
}

#[test]
fn wrong_type_names_the_key() {
    let e = load_err("[outbound]\nlisten = \"nonsense\"\n");
    assert!(e.contains("outbound.listen"), "{e}");
    let e = load_err("[log]\nformat = \"xml\"\n");
    assert!(e.contains("log.format"), "{e}");
    let e = load_err("[outbound]\nallow = [\"10.0.0.1/8\"]\n");
    assert!(
        e.contains("outbound.allow[0]") && e.contains("10.0.0.0/8"),
        "{e}"
    );
}

#[test]
fn env_override_applies_and_unrelated_confpay_vars_are_ignored() {
    let vars = env(&[
        ("CONFPAY_ESL__PASSWORD", "0123"),
        ("CONFPAY_PAYMENT__MAX_CAPTURE_S", "120"),
        ("CONFPAY_OUTBOUND__ALLOW", "10.0.0.0/8, ::1"),
        ("CONFPAY_LIVE_ESL", "127.0.0.1:8021"),
        ("CONFPAY_LIVE_PASSWORD", "secret"),
        ("CONFPAY_", "x"),
        ("CONFPAY___X", "x"),
        ("PATH", "/usr/bin"),
    ]);
    let file = TempToml::new("[esl]\npassword = \"from-file\"\n");
    let c = load(&file.location(), vars).expect("valid");
    // "0123" stays a string: overrides are not guessed into numbers.
    assert_eq!(c.esl.password.expose(), "0123");
    assert_eq!(c.payment.max_capture_s, 120);
    let allow: Vec<String> = c.outbound.allow.iter().map(ToString::to_string).collect();
    assert_eq!(allow, ["10.0.0.0/8", "::1/128"]);
}

#[test]
fn env_override_of_unknown_key_is_rejected_by_name() {
    let absent = ConfigLocation::DefaultIfPresent(std::env::temp_dir().join("confpay-none.toml"));
    let e = load(&absent, env(&[("CONFPAY_ESL__PASSWROD", "x")]))
        .expect_err("unknown key")
        .to_string();
    assert!(e.contains("CONFPAY_ESL__PASSWROD"), "{e}");
    assert!(e.contains("unknown field `passwrod`"), "{e}");
}

#[test]
fn override_key_form() {
    use confpay::config::load::override_key;
    assert_eq!(
        override_key("CONFPAY_ESL__PASSWORD").as_deref(),
        Some("esl.password")
    );
    assert_eq!(
        override_key("CONFPAY_PAYMENT__CAPTURE_ANSWER_TIMEOUT_S").as_deref(),
        Some("payment.capture_answer_timeout_s")
    );
    assert_eq!(override_key("CONFPAY_LIVE_ESL"), None);
    assert_eq!(override_key("CONFPAY_LIVE_PASSWORD"), None);
    assert_eq!(override_key("CONFPAY_A__B__C"), None);
    assert_eq!(override_key("CONFPAY_ESL__"), None);
    assert_eq!(override_key("OTHER_ESL__PASSWORD"), None);
}

#[test]
fn validation_names_every_bad_key() {
    let e = load_err(
        "[payment]\ncapture_answer_timeout_s = 0\ndtmf_duration_ms = 40\nagent_id_suffix = \"+\"\n\
         on_agent_hangup = \"transfer\"\n[esl]\nreconnect_initial_ms = 500\nreconnect_max_ms = 100\n\
         [log]\nlevel = \"info,=[\"\n",
    );
    for expected in [
        "esl.reconnect_max_ms: must be >= esl.reconnect_initial_ms (500)",
        "payment.capture_answer_timeout_s: must be > 0",
        "payment.dtmf_duration_ms: must be between 51 and 5000",
        "payment.agent_id_suffix: '+' is not a DTMF symbol",
        "payment.agent_hangup_transfer: required when payment.on_agent_hangup = \"transfer\"",
        "log.level: not a valid filter directive",
    ] {
        assert!(e.contains(expected), "missing {expected:?} in {e}");
    }
}

#[test]
fn non_loopback_outbound_without_allow_is_refused() {
    let e = load_err("[outbound]\nlisten = \"0.0.0.0:8084\"\nallow = []\n");
    assert!(
        e.contains("outbound.allow: must list the FreeSWITCH hosts"),
        "{e}"
    );
    let ok = load_text("[outbound]\nlisten = \"0.0.0.0:8084\"\nallow = [\"192.0.2.10\"]\n")
        .expect("non-loopback with an allow list is fine");
    assert_eq!(ok.outbound.allow.len(), 1);
    load_text("[outbound]\nlisten = \"127.0.0.1:9000\"\nallow = []\n")
        .expect("loopback with an empty allow list is fine");
}

#[test]
fn non_loopback_http_without_token_is_refused() {
    let e = load_err("[http]\nlisten = \"[::]:8085\"\n");
    assert!(e.contains("http.token: required (non-empty)"), "{e}");
    let ok = load_text("[http]\nlisten = \"192.0.2.1:8085\"\ntoken = \"s3cr3t-t0ken\"\n")
        .expect("with a token it is fine");
    assert_eq!(ok.http.token.expose(), "s3cr3t-t0ken");
}

#[test]
fn debug_and_render_never_show_secrets() {
    let c = load_text("[esl]\npassword = \"pw-XYZZY-42\"\n[http]\ntoken = \"tok-PLUGH-17\"\n")
        .expect("valid");
    let debug = format!("{c:?}");
    let rendered = render(&c);
    for text in [&debug, &rendered] {
        assert!(!text.contains("XYZZY"), "{text}");
        assert!(!text.contains("PLUGH"), "{text}");
    }
    assert!(debug.contains("password: ***"), "{debug}");
    assert!(rendered.contains("password = \"***\""), "{rendered}");
    assert!(rendered.contains("token = \"***\""), "{rendered}");
}

const WITH_HOOK: &str = "[webhooks]\nspool_max = 50\n[[webhooks.endpoints]]\nurl = \"https://crm.example.com/hook?x=1\"\nsecret = \"hook-FROBOZZ-0123456789abcdef0123456\"\nevents = [\"ready\", \"done\"]\n";

#[test]
fn webhook_endpoints_load_render_masked_and_parse_back() {
    let c = load_text(WITH_HOOK).expect("valid");
    assert_eq!(c.webhooks.endpoints.len(), 1);
    assert_eq!(c.webhooks.endpoints[0].events, ["ready", "done"]);
    let debug = format!("{c:?}");
    let rendered = render(&c);
    for text in [&debug, &rendered] {
        assert!(!text.contains("FROBOZZ"), "{text}");
    }
    assert!(
        rendered.contains(
            "endpoints = [{ url = \"https://crm.example.com/hook?x=1\", secret = \"***\", events = [\"ready\", \"done\"] }]"
        ),
        "{rendered}"
    );
    let text = render(&c)
        .replace("password = \"***\"", "password = \"ClueCon\"")
        .replace(
            "secret = \"***\"",
            "secret = \"hook-FROBOZZ-0123456789abcdef0123456\"",
        );
    let back = load_text(&text).expect("rendered config is valid TOML");
    assert!(diff(&c, &back).is_empty(), "{text}");
    // A changed secret is a change, shown masked; endpoints need a restart.
    let other = load_text(&WITH_HOOK.replace("FROBOZZ", "XYZZY")).expect("valid");
    let changes = diff(&c, &other);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].key, "webhooks.endpoints");
    assert_eq!(changes[0].apply, Apply::NeedsRestart);
    assert!(!changes[0].to_string().contains("XYZZY"));
}

#[test]
fn bad_webhook_endpoints_are_refused_by_name() {
    let e = load_err(&WITH_HOOK.replace("hook-FROBOZZ-0123456789abcdef0123456", "short"));
    assert!(
        e.contains("webhooks.endpoints: [0] secret must be at least 32 bytes"),
        "{e}"
    );
    let e = load_err(&WITH_HOOK.replace("\"done\"", "\"paid\""));
    assert!(e.contains("\"paid\" is not a session state"), "{e}");
    let e = load_err(&WITH_HOOK.replace("events", "event"));
    assert!(e.contains("unknown field `event`"), "{e}");
    let e = load_err("[webhooks]\nspool_dir = \"relative/dir\"\n");
    assert!(
        e.contains("webhooks.spool_dir: must be an absolute path"),
        "{e}"
    );
}

#[test]
fn rendered_config_parses_back_to_the_same_config() {
    let c = load_text(
        "[payment]\nhold_music = \"silence_stream://-1\"\nagent_hangup_transfer = \"a \\\"b\\\"\"\n",
    )
    .expect("valid");
    // Secrets render masked, so compare with the masked password put back.
    let text = render(&c).replace("password = \"***\"", "password = \"ClueCon\"");
    let back = load_text(&text).expect("rendered config is valid TOML");
    assert!(diff(&c, &back).is_empty(), "{text}");
}

#[test]
fn diff_lists_changed_keys_with_policy_and_masks_secrets() {
    let old = load_text("").expect("valid");
    let new = load_text(
        "[esl]\npassword = \"new-pw\"\n[payment]\nmax_capture_s = 300\n[outbound]\nlisten = \"127.0.0.1:9084\"\n",
    )
    .expect("valid");
    let changes = diff(&old, &new);
    assert_eq!(
        changes,
        vec![
            Change {
                key: "esl.password",
                old: "\"***\"".to_owned(),
                new: "\"***\"".to_owned(),
                apply: Apply::NeedsRestart,
            },
            Change {
                key: "outbound.listen",
                old: "\"127.0.0.1:8084\"".to_owned(),
                new: "\"127.0.0.1:9084\"".to_owned(),
                apply: Apply::NeedsRestart,
            },
            Change {
                key: "payment.max_capture_s",
                old: "600".to_owned(),
                new: "300".to_owned(),
                apply: Apply::Live,
            },
        ]
    );
    assert_eq!(changes[2].to_string(), "payment.max_capture_s: 600 -> 300");
    assert!(diff(&new, &new).is_empty());
}

#[test]
fn reload_applies_a_good_file_and_keeps_old_on_a_bad_one() {
    let file = TempToml::new("[payment]\nmax_capture_s = 300\n");
    let running = load(&file.location(), Vec::new()).expect("valid");

    file.write("[payment]\nmax_capture_s = 200\nhold_music = \"silence_stream://-1\"\n");
    let reloaded = reload(&file.location(), &running, Vec::new()).expect("valid");
    assert_eq!(reloaded.config.payment.max_capture_s, 200);
    let keys: Vec<&str> = reloaded.changes.iter().map(|c| c.key).collect();
    assert_eq!(keys, ["payment.max_capture_s", "payment.hold_music"]);

    file.write("[payment]\nmax_capture_s = 0\n");
    let e = reload(&file.location(), &running, Vec::new()).expect_err("invalid");
    assert!(
        e.to_string().contains("payment.max_capture_s: must be > 0"),
        "{e}"
    );

    file.write("[payment\n");
    let e = reload(&file.location(), &running, Vec::new()).expect_err("unparsable");
    assert!(matches!(e, ConfigError::Parse { .. }), "{e:?}");

    std::fs::remove_file(&file.0).expect("remove");
    let e = reload(&file.location(), &running, Vec::new()).expect_err("missing");
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    // The running configuration is untouched by all of the above.
    assert_eq!(running.payment.max_capture_s, 300);
}

#[test]
fn cluster_is_off_by_default_and_checked_when_on() {
    let c = load_text("").expect("valid");
    assert!(!c.cluster.enabled());
    let on = load_text(
        "[cluster]\nnats = [\"nats://10.0.0.5:4222\", \"tls://nats2.example.com:4222\"]\nnode = \"fs-01\"\n",
    )
    .expect("a cluster config is valid");
    assert!(on.cluster.enabled());
    assert_eq!(on.cluster.node, "fs-01");
    for (text, key) in [
        (
            "[cluster]\nnats = [\"nats://10.0.0.5:4222\"]\n",
            "cluster.node: required",
        ),
        (
            "[cluster]\nnats = [\"nats://10.0.0.5:4222\"]\nnode = \"fs.01\"\n",
            "cluster.node: required",
        ),
        (
            "[cluster]\nnats = [\"http://10.0.0.5:4222\"]\nnode = \"a\"\n",
            "cluster.nats: `http://10.0.0.5:4222` is not a nats:// or tls:// URL",
        ),
        (
            "[cluster]\nnode = \"a\"\n",
            "cluster.nats: must list the NATS servers",
        ),
        (
            "[cluster]\nnats = [\"nats://n:4222\"]\nnode = \"a\"\nheartbeat_ms = 2000\n",
            "cluster.unreachable_after_ms: must be at least twice",
        ),
        (
            "[cluster]\nnats = [\"nats://n:4222\"]\nnode = \"a\"\ntls_cert_file = \"/c.pem\"\n",
            "cluster.tls_key_file",
        ),
        (
            "[cluster]\nnats = [\"nats://confpay:PASS-QUUX@10.0.0.5:4222\"]\nnode = \"a\"\n",
            "cluster.nats: `nats://***@10.0.0.5:4222` has credentials in the URL",
        ),
    ] {
        let e = load_err(text);
        assert!(e.contains(key), "{text}: {e}");
        assert!(
            !e.contains("QUUX"),
            "a password in the URL is never echoed: {e}"
        );
    }
}

#[test]
fn cluster_token_is_masked_and_renders_back() {
    let c = load_text(
        "[cluster]\nnats = [\"nats://10.0.0.5:4222\"]\nnode = \"fs-01\"\ntoken = \"nats-QUUX-9\"\n",
    )
    .expect("valid");
    let (debug, rendered) = (format!("{c:?}"), render(&c));
    for text in [&debug, &rendered] {
        assert!(!text.contains("QUUX"), "{text}");
    }
    assert!(
        rendered.contains("[cluster]\nnats = [\"nats://10.0.0.5:4222\"]\nnode = \"fs-01\""),
        "{rendered}"
    );
    let text = rendered
        .replace("password = \"***\"", "password = \"ClueCon\"")
        .replace("token = \"***\"", "token = \"nats-QUUX-9\"");
    let back = load_text(&text).expect("rendered config is valid");
    assert!(diff(&c, &back).is_empty(), "{text}");
}
