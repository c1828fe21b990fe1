//! The load conf tree for real-switch mode (`crates/load/freeswitch/install.py`), built from a small
//! base tree with the vanilla layout (what `tests/confpay/live/freeswitch/install.py` edits): the
//! session limits are raised, the load parties and the live suite's capture stand-in are installed,
//! and the shipped dialplan is in place. Needs `python3`, as the live suite's installer does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The parts of a vanilla conf tree the installers edit.
fn base_tree(root: &Path) {
    write(
        root,
        "freeswitch.xml",
        "<document type=\"freeswitch/xml\"/>\n",
    );
    write(
        root,
        "vars.xml",
        "<include>\n  <X-PRE-PROCESS cmd=\"set\" data=\"domain=x\"/>\n</include>\n",
    );
    write(
        root,
        "autoload_configs/switch.conf.xml",
        "<configuration name=\"switch.conf\">\n  <settings>\n    <param name=\"max-sessions\" value=\"1000\"/>\n    \
         <param name=\"loglevel\" value=\"debug\"/>\n  </settings>\n</configuration>\n",
    );
    write(
        root,
        "autoload_configs/conference.conf.xml",
        "<configuration name=\"conference.conf\">\n  <profiles>\n  </profiles>\n</configuration>\n",
    );
    write(
        root,
        "autoload_configs/console.conf.xml",
        "<configuration name=\"console.conf\">\n  <mappings>\n    <map name=\"all\" value=\"console,debug\"/>\n  \
         </mappings>\n  <settings>\n    <param name=\"loglevel\" value=\"info\"/>\n  </settings>\n</configuration>\n",
    );
    write(
        root,
        "autoload_configs/logfile.conf.xml",
        "<configuration name=\"logfile.conf\">\n  <mappings>\n    <map name=\"all\" value=\"debug\"/>\n  \
         </mappings>\n</configuration>\n",
    );
    std::fs::create_dir_all(root.join("dialplan/default")).expect("mkdir");
    std::fs::create_dir_all(root.join("sip_profiles")).expect("mkdir");
}

#[test]
fn the_load_tree_raises_the_session_limits_and_installs_the_parties() {
    let tmp = std::env::temp_dir().join(format!("confpay-load-fsconf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let (base, out) = (tmp.join("base"), tmp.join("out"));
    base_tree(&base);
    let script: PathBuf = [env!("CARGO_MANIFEST_DIR"), "freeswitch", "install.py"]
        .iter()
        .collect();
    let run = Command::new("python3")
        .arg(&script)
        .args([&base, &out])
        .args(["--max-sessions", "5000", "--sessions-per-second", "400"])
        .output()
        .expect("python3 runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let read = |rel: &str| std::fs::read_to_string(out.join(rel)).expect(rel);
    let switch = read("autoload_configs/switch.conf.xml");
    assert!(
        switch.contains(r#"<param name="max-sessions" value="5000"/>"#),
        "{switch}"
    );
    // Missing in the base: added inside <settings>.
    assert!(
        switch.contains(r#"<param name="sessions-per-second" value="400"/>"#),
        "{switch}"
    );
    assert!(!switch.contains(r#"value="1000""#), "{switch}");
    // The live suite's PCI log ceiling is kept.
    assert!(
        switch.contains(r#"<param name="loglevel" value="notice"/>"#),
        "{switch}"
    );
    let load = read("dialplan/default/91_confpay_load.xml");
    assert!(
        load.contains("^load_phone$") && load.contains("^load_agent$"),
        "{load}"
    );
    // The parties dial what the tool's constants name.
    let agent = confpay_load::realswitch::calls::AGENT_DIAL;
    assert!(agent.contains("load_agent@"), "{agent}");
    assert!(read("dialplan/default/90_confpay_live.xml").contains("^pay$"));
    assert!(read("dialplan/default/10_confpay_socket.xml").contains("8500"));
    assert!(read("sip_profiles/external/paytia.xml").contains("127.0.0.1:5060"));
    // The capture gateway's profile dials with the leg's UUID as Call-ID, and the stand-in reports
    // its Call-ID: each report names its capture leg.
    let external = read("sip_profiles/external.xml");
    assert!(
        external.contains(r#"<param name="outbound-use-uuid-as-callid" value="true"/>"#),
        "{external}"
    );
    assert!(read("dialplan/default/90_confpay_live.xml").contains("Live-Call-ID=${sip_call_id}"));
    // A second run into the same place is refused rather than mixed.
    let again = Command::new("python3")
        .arg(&script)
        .args([&base, &out])
        .output()
        .expect("python3");
    assert!(!again.status.success());
    let _ = std::fs::remove_dir_all(&tmp);
}
