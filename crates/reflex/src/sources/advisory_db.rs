//! The RustSec advisory database: the snapshot embedded at build time, a directory in RustSec
//! format, or a clone kept up to date by `cargo reflex db fetch`.
//!
//! Entries are parsed one by one so a corrupt advisory is reported and skipped, never fatal.

use crate::error::{Error, Result};
use rustsec::Collection;
use rustsec::advisory::Advisory;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_db.rs"));
}

/// The upstream database that `db fetch` clones by default.
pub const DEFAULT_URL: &str = "https://github.com/rustsec/advisory-db.git";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbOrigin {
    Embedded,
    /// The clone in the cache directory made by `db fetch`.
    Cache(PathBuf),
    /// A directory given with `--advisory-db`.
    Directory(PathBuf),
}

/// An advisory file that could not be used, and why.
#[derive(Clone, Debug)]
pub struct InvalidEntry {
    pub path: String,
    pub message: String,
}

/// Which advisories to parse. Audits parse only the advisories of crates in the graph (the
/// file layout names the crate), which makes loading several times faster.
#[derive(Clone, Copy, Debug)]
pub enum Scope<'a> {
    All,
    Crates(&'a BTreeSet<String>),
}

impl Scope<'_> {
    fn wants(&self, rel_path: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Crates(names) => {
                let mut parts = rel_path.split(['/', '\\']);
                match (parts.next(), parts.next()) {
                    (Some("crates"), Some(pkg)) => names.contains(pkg),
                    _ => false,
                }
            }
        }
    }
}

#[derive(Debug)]
pub struct AdvisoryDb {
    pub origin: DbOrigin,
    /// Advisory files in the database, parsed or not; `None` when a scoped load skipped
    /// directories without listing them.
    pub total_files: Option<usize>,
    pub advisories: Vec<Advisory>,
    crates: HashMap<String, Vec<usize>>,
    pub invalid: Vec<InvalidEntry>,
    pub commit: Option<String>,
    pub last_updated: Option<jiff::civil::Date>,
}

impl AdvisoryDb {
    /// The snapshot compiled into the binary.
    pub fn embedded(scope: Scope<'_>) -> AdvisoryDb {
        let files: Vec<(String, &str)> = embedded::FILES
            .iter()
            .filter(|(p, _)| scope.wants(p))
            .map(|(p, t)| (p.to_string(), *t))
            .collect();
        let mut db = AdvisoryDb::from_files(DbOrigin::Embedded, &files);
        db.total_files = Some(embedded::FILES.len());
        let (commit, date) = parse_snapshot(embedded::SNAPSHOT);
        db.commit = commit;
        db.last_updated = date.or(db.last_updated);
        db
    }

    /// A directory in RustSec layout: `crates/<name>/RUSTSEC-*.md` (and optionally `rust/`).
    pub fn open(dir: &Path, origin: DbOrigin, scope: Scope<'_>) -> Result<AdvisoryDb> {
        let crates_dir = dir.join("crates");
        if !crates_dir.is_dir() {
            return Err(Error::Usage(
                format!(
                    "`{}` is not a RustSec advisory database: it has no `crates/` directory",
                    dir.display()
                ),
                Some("pass the root of a clone of https://github.com/rustsec/advisory-db".into()),
            ));
        }
        let mut paths = Vec::new();
        let mut total_dirs_skipped = 0usize;
        for collection in ["crates", "rust"] {
            let Ok(entries) = std::fs::read_dir(dir.join(collection)) else {
                continue;
            };
            for pkg_dir in entries.flatten() {
                let dir_name = format!("{collection}/{}/", pkg_dir.file_name().to_string_lossy());
                if !scope.wants(&dir_name) || !pkg_dir.file_type().is_ok_and(|t| t.is_dir()) {
                    total_dirs_skipped += 1;
                    continue;
                }
                for entry in std::fs::read_dir(pkg_dir.path())
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if !name.starts_with('.') {
                        paths.push(entry.path());
                    }
                }
            }
        }
        paths.sort();
        let total_files = (total_dirs_skipped == 0).then_some(paths.len());
        let mut invalid = Vec::new();
        let mut files = Vec::with_capacity(paths.len());
        for path in &paths {
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(path)
                .to_string_lossy()
                .into_owned();
            if !scope.wants(&rel) {
                continue;
            }
            match std::fs::read_to_string(path) {
                Ok(text) => files.push((rel, text)),
                Err(e) => invalid.push(InvalidEntry {
                    path: rel,
                    message: e.to_string(),
                }),
            }
        }
        let borrowed: Vec<(String, &str)> =
            files.iter().map(|(p, t)| (p.clone(), t.as_str())).collect();
        let mut db = AdvisoryDb::from_files(origin, &borrowed);
        db.total_files = total_files;
        db.invalid.extend(invalid);
        let (commit, date) = git_head(dir)
            .or_else(|| {
                std::fs::read_to_string(dir.join("SNAPSHOT.txt"))
                    .ok()
                    .map(|s| parse_snapshot(&s))
            })
            .unwrap_or((None, None));
        db.commit = commit;
        if date.is_some() {
            db.last_updated = date;
        }
        Ok(db)
    }

    /// Parses advisory files (`collection/package/ID.md`, text) on all cores.
    fn from_files(origin: DbOrigin, files: &[(String, &str)]) -> AdvisoryDb {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        let chunk = files.len().div_ceil(threads).max(1);
        let parsed: Vec<Result<Advisory, InvalidEntry>> = std::thread::scope(|s| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .map(|(p, t)| parse_entry(p, t))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        let mut db = AdvisoryDb {
            origin,
            total_files: Some(files.len()),
            advisories: Vec::with_capacity(parsed.len()),
            crates: HashMap::new(),
            invalid: Vec::new(),
            commit: None,
            last_updated: None,
        };
        let mut ids = HashMap::new();
        for (entry, (path, _)) in parsed.into_iter().zip(files) {
            match entry {
                Ok(adv) if adv.metadata.id.is_placeholder() => {}
                Ok(adv) => {
                    if ids.insert(adv.metadata.id.to_string(), ()).is_some() {
                        db.invalid.push(InvalidEntry {
                            path: path.clone(),
                            message: format!("duplicate advisory ID {}", adv.metadata.id),
                        });
                        continue;
                    }
                    let date =
                        jiff::civil::Date::strptime("%Y-%m-%d", adv.metadata.date.as_str()).ok();
                    if date > db.last_updated {
                        db.last_updated = date;
                    }
                    if adv.metadata.collection == Some(Collection::Crates) {
                        db.crates
                            .entry(adv.metadata.package.to_string())
                            .or_default()
                            .push(db.advisories.len());
                    }
                    db.advisories.push(adv);
                }
                Err(e) => db.invalid.push(e),
            }
        }
        db
    }

    /// Advisories about the crates.io package `name`, withdrawn ones included.
    pub fn for_crate<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Advisory> + 'a {
        self.crates
            .get(name)
            .into_iter()
            .flatten()
            .map(|&i| &self.advisories[i])
    }

    /// Advisories about `name` that a version upgrade can fix
    /// ([`crate::knowledge::versions::is_fixable`]): a suggested version must be outside all
    /// of them.
    pub fn fixable_for_crate(&self, name: &str) -> Vec<&Advisory> {
        self.for_crate(name)
            .filter(|a| crate::knowledge::versions::is_fixable(a))
            .collect()
    }

    pub fn info(&self) -> DatabaseInfo {
        let (origin, path) = match &self.origin {
            DbOrigin::Embedded => ("embedded", None),
            DbOrigin::Cache(p) => ("cache", Some(p.display().to_string())),
            DbOrigin::Directory(p) => ("directory", Some(p.display().to_string())),
        };
        DatabaseInfo {
            origin: origin.into(),
            path,
            commit: self.commit.clone(),
            last_updated: self.last_updated.map(|d| d.to_string()),
            advisory_count: self
                .total_files
                .map(|n| n.saturating_sub(self.invalid.len())),
            invalid_entries: self.invalid.len(),
        }
    }
}

/// Parses one entry and checks what cargo-audit checks: file named after the ID, directory
/// named after the package, collection from the directory.
fn parse_entry(path: &str, text: &str) -> Result<Advisory, InvalidEntry> {
    let invalid = |message: String| InvalidEntry {
        path: path.to_string(),
        message,
    };
    let parts: Vec<&str> = path.split(['/', '\\']).collect();
    let [collection, package, file] = parts[..] else {
        return Err(invalid("expected <collection>/<package>/<ID>.md".into()));
    };
    let collection = match collection {
        "crates" => Collection::Crates,
        "rust" => Collection::Rust,
        other => return Err(invalid(format!("unknown collection `{other}`"))),
    };
    if !file.ends_with(".md") {
        return Err(invalid(
            "unexpected file extension (advisories are `.md` files)".into(),
        ));
    }
    let mut adv: Advisory = text
        .parse()
        .map_err(|e: rustsec::Error| invalid(e.to_string()))?;
    let draft = file.starts_with("RUSTSEC-0000-0000.");
    if !draft && file != format!("{}.md", adv.metadata.id) {
        return Err(invalid(format!(
            "file is named {file} but holds advisory {}",
            adv.metadata.id
        )));
    }
    if package != adv.metadata.package.as_str() {
        return Err(invalid(format!(
            "advisory {} is about `{}` but sits in directory `{package}`",
            adv.metadata.id, adv.metadata.package
        )));
    }
    match adv.metadata.collection {
        Some(c) if c != collection => {
            return Err(invalid(format!(
                "collection mismatch for {}",
                adv.metadata.id
            )));
        }
        _ => adv.metadata.collection = Some(collection),
    }
    Ok(adv)
}

fn parse_snapshot(text: &str) -> (Option<String>, Option<jiff::civil::Date>) {
    let mut words = text.split_whitespace();
    let commit = words.next().map(str::to_string);
    let date = words
        .next()
        .and_then(|d| jiff::civil::Date::strptime("%Y-%m-%d", d).ok());
    (commit, date)
}

fn git_head(dir: &Path) -> Option<(Option<String>, Option<jiff::civil::Date>)> {
    if !dir.join(".git").exists() {
        return None;
    }
    let out = git(dir)
        .args(["log", "-1", "--format=%H %cs"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| parse_snapshot(&String::from_utf8_lossy(&out.stdout)))
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        // Abort a transfer that stalls (under 1 KB/s for 30 s) instead of hanging the audit.
        .env("GIT_HTTP_LOW_SPEED_LIMIT", "1000")
        .env("GIT_HTTP_LOW_SPEED_TIME", "30");
    cmd
}

/// cargo-reflex's cache directory. Moved to [`crate::knowledge::paths::cache_dir`]; this name
/// stays for callers not yet switched (`commands/mod.rs`).
pub use crate::knowledge::paths::cache_dir as default_cache_dir;

/// Picks the database: `explicit` if given; else the fetched clone in `cache_dir` when it is
/// at least as new as the embedded snapshot; else the embedded snapshot.
pub fn select(
    explicit: Option<&Path>,
    cache_dir: Option<&Path>,
    scope: Scope<'_>,
) -> Result<AdvisoryDb> {
    if let Some(dir) = explicit {
        return AdvisoryDb::open(dir, DbOrigin::Directory(dir.to_path_buf()), scope);
    }
    let (_, embedded_date) = parse_snapshot(embedded::SNAPSHOT);
    if let Some(clone) = cache_dir
        .map(|c| c.join("advisory-db"))
        .filter(|c| c.join("crates").is_dir())
    {
        let cached_date = git_head(&clone).and_then(|(_, d)| d);
        if cached_date.is_some() && cached_date >= embedded_date {
            return AdvisoryDb::open(&clone, DbOrigin::Cache(clone.clone()), scope);
        }
    }
    Ok(AdvisoryDb::embedded(scope))
}

/// Marker written after every successful fetch; its age decides when `audit` refreshes.
const FETCHED_MARKER: &str = "advisory-db.fetched";

/// Whether the clone in `cache_dir` is missing or was last fetched longer ago than `max_age`.
pub fn needs_refresh(cache_dir: &Path, max_age: std::time::Duration) -> bool {
    if !cache_dir.join("advisory-db").join(".git").is_dir() {
        return true;
    }
    std::fs::metadata(cache_dir.join(FETCHED_MARKER))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_none_or(|age| age > max_age)
}

/// What `db fetch` did.
#[derive(Debug)]
pub struct FetchOutcome {
    pub path: PathBuf,
    pub cloned: bool,
    pub db: AdvisoryDb,
}

/// Clones `url` into `<cache_dir>/advisory-db`, or updates an existing clone, with git.
/// The new state replaces the old one only if it loads as an advisory database.
pub fn fetch(url: &str, cache_dir: &Path) -> Result<FetchOutcome> {
    std::fs::create_dir_all(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    // git runs with `-C`, so relative paths would be resolved twice.
    let cache_dir = &std::path::absolute(cache_dir).map_err(|e| Error::io(cache_dir, e))?;
    let dest = cache_dir.join("advisory-db");
    let run = |cmd: &mut Command, what: &str| -> Result<()> {
        let out = cmd.output().map_err(|e| Error::External {
            what: what.into(),
            message: e.to_string(),
            help: Some("`db fetch` needs git on PATH".into()),
        })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(Error::External {
                what: what.into(),
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                help: Some(
                    "check the URL and the network, or use --offline to keep the embedded snapshot"
                        .into(),
                ),
            })
        }
    };
    let cloned = !dest.join(".git").is_dir();
    if cloned {
        let tmp = cache_dir.join(format!("advisory-db.tmp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let result = run(
            git(cache_dir)
                .args(["clone", "--quiet", "--depth", "1", "--", url])
                .arg(&tmp),
            "git clone",
        )
        .and_then(|()| {
            AdvisoryDb::open(&tmp, DbOrigin::Cache(dest.clone()), Scope::All).map(|_| ())
        });
        if let Err(e) = result {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
    } else {
        run(
            git(&dest).args(["remote", "set-url", "origin", url]),
            "git remote set-url",
        )?;
        run(
            git(&dest).args(["fetch", "--quiet", "--depth", "1", "origin", "HEAD"]),
            "git fetch",
        )?;
        run(
            git(&dest).args(["reset", "--quiet", "--hard", "FETCH_HEAD"]),
            "git reset",
        )?;
    }
    let db = AdvisoryDb::open(&dest, DbOrigin::Cache(dest.clone()), Scope::All)?;
    let _ = std::fs::write(cache_dir.join(FETCHED_MARKER), url);
    Ok(FetchOutcome {
        path: dest,
        cloned,
        db,
    })
}

/// Where the advisories came from.
#[derive(Clone, Debug, Serialize)]
pub struct DatabaseInfo {
    /// `embedded`, `cache` or `directory`.
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Number of advisories; absent when only the graph's crates were loaded from a directory.
    pub advisory_count: Option<usize>,
    pub invalid_entries: usize,
}
