//! Secrets in the environment and in cargo's configuration, every code documented, the
//! hardened scenario, code overrides, and the advisories init accepts.

use crate::common::*;

#[test]
fn env_lists_secret_names_never_values() {
    let tmp = takeover();
    let home = tmp.path().join("__home");
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::write(home.join(".aws/credentials"), "[default]\n").unwrap();
    let env = [
        ("GITHUB_TOKEN", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY",
        ),
        (
            "INNOCENT_NAME",
            "github_pat_11AAAAAAA0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH",
        ),
        ("RUST_LOG", "debug"),
    ];
    let run = run_with(
        tmp.path(),
        &args(AUDIT, &["--env", "--format", "json"]),
        &env,
        None,
    );
    let report = json(&run);
    let secrets: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "env-secret-visible")
        .map(|f| f["title"].as_str().unwrap())
        .collect();
    assert_eq!(secrets.len(), 3, "{secrets:?}");
    assert!(secrets.iter().any(|t| t.contains("INNOCENT_NAME")));
    assert!(!secrets.iter().any(|t| t.contains("RUST_LOG")));
    for (_, value) in env {
        assert!(!run.stdout.contains(value), "value leaked into the report");
    }
    assert!(codes(&report).contains(&"env-credential-file".into()));
}

#[test]
fn every_finding_code_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for (_, spec) in reflex::checks::catalog().iter() {
        assert!(
            readme.contains(&format!("`{}`", spec.code)),
            "README does not document `{}`",
            spec.code
        );
    }
}

#[test]
fn registry_token_in_cargo_home_config_is_reported() {
    let tmp = takeover();
    let home = tmp.path().join("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        "[registry]\ntoken = \"cio00000000000000000000000000000000\"\n",
    )
    .unwrap();
    let report = json(&run(
        tmp.path(),
        &args(AUDIT, &["--format", "json", "--cargo-home", "cargo-home"]),
    ));
    let tokens: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "cargo-config-plaintext-token")
        .map(|f| f["location"]["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tokens.contains(&"cargo-home/config.toml".to_string()),
        "{tokens:?}"
    );
    assert!(
        !run(tmp.path(), &args(AUDIT, &["--cargo-home", "cargo-home"]))
            .stdout
            .contains("cio0000")
    );
}

/// A project that does everything right gets no findings: locked CI (also through env,
/// matrix and alias), secrets only in a job that runs no dependency code, OIDC with short
/// sessions, pinned git dependency, credential provider instead of a token.
#[test]
fn hardened_scenario_has_no_findings() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), &tmp.path().join("ws"));
    copy_dir(
        &fixture("advisory-db-scenario"),
        &tmp.path().join("advisory-db"),
    );
    std::fs::remove_file(
        tmp.path()
            .join("advisory-db/crates/arrayref/RUSTSEC-2026-9004.md"),
    )
    .unwrap();
    let run = run(
        tmp.path(),
        &args(AUDIT, &["--format", "json", "--cargo-home", &cargo_home()]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run);
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["ci"]["locked_percent"], 100.0);
    assert_eq!(report["ci"]["cargo_invocations"], 6);
}

#[test]
fn code_overrides_change_the_verdict_in_one_place() {
    let tmp = takeover();
    let allow = json(&run(
        tmp.path(),
        &args(
            AUDIT,
            &[
                "--format",
                "json",
                "-A",
                "advisory-malicious",
                "-A",
                "advisory-vulnerability",
            ],
        ),
    ));
    assert_eq!(allow["summary"]["passed"], true, "{:#}", allow["summary"]);
    assert_eq!(allow["summary"]["allowed"], 4);
    assert!(
        !codes(&allow)
            .iter()
            .any(|c| c.starts_with("advisory-vuln") || c == "advisory-malicious")
    );
    let deny = run(
        tmp.path(),
        &args(
            AUDIT,
            &[
                "-A",
                "advisory-malicious",
                "-A",
                "advisory-vulnerability",
                "-D",
                "ci-cargo-unlocked",
            ],
        ),
    );
    assert_eq!(deny.code, 1, "-D makes unlocked CI fail the run");
    let warn = json(&run(
        tmp.path(),
        &args(AUDIT, &["--format", "json", "-W", "advisory-vulnerability"]),
    ));
    let findings = warn["findings"].as_array().unwrap();
    let vulns: Vec<&serde_json::Value> = findings
        .iter()
        .filter(|f| f["code"] == "advisory-vulnerability")
        .collect();
    assert!(!vulns.is_empty());
    assert!(
        vulns
            .iter()
            .all(|f| f["denied"] == false && f["severity"] == "high"),
        "-W keeps the severity and never fails: {vulns:#?}"
    );
    assert_eq!(
        warn["summary"]["denied"],
        findings.iter().filter(|f| f["denied"] == true).count(),
    );
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "advisory-malicious" && f["denied"] == true),
        "other codes keep their verdict"
    );
    let typo = run(tmp.path(), &args(AUDIT, &["-A", "advisory-malicous"]));
    assert_eq!(typo.code, 2);
    assert!(
        typo.stderr
            .contains("unknown finding code `advisory-malicous`"),
        "{}",
        typo.stderr
    );
}

#[test]
fn init_names_every_advisory_it_accepts_and_when_it_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path();
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nsmallvec = \"0.6\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        ws.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"smallvec\"]\n\n[[package]]\nname = \"smallvec\"\nversion = \"0.6.9\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"c4488ae950c49d403731982257768f48fada354a5203fe81f9bb6f43ca9002be\"\n",
    )
    .unwrap();
    let out = run(
        ws,
        &[
            "init",
            "--offline",
            "--no-fetch",
            "--now",
            "2026-11-29T12:00:00Z",
        ],
    );
    assert!(
        out.stderr
            .contains("known advisories accepted into the baseline"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("RUSTSEC-2021-0003 smallvec 0.6.9") && l.contains("until 2027-")),
        "{}",
        out.stderr
    );
}
