//! Dependency churn from git history: every first-parent commit that changed a `Cargo.lock`,
//! compared with the lockfile before it (`review::LockfileDelta`), counted per month.
//! One `git log` and one `git cat-file --batch` per repository; git runs no hooks for either.

use crate::graph::Graph;
use crate::review::{ChangeKind, LockfileDelta};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Lockfile changes in one month (`YYYY-MM`, commit time in UTC).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Month {
    pub month: String,
    /// Commits that changed the lockfile.
    pub changes: usize,
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub downgraded: usize,
    pub source_changed: usize,
}

/// A repository's churn over the window.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Churn {
    /// Commits that changed the lockfile in the window.
    pub commits: usize,
    pub added: usize,
    pub removed: usize,
    pub upgraded: usize,
    pub downgraded: usize,
    pub source_changed: usize,
    pub months: Vec<Month>,
    /// Lockfile versions that could not be parsed (counted, skipped).
    #[serde(skip_serializing_if = "is_zero")]
    pub unreadable: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Sums months of many repositories, oldest first.
pub fn sum_months<'a>(churns: impl Iterator<Item = &'a Churn>) -> Vec<Month> {
    let mut by: BTreeMap<String, Month> = BTreeMap::new();
    for c in churns {
        for m in &c.months {
            let e = by.entry(m.month.clone()).or_insert_with(|| Month {
                month: m.month.clone(),
                ..Month::default()
            });
            e.changes += m.changes;
            e.added += m.added;
            e.removed += m.removed;
            e.upgraded += m.upgraded;
            e.downgraded += m.downgraded;
            e.source_changed += m.source_changed;
        }
    }
    by.into_values().collect()
}

/// The churn of `lockfile` (inside the git work tree `top`) for commits since `since`
/// (`YYYY-MM-DD`). `Ok(None)`: not a git repository, or no history for the file.
pub fn churn(top: &Path, lockfile: &Path, since: &str) -> Result<Option<Churn>, String> {
    let rel = lockfile
        .strip_prefix(top)
        .unwrap_or(lockfile)
        .to_string_lossy()
        .replace('\\', "/");
    let log = git(
        top,
        &[
            "log",
            "--first-parent",
            "--reverse",
            "--format=%H %P %cI",
            &format!("--since={since}"),
            "--",
            &rel,
        ],
    )?;
    let commits: Vec<(String, Option<String>, String)> = log
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let hash = w.next()?.to_string();
            let rest: Vec<&str> = w.collect();
            let (date, parents) = rest.split_last()?;
            Some((
                hash,
                parents.first().map(|p| p.to_string()),
                utc_month(date),
            ))
        })
        .collect();
    if commits.is_empty() {
        return Ok(None);
    }
    // The lockfile before the first commit of the window, then after each commit.
    let mut wanted = Vec::with_capacity(commits.len() + 1);
    wanted.push(
        commits[0]
            .1
            .as_ref()
            .map(|p| format!("{p}:{rel}"))
            .unwrap_or_default(),
    );
    wanted.extend(commits.iter().map(|(h, _, _)| format!("{h}:{rel}")));
    let blobs = cat_files(top, &wanted)?;
    let mut graphs: Vec<Option<Graph>> = Vec::with_capacity(blobs.len());
    let mut unreadable = 0;
    for (name, blob) in wanted.iter().zip(blobs) {
        graphs.push(blob.and_then(|text| {
            let g = Graph::parse(&PathBuf::from(name), text).ok();
            if g.is_none() {
                unreadable += 1;
            }
            g
        }));
    }
    let mut out = Churn {
        unreadable,
        ..Churn::default()
    };
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    for (k, (_, _, month)) in commits.iter().enumerate() {
        let m = months.entry(month.clone()).or_insert_with(|| Month {
            month: month.clone(),
            ..Month::default()
        });
        m.changes += 1;
        out.commits += 1;
        let (Some(before), Some(after)) = (&graphs[k], &graphs[k + 1]) else {
            // Created (or deleted, or unreadable): every package of the other side moved.
            if let (None, Some(after)) = (&graphs[k], &graphs[k + 1]) {
                m.added += after.len();
                out.added += after.len();
            }
            continue;
        };
        for c in LockfileDelta::between(before, after).changes {
            let (month, total) = match c.kind {
                ChangeKind::Added => (&mut m.added, &mut out.added),
                ChangeKind::Removed => (&mut m.removed, &mut out.removed),
                ChangeKind::Upgraded => (&mut m.upgraded, &mut out.upgraded),
                ChangeKind::Downgraded => (&mut m.downgraded, &mut out.downgraded),
                ChangeKind::SourceChanged => (&mut m.source_changed, &mut out.source_changed),
            };
            *month += 1;
            *total += 1;
        }
    }
    out.months = months.into_values().collect();
    Ok(Some(out))
}

/// `2026-03` from an ISO 8601 time with any offset, in UTC.
fn utc_month(iso: &str) -> String {
    iso.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m").to_string())
        .unwrap_or_else(|_| iso.chars().take(7).collect())
}

/// The contents of `objects` (`rev:path`; empty for none), `None` where git has none.
fn cat_files(dir: &Path, objects: &[String]) -> Result<Vec<Option<String>>, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("git cat-file: no stdin")?;
    let input: String = objects
        .iter()
        .map(|o| {
            // An empty request line would be an error: ask for an object that cannot exist.
            if o.is_empty() {
                "0000000000000000000000000000000000000000\n".to_string()
            } else {
                format!("{o}\n")
            }
        })
        .collect();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut out = BufReader::new(child.stdout.take().ok_or("git cat-file: no stdout")?);
    let mut blobs = Vec::with_capacity(objects.len());
    for _ in objects {
        let mut header = String::new();
        if out.read_line(&mut header).map_err(|e| e.to_string())? == 0 {
            break;
        }
        let parts: Vec<&str> = header.split_whitespace().collect();
        match parts.as_slice() {
            [_, "blob", size] => {
                let size: usize = size.parse().map_err(|_| "git cat-file: bad size")?;
                let mut buf = vec![0; size + 1];
                out.read_exact(&mut buf).map_err(|e| e.to_string())?;
                buf.pop();
                blobs.push(String::from_utf8(buf).ok());
            }
            [_, _, size] => {
                // Not a blob (a directory of that name): skip its content.
                let size: usize = size.parse().unwrap_or(0);
                let mut buf = vec![0; size + 1];
                out.read_exact(&mut buf).map_err(|e| e.to_string())?;
                blobs.push(None);
            }
            _ => blobs.push(None),
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    blobs.resize(objects.len(), None);
    Ok(blobs)
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(pkgs: &[(&str, &str)]) -> String {
        let mut s = String::from(
            "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n",
        );
        for (n, _) in pkgs {
            s.push_str(&format!(" \"{n}\",\n"));
        }
        s.push_str("]\n");
        for (n, v) in pkgs {
            s.push_str(&format!("\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"));
        }
        s
    }

    fn commit(dir: &Path, text: &str, date: &str) {
        std::fs::write(dir.join("Cargo.lock"), text).unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .env("GIT_COMMITTER_DATE", date)
                .env("GIT_AUTHOR_DATE", date)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{:?}", ok);
        };
        run(&["add", "Cargo.lock"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ]);
    }

    #[test]
    fn churn_counts_every_lockfile_change_per_month() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        assert!(git(d, &["init", "-q"]).is_ok());
        commit(d, &lock(&[("a", "1.0.0")]), "2026-01-05T10:00:00Z");
        commit(
            d,
            &lock(&[("a", "1.0.1"), ("b", "2.0.0")]),
            "2026-01-20T10:00:00Z",
        );
        commit(d, &lock(&[("b", "2.1.0")]), "2026-03-01T10:00:00Z");
        let c = churn(d, &d.join("Cargo.lock"), "2025-01-01")
            .unwrap()
            .unwrap();
        assert_eq!(c.commits, 3);
        assert_eq!(c.months.len(), 2);
        assert_eq!(c.months[0].month, "2026-01");
        assert_eq!(c.months[0].changes, 2);
        // Creation adds app and a; then b is added and a upgraded; then a removed, b upgraded.
        assert_eq!((c.added, c.removed, c.upgraded), (3, 1, 2));
        let since = churn(d, &d.join("Cargo.lock"), "2026-02-01")
            .unwrap()
            .unwrap();
        assert_eq!((since.commits, since.removed, since.upgraded), (1, 1, 1));
        let empty = tempfile::tempdir().unwrap();
        assert!(churn(empty.path(), &empty.path().join("Cargo.lock"), "2020-01-01").is_err());
    }
}
