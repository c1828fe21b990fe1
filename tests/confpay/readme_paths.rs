//! README.md keeps its promises: every repository path it names exists, and the commands it tells a
//! newcomer to run work (`demo` as a short bounded run of the debug binary, `demo --help`, the test
//! command being the one `.ci/run` uses, `--check-config` on the shipped example).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// Backtick spans and link targets of the README.
fn mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_code_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code_block = !in_code_block;
        }
        if in_code_block {
            // Commands in code blocks: every whitespace-separated word.
            out.extend(line.split_whitespace().map(str::to_owned));
            continue;
        }
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 1 {
                out.extend(part.split_whitespace().map(str::to_owned));
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            out.push(after[..end].to_owned());
            rest = &after[end..];
        }
    }
    out
}

/// A mention that names something in this repository: its first component is a top-level entry of
/// the repository (or a known directory of it), relative, not under `target/`.
fn repo_path(word: &str) -> Option<String> {
    let w = word
        .trim_start_matches(['(', '"'])
        .trim_end_matches([')', ',', ';', '.', ':', '"']);
    let w = w.strip_prefix("./").unwrap_or(w);
    if w.is_empty() || w.starts_with('/') || w.contains("://") || w.contains('<') {
        return None;
    }
    let first = w.split('/').next()?;
    let known = [
        "src",
        "crates",
        "tests",
        "systemd",
        "freeswitch-dialplan",
        ".ci",
        "examples",
        "benches",
        "fuzz",
    ];
    let top_level_file = !w.contains('/') && root().join(w).is_file() && w.contains('.');
    if (w.contains('/') && known.contains(&first)) || top_level_file {
        Some(w.trim_end_matches("/*").trim_end_matches('/').to_owned())
    } else {
        None
    }
}

/// A path, or a one-`*` file pattern (`tests/confpay/flow_*.rs`) that matches at least one file.
fn exists(p: &str) -> bool {
    let Some((head, tail)) = p.split_once('*') else {
        return Path::new(&root()).join(p).exists();
    };
    let (dir, prefix) = head.rsplit_once('/').unwrap_or(("", head));
    let Ok(entries) = std::fs::read_dir(Path::new(&root()).join(dir)) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.starts_with(prefix) && name.ends_with(tail) && name.len() >= prefix.len() + tail.len()
    })
}

#[test]
fn every_path_the_readme_names_exists() {
    let text = readme();
    let mut paths: Vec<String> = mentions(&text)
        .iter()
        .filter_map(|w| repo_path(w))
        .collect();
    paths.sort();
    paths.dedup();
    let missing: Vec<&String> = paths.iter().filter(|p| !exists(p)).collect();
    assert!(
        missing.is_empty(),
        "README names missing paths: {missing:?}"
    );
    // The check is not vacuous: the install section's files are among the paths found.
    for must in [
        "systemd/confpay.service",
        "systemd/confpay.toml",
        "freeswitch-dialplan/README.md",
        "freeswitch-dialplan",
        ".ci/check-deploy.sh",
        ".ci/run",
    ] {
        assert!(
            paths.iter().any(|p| p == must),
            "{must} not found among {paths:?}"
        );
    }
}

#[test]
fn the_two_first_commands_are_the_demo_and_the_ci_test_command() {
    let text = readme();
    let try_it = text
        .split("## Try it")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Try it section");
    assert!(try_it.contains("cargo run --release -- demo "), "{try_it}");
    assert!(try_it.contains("cargo test --locked "), "{try_it}");
    let ci = std::fs::read_to_string(root().join(".ci/run")).expect(".ci/run");
    assert!(
        ci.lines()
            .any(|l| l.trim_start().starts_with("cargo test --locked")),
        ".ci/run does not run `cargo test --locked`"
    );
    assert!(text.contains("press Ctrl-C to stop"));
}

fn confpayd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_confpayd"));
    c.args(args).current_dir(root()).env_remove("RUST_LOG");
    c
}

#[test]
fn demo_help_lists_every_flag_the_readme_mentions() {
    let out = confpayd(&["demo", "--help"])
        .output()
        .expect("run confpayd");
    assert!(out.status.success());
    let usage = String::from_utf8_lossy(&out.stdout);
    for flag in ["--serve", "--port", "--token", "--agent-secret", "--speed"] {
        assert!(usage.contains(flag), "usage lacks {flag}: {usage}");
        assert!(readme().contains(flag), "README lacks {flag}");
    }
    // The flags parse as the README writes them.
    let out = confpayd(&[
        "demo", "--serve", "--port", "0", "--token", "t", "--speed", "2", "--help",
    ])
    .output()
    .expect("run confpayd");
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn check_config_on_the_shipped_example_works() {
    let out = confpayd(&["--check-config", "--config", "systemd/confpay.toml"])
        .output()
        .expect("run confpayd");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
}

/// Runs `confpayd demo --speed 8` with `rust_log` (if any); waits at most 60 s; returns stdout.
fn bounded_demo(rust_log: Option<&str>) -> String {
    let mut cmd = confpayd(&["demo", "--speed", "8"]);
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run confpayd demo");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("confpayd demo did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().expect("output");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        status.success(),
        "{status}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("4111111111111111"), "{stdout}");
    stdout
}

/// `cargo run --release -- demo`, as the debug binary and with shorter pauses: it ends by itself,
/// exit 0, both payments completed, no card digits in what it prints.
#[test]
fn the_demo_runs_to_the_end_by_itself() {
    let stdout = bounded_demo(None);
    assert!(stdout.contains("outcome: Completed (Keyphone)"), "{stdout}");
    assert!(stdout.contains("outcome: Completed (Aca)"), "{stdout}");
    assert!(stdout.contains("both payments completed"), "{stdout}");
}

/// `RUST_LOG=debug ... demo`: the daemon's debug log lines join the output, still without a digit
/// of the card.
#[test]
fn the_demo_with_debug_logs_shows_no_card_digits() {
    let stdout = bounded_demo(Some("debug"));
    assert!(
        stdout.contains("session state") && stdout.contains("to=Capturing"),
        "{stdout}"
    );
    assert!(stdout.contains("both payments completed"), "{stdout}");
}
