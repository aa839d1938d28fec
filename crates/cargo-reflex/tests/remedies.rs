//! Remedies that work: every `cargo update` command cargo-reflex prints is run with real cargo
//! against a sparse registry on loopback that this test serves, and what it names is fixed
//! afterwards. smallvec 0.6.9 is yanked and affected by five advisories (0.6.10 still by
//! RUSTSEC-2021-0003); time 0.1.43 has no fixed 0.1 release (RUSTSEC-2020-0071).

mod common;

use common::*;
use std::path::Path;

const NOW: &str = "2026-11-25T12:00:00Z";

fn publish(name: &str, version: &str) -> reflex::drill::registry::Publish {
    reflex::drill::registry::Publish {
        name: name.into(),
        version: version.into(),
        registry: None,
        files: [
            (
                "Cargo.toml".to_string(),
                format!(
                    "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2018\"\nlicense = \"MIT\"\n"
                ),
            ),
            ("src/lib.rs".to_string(), String::new()),
        ]
        .into_iter()
        .collect(),
        pubtime: "2024-01-01T00:00:00Z".into(),
    }
}

fn cargo(ws: &Path, registry: &str, args: &[&str]) -> (bool, String) {
    let out = cargo_against(ws, &ws.join("__cargo-home"), registry, args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn audit(ws: &Path, registry: &str) -> serde_json::Value {
    json(&run_with(
        ws,
        &[
            "audit",
            "--format",
            "json",
            "--now",
            NOW,
            "--cargo-home",
            "__reflex-cargo-home",
        ],
        &[("CARGO_REFLEX_CRATES_IO_INDEX", registry)],
        None,
    ))
}

fn remedies<'a>(report: &'a serde_json::Value, name: &str) -> Vec<(&'a str, &'a str)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["package"]["name"] == name)
        .filter_map(|f| Some((f["code"].as_str()?, f["remedy"].as_str()?)))
        .collect()
}

/// The `cargo update ...` commands quoted in a remedy.
fn commands(remedy: &str) -> Vec<String> {
    remedy
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("cargo update "))
        .map(str::to_string)
        .collect()
}

fn run_cargo_command(ws: &Path, registry: &str, command: &str) {
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let (ok, err) = cargo(ws, registry, &args);
    assert!(ok, "`{command}` failed: {err}");
}

#[test]
fn every_printed_cargo_update_command_runs_and_fixes_what_it_names() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nsmallvec = \"0.6\"\ntime = \"0.1\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    let (url, server) = server();
    // Locked when only the old releases existed.
    server
        .publish(&[publish("smallvec", "0.6.9"), publish("time", "0.1.43")])
        .unwrap();
    let (ok, err) = cargo(&ws, &url, &["generate-lockfile"]);
    assert!(ok, "{err}");
    let all: Vec<_> = [
        ("smallvec", "0.6.9"),
        ("smallvec", "0.6.10"),
        ("smallvec", "0.6.13"),
        ("smallvec", "0.6.14"),
        ("smallvec", "1.0.0"),
        ("time", "0.1.43"),
        ("time", "0.1.44"),
        ("time", "0.2.0"),
        ("time", "0.2.23"),
    ]
    .into_iter()
    .map(|(n, v)| publish(n, v))
    .collect();
    server.publish(&all).unwrap();
    server.yank("smallvec", "0.6.9");

    let before = audit(&ws, &url);
    let smallvec = remedies(&before, "smallvec");
    assert!(smallvec.iter().any(|(c, _)| *c == "yanked"), "{before:#}");
    // One remedy per package: the yanked finding and every advisory name the same release,
    // the first one no advisory affects (never 0.6.10).
    for (code, remedy) in &smallvec {
        assert!(remedy.contains("--precise 0.6.14"), "{code}: {remedy}");
    }
    let time = remedies(&before, "time");
    assert!(!time.is_empty(), "{before:#}");
    for (code, remedy) in &time {
        assert!(
            remedy.contains("semver-incompatible")
                && remedy.contains("change the requirement on `time`")
                && !remedy.contains("--precise"),
            "{code}: {remedy}"
        );
    }

    // respond says the same, as a command only where cargo accepts one.
    let respond = json(&run_with(
        tmp.path(),
        &["respond", "CVE-2020-26235", "--format", "json", "--online"],
        &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
        None,
    ));
    let fix = respond["projects"][0]["matches"][0]["remedy"]
        .as_str()
        .unwrap_or_else(|| panic!("{respond:#}"));
    assert!(
        !fix.starts_with("cargo update") && fix.contains("semver-incompatible"),
        "{fix}"
    );
    let respond = json(&run_with(
        tmp.path(),
        &[
            "respond",
            "RUSTSEC-2019-0009",
            "--format",
            "json",
            "--online",
        ],
        &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
        None,
    ));
    assert_eq!(
        respond["projects"][0]["matches"][0]["remedy"],
        "cargo update -p smallvec@0.6.9 --precise 0.6.14"
    );

    // Run what was printed.
    let mut printed: Vec<String> = smallvec.iter().flat_map(|(_, r)| commands(r)).collect();
    printed.sort();
    printed.dedup();
    assert_eq!(printed.len(), 1, "{printed:?}");
    for c in &printed {
        run_cargo_command(&ws, &url, c);
    }
    // The manifest change the time remedy names, then its command.
    let (_, remedy) = time[0];
    let target = remedy
        .split("to \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        manifest.replace("time = \"0.1\"", &format!("time = \"{target}\"")),
    )
    .unwrap();
    for c in commands(remedy) {
        run_cargo_command(&ws, &url, &c);
    }

    let after = audit(&ws, &url);
    let left: Vec<(&str, &str)> = remedies(&after, "smallvec")
        .into_iter()
        .chain(remedies(&after, "time"))
        .collect();
    assert!(left.is_empty(), "fixed: {left:#?}");
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"smallvec\"\nversion = \"0.6.14\""),
        "{lock}"
    );
}
