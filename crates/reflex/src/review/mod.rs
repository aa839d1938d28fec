//! `review`: what a lockfile change brings in. Two lockfiles (git revisions or files) become a
//! [`LockfileDelta`]; the `.crate` archives of both sides of every change are read in memory
//! (checksums verified) to see what changed in the code and in its build-time behaviour.

pub mod code_diff;
pub mod delta;

use crate::analysis::crate_analysis::{self, CrateAnalysis};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::sources::crate_archive::{self, Limits};
use crate::sources::crate_store::{CrateStore, Fetched};
use code_diff::{BuildTimeFiles, CodeChanges};
pub use delta::{Change, ChangeKind, LockfileDelta};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where one side of the comparison comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockInput {
    /// The lockfile on disk.
    WorkingTree,
    /// The lockfile at a git revision.
    Revision(String),
    /// A lockfile anywhere.
    File(PathBuf),
}

impl LockInput {
    pub fn label(&self) -> String {
        match self {
            LockInput::WorkingTree => "working tree".into(),
            LockInput::Revision(r) => r.clone(),
            LockInput::File(p) => p.display().to_string(),
        }
    }
}

/// `review [RANGE]`: `A..B` compares two revisions, `A...B` the merge base of both with `B`,
/// `A` compares revision `A` with the working tree, nothing compares `HEAD` with it.
pub fn parse_range(spec: Option<&str>) -> (LockInput, LockInput) {
    let rev = |s: &str| LockInput::Revision(s.to_string());
    match spec {
        None => (rev("HEAD"), LockInput::WorkingTree),
        Some(s) => {
            if let Some((a, b)) = s.split_once("...") {
                let a = if a.is_empty() { "HEAD" } else { a };
                let b = if b.is_empty() { "HEAD" } else { b };
                (LockInput::Revision(format!("{a}...{b}")), rev(b))
            } else if let Some((a, b)) = s.split_once("..") {
                let a = if a.is_empty() { "HEAD" } else { a };
                let head = if b.is_empty() { rev("HEAD") } else { rev(b) };
                (rev(a), head)
            } else {
                (rev(s), LockInput::WorkingTree)
            }
        }
    }
}

/// Reads one side. `Ok(None)`: the revision exists but has no lockfile at that path.
pub fn load(input: &LockInput, lockfile: &Path, cwd: &Path) -> Result<Option<Graph>> {
    match input {
        LockInput::WorkingTree => {
            if lockfile.is_file() {
                Graph::load(lockfile).map(Some)
            } else {
                Ok(None)
            }
        }
        LockInput::File(p) => {
            let p = if p.is_absolute() {
                p.clone()
            } else {
                cwd.join(p)
            };
            Graph::load(&p).map(Some)
        }
        LockInput::Revision(rev) => {
            let dir = lockfile.parent().unwrap_or(Path::new("."));
            let top = git(dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
                Error::Usage(
                    format!("{} is not in a git repository", dir.display()),
                    Some("compare files instead: --base-file OLD.lock --head-file NEW.lock".into()),
                )
            })?;
            let top = PathBuf::from(top.trim());
            let abs = lockfile
                .canonicalize()
                .unwrap_or_else(|_| lockfile.to_path_buf());
            let rel = abs
                .strip_prefix(top.canonicalize().unwrap_or(top.clone()))
                .unwrap_or(Path::new("Cargo.lock"))
                .to_string_lossy()
                .replace('\\', "/");
            let commit = resolve(dir, rev)?;
            match git(dir, &["show", &format!("{commit}:{rel}")]) {
                Ok(text) => {
                    let display = PathBuf::from(format!("{rev}:{rel}"));
                    Graph::parse(&display, text).map(Some)
                }
                Err(_) => Ok(None),
            }
        }
    }
}

/// The file at `policy` as it was at the revision `input`, with the name to show for it
/// (`Ok(None)`: no such file there, or `input` is not a revision). `fallback` is its path
/// in the repository when `policy` is outside it.
pub fn file_at(
    input: &LockInput,
    policy: &Path,
    fallback: &str,
    cwd: &Path,
) -> Result<Option<(PathBuf, String)>> {
    let LockInput::Revision(rev) = input else {
        return Ok(None);
    };
    let dir = policy.parent().unwrap_or(cwd);
    let Ok(top) = git(dir, &["rev-parse", "--show-toplevel"]) else {
        return Ok(None);
    };
    let top = PathBuf::from(top.trim());
    let abs = policy
        .parent()
        .and_then(|d| d.canonicalize().ok())
        .map(|d| d.join(policy.file_name().unwrap_or_default()))
        .unwrap_or_else(|| policy.to_path_buf());
    let rel = abs
        .strip_prefix(top.canonicalize().unwrap_or(top.clone()))
        .unwrap_or(Path::new(fallback))
        .to_string_lossy()
        .replace('\\', "/");
    let commit = resolve(dir, rev)?;
    match git(dir, &["show", &format!("{commit}:{rel}")]) {
        Ok(text) => {
            let display = PathBuf::from(format!("{rev}:{rel}"));
            Ok(Some((display, text)))
        }
        Err(_) => Ok(None),
    }
}

/// The commit a revision names; `A...B` is their merge base.
fn resolve(dir: &Path, rev: &str) -> Result<String> {
    if let Some((a, b)) = rev.split_once("...") {
        let a = resolve(dir, a)?;
        let b = resolve(dir, b)?;
        return git(dir, &["merge-base", &a, &b])
            .map(|s| s.trim().to_string())
            .map_err(|e| Error::Usage(format!("{a} and {b} have no common ancestor: {e}"), None));
    }
    match git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    ) {
        Ok(s) => Ok(s.trim().to_string()),
        Err(_) => {
            let empty = git(dir, &["rev-list", "-n", "1", "--all"])
                .map(|s| s.trim().is_empty())
                .unwrap_or(true);
            if empty {
                Err(Error::Usage(
                    format!("cannot compare with `{rev}`: the repository has no commits yet"),
                    Some("commit the lockfile first, or compare files: --base-file OLD.lock --head-file NEW.lock".into()),
                ))
            } else {
                Err(Error::Usage(
                    format!("unknown revision `{rev}`"),
                    Some("name a branch, tag or commit (`git log --oneline` lists them); fetch it first in a shallow CI clone (`fetch-depth: 0`)".into()),
                ))
            }
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Both sides of one change as read from their archives.
#[derive(Clone, Debug, Default)]
pub struct ChangeCode {
    pub old: Option<Result<CrateAnalysis, String>>,
    pub new: Option<Result<CrateAnalysis, String>>,
    pub code: Option<Result<CodeChanges, String>>,
}

/// What `review` knows beyond the two graphs: the delta and, per change, the code.
#[derive(Debug)]
pub struct ReviewInputs {
    /// `None` when the base revision has no lockfile (everything is new).
    pub base: Option<Graph>,
    pub base_label: String,
    pub head_label: String,
    pub delta: LockfileDelta,
    /// By position in `delta.changes`.
    pub code: Vec<ChangeCode>,
    /// Incoming versions younger than this are flagged.
    pub young_days: i64,
}

/// Reads the archives of every registry change (both sides) on `workers` threads.
pub fn read_code(
    delta: &LockfileDelta,
    base: Option<&Graph>,
    head: &Graph,
    store: &CrateStore,
    cache_dir: Option<&Path>,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<ChangeCode> {
    crate::parallel::map(&delta.changes, workers, progress, |c| {
        let read = |g: &Graph, i: usize| -> Option<Result<crate_archive::CrateArchive, String>> {
            g.registry(i)?;
            let p = &g.packages()[i];
            let version = p.version.to_string();
            let checksum = p.checksum.as_ref().map(|c| c.to_string());
            Some(
                match store.get(p.name.as_str(), &version, checksum.as_deref()) {
                    Fetched::Bytes { bytes, .. } => Ok(crate_archive::read(
                        &bytes,
                        p.name.as_str(),
                        &version,
                        checksum.as_deref(),
                        Limits::default(),
                    )),
                    Fetched::Unavailable(why) => Err(why),
                },
            )
        };
        let old = match (&c.from, base) {
            (Some(f), Some(b)) => read(b, f.index),
            _ => None,
        };
        let new = c.to.as_ref().and_then(|t| read(head, t.index));
        // Analyses (syn parses of every file) are cached by checksum; diffs need the files.
        let analyse =
            |g: Option<&Graph>,
             i: Option<usize>,
             a: &Option<Result<crate_archive::CrateArchive, String>>| {
                a.as_ref().map(|r| {
                    let archive = r.as_ref().map_err(Clone::clone)?;
                    let p = g.zip(i).map(|(g, i)| &g.packages()[i]);
                    let path = p.and_then(|p| {
                        crate_analysis::cache_path(
                            cache_dir,
                            p.name.as_str(),
                            &p.version.to_string(),
                            p.checksum.as_ref().map(|c| c.to_string()).as_deref(),
                        )
                    });
                    if let Some(a) = path.as_deref().and_then(crate_analysis::load) {
                        return Ok(a);
                    }
                    let a = crate_analysis::analyze(archive, "review");
                    if let Some(path) = path.filter(|_| !archive.tampered()) {
                        crate_analysis::save(&path, &a);
                    }
                    Ok(a)
                })
            };
        let (old_a, new_a) = (
            analyse(base, c.from.as_ref().map(|f| f.index), &old),
            analyse(Some(head), c.to.as_ref().map(|t| t.index), &new),
        );
        let roles = |a: &Option<Result<CrateAnalysis, String>>| match a {
            Some(Ok(a)) => BuildTimeFiles {
                build_script: a.build_script.clone(),
                proc_macro: a.proc_macro,
            },
            _ => BuildTimeFiles::default(),
        };
        let code = match (&old, &new) {
            (_, Some(Err(why))) => Some(Err(why.clone())),
            (Some(Err(why)), Some(Ok(_))) => Some(Err(format!("previous version: {why}"))),
            (old, Some(Ok(n))) => {
                let o = old.as_ref().and_then(|r| r.as_ref().ok());
                Some(Ok(code_diff::compare(o, n, &roles(&old_a), &roles(&new_a))))
            }
            (_, None) => None,
        };
        ChangeCode {
            old: old_a,
            new: new_a,
            code,
        }
    })
}

/// Incoming head packages' analyses, keyed by head index (what the build-time, license and
/// approval checks read).
pub fn head_analyses(inputs: &ReviewInputs) -> HashMap<usize, Result<CrateAnalysis, String>> {
    inputs
        .delta
        .changes
        .iter()
        .zip(&inputs.code)
        .filter_map(|(c, code)| Some((c.to.as_ref()?.index, code.new.clone()?)))
        .collect()
}

/// The lockfile changes a review looked at.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewSection {
    pub base: String,
    pub head: String,
    pub changes: Vec<ChangeRow>,
}

/// One change with what was learnt about it.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeRow {
    #[serde(flatten)]
    pub change: crate::review::Change,
    /// Days since the incoming version was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories_fixed: Vec<String>,
    /// Highest severity among the findings about this change.
    pub risk: Option<crate::finding::Severity>,
    /// Codes of the findings about this change, worst first.
    pub signals: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<crate::review::code_diff::CodeChanges>,
}
