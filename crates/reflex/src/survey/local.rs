//! The survey of local trees: every workspace under the roots (a `Cargo.toml` next to a
//! `Cargo.lock` or at the top of a git work tree) is judged by the gate, offline, in
//! parallel; its CI files say whether the gate runs there; its git history gives the churn.

use super::{Organisation, Repository, Survey, history::History};
use crate::checks::{advisories, confusion, lockfile_hygiene};
use crate::commands::{self, CommandOptions, Progress};
use crate::error::{Error, Result};
use crate::graph::{Graph, Origin};
use crate::report::Report;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What to survey and how.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    pub roots: Vec<PathBuf>,
    /// The gate's options for every workspace (clock, advisory database, index, cache); the
    /// workspace's own paths are filled in per repository.
    pub gate: CommandOptions,
    pub threads: usize,
    /// Churn from commits since this date (`YYYY-MM-DD`); `None` leaves git history out.
    pub churn_since: Option<String>,
}

/// One workspace found under a root.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Workspace {
    pub name: String,
    pub dir: PathBuf,
}

/// Walks the roots (respecting `.gitignore`, skipping `target` and `.git`) for workspaces.
pub fn discover(roots: &[PathBuf], threads: usize) -> Result<Vec<Workspace>> {
    let found: Mutex<Vec<Workspace>> = Mutex::new(Vec::new());
    for root in roots {
        if !root.is_dir() {
            return Err(Error::Usage(
                format!("{} is not a directory", root.display()),
                Some("give the directories that hold your repositories".into()),
            ));
        }
        // Absolute: the gate resolves the manifest against the workspace directory.
        let root = &root.canonicalize().map_err(|e| Error::io(root, e))?;
        let label = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| root.display().to_string());
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "target")
            .threads(threads.max(1))
            .build_parallel();
        walker.run(|| {
            let found = &found;
            let label = &label;
            Box::new(move |entry| {
                if let Ok(e) = entry
                    && e.file_name() == "Cargo.toml"
                    && e.file_type().is_some_and(|t| t.is_file())
                    && let Some(dir) = e.path().parent()
                    && (dir.join("Cargo.lock").is_file() || dir.join(".git").exists())
                {
                    let rel = dir.strip_prefix(root).unwrap_or(dir);
                    let name = if rel.as_os_str().is_empty() {
                        label.clone()
                    } else {
                        rel.to_string_lossy().replace('\\', "/")
                    };
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Workspace {
                            name,
                            dir: dir.to_path_buf(),
                        });
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut all = found.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort();
    all.dedup();
    Ok(all)
}

/// Surveys every workspace under the roots. `progress` sees (what, done, total).
pub fn survey(opts: &LocalOptions, history: History, progress: Progress<'_>) -> Result<Survey> {
    let workspaces = discover(&opts.roots, opts.threads)?;
    let on_done = |done: usize, total: usize| progress("surveying repositories", done, total);
    // Each gate fans out on its own threads: a few repositories at a time is enough.
    let workers = opts.threads.clamp(1, 4);
    let repositories =
        crate::parallel::map(&workspaces, workers, &on_done, |ws| repository(ws, opts));
    Ok(Survey {
        schema_version: super::SURVEY_SCHEMA_VERSION,
        generated_at: opts.gate.clock.rfc3339(),
        source: "local trees".into(),
        inputs: opts.roots.iter().map(|r| r.display().to_string()).collect(),
        organisation: Organisation::of(&repositories),
        repositories,
        history,
    })
}

/// One workspace's figures: the gate's report, its CI files, its lockfile's history.
pub fn repository(ws: &Workspace, opts: &LocalOptions) -> Repository {
    let mut gate_opts = opts.gate.clone();
    gate_opts.cwd = ws.dir.clone();
    gate_opts.manifest_path = Some(ws.dir.join("Cargo.toml"));
    let quiet = |_: &str, _: usize, _: usize| {};
    let lockfile = ws.dir.join("Cargo.lock");
    let mut repo = Repository {
        name: ws.name.clone(),
        ..Repository::default()
    };
    match commands::gate(&gate_opts, &quiet) {
        Ok(report) => from_report(&mut repo, &report),
        Err(e) => {
            repo.error = Some(e.to_string());
            // The lockfile alone still gives the graph's figures.
            if lockfile.is_file() {
                gate_opts.manifest_path = None;
                gate_opts.lockfile = Some(lockfile.clone());
                if let Ok(report) = commands::recon(&gate_opts, &quiet) {
                    from_report(&mut repo, &report);
                }
            }
        }
    }
    let top = git_top(&ws.dir);
    if top.is_none() && repo.lockfile_committed == Some(true) {
        // Outside git, "committed" cannot be known: the lockfile is only present.
        repo.lockfile_committed = None;
        if repo.lockfile_enforced == Some(true) {
            repo.lockfile_enforced = None;
        }
    }
    repo.gate_in_ci = Some(gate_in_ci(top.as_deref().unwrap_or(&ws.dir)));
    if let Ok(graph) = Graph::load(&lockfile) {
        repo.packages = graph.len();
        repo.private_registry_packages = Some(
            (0..graph.len())
                .filter(|&i| matches!(graph.origin(i), Origin::Registry(_)))
                .count(),
        );
    }
    if let (Some(top), Some(since)) = (top, &opts.churn_since)
        && lockfile.is_file()
    {
        let top = top.canonicalize().unwrap_or(top);
        let lock = lockfile.canonicalize().unwrap_or(lockfile);
        match super::churn::churn(&top, &lock, since) {
            Ok(c) => repo.churn = c,
            Err(e) => {
                let note = format!("git history unreadable: {e}");
                repo.error = Some(match repo.error.take() {
                    Some(prev) => format!("{prev}; {note}"),
                    None => note,
                });
            }
        }
    }
    repo
}

/// The survey's figures from a gate (or recon) report.
pub fn from_report(repo: &mut Repository, report: &Report) {
    let has = |codes: &[&str]| report.findings.iter().any(|f| codes.contains(&f.code));
    let count = |codes: &[&str]| {
        report
            .findings
            .iter()
            .filter(|f| codes.contains(&f.code))
            .count()
    };
    repo.packages = report.target.package_count;
    let hygiene_ran = report.checks.iter().any(|c| {
        c.name == "lockfile" && !matches!(c.status, crate::finding::CheckStatus::Skipped { .. })
    });
    let committed = !has(&[
        lockfile_hygiene::MISSING.code,
        lockfile_hygiene::UNTRACKED.code,
        lockfile_hygiene::IGNORED.code,
    ]);
    if hygiene_ran {
        repo.lockfile_committed = Some(committed);
        let in_sync = !has(&[lockfile_hygiene::OUT_OF_SYNC.code]);
        let ci_locked = report.ci.as_ref().is_some_and(|c| {
            c.cargo_invocations > 0 && c.locked_invocations == c.cargo_invocations
        });
        repo.lockfile_enforced = Some(committed && in_sync && ci_locked);
    }
    repo.ci = report.ci.clone().filter(|c| c.files > 0);
    repo.internal_exposed = count(&[
        confusion::INTERNAL_FROM_PUBLIC.code,
        confusion::PUBLIC_TWIN.code,
    ]);
    if let Some(m) = &report.metrics {
        repo.stale_percent = m.stale_percent;
        repo.stale = m.stale;
        repo.dated = m.dated;
        repo.median_age_days = m.median_age_days;
        repo.vulnerable = m.vulnerable;
        repo.build_time_code = m.build_time_code;
        repo.with_unsafe = m.with_unsafe;
        repo.archives_read = m.archives_read;
    } else {
        let mut vulnerable: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == advisories::VULNERABILITY.code)
            .filter_map(|f| f.package.as_ref().map(|p| (&p.name, &p.version)))
            .collect();
        vulnerable.sort();
        vulnerable.dedup();
        repo.vulnerable = vulnerable.len();
    }
    if report.command == "gate" {
        repo.gate_passed = Some(report.summary.passed);
        repo.denied = report.summary.denied;
    }
}

/// The git work tree holding `dir`, found by its `.git` (no git process).
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Whether a CI file under `root` runs `cargo reflex gate` (or `cargo-reflex gate`) or uses
/// the cargo-reflex action (which gates).
pub fn gate_in_ci(root: &Path) -> bool {
    crate::checks::ci::ci_files(root).iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|line| {
                let code = line.split(" #").next().unwrap_or(line).trim_start();
                if code.starts_with('#') {
                    return false;
                }
                let words: Vec<&str> = code.split_whitespace().collect();
                let runs_gate = words.windows(2).any(|w| {
                    (w[0] == "reflex" || w[0].ends_with("cargo-reflex")) && w[1] == "gate"
                });
                let uses_action = code.trim_start_matches("- ").starts_with("uses:")
                    && code.contains("/cargo-reflex@");
                runs_gate || uses_action
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_is_found_in_workflows_but_not_in_comments() {
        let dir = tempfile::tempdir().unwrap();
        let wf = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&wf).unwrap();
        std::fs::write(wf.join("ci.yml"), "jobs:\n  a:\n    steps:\n      # - run: cargo reflex gate\n      - run: cargo build --locked\n").unwrap();
        assert!(!gate_in_ci(dir.path()));
        std::fs::write(wf.join("gate.yml"), "jobs:\n  a:\n    steps:\n      - uses: cargo-reflex/cargo-reflex@0123456789abcdef # v0.1.0\n").unwrap();
        assert!(gate_in_ci(dir.path()));
        std::fs::remove_file(wf.join("gate.yml")).unwrap();
        std::fs::write(
            wf.join("g.yml"),
            "steps:\n  - run: |\n      cargo reflex gate --locked --format github\n",
        )
        .unwrap();
        assert!(gate_in_ci(dir.path()));
    }
}
