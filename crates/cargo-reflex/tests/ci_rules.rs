//! The CI rules for Rust pipelines (issue #16 item 3) on whole workflow files: the real
//! workflows of the corpus projects (positives and negatives, each reviewed by hand) and the
//! hostile workflows of `fixtures/ci-rules` for what the corpus lacks.

mod common;
use common::*;
use std::path::Path;

/// One finding: (code, severity, path relative to the project, line, title).
type Row = (String, String, String, u32, String);

fn audit_ci(project: &Path) -> Vec<Row> {
    let manifest = project.join("Cargo.toml");
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
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"].as_str().unwrap().starts_with("ci-"))
        .map(|f| {
            let path = f["location"]["path"].as_str().unwrap_or("");
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                // Relative to the project, whatever directory the report is relative to.
                path.find(".github/")
                    .or_else(|| path.find(".gitlab-ci.yml"))
                    .map_or(path, |i| &path[i..])
                    .to_string(),
                f["location"]["line"].as_u64().unwrap_or(0) as u32,
                f["title"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn corpus(name: &str) -> Vec<Row> {
    audit_ci(&fixture("corpus").join(name))
}

/// The findings of `code` as `file:line severity`.
fn at(rows: &[Row], code: &str) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .filter(|r| r.0 == code)
        .map(|r| format!("{}:{} {}", r.2, r.3, r.1))
        .collect();
    v.sort();
    v
}

fn has(rows: &[Row], code: &str, file_line: &str) -> bool {
    rows.iter()
        .any(|r| r.0 == code && format!("{}:{}", r.2, r.3) == file_line)
}

const WF: &str = ".github/workflows";

#[test]
fn every_new_finding_has_a_file_and_line() {
    for project in [
        "BurntSushi__ripgrep",
        "rustsec__rustsec",
        "bytecodealliance__wasmtime",
    ] {
        for r in corpus(project) {
            assert!(
                r.2.starts_with(".github/") && r.3 > 0,
                "{project}: {r:?} has no file:line"
            );
        }
    }
}

#[test]
fn unpinned_and_archived_actions_on_the_corpus() {
    let rg = corpus("BurntSushi__ripgrep");
    // `dtolnay/rust-toolchain@master`: a branch, five uses in one finding.
    assert!(has(&rg, "ci-action-unpinned", &format!("{WF}/ci.yml:128")));
    let toolchain = rg
        .iter()
        .find(|r| r.4.contains("dtolnay/rust-toolchain@master") && r.2.ends_with("ci.yml"))
        .unwrap();
    assert_eq!(toolchain.1, "medium");
    // `actions/checkout@v4`: GitHub's own, low.
    let checkout = rg
        .iter()
        .find(|r| r.4.contains("actions/checkout@v4") && r.2.ends_with("ci.yml"))
        .unwrap();
    assert_eq!((checkout.1.as_str(), checkout.3), ("low", 120));
    // nushell and bevy pin every action by commit: nothing to report.
    for pinned in ["nushell__nushell", "bevyengine__bevy"] {
        assert!(
            at(&corpus(pinned), "ci-action-unpinned").is_empty(),
            "{pinned}"
        );
    }
    // rustsec still runs actions-rs, pinned by commit: archived, not unpinned.
    let rs = corpus("rustsec__rustsec");
    assert!(has(
        &rs,
        "ci-action-archived",
        &format!("{WF}/workspace.yml:22")
    ));
    assert!(has(
        &rs,
        "ci-action-archived",
        &format!("{WF}/security_audit.yml:21")
    ));
    assert_eq!(at(&rs, "ci-action-archived").len(), 13);
    assert!(
        !rs.iter()
            .any(|r| r.0 == "ci-action-unpinned" && r.4.contains("actions-rs"))
    );
    assert!(at(&rg, "ci-action-archived").is_empty());
}

#[test]
fn cargo_install_versions_on_the_corpus() {
    let rg = corpus("BurntSushi__ripgrep");
    assert_eq!(
        at(&rg, "ci-cargo-install-unpinned"),
        vec![
            format!("{WF}/ci.yml:266 medium"),
            format!("{WF}/release.yml:330 medium")
        ]
    );
    let bevy = corpus("bevyengine__bevy");
    assert!(has(
        &bevy,
        "ci-cargo-install-unpinned",
        &format!("{WF}/post-release.yml:23")
    ));
    // The commented-out install at ci.yml:425 is not a command.
    assert!(!has(
        &bevy,
        "ci-cargo-install-unpinned",
        &format!("{WF}/ci.yml:425")
    ));
    // `--version "0.3.6"` and `tool@1.11.0` are pinned.
    let ra = corpus("rust-lang__rust-analyzer");
    assert_eq!(
        at(&ra, "ci-cargo-install-unpinned"),
        vec![format!("{WF}/fuzz.yml:41 medium")]
    );
    // `cargo binstall ... cargo-shear@1.12.4` is pinned, `cargo binstall cargo-fuzz` is not.
    let ruff = corpus("astral-sh__ruff");
    assert_eq!(
        at(&ruff, "ci-cargo-install-unpinned"),
        vec![format!("{WF}/ci.yaml:576 medium")]
    );
    // `cargo install --path .` installs the checkout.
    assert!(
        at(
            &corpus("EmbarkStudios__cargo-deny"),
            "ci-cargo-install-unpinned"
        )
        .is_empty()
    );
    assert!(at(&corpus("nushell__nushell"), "ci-cargo-install-unpinned").is_empty());
}

#[test]
fn unverified_installers_on_the_corpus() {
    // cargo-binstall's installer from its main branch, piped into bash, twice.
    assert_eq!(
        at(
            &corpus("bytecodealliance__wasmtime"),
            "ci-download-exec-unverified"
        ),
        vec![
            format!("{WF}/main.yml:587 medium"),
            format!("{WF}/main.yml:682 medium")
        ]
    );
    // A script from rust-lang/rust's master branch, saved and run.
    assert_eq!(
        at(&corpus("rust-lang__cargo"), "ci-download-exec-unverified"),
        vec![format!("{WF}/main.yml:339 medium")]
    );
    // linuxdeploy's `continuous` AppImage, downloaded and executed in the release workflow.
    assert_eq!(
        at(
            &corpus("helix-editor__helix"),
            "ci-download-exec-unverified"
        ),
        vec![format!("{WF}/release.yml:162 medium")]
    );
    // rustup from sh.rustup.rs: low.
    assert_eq!(
        at(
            &corpus("rust-lang__rust-analyzer"),
            "ci-download-exec-unverified"
        ),
        vec![format!("{WF}/release.yaml:101 low")]
    );
    // `curl ... | tar`, `curl ... | jq`, API calls: not installers.
    for project in [
        "EmbarkStudios__cargo-deny",
        "BurntSushi__ripgrep",
        "bevyengine__bevy",
    ] {
        assert!(
            at(&corpus(project), "ci-download-exec-unverified").is_empty(),
            "{project}"
        );
    }
}

#[test]
fn caches_in_release_jobs_on_the_corpus() {
    // cargo-deny's CI also runs on tag pushes; only the job that creates the GitHub release
    // is a release build, not the five test jobs that restore the same cache.
    let deny = corpus("EmbarkStudios__cargo-deny");
    assert_eq!(
        at(&deny, "ci-cache-in-release"),
        vec![format!("{WF}/ci.yaml:184 medium")]
    );
    // helix: the grammars job's artifacts ship in the release.
    let helix = corpus("helix-editor__helix");
    assert_eq!(
        at(&helix, "ci-cache-in-release"),
        vec![format!("{WF}/release.yml:40 medium")]
    );
    // nushell's CI caches on `patch-release-*` branches but publishes nothing there.
    assert!(at(&corpus("nushell__nushell"), "ci-cache-in-release").is_empty());
}

#[test]
fn long_lived_crates_io_tokens_on_the_corpus() {
    assert_eq!(
        at(&corpus("rust-lang__cargo"), "ci-static-registry-token"),
        vec![format!("{WF}/release.yml:33 medium")]
    );
    assert_eq!(
        at(
            &corpus("rust-lang__rust-analyzer"),
            "ci-static-registry-token"
        ),
        vec![
            format!("{WF}/autopublish.yaml:35 medium"),
            format!("{WF}/publish-libs.yaml:29 medium")
        ]
    );
    // ruff and wasmtime publish with rust-lang/crates-io-auth-action.
    for project in ["astral-sh__ruff", "bytecodealliance__wasmtime"] {
        assert!(
            at(&corpus(project), "ci-static-registry-token").is_empty(),
            "{project}"
        );
    }
}

#[test]
fn template_injection_on_the_corpus() {
    // The push-only job of an issue_comment workflow echoes the head commit's message: medium,
    // not high, because the job runs only on push.
    let wt = corpus("bytecodealliance__wasmtime");
    assert_eq!(
        at(&wt, "ci-template-injection"),
        vec![
            format!("{WF}/performance.yml:132 medium"),
            format!("{WF}/performance.yml:68 medium")
        ]
    );
    // The issue_comment job expands only URLs and the repository's clone URL: safe.
    assert!(
        !wt.iter()
            .any(|r| r.0 == "ci-template-injection" && r.3 < 60)
    );
    // `${{ github.ref_name }}`, matrix values and step outputs are not attacker text.
    for project in [
        "BurntSushi__ripgrep",
        "helix-editor__helix",
        "nushell__nushell",
    ] {
        assert!(
            at(&corpus(project), "ci-template-injection").is_empty(),
            "{project}"
        );
    }
}

#[test]
fn untrusted_checkouts_on_the_corpus_are_not_built() {
    // bevy checks out the pull request head under pull_request_target but only diffs it;
    // nushell's pull_request_target checks out the base branch; bevy's workflow_run jobs
    // read artifacts. None builds untrusted code.
    for project in [
        "bevyengine__bevy",
        "nushell__nushell",
        "bytecodealliance__wasmtime",
    ] {
        assert!(
            at(&corpus(project), "ci-pull-request-target-checkout").is_empty(),
            "{project}"
        );
    }
}

/// The hostile workflows of `fixtures/ci-rules` in a copy of the hardened scenario.
fn hostile() -> (tempfile::TempDir, Vec<Row>) {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    copy_dir(&fixture("scenarios/hardened"), &ws);
    std::fs::remove_dir_all(ws.join(".github")).unwrap();
    copy_dir(&fixture("ci-rules/.github"), &ws.join(".github"));
    let rows = audit_ci(&ws);
    (tmp, rows)
}

#[test]
fn hostile_workflows_are_caught() {
    let (_tmp, rows) = hostile();
    // Pull request code built under pull_request_target, workflow_run and issue_comment.
    assert_eq!(
        at(&rows, "ci-pull-request-target-checkout"),
        vec![
            format!("{WF}/comment-bot.yml:22 medium"),
            format!("{WF}/pwn-request.yml:14 medium"),
            format!("{WF}/workflow-run.yml:14 medium"),
        ]
    );
    // Titles, branch names and comments pasted into scripts under privileged triggers.
    assert_eq!(
        at(&rows, "ci-template-injection"),
        vec![
            format!("{WF}/comment-bot.yml:16 high"),
            format!("{WF}/comment-bot.yml:20 high"),
            format!("{WF}/pwn-request.yml:19 high"),
            format!("{WF}/workflow-run.yml:21 high"),
        ]
    );
    // The release workflow runs only on tags: the build job's cache ships in the release.
    assert_eq!(
        at(&rows, "ci-cache-in-release"),
        vec![format!("{WF}/release.yml:19 medium")]
    );
    assert_eq!(
        at(&rows, "ci-static-registry-token"),
        vec![format!("{WF}/release.yml:41 medium")]
    );
    assert_eq!(
        at(&rows, "ci-download-exec-unverified"),
        vec![format!("{WF}/release.yml:22 medium")]
    );
    assert_eq!(
        at(&rows, "ci-cargo-install-unpinned"),
        vec![format!("{WF}/release.yml:23 medium")]
    );
    assert_eq!(
        at(&rows, "ci-action-archived"),
        vec![format!("{WF}/release.yml:16 low")]
    );
    assert_eq!(
        at(&rows, "ci-action-unpinned"),
        vec![
            format!("{WF}/release.yml:16 medium"),
            format!("{WF}/release.yml:19 medium"),
        ]
    );
}

#[test]
fn hardened_workflow_passes_every_rule() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), &tmp.path().join("ws"));
    let rows = audit_ci(&tmp.path().join("ws"));
    assert!(rows.is_empty(), "{rows:#?}");
}
