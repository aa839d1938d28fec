//! `lockfile`: the lockfile exists, is committed, not ignored, and matches the manifests.

use super::*;
use crate::checks::lockfile_hygiene::LockfileHygiene;
use crate::finding::Severity;
use crate::graph::workspace::Workspace;
use std::process::Command;

const MANIFEST: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nserde = \"1\"\n";

fn locked() -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("serde", "1.0.0", Some(CRATES_IO))])
}

/// A workspace directory holding `files`, and the workspace read from it.
fn workspace(files: &[(&str, &str)]) -> (tempfile::TempDir, Workspace) {
    let dir = tree(files);
    let ws = Workspace::discover(Some(dir.path()), dir.path()).unwrap();
    (dir, ws)
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

#[test]
fn missing_lockfile_is_high_and_partial() {
    let (_dir, ws) = workspace(&[("Cargo.toml", MANIFEST)]);
    let cx = Context {
        workspace: Some(&ws),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert!(partial_because(&status, "no Cargo.lock"), "{status:?}");
    let f = one(&findings, "lockfile-missing");
    assert_eq!(f.severity, Severity::High);
}

#[test]
fn lockfile_outside_git_is_partial_without_findings() {
    let (_dir, ws) = workspace(&[("Cargo.toml", MANIFEST), ("Cargo.lock", "version = 4\n")]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert!(
        partial_because(&status, "not a git repository"),
        "{status:?}"
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn untracked_lockfile_is_reported() {
    let (dir, ws) = workspace(&[("Cargo.toml", MANIFEST), ("Cargo.lock", "version = 4\n")]);
    git(dir.path(), &["init", "-q"]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert_eq!(codes(&findings), vec!["lockfile-untracked"]);
    assert_eq!(findings[0].severity, Severity::Medium);
}

#[test]
fn gitignored_lockfile_is_reported_with_the_rule() {
    let (dir, ws) = workspace(&[
        ("Cargo.toml", MANIFEST),
        ("Cargo.lock", "version = 4\n"),
        (".gitignore", "target\nCargo.lock\n"),
    ]);
    git(dir.path(), &["init", "-q"]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (_, findings) = run(&LockfileHygiene, &cx);
    let f = one(&findings, "lockfile-gitignored");
    assert!(f.evidence[0].contains(".gitignore:2:Cargo.lock"), "{f:?}");
}

#[test]
fn committed_lockfile_in_sync_is_not_reported() {
    let (dir, ws) = workspace(&[("Cargo.toml", MANIFEST), ("Cargo.lock", "version = 4\n")]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "Cargo.lock", "Cargo.toml"]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn requirement_the_lockfile_does_not_satisfy_is_out_of_sync() {
    let manifest = MANIFEST.replace("serde = \"1\"", "serde = \"2\"");
    let (dir, ws) = workspace(&[("Cargo.toml", &manifest), ("Cargo.lock", "version = 4\n")]);
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "Cargo.lock"]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (_, findings) = run(&LockfileHygiene, &cx);
    let f = one(&findings, "lockfile-out-of-sync");
    assert_eq!(f.severity, Severity::Medium);
    assert!(
        f.evidence.iter().any(|e| e.contains("requires `serde ^2`")),
        "{f:?}"
    );
}

#[test]
fn dependency_dropped_from_the_manifest_is_out_of_sync() {
    let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n";
    let (_dir, ws) = workspace(&[("Cargo.toml", manifest), ("Cargo.lock", "version = 4\n")]);
    let g = locked();
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (_, findings) = run(&LockfileHygiene, &cx);
    let f = one(&findings, "lockfile-out-of-sync");
    assert!(
        f.evidence.iter().any(|e| e.contains("no longer declares")),
        "{f:?}"
    );
}

#[test]
fn unreadable_member_manifest_is_unverifiable() {
    let root = "[workspace]\nmembers = [\"app\", \"gone\"]\n";
    let (_dir, ws) = workspace(&[
        ("Cargo.toml", root),
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n",
        ),
        ("Cargo.lock", "version = 4\n"),
    ]);
    assert_eq!(ws.unreadable.len(), 1, "{:?}", ws.unreadable);
    let g = graph(&[("app", "0.1.0", None)]);
    let cx = Context {
        workspace: Some(&ws),
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert!(
        partial_because(&status, "manifests unreadable"),
        "{status:?}"
    );
    assert_eq!(
        one(&findings, "lockfile-unverifiable").severity,
        Severity::Low
    );
}

#[test]
fn without_a_workspace_the_check_is_skipped() {
    let g = locked();
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&LockfileHygiene, &cx);
    assert!(skipped_because(&status, "lockfile-only"), "{status:?}");
    assert!(findings.is_empty());
}
