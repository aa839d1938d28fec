//! End-to-end tests of `cargo reflex audit` and `cargo reflex db` on scenario fixtures and the
//! real-world corpus: what users see (human and JSON snapshots), exit codes, hostile input.
//!
//! The output formats are in `formats.rs`, lockfiles and workspaces in `lockfile.rs`,
//! secrets, the hardened scenario, code overrides and init in `checks.rs`.

mod checks;
#[path = "../common/mod.rs"]
mod common;
mod formats;
mod lockfile;

use common::*;

#[test]
fn takeover_scenario_human_output() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["--cargo-home", &cargo_home()]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!("takeover_human", run.stdout);
}

#[test]
fn takeover_scenario_json_output() {
    let tmp = takeover();
    let run = run(
        tmp.path(),
        &args(AUDIT, &["--format", "json", "--cargo-home", &cargo_home()]),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = json(&run);
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["summary"]["critical"], 1);
    assert_eq!(report["summary"]["passed"], false);
    // The malicious crate comes first, with the path that pulls it in and the remedy.
    let first = &report["findings"][0];
    assert_eq!(first["code"], "advisory-malicious");
    assert_eq!(first["package"]["name"], "url-parse");
    assert_eq!(
        first["via"],
        serde_json::json!(["app 0.1.0", "rust-utilities-v2 2.1.1", "url-parse 0.1.0"])
    );
    assert_eq!(report["ci"]["cargo_invocations"], 7);
    assert_eq!(report["ci"]["locked_invocations"], 3);
    assert_eq!(report["ci"]["locked_percent"], 42.9);
    insta::assert_snapshot!("takeover_json", run.stdout);
}

#[test]
fn takeover_scenario_findings_are_the_expected_set() {
    let tmp = takeover();
    let report = json(&run(
        tmp.path(),
        &args(AUDIT, &["--format", "json", "--cargo-home", &cargo_home()]),
    ));
    let codes = codes(&report);
    for expected in [
        "advisory-malicious",
        "advisory-vulnerability",
        "advisory-unmaintained",
        "advisory-unsound",
        "advisory-notice",
        "cargo-config-build-program",
        "advisory-db-invalid-entry",
        "yanked",
        "yanked-unchecked",
        "cargo-config-insecure-url",
        "cargo-config-plaintext-token",
        "cargo-config-source-replacement",
        "cargo-patch-redirect",
        "git-dependency-unpinned",
        "ci-cargo-unlocked",
        "ci-secret-exposed-to-build",
        "ci-secret-after-build",
        "ci-static-cloud-credentials",
        "ci-long-role-session",
        "ci-permissions-missing",
        "ci-permissions-broad",
        "ci-hardcoded-credential",
        "ci-pull-request-target-checkout",
    ] {
        assert!(
            codes.iter().any(|c| c == expected),
            "missing {expected} in {codes:?}"
        );
    }
    // The withdrawn advisory never matches; the lockfile is in sync with the manifests.
    let text = report.to_string();
    assert!(!text.contains("RUSTSEC-2026-9003"));
    assert!(
        !codes.iter().any(|c| c == "lockfile-out-of-sync"),
        "{codes:?}"
    );
    // The remedy clears all three smallvec vulnerabilities at once, at a real unyanked release.
    let smallvec = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "advisory-vulnerability")
        .unwrap();
    assert!(
        smallvec["remedy"]
            .as_str()
            .unwrap()
            .contains("cargo update -p smallvec@0.6.9 --precise 0.6.14")
    );
    // The plaintext token's value never appears in output.
    assert!(!text.contains("cio0123456789abcdefghijklmnopqrstuv"));
}

#[test]
fn deny_level_controls_the_exit_code() {
    let tmp = takeover();
    assert_eq!(
        run(tmp.path(), &args(AUDIT, &["--deny", "critical", "-q"])).code,
        1
    );
    assert_eq!(
        run(tmp.path(), &args(AUDIT, &["--deny", "none", "-q"])).code,
        0
    );
    let clean = run(
        &repo(),
        &[
            "audit",
            "--file",
            "fixtures/corpus/BurntSushi__ripgrep/Cargo.lock",
            "--offline",
            "--now",
            "2026-11-25",
        ],
    );
    assert_eq!(clean.code, 0, "{}{}", clean.stdout, clean.stderr);
    assert!(clean.stdout.contains("passed"));
    let bad = run(tmp.path(), &args(AUDIT, &["--deny", "severe"]));
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("severe"));
}

#[test]
fn quiet_prints_only_what_fails() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["-q"]));
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("advisory-malicious"));
    assert!(!run.stdout.contains("ci-cargo-unlocked"));
}

#[test]
fn runs_as_a_cargo_subcommand() {
    let tmp = takeover();
    let direct = run(tmp.path(), &args(AUDIT, &["--format", "json"]));
    let mut via_cargo = vec!["reflex"];
    via_cargo.extend(args(AUDIT, &["--format", "json"]));
    let sub = run(tmp.path(), &via_cargo);
    assert_eq!(direct.code, sub.code);
    assert_eq!(direct.stdout, sub.stdout);
}

/// The CI lint on the real workflows of the corpus projects: every finding here was reviewed
/// by hand; the snapshot pins them so a parser change that adds or drops one is noticed.
#[test]
fn ci_lint_on_real_corpus_workflows() {
    let mut table = String::new();
    let corpus = fixture("corpus");
    let mut dirs: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(".github").is_dir())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10);
    for dir in dirs {
        let manifest = dir.join("Cargo.toml");
        let run = run(
            &repo(),
            &[
                "audit",
                "--manifest-path",
                manifest.to_str().unwrap(),
                "--offline",
                "--no-yanked",
                "--format",
                "json",
                "--now",
                "2026-11-25",
            ],
        );
        let report = json(&run);
        let ci = &report["ci"];
        let mut counts = std::collections::BTreeMap::new();
        for f in report["findings"].as_array().unwrap() {
            let code = f["code"].as_str().unwrap();
            if code.starts_with("ci-") {
                *counts.entry(code.to_string()).or_insert(0) += 1;
            }
        }
        table.push_str(&format!(
            "{}: {}/{} locked ({}%), {} files; {:?}\n",
            dir.file_name().unwrap().to_string_lossy(),
            ci["locked_invocations"],
            ci["cargo_invocations"],
            ci["locked_percent"],
            ci["files"],
            counts
        ));
    }
    insta::assert_snapshot!("corpus_ci", table);
}
