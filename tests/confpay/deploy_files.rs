//! The deployment files agree with what confpayd expects of FreeSWITCH and systemd.
//!
//! Checks the drop-in XML under `freeswitch-dialplan/` (parsed with roxmltree, not by substring) and
//! the directives of `systemd/confpay.service`. No external tool runs here; `.ci/check-deploy.sh`
//! adds xmllint, frslint and systemd-analyze on top.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

// lead: switch to confpay::config::Config::default() (outbound listen address, esl address,
// payment.conference_profile, payment.capture_dial, payment.start_event_subclass) once the config
// module is merged; these are the literal defaults from the brief.
const OUTBOUND_LISTEN: &str = "127.0.0.1:8084";
const ESL_ADDR: &str = "127.0.0.1:8021";
const CONFERENCE_PROFILE: &str = "confpay";
const CAPTURE_DIAL: &str = "sofia/gateway/paytia/pay";
const START_EVENT_SUBCLASS: &str = "confpay::start";
// lead: switch to the exit-code constants of src/main.rs once merged.
const EXIT_CONFIG_ERROR: u8 = 2;
const EXIT_ESL_AUTH_REFUSED: u8 = 78;

fn repo_file(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn dialplan_files() -> Vec<&'static str> {
    vec![
        "freeswitch-dialplan/dialplan/default/10_confpay_socket.xml",
        "freeswitch-dialplan/dialplan/default/11_confpay_attach.xml",
        "freeswitch-dialplan/dialplan/confpay_features.xml",
    ]
}

/// `(application, data)` of every `<action>` in one extension, in document order.
fn actions_of(doc: &roxmltree::Document, extension: &str) -> Vec<(String, String)> {
    let ext = doc
        .descendants()
        .find(|n| n.has_tag_name("extension") && n.attribute("name") == Some(extension))
        .unwrap_or_else(|| panic!("extension {extension} missing"));
    ext.descendants()
        .filter(|n| n.has_tag_name("action"))
        .map(|n| {
            let app = n.attribute("application").unwrap_or_default().to_owned();
            let data = n.attribute("data").unwrap_or_default().to_owned();
            (app, data)
        })
        .collect()
}

/// `name -> value` of the `<param>` children of the first element called `parent`.
fn params(doc: &roxmltree::Document, parent: &str) -> HashMap<String, String> {
    let node = doc
        .descendants()
        .find(|n| n.has_tag_name(parent))
        .unwrap_or_else(|| panic!("<{parent}> missing"));
    node.children()
        .filter(|n| n.has_tag_name("param"))
        .map(|n| {
            let name = n.attribute("name").unwrap_or_default().to_owned();
            let value = n.attribute("value").unwrap_or_default().to_owned();
            (name, value)
        })
        .collect()
}

#[test]
fn socket_extension_matches_daemon_outbound_defaults() {
    let text = repo_file("freeswitch-dialplan/dialplan/default/10_confpay_socket.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let actions = actions_of(&doc, "confpay_customer");
    let sockets: Vec<&str> = actions
        .iter()
        .filter(|(app, _)| app == "socket")
        .map(|(_, data)| data.as_str())
        .collect();
    assert_eq!(sockets, vec!["127.0.0.1:8084 async full"]);

    let mut words = sockets[0].split(' ');
    let addr: SocketAddr = words
        .next()
        .and_then(|a| a.parse().ok())
        .expect("host:port");
    let daemon: SocketAddr = OUTBOUND_LISTEN.parse().expect("default parses");
    assert_eq!(addr, daemon);
    assert!(addr.ip().is_loopback());
    let flags: Vec<&str> = words.collect();
    assert_eq!(flags, vec!["async", "full"]);
}

#[test]
fn socket_extension_sets_what_the_daemon_reads_and_falls_back_to_a_bridge() {
    let text = repo_file("freeswitch-dialplan/dialplan/default/10_confpay_socket.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let actions = actions_of(&doc, "confpay_customer");
    let socket_at = actions
        .iter()
        .position(|(app, _)| app == "socket")
        .expect("socket action");
    let before: Vec<&str> = actions[..socket_at]
        .iter()
        .filter(|(app, _)| app == "set")
        .map(|(_, data)| data.as_str())
        .collect();
    for wanted in [
        "confpay_agent_dial=user/1000",
        "confpay_agent_id=1000",
        "conference_controls=none",
        "sensitive_dtmf=true",
        "digits_dialed_filter=^(.+)$",
        "hangup_after_bridge=false",
        "park_after_bridge=true",
        "socket_resume=false",
        "confpay_nonce=${create_uuid()}",
    ] {
        assert!(
            before.contains(&wanted),
            "missing before socket: set {wanted}"
        );
    }
    let after: Vec<(&str, &str)> = actions[socket_at + 1..]
        .iter()
        .map(|(a, d)| (a.as_str(), d.as_str()))
        .collect();
    assert!(after.contains(&("set", "park_after_bridge=false")));
    assert!(after.contains(&("set", "hangup_after_bridge=true")));
    assert!(after.contains(&("bridge", "${confpay_agent_dial}")));
    assert_eq!(after.last(), Some(&("hangup", "NORMAL_TEMPORARY_FAILURE")));
}

#[test]
fn every_action_uses_data_not_args() {
    let mut seen = 0;
    for file in dialplan_files() {
        let text = repo_file(file);
        let doc = roxmltree::Document::parse(&text).expect("well-formed");
        for node in doc
            .descendants()
            .filter(|n| n.has_tag_name("action") || n.has_tag_name("anti-action"))
        {
            seen += 1;
            assert_eq!(
                node.attribute("args"),
                None,
                "{file}: args= is ignored by mod_dialplan_xml"
            );
            let app = node.attribute("application").unwrap_or_default();
            assert!(!app.is_empty(), "{file}: action without application");
            assert!(
                node.attribute("data").is_some(),
                "{file}: {app} has no data="
            );
        }
    }
    assert!(seen >= 20, "only {seen} actions found");
}

#[test]
fn agent_feature_code_fires_the_start_event_on_the_agent_leg() {
    let bind = "9 b s execute_extension::confpay_start XML confpay_features";
    for (file, ext) in [
        (
            "freeswitch-dialplan/dialplan/default/10_confpay_socket.xml",
            "confpay_customer",
        ),
        (
            "freeswitch-dialplan/dialplan/default/11_confpay_attach.xml",
            "confpay_attach_example",
        ),
    ] {
        let text = repo_file(file);
        let doc = roxmltree::Document::parse(&text).expect("well-formed");
        let binds: Vec<(String, String)> = actions_of(&doc, ext)
            .into_iter()
            .filter(|(app, _)| app == "bind_meta_app")
            .collect();
        assert_eq!(
            binds,
            vec![("bind_meta_app".to_owned(), bind.to_owned())],
            "{file}"
        );
    }

    let text = repo_file("freeswitch-dialplan/dialplan/confpay_features.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let context = doc
        .descendants()
        .find(|n| n.has_tag_name("context"))
        .and_then(|n| n.attribute("name"));
    assert_eq!(context, Some("confpay_features"));
    let actions = actions_of(&doc, "confpay_start");
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].0, "event");
    let headers: HashMap<&str, &str> = actions[0]
        .1
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .collect();
    assert_eq!(headers.get("Event-Name"), Some(&"CUSTOM"));
    assert_eq!(headers.get("Event-Subclass"), Some(&START_EVENT_SUBCLASS));
    assert_eq!(
        headers.get("confpay_agent_id"),
        Some(&"${confpay_agent_id}")
    );
}

/// The attach example marks each leg's role for confpayd, exports the agent ID, and leaves the
/// park/hangup-after-bridge variables alone (confpayd sets them just before it moves the legs, so
/// until then the call hangs up like any bridge).
#[test]
fn attach_example_marks_the_roles_and_leaves_bridge_ending_alone() {
    let text = repo_file("freeswitch-dialplan/dialplan/default/11_confpay_attach.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let actions = actions_of(&doc, "confpay_attach_example");
    let bridge_at = actions
        .iter()
        .position(|(app, _)| app == "bridge")
        .expect("bridge action");
    let before = &actions[..bridge_at];
    assert!(before.contains(&("set".to_owned(), "confpay_role=customer".to_owned())));
    assert!(before.contains(&(
        "export".to_owned(),
        "confpay_agent_id=${confpay_agent_id}".to_owned()
    )));
    assert!(
        !before
            .iter()
            .any(|(_, data)| data.contains("park_after_bridge")
                || data.contains("hangup_after_bridge")),
        "{before:?}"
    );
    assert_eq!(
        actions[bridge_at].1,
        "{confpay_role=agent,conference_controls=none}${confpay_agent_dial}"
    );
}

#[test]
fn conference_profile_has_no_caller_controls_and_no_state_sounds() {
    let text = repo_file("freeswitch-dialplan/conference/confpay_profile.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let profile = doc
        .descendants()
        .find(|n| n.has_tag_name("profile"))
        .and_then(|n| n.attribute("name"));
    assert_eq!(profile, Some(CONFERENCE_PROFILE));
    let p = params(&doc, "profile");
    assert_eq!(p.get("caller-controls").map(String::as_str), Some("none"));
    assert_eq!(
        p.get("moh-sound").map(String::as_str),
        Some("local_stream://moh")
    );
    for sound in [
        "enter-sound",
        "exit-sound",
        "alone-sound",
        "muted-sound",
        "unmuted-sound",
        "kicked-sound",
        "locked-sound",
        "is-locked-sound",
        "is-unlocked-sound",
        "join-only-sound",
        "announce-count",
        "auto-record",
    ] {
        assert!(!p.contains_key(sound), "{sound} must not be set");
    }
    let suppressed: Vec<&str> = p
        .get("suppress-events")
        .map(|v| v.split(',').collect())
        .unwrap_or_default();
    assert!(suppressed.contains(&"dtmf-member"));
    for needed in ["add-member", "del-member"] {
        assert!(!suppressed.contains(&needed), "confpayd needs {needed}");
    }
}

#[test]
fn event_socket_listens_on_loopback_only() {
    let text = repo_file("freeswitch-dialplan/autoload_configs/event_socket.conf.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let p = params(&doc, "settings");
    let ip: IpAddr = p["listen-ip"].parse().expect("listen-ip is an address");
    assert!(ip.is_loopback());
    let port: u16 = p["listen-port"].parse().expect("numeric port");
    let daemon: SocketAddr = ESL_ADDR.parse().expect("default parses");
    assert_eq!(SocketAddr::new(ip, port), daemon);
    assert_eq!(
        p.get("apply-inbound-acl").map(String::as_str),
        Some("loopback.auto")
    );
    let password = &p["password"];
    assert!(!password.is_empty() && !password.contains(char::is_whitespace));
    assert_ne!(
        password, "ClueCon",
        "ship a placeholder, not the public default"
    );
}

#[test]
fn capture_gateway_is_the_one_capture_dial_names() {
    let text = repo_file("freeswitch-dialplan/sip_profiles/external/paytia.xml");
    let doc = roxmltree::Document::parse(&text).expect("well-formed");
    let gateway = doc
        .descendants()
        .find(|n| n.has_tag_name("gateway"))
        .and_then(|n| n.attribute("name"));
    let dialled = CAPTURE_DIAL
        .strip_prefix("sofia/gateway/")
        .and_then(|rest| rest.split('/').next());
    assert_eq!(gateway, dialled);
    let p = params(&doc, "gateway");
    assert_eq!(
        p.get("proxy").map(String::as_str),
        Some("capture.example.net")
    );
    let vars: HashMap<&str, &str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("variable"))
        .filter_map(|n| Some((n.attribute("name")?, n.attribute("value")?)))
        .collect();
    assert_eq!(vars.get("dtmf_type"), Some(&"rfc2833"));
    assert_eq!(vars.get("sensitive_dtmf"), Some(&"true"));
}

/// `(section, key) -> values` of a unit file; repeated keys keep every value in order.
fn unit_directives(text: &str) -> HashMap<(String, String), Vec<String>> {
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value line");
        out.entry((section.clone(), key.trim().to_owned()))
            .or_default()
            .push(value.trim().to_owned());
    }
    out
}

#[test]
fn unit_file_has_every_required_directive() {
    let d = unit_directives(&repo_file("systemd/confpay.service"));
    let get = |section: &str, key: &str| -> Vec<String> {
        d.get(&(section.to_owned(), key.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let exit_codes = format!("{EXIT_CONFIG_ERROR} {EXIT_ESL_AUTH_REFUSED}");
    let service: &[(&str, &str)] = &[
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30s"),
        (
            "ExecStart",
            "/usr/local/bin/confpayd --config /etc/confpay/confpay.toml",
        ),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
        ("RestartSec", "2s"),
        ("RestartPreventExitStatus", exit_codes.as_str()),
        ("User", "confpay"),
        ("Group", "confpay"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("SystemCallArchitectures", "native"),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictNamespaces", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("ProtectClock", "yes"),
        ("ProtectHostname", "yes"),
        ("UMask", "0077"),
        ("LimitNOFILE", "65536"),
        ("SyslogIdentifier", "confpay"),
        // The webhook spool ($STATE_DIRECTORY) outlives a restart and is the service's alone.
        ("StateDirectory", "confpay"),
        ("StateDirectoryMode", "0700"),
    ];
    for (key, value) in service {
        assert_eq!(
            get("Service", key),
            vec![(*value).to_owned()],
            "[Service] {key}"
        );
    }
    assert_eq!(
        get("Service", "SystemCallFilter")
            .first()
            .map(String::as_str),
        Some("@system-service")
    );
    assert!(
        get("Service", "LogLevelMax").is_empty(),
        "see the unit's comment on LogLevelMax"
    );
    assert!(get("Service", "DynamicUser").is_empty());

    let after: Vec<String> = get("Unit", "After")
        .join(" ")
        .split(' ')
        .map(str::to_owned)
        .collect();
    assert!(after.contains(&"network.target".to_owned()));
    assert!(after.contains(&"freeswitch.service".to_owned()));
    assert_eq!(get("Unit", "Wants"), vec!["freeswitch.service".to_owned()]);
    assert_eq!(
        get("Install", "WantedBy"),
        vec!["multi-user.target".to_owned()]
    );
}
