//! `ci`: CI hardening, on small workflow files in a temporary repository root.

use super::*;
use crate::checks::ci::CiHardening;
use crate::finding::{Level, Severity};

const CHECKOUT: &str = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1";

/// A workflow with `permissions` (or none) whose single job runs `steps` (YAML list items).
fn workflow(permissions: bool, steps: &str) -> String {
    let perms = if permissions {
        "permissions:\n  contents: read\n"
    } else {
        ""
    };
    format!(
        "name: CI\non: push\n{perms}jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: {CHECKOUT}\n{steps}"
    )
}

/// Runs the check on a repository holding `.github/workflows/ci.yml` = `text`.
fn lint(text: &str, policy: Option<&Policy>) -> (CheckStatus, Sink) {
    let root = tree(&[(".github/workflows/ci.yml", text)]);
    let cx = Context {
        ci_root: Some(root.path().to_path_buf()),
        policy,
        ..Context::new(clock())
    };
    run_sink(&CiHardening, &cx)
}

#[test]
fn cargo_without_locked_is_reported_at_its_line() {
    let (status, sink) = lint(&workflow(true, "      - run: cargo test\n"), None);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&sink.findings, "ci-cargo-unlocked");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.location.as_ref().unwrap().line, Some(10));
    assert_eq!(f.level, None);
    let stats = sink.ci.unwrap();
    assert_eq!(
        (
            stats.files,
            stats.cargo_invocations,
            stats.locked_invocations
        ),
        (1, 1, 0)
    );
}

#[test]
fn hardened_workflow_has_no_findings() {
    let (status, sink) = lint(&workflow(true, "      - run: cargo test --locked\n"), None);
    assert_eq!(status, CheckStatus::Ran);
    assert!(sink.findings.is_empty(), "{:#?}", sink.findings);
    assert_eq!(sink.ci.unwrap().locked_percent, Some(100.0));
}

#[test]
fn require_locked_in_the_policy_denies_unlocked_cargo() {
    let p = policy("version = 1\n[ci]\nrequire-locked = true\n");
    let (_, sink) = lint(&workflow(true, "      - run: cargo build\n"), Some(&p));
    assert_eq!(
        one(&sink.findings, "ci-cargo-unlocked").level,
        Some(Level::Deny)
    );
}

#[test]
fn workflow_without_permissions_is_reported() {
    let (_, sink) = lint(&workflow(false, "      - run: cargo test --locked\n"), None);
    let f = one(&sink.findings, "ci-permissions-missing");
    assert_eq!(f.severity, Severity::Low);
    assert!(f.title.contains("test"), "{}", f.title);
}

#[test]
fn third_party_action_on_a_tag_is_unpinned() {
    let (_, sink) = lint(
        &workflow(true, "      - uses: Swatinem/rust-cache@v2\n"),
        None,
    );
    let f = one(&sink.findings, "ci-action-unpinned");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.location.as_ref().unwrap().line, Some(10));
}

#[test]
fn secret_in_the_environment_of_a_build_step_is_exposed() {
    let steps = "      - run: cargo build --locked\n        env:\n          DEPLOY_KEY: ${{ secrets.DEPLOY_KEY }}\n";
    let (_, sink) = lint(&workflow(true, steps), None);
    let f = one(&sink.findings, "ci-secret-exposed-to-build");
    assert!(f.title.contains("DEPLOY_KEY"), "{}", f.title);
}

#[test]
fn attacker_controlled_expression_in_a_script_is_injection() {
    let text = workflow(
        true,
        "      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .replace("on: push", "on: pull_request_target");
    let (_, sink) = lint(&text, None);
    assert_eq!(
        one(&sink.findings, "ci-template-injection").severity,
        Severity::High
    );
}

#[test]
fn literal_credential_is_reported_without_its_value() {
    let steps = "      - run: echo ok\n        env:\n          KEY_ID: AKIAIOSFODNN7EXAMPLE\n";
    let (_, sink) = lint(&workflow(true, steps), None);
    let f = one(&sink.findings, "ci-hardcoded-credential");
    assert_eq!(f.location.as_ref().unwrap().line, Some(12));
    assert!(!format!("{f:?}").contains("AKIAIOSFODNN7EXAMPLE"), "{f:?}");
}

#[test]
fn invalid_yaml_is_unparsable() {
    let (status, sink) = lint("on: [push\njobs: {\n", None);
    assert_eq!(status, CheckStatus::Ran);
    assert_eq!(codes(&sink.findings), vec!["ci-file-unparsable"]);
}

#[test]
fn gitlab_ci_is_read_too() {
    let root = tree(&[(".gitlab-ci.yml", "test:\n  script:\n    - cargo build\n")]);
    let cx = Context {
        ci_root: Some(root.path().to_path_buf()),
        ..Context::new(clock())
    };
    let (_, findings) = run(&CiHardening, &cx);
    assert_eq!(
        one(&findings, "ci-cargo-unlocked")
            .location
            .as_ref()
            .unwrap()
            .line,
        Some(3)
    );
}

#[test]
fn without_a_root_or_ci_files_the_check_is_skipped() {
    let (status, findings) = run(&CiHardening, &Context::new(clock()));
    assert!(skipped_because(&status, "lockfile-only"), "{status:?}");
    assert!(findings.is_empty());
    let empty = tempfile::tempdir().unwrap();
    let cx = Context {
        ci_root: Some(empty.path().to_path_buf()),
        ..Context::new(clock())
    };
    let (status, _) = run(&CiHardening, &cx);
    assert!(
        skipped_because(&status, "no GitHub Actions workflows"),
        "{status:?}"
    );
}
