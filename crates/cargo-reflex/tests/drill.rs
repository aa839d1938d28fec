//! `cargo reflex drill` end to end: real cargo, the drill's registry and sinkhole on loopback,
//! the real pipeline (review/gate, sandboxed build, monitored build, respond). Every drill here
//! runs inside a network namespace of its own that has only loopback, so nothing it does can
//! leave the machine, and with an empty home and temporary directory, so the test can check
//! that the scratch directory is the only thing written.

mod common;

use common::*;
use std::path::{Path, PathBuf};

struct Drill {
    tmp: tempfile::TempDir,
}

impl Drill {
    fn new() -> Drill {
        let tmp = tempfile::tempdir().unwrap();
        for d in ["home", "tmp"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        std::fs::write(tmp.path().join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        Drill { tmp }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    /// Runs `cargo-reflex drill <args>` in a loopback-only network namespace; the exit code.
    fn run(&self, args: &[&str]) -> i32 {
        let mut env: Vec<(String, String)> = Vec::new();
        for k in ["PATH", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "CARGO"] {
            if let Ok(v) = std::env::var(k) {
                env.push((k.into(), v));
            }
        }
        if std::env::var_os("RUSTUP_HOME").is_none()
            && let Some(h) = std::env::var_os("HOME")
        {
            env.push((
                "RUSTUP_HOME".into(),
                Path::new(&h).join(".rustup").display().to_string(),
            ));
        }
        env.push(("HOME".into(), self.path("home").display().to_string()));
        env.push(("TMPDIR".into(), self.path("tmp").display().to_string()));
        env.push(("NO_COLOR".into(), "1".into()));
        let mut all = vec!["drill".to_string()];
        all.extend(args.iter().map(|a| a.to_string()));
        let profile = reflex_sandbox::Profile {
            program: PathBuf::from(env!("CARGO_BIN_EXE_cargo-reflex")),
            args: all,
            cwd: self.tmp.path().to_path_buf(),
            env,
            isolation: reflex_sandbox::Isolation::NetworkOnly {
                resolv_conf: Some(self.path("resolv.conf")),
            },
            ..Default::default()
        };
        match reflex_sandbox::run(
            &profile,
            Path::new(env!("CARGO_BIN_EXE_cargo-reflex")),
            None,
        )
        .unwrap()
        {
            reflex_sandbox::Outcome::Exited(c) => c,
            other => panic!("drill ended with {other:?}"),
        }
    }

    fn card(&self, file: &str) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.path(file)).unwrap()).unwrap()
    }
}

fn layer<'a>(scenario: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    scenario["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == name)
        .unwrap_or_else(|| panic!("no {name} layer: {scenario:#}"))
}

/// What a user reads off the scorecard, without times, ports and paths.
fn outline(card: &serde_json::Value) -> serde_json::Value {
    let scenarios: Vec<serde_json::Value> = card["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let layers: Vec<serde_json::Value> = s["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| serde_json::json!({"layer": l["layer"], "status": l["status"], "codes": l["codes"]}))
                .collect();
            serde_json::json!({
                "name": s["name"],
                "passed": s["passed"],
                "layers": layers,
                "remedy": s["remediation"]["command"],
                "remedy_source": s["remediation"]["source"],
                "clean": s["remediation"]["clean"],
            })
        })
        .collect();
    serde_json::json!({"passed": card["passed"], "total": card["total"], "success_rate": card["success_rate"], "scenarios": scenarios})
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_builtin_scenario_is_defended_by_every_layer_that_applies() {
    let d = Drill::new();
    let scratch = d.path("scratch");
    let code = d.run(&[
        "--scratch",
        scratch.to_str().unwrap(),
        "--keep",
        "--state",
        d.path("state.sqlite").to_str().unwrap(),
        "--format",
        "json",
        "-o",
        d.path("card.json").to_str().unwrap(),
    ]);
    let card = d.card("card.json");
    assert_eq!(code, 0, "{card:#}");
    insta::assert_json_snapshot!("drill_outline", outline(&card));
    assert_eq!(card["total"], 7);
    assert_eq!(card["success_rate"], 100.0);
    for s in card["scenarios"].as_array().unwrap() {
        let name = s["name"].as_str().unwrap();
        let attack = s["attack"][0].as_str().unwrap();
        assert_eq!(layer(s, "gate")["status"], "blocked", "{s:#}");
        assert_eq!(s["remediation"]["clean"], true, "{s:#}");
        assert!(
            files(&scratch.join(name).join("markers")).is_empty(),
            "{name}"
        );
        if s["payload"] == "run" {
            // No build runs it: the sandbox and the monitor do not apply, and say so.
            for l in ["sandbox", "monitor"] {
                assert_eq!(layer(s, l)["status"], "not applicable", "{s:#}");
                assert_eq!(layer(s, l)["as_expected"], true, "{s:#}");
            }
            continue;
        }
        assert_eq!(layer(s, "sandbox")["status"], "contained", "{s:#}");
        let monitor = layer(s, "monitor");
        assert_eq!(monitor["status"], "detected", "{s:#}");
        // Attributed to the attack crate, and fast.
        assert!(
            monitor["evidence"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e.as_str().unwrap().contains(attack)),
            "{name}: {monitor:#}"
        );
        assert!(monitor["time_to_detect_ms"].as_f64().unwrap() < 100.0);
    }
    // The attack crates published months ago pass the cooldown: the gate blocks them by what
    // their code does and what their name imitates.
    for (name, by) in [
        (
            "runtime-lookalike",
            &["behaviour-download-execute", "typosquat-suspect"][..],
        ),
        (
            "obfuscated-build-script",
            &["behaviour-download-execute", "behaviour-obfuscated"][..],
        ),
    ] {
        let s = card["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap();
        let codes = layer(s, "gate")["codes"].to_string();
        assert!(!codes.contains("cooldown-too-young"), "{name}: {codes}");
        for c in by {
            assert!(codes.contains(c), "{name}: {codes}");
        }
    }
    assert_eq!(card["scenarios"][5]["payload"], "run");
    // The takeover's canary went out base64-encoded in a DNS name, and came back decoded.
    let takeover = &card["scenarios"][0];
    let monitor = layer(takeover, "monitor");
    assert_eq!(monitor["canary_decoded"], true);
    assert!(
        monitor["evidence"].as_array().unwrap().iter().any(|e| e
            .as_str()
            .unwrap()
            .starts_with("decoded: AWS_SECRET_ACCESS_KEY=")),
        "{monitor:#}"
    );
    // The scratch directory (and the files named on the command line) are all that was written.
    assert!(
        files(&d.path("home")).is_empty(),
        "{:?}",
        files(&d.path("home"))
    );
    assert!(
        files(&d.path("tmp")).is_empty(),
        "{:?}",
        files(&d.path("tmp"))
    );
    let mut top: Vec<String> = std::fs::read_dir(d.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("state.sqlite"))
        .collect();
    top.sort();
    assert_eq!(top, ["card.json", "home", "resolv.conf", "scratch", "tmp"]);

    // The human and Markdown scorecards are rendered from the same results.
    let history = run_with(
        d.tmp.path(),
        &[
            "drill",
            "--history",
            "--state",
            d.path("state.sqlite").to_str().unwrap(),
        ],
        &[],
        None,
    );
    assert_eq!(history.code, 0, "{}", history.stderr);
    assert!(history.stdout.contains("7/7"), "{}", history.stdout);
}

#[test]
fn a_layer_switched_off_shows_as_the_miss_it_is() {
    let d = Drill::new();
    let state = d.path("state.sqlite");
    let code = d.run(&[
        "-s",
        "takeover",
        "--off",
        "sandbox",
        "--scratch",
        d.path("scratch").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        d.path("card.json").to_str().unwrap(),
    ]);
    assert_eq!(
        code, 1,
        "a scenario not defended as expected fails the drill"
    );
    let card = d.card("card.json");
    assert_eq!(card["success_rate"], 0.0);
    assert_eq!(card["layers_off"][0], "sandbox");
    let s = &card["scenarios"][0];
    assert_eq!(s["passed"], false);
    let sandbox = layer(s, "sandbox");
    assert_eq!(sandbox["status"], "missed");
    assert_eq!(sandbox["as_expected"], false);
    let evidence = sandbox["evidence"].to_string();
    assert!(
        evidence.contains("the sinkhole received (dns)")
            && evidence.contains("takeover.drill.invalid")
            && evidence.contains("marker url-parse"),
        "{evidence}"
    );
    // The other layers still hold: the gate blocks, the monitor (observing only) detects.
    assert_eq!(layer(s, "gate")["status"], "blocked");
    assert_eq!(layer(s, "monitor")["status"], "detected");
    // An unsandboxed payload really ran; the drill put back what it changed.
    assert!(files(&d.path("home")).is_empty());
    assert!(!d.path("scratch").exists(), "removed without --keep");

    // Both drills of this state store, with the trend.
    let code = d.run(&[
        "-s",
        "takeover",
        "--off",
        "gate",
        "--scratch",
        d.path("scratch2").to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "-o",
        d.path("card.txt").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let human = std::fs::read_to_string(d.path("card.txt")).unwrap();
    assert!(
        human.contains("Drill scorecard: 0 of 1 scenarios defended as expected (0%)")
            && human.contains("layers switched off: gate")
            && human.contains("gate: off (!)")
            && human.contains("sandbox: contained"),
        "{human}"
    );
    let history = run(
        d.tmp.path(),
        &[
            "drill",
            "--history",
            "--state",
            state.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    let runs: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs:#}");
    assert_eq!(runs[0]["contained"], 0);
    assert_eq!(runs[1]["contained"], 1);
    assert_eq!(runs[1]["failed"][0], "takeover");
}

#[test]
fn users_add_their_own_scenarios() {
    let d = Drill::new();
    let dir = d.path("mine/env-dump");
    std::fs::create_dir_all(dir.join("crates/log-helper-0.2.0/src")).unwrap();
    std::fs::create_dir_all(dir.join("crates/log-helper-0.2.1/src")).unwrap();
    let manifest = |v: &str| {
        format!(
            "[package]\nname = \"log-helper\"\nversion = \"{v}\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"logs\"\n"
        )
    };
    for v in ["0.2.0", "0.2.1"] {
        let c = dir.join(format!("crates/log-helper-{v}"));
        std::fs::write(c.join("Cargo.toml"), manifest(v)).unwrap();
        std::fs::write(c.join("src/lib.rs"), "pub fn log() {}\n").unwrap();
    }
    std::fs::write(
        dir.join("crates/log-helper-0.2.1/build.rs"),
        "fn main() {\n    let t = std::env::var(\"CARGO_REGISTRY_TOKEN\").unwrap_or_default();\n    let home = std::env::var(\"HOME\").unwrap_or_default();\n    let _ = std::fs::write(format!(\"{home}/.cache-token\"), t);\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("scenario.toml"),
        r#"name = "env-dump"
title = "log-helper 0.2.1 stores the registry token in the home directory"
attack = ["log-helper"]
update = ["update", "-p", "log-helper"]
expect-alerts = ["file-write"]

[project]
dependencies = 'log-helper = "0.2"'

[[crate]]
name = "log-helper"
version = "0.2.0"
stage = "before"
path = "crates/log-helper-0.2.0"

[[crate]]
name = "log-helper"
version = "0.2.1"
stage = "attack"
path = "crates/log-helper-0.2.1"
"#,
    )
    .unwrap();
    let list = run(
        d.tmp.path(),
        &[
            "drill",
            "--list",
            "--scenarios-dir",
            d.path("mine").to_str().unwrap(),
        ],
    );
    assert!(
        list.stdout.contains("env-dump") && list.stdout.contains("takeover"),
        "{}",
        list.stdout
    );
    let code = d.run(&[
        "--scenarios-dir",
        d.path("mine").to_str().unwrap(),
        "-s",
        "env-dump",
        "--scratch",
        d.path("scratch").to_str().unwrap(),
        "--no-record",
        "--format",
        "markdown",
        "-o",
        d.path("card.md").to_str().unwrap(),
    ]);
    let md = std::fs::read_to_string(d.path("card.md")).unwrap();
    assert_eq!(code, 0, "{md}");

    // A scenario whose change does not bring the attack in is an error of that scenario.
    let broken = d.path("mine/broken");
    std::fs::create_dir_all(&broken).unwrap();
    let text = std::fs::read_to_string(dir.join("scenario.toml"))
        .unwrap()
        .replace("name = \"env-dump\"", "name = \"broken\"")
        .replace(
            "update = [\"update\", \"-p\", \"log-helper\"]",
            "update = [\"fetch\"]",
        )
        .replace("path = \"crates/", "path = \"../env-dump/crates/");
    std::fs::write(broken.join("scenario.toml"), text).unwrap();
    let code = d.run(&[
        "--scenarios-dir",
        d.path("mine").to_str().unwrap(),
        "-s",
        "broken",
        "--scratch",
        d.path("scratch-broken").to_str().unwrap(),
        "--no-record",
        "--format",
        "json",
        "-o",
        d.path("broken.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let card = d.card("broken.json");
    assert!(
        card["scenarios"][0]["error"]
            .as_str()
            .unwrap()
            .contains("`cargo fetch` did not bring in log-helper"),
        "{card:#}"
    );
    assert!(
        md.contains("## cargo-reflex drill: 1 of 1 scenarios defended (100%)")
            && md.contains("| **env-dump**")
            && md.contains("✅ detected (`file-write`)"),
        "{md}"
    );
}

#[test]
fn tabletop_names_steps_credentials_and_affected_lockfiles() {
    let tmp = takeover();
    let home = tmp.path().join("__home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/credentials"), "[default]\n").unwrap();
    let out = run_with(
        tmp.path(),
        &[
            "drill",
            "--tabletop",
            "takeover",
            "--contact",
            "Security on-call: +1 555 0100",
            tmp.path().join("ws").to_str().unwrap(),
        ],
        &[("GITHUB_TOKEN", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB")],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let t = &out.stdout;
    assert!(
        t.contains("First five steps\n1. Contain:") && t.contains("\n5. Report and learn:"),
        "{t}"
    );
    assert!(t.contains("- Security on-call: +1 555 0100"), "{t}");
    assert!(
        t.contains("$GITHUB_TOKEN") && !t.contains("ghp_0123"),
        "names, never values: {t}"
    );
    assert!(t.contains(".aws/credentials (AWS keys)"), "{t}");
    assert!(t.contains("Cargo.lock: url-parse 0.1.0"), "{t}");

    let json = run(
        tmp.path(),
        &[
            "drill",
            "--tabletop",
            "persistence",
            "--format",
            "json",
            tmp.path().join("ws").to_str().unwrap(),
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["steps"].as_array().unwrap().len(), 5);
    assert!(
        v["lockfiles"][0]
            .as_str()
            .unwrap()
            .starts_with("none of the"),
        "{v:#}"
    );
}

#[test]
fn bad_drill_input_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |s: &str| tmp.path().join(s).display().to_string();
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    std::fs::create_dir_all(tmp.path().join("bad")).unwrap();
    std::fs::write(
        tmp.path().join("bad/scenario.toml"),
        "name = \"x\"\ntitle = 3\n",
    )
    .unwrap();
    std::fs::create_dir_all(tmp.path().join("full")).unwrap();
    std::fs::write(tmp.path().join("full/file"), "").unwrap();
    for (args, says) in [
        (vec!["drill", "-s", "nope"], "no scenario named `nope`"),
        (vec!["drill", "--off", "firewall"], "is not a layer"),
        (
            vec!["drill", "--scenarios-dir", &p("empty")],
            "holds no scenario.toml",
        ),
        (vec!["drill", "--scenarios-dir", &p("bad")], "scenario.toml"),
        (vec!["drill", "--scratch", &p("full")], "is not empty"),
        (
            vec!["drill", "--tabletop", "nope"],
            "no scenario named `nope`",
        ),
    ] {
        let out = run(tmp.path(), &args);
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}
