//! End-to-end tests of `cargo reflex audit` and `cargo reflex db` on scenario fixtures and the
//! real-world corpus: what users see (human and JSON snapshots), exit codes, hostile input.

mod common;
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

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "sarif"]));
    assert_eq!(run.code, 1);
    assert_valid_sarif(&run.stdout);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let report = json(&common::run(
        tmp.path(),
        &args(AUDIT, &["--format", "json"]),
    ));
    assert_eq!(results.len(), report["findings"].as_array().unwrap().len());
    assert_eq!(results[0]["ruleId"], "advisory-malicious");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "ws/Cargo.lock"
    );
    // A schema that rejects nothing would make this test pointless.
    let invalid = std::panic::catch_unwind(|| {
        assert_valid_sarif(r#"{"version": "2.1.0", "runs": [{"tool": {}}]}"#)
    });
    assert!(invalid.is_err());
}

#[test]
fn json_follows_the_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let tmp = takeover();
    let mut reports = vec![json(&run(
        tmp.path(),
        &args(
            AUDIT,
            &["--format", "json", "--env", "--cargo-home", &cargo_home()],
        ),
    ))];
    reports.push(json(&run(
        &repo(),
        &[
            "audit",
            "--manifest-path",
            "fixtures/corpus/bevyengine__bevy",
            "--offline",
            "--format",
            "json",
        ],
    )));
    reports.push(json(&run(
        &repo(),
        &[
            "audit",
            "--file",
            "fixtures/corpus/_historical/tikv__tikv@ee39b4e7_2020-06-01.Cargo.lock",
            "--offline",
            "--no-yanked",
            "--format",
            "json",
            "--deny",
            "none",
        ],
    )));
    for report in &reports {
        let errors: Vec<String> = validator
            .iter_errors(report)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let mut broken = reports[0].clone();
    broken["findings"][0]["severity"] = serde_json::json!("catastrophic");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn markdown_is_a_pr_comment() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "markdown"]));
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("## cargo-reflex audit: ❌ failed"));
    assert!(
        run.stdout
            .contains("| severity | finding | package | where | fix |")
    );
    assert!(
        run.stdout
            .contains("| 🟣 critical | [RUSTSEC-2026-9001: malicious crate `url-parse`]")
    );
    assert!(run.stdout.contains("42.9%"));
}

#[test]
fn output_file_gets_plain_text() {
    let tmp = takeover();
    let base: Vec<&str> = without(AUDIT, &["--color", "never"]);
    let run = run(
        tmp.path(),
        &args(&base, &["--color", "always", "-o", "report.txt"]),
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(tmp.path().join("report.txt")).unwrap();
    assert!(text.contains("advisory-malicious") && !text.contains('\u{1b}'));
}

#[test]
fn lockfile_formats_v1_to_v4_and_stdin() {
    let tmp = takeover();
    let v4 = std::fs::read_to_string(tmp.path().join("ws/Cargo.lock")).unwrap();
    std::fs::write(
        tmp.path().join("v3.lock"),
        v4.replace("version = 4", "version = 3"),
    )
    .unwrap();
    let cases = [
        (
            "fixtures/corpus/_historical/BurntSushi__ripgrep@9dcfd9a2_2019-04-25.Cargo.lock",
            1,
        ),
        (
            "fixtures/corpus/_historical/tikv__tikv@ee39b4e7_2020-06-01.Cargo.lock",
            2,
        ),
        ("fixtures/corpus/nushell__nushell/Cargo.lock", 4),
    ];
    for (path, version) in cases {
        let report = json(&run(
            &repo(),
            &[
                "audit",
                "--file",
                path,
                "--offline",
                "--no-yanked",
                "--format",
                "json",
                "--now",
                "2026-11-25",
            ],
        ));
        assert_eq!(report["target"]["lockfile_version"], version, "{path}");
        assert!(report["target"]["package_count"].as_u64().unwrap() > 50);
    }
    let v3 = json(&run(
        tmp.path(),
        &[
            "audit",
            "--file",
            "v3.lock",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v3["target"]["lockfile_version"], 3);
    let stdin = run_with(
        tmp.path(),
        &[
            "audit",
            "--file",
            "-",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
        &[],
        Some(&v4),
    );
    assert_eq!(stdin.code, 1);
    assert_eq!(json(&stdin)["findings"][0]["package"]["name"], "url-parse");
}

#[test]
fn missing_lockfile_is_a_finding_not_a_pass() {
    let out = run(
        &repo(),
        &[
            "audit",
            "--manifest-path",
            "fixtures/corpus/bevyengine__bevy/Cargo.toml",
            "--offline",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.code, 1,
        "unchecked advisories fail at the default level"
    );
    let report = json(&out);
    assert_eq!(report["summary"]["passed"], false);
    assert!(codes(&report).contains(&"lockfile-missing".to_string()));
    let advisories = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "advisories")
        .unwrap();
    assert_eq!(advisories["status"], "skipped");
}

#[test]
fn out_of_sync_lockfile_is_detected() {
    let tmp = takeover();
    let manifest = tmp.path().join("ws/app/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "rust-utilities-v2 = \"2.1\"",
        "rust-utilities-v2 = \"3\"\nserde = \"1\"",
    );
    std::fs::write(&manifest, text).unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "lockfile-out-of-sync")
        .expect("out-of-sync finding");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("declares dependency `serde`"),
        "{evidence}"
    );
    assert!(
        evidence.contains("requires `rust-utilities-v2 ^3` but Cargo.lock has 2.1.1"),
        "{evidence}"
    );
}

#[test]
fn lockfile_must_be_committed_and_not_ignored() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    git(&ws, &["init", "-q"]);
    std::fs::write(ws.join(".gitignore"), "Cargo.lock\n").unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(
        c.contains(&"lockfile-untracked".into()) && c.contains(&"lockfile-gitignored".into()),
        "{c:?}"
    );
    std::fs::write(ws.join(".gitignore"), "/target\n").unwrap();
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-qm", "init"]);
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(
        !c.contains(&"lockfile-untracked".into()) && !c.contains(&"lockfile-gitignored".into()),
        "{c:?}"
    );
}

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
    for (_, spec) in reflex::checks::all_codes() {
        assert!(
            readme.contains(&format!("`{}`", spec.code)),
            "README does not document `{}`",
            spec.code
        );
    }
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

#[test]
fn manifest_path_of_a_member_finds_the_workspace_root() {
    let tmp = takeover();
    let from_member = json(&run(
        tmp.path(),
        &[
            "audit",
            "--manifest-path",
            "ws/app/Cargo.toml",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(from_member["target"]["workspace_root"], "ws");
    assert_eq!(from_member["target"]["lockfile"], "ws/Cargo.lock");
    // Run from inside the member directory with no flags at all.
    let inside = json(&run(
        &tmp.path().join("ws/app"),
        &[
            "audit",
            "--advisory-db",
            "../../advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(inside["summary"]["critical"], 1);
    assert!(!codes(&inside).contains(&"lockfile-out-of-sync".to_string()));
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

#[test]
fn missing_member_manifest_is_reported_as_unverifiable_not_as_drift() {
    let tmp = takeover();
    std::fs::remove_file(tmp.path().join("ws/app/Cargo.toml")).unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(c.contains(&"lockfile-unverifiable".to_string()), "{c:?}");
    assert!(!c.contains(&"lockfile-out-of-sync".to_string()), "{c:?}");
    let lockfile = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lockfile")
        .unwrap();
    assert_eq!(lockfile["status"], "partial");
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
