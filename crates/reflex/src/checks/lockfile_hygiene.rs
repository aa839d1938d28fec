//! Is the lockfile a real security control? It must exist, be committed, not be ignored, and
//! match the manifests (what `cargo build --locked` enforces). Read from files and git; cargo
//! is never run.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::graph::Graph;
use crate::graph::workspace::{DepKind, DepSource, Workspace};
use rustsec::VersionReq;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

pub struct LockfileHygiene;

const NAME: &str = "lockfile";

pub const MISSING: CodeSpec = CodeSpec::new(
    "lockfile-missing",
    Severity::High,
    "the workspace has no Cargo.lock: advisories, yanks and reviews cannot be checked, and every build resolves whatever the registry serves that day",
);
pub const UNTRACKED: CodeSpec = CodeSpec::new(
    "lockfile-untracked",
    Severity::Medium,
    "Cargo.lock is not committed to git, so CI and teammates resolve their own versions",
);
pub const IGNORED: CodeSpec = CodeSpec::new(
    "lockfile-gitignored",
    Severity::Medium,
    "Cargo.lock is matched by a .gitignore rule",
);
pub const OUT_OF_SYNC: CodeSpec = CodeSpec::new(
    "lockfile-out-of-sync",
    Severity::Medium,
    "Cargo.lock does not match the manifests: `cargo build --locked` would fail and a plain build would re-resolve",
);
pub const UNVERIFIABLE: CodeSpec = CodeSpec::new(
    "lockfile-unverifiable",
    Severity::Low,
    "part of the lockfile hygiene check could not run",
);

static CODES: [CodeSpec; 5] = [MISSING, UNTRACKED, IGNORED, OUT_OF_SYNC, UNVERIFIABLE];

impl Check for LockfileHygiene {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::WORKSPACE)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(ws) = cx.workspace else {
            return CheckStatus::Skipped {
                reason: "lockfile-only mode (--file): no workspace to compare with".into(),
            };
        };
        let lock_path = ws.lockfile_path();
        let manifest = ws.root_manifest.path.display().to_string();
        let mut partial = Vec::new();
        if !lock_path.is_file() {
            out.push(
                Finding::new(NAME, &MISSING, format!("no Cargo.lock next to {manifest}"))
                    .at(manifest.clone(), None)
                    .evidence("advisory, yanked and review checks need the resolved graph")
                    .remedy(
                        "run `cargo generate-lockfile`, commit Cargo.lock, and build with --locked",
                    ),
            );
            return CheckStatus::Partial {
                reason: "no Cargo.lock".into(),
            };
        }
        let lock_display = lock_path.display().to_string();
        match git_status(&ws.root) {
            GitState::NotARepo => {
                partial.push("not a git repository: commit status unknown".to_string())
            }
            GitState::NoGit(e) => partial.push(format!("git could not be run: {e}")),
            GitState::Repo { tracked, ignored } => {
                if !tracked {
                    out.push(
                        Finding::new(NAME, &UNTRACKED, "Cargo.lock is not tracked by git")
                            .at(lock_display.clone(), None)
                            .remedy("git add Cargo.lock && git commit"),
                    );
                }
                if let Some(rule) = ignored {
                    out.push(
                        Finding::new(NAME, &IGNORED, "Cargo.lock is matched by a .gitignore rule")
                            .at(lock_display.clone(), None)
                            .evidence(rule)
                            .remedy(
                                "remove the rule (or add `!Cargo.lock`) and commit the lockfile",
                            ),
                    );
                }
            }
        }
        if !ws.unreadable.is_empty() {
            let mut f = Finding::new(
                NAME,
                &UNVERIFIABLE,
                format!(
                    "{} workspace manifests could not be read; their sync with Cargo.lock is unchecked",
                    ws.unreadable.len()
                ),
            );
            for (path, why) in ws.unreadable.iter().take(5) {
                f = f.evidence(format!(
                    "{}: {}",
                    path.display(),
                    why.lines().next().unwrap_or("")
                ));
            }
            out.push(f.remedy("run the audit on a full checkout of the workspace"));
            partial.push("some manifests unreadable".into());
        }
        if let Some(graph) = cx.graph {
            let drift = sync_problems(ws, graph);
            if !drift.is_empty() {
                let mut f = Finding::new(
                    NAME,
                    &OUT_OF_SYNC,
                    format!("Cargo.lock is out of sync with the manifests ({} differences)", drift.len()),
                )
                .at(lock_display, None)
                .remedy("run `cargo update --workspace` (or `cargo generate-lockfile`), review and commit the result; build with --locked in CI");
                for d in drift.iter().take(20) {
                    f = f.evidence(d.clone());
                }
                if drift.len() > 20 {
                    f = f.evidence(format!("... and {} more", drift.len() - 20));
                }
                out.push(f);
            }
        }
        if partial.is_empty() {
            CheckStatus::Ran
        } else {
            CheckStatus::Partial {
                reason: partial.join("; "),
            }
        }
    }
}

enum GitState {
    NotARepo,
    NoGit(String),
    Repo {
        tracked: bool,
        ignored: Option<String>,
    },
}

fn git_status(root: &Path) -> GitState {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
    };
    match git(&["rev-parse", "--is-inside-work-tree"]) {
        Err(e) => return GitState::NoGit(e.to_string()),
        Ok(o) if !o.status.success() => return GitState::NotARepo,
        Ok(_) => {}
    }
    let tracked =
        git(&["ls-files", "--error-unmatch", "--", "Cargo.lock"]).is_ok_and(|o| o.status.success());
    let ignored = git(&[
        "check-ignore",
        "--no-index",
        "--verbose",
        "--",
        "Cargo.lock",
    ])
    .ok()
    .filter(|o| o.status.success())
    .map(|o| {
        let line = String::from_utf8_lossy(&o.stdout).trim().to_string();
        // `<source>:<line>:<pattern>\t<path>`
        let rule = line.split('\t').next().unwrap_or(&line).to_string();
        format!("ignored by {rule}")
    })
    .filter(|rule| !rule.ends_with(":!Cargo.lock"));
    GitState::Repo { tracked, ignored }
}

/// Every difference between the manifests and the lockfile that cargo would fix by rewriting
/// Cargo.lock.
pub fn sync_problems(ws: &Workspace, graph: &Graph) -> Vec<String> {
    let mut problems = Vec::new();
    let patched: BTreeSet<&str> = ws
        .root_manifest
        .patches
        .iter()
        .map(|p| p.package.as_str())
        .collect();
    let pkgs = graph.packages();
    for m in &ws.packages {
        let Some(name) = &m.name else { continue };
        let rel = m
            .path
            .strip_prefix(&ws.root)
            .unwrap_or(&m.path)
            .display()
            .to_string();
        let candidates: Vec<usize> = (0..pkgs.len())
            .filter(|&i| pkgs[i].source.is_none() && pkgs[i].name.as_str() == name)
            .collect();
        let Some(&li) = candidates
            .iter()
            .find(|&&i| Some(pkgs[i].version.to_string()) == m.version)
            .or(candidates.first())
        else {
            problems.push(format!("`{name}` ({rel}) is not in Cargo.lock"));
            continue;
        };
        let lp = &pkgs[li];
        if let Some(v) = &m.version
            && &lp.version.to_string() != v
        {
            problems.push(format!(
                "`{name}` is {v} in {rel} but {} in Cargo.lock",
                lp.version
            ));
        }
        let mut declared = BTreeSet::new();
        for d in &m.deps {
            declared.insert(d.package.as_str());
            let locked: Vec<&rustsec::cargo_lock::Dependency> = lp
                .dependencies
                .iter()
                .filter(|ld| ld.name.as_str() == d.package)
                .collect();
            if locked.is_empty() {
                problems.push(format!(
                    "`{name}` declares {} `{}` but Cargo.lock does not record it",
                    match d.kind {
                        DepKind::Normal => "dependency",
                        DepKind::Dev => "dev-dependency",
                        DepKind::Build => "build-dependency",
                    },
                    d.package
                ));
                continue;
            }
            let (DepSource::Registry(_), Some(req)) = (&d.source, &d.req) else {
                continue;
            };
            if patched.contains(d.package.as_str()) {
                continue;
            }
            let Ok(req) = VersionReq::parse(req) else {
                continue;
            };
            if !locked.iter().any(|ld| req.matches(&ld.version)) {
                let have: Vec<String> = locked.iter().map(|ld| ld.version.to_string()).collect();
                problems.push(format!(
                    "`{name}` requires `{} {req}` but Cargo.lock has {}",
                    d.package,
                    have.join(", ")
                ));
            }
        }
        for ld in &lp.dependencies {
            if !declared.contains(ld.name.as_str()) {
                problems.push(format!(
                    "Cargo.lock records `{}` as a dependency of `{name}`, which {rel} no longer declares",
                    ld.name
                ));
            }
        }
    }
    if ws.unreadable.is_empty() {
        let known: BTreeSet<&str> = ws
            .packages
            .iter()
            .filter_map(|m| m.name.as_deref())
            .collect();
        for p in pkgs.iter().filter(|p| p.source.is_none()) {
            if !known.contains(p.name.as_str()) {
                problems.push(format!("Cargo.lock lists local package `{}`, which no manifest in the workspace defines", p.name));
            }
        }
    }
    for i in 0..pkgs.len() {
        if !graph.is_reachable(i) {
            problems.push(format!(
                "Cargo.lock holds {}, which nothing in the workspace depends on",
                graph.label(i)
            ));
        }
    }
    problems
}
