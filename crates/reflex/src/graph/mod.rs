//! The resolved dependency graph, read from `Cargo.lock` as data (formats v1 to v4), with the
//! shortest path from a workspace member to every package ("via").

mod lockfile_reader;
pub mod platform;
pub mod workspace;

use crate::error::{Error, Result};
use crate::finding::PackageRef;
use rustsec::cargo_lock::{Lockfile, Package, ResolveVersion, SourceId};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};

/// Where a package comes from, reduced to what checks care about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A workspace member or path dependency (no `source` in the lockfile).
    Local,
    /// crates.io.
    CratesIo,
    /// Any other registry, by index URL.
    Registry(String),
    /// A git repository with the locked commit.
    Git { url: String, commit: Option<String> },
    /// Local registry, directory source or anything else.
    Other(String),
}

/// The lockfile and the graph built from it.
#[derive(Debug)]
pub struct Graph {
    /// Where the lockfile was read from (`-` for stdin).
    pub path: PathBuf,
    pub text: String,
    pub lockfile: Lockfile,
    pub version: u8,
    deps: Vec<Vec<usize>>,
    rdeps: Vec<Vec<usize>>,
    /// Predecessor on the shortest path from a local package; `None` for roots and orphans.
    parent: Vec<Option<usize>>,
    reachable: Vec<bool>,
}

impl Graph {
    /// Reads and parses a lockfile; `-` reads standard input.
    pub fn load(path: &Path) -> Result<Graph> {
        Graph::load_as(path, path)
    }

    /// Reads `path`, naming it `display` in errors and findings.
    pub fn load_as(path: &Path, display: &Path) -> Result<Graph> {
        let text = if path == Path::new("-") {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| Error::io("<stdin>", e))?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|e| Error::io(display, e))?
        };
        Graph::parse(display, text)
    }

    /// Parses lockfile text. Errors carry the file, line and column.
    pub fn parse(path: &Path, text: String) -> Result<Graph> {
        let display = if path == Path::new("-") {
            PathBuf::from("<stdin>")
        } else {
            path.into()
        };
        if text.trim().is_empty() {
            return Err(Error::parse_at(
                &display,
                &text,
                Some(0),
                "the lockfile is empty",
                Some("regenerate it with `cargo generate-lockfile`".into()),
            ));
        }
        if let Some(lockfile) = lockfile_reader::read(&text) {
            let version = if lockfile.version == ResolveVersion::V4 {
                4
            } else {
                3
            };
            return Ok(Graph::build(display, text, lockfile, version));
        }
        let lockfile: Lockfile = match toml::from_str(&text) {
            Ok(l) => l,
            Err(e) => {
                let mut err = Error::toml(&display, &text, &e);
                // cargo-lock reports some problems (an unresolvable dependency) without a
                // position: point at the first quoted occurrence of the name it gives.
                if e.span().is_none() {
                    let name = e
                        .message()
                        .rsplit([' ', ':'])
                        .next()
                        .unwrap_or("")
                        .trim_matches('`');
                    if let Some(pos) = (!name.is_empty())
                        .then(|| text.find(&format!("\"{name}")))
                        .flatten()
                    {
                        err = Error::parse_at(&display, &text, Some(pos), e.message().trim(), None);
                    }
                }
                return Err(err.with_help(
                    "Cargo.lock must be a TOML file written by cargo (lockfile format v1 to v4)",
                ));
            }
        };
        let version = match lockfile.version {
            ResolveVersion::V1 => 1,
            ResolveVersion::V2 => 2,
            ResolveVersion::V3 => 3,
            ResolveVersion::V4 => 4,
            _ => 0,
        };
        Ok(Graph::build(display, text, lockfile, version))
    }

    fn build(path: PathBuf, text: String, lockfile: Lockfile, version: u8) -> Graph {
        let n = lockfile.packages.len();
        let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, p) in lockfile.packages.iter().enumerate() {
            by_name.entry(p.name.as_str()).or_default().push(i);
        }
        let mut deps = vec![Vec::new(); n];
        let mut rdeps = vec![Vec::new(); n];
        for (i, p) in lockfile.packages.iter().enumerate() {
            for d in &p.dependencies {
                let Some(candidates) = by_name.get(d.name.as_str()) else {
                    continue;
                };
                // Exact source first: a path package and a registry package may share name
                // and version (a commented-out [patch] leaves both in the lockfile).
                let same_version = |j: &usize| lockfile.packages[*j].version == d.version;
                let target = candidates
                    .iter()
                    .copied()
                    .filter(same_version)
                    .find(|&j| lockfile.packages[j].source == d.source)
                    .or_else(|| {
                        candidates.iter().copied().filter(same_version).find(|&j| {
                            let q = &lockfile.packages[j];
                            d.source.is_none() || q.source.is_none() || d.source == q.source
                        })
                    });
                let target = target.or_else(|| {
                    candidates
                        .iter()
                        .copied()
                        .find(|&j| lockfile.packages[j].version == d.version)
                });
                if let Some(j) = target {
                    deps[i].push(j);
                    rdeps[j].push(i);
                }
            }
        }
        // Multi-source BFS from every local package: the shortest path names the nearest
        // workspace member and the direct dependency that pulls a package in.
        let mut roots: Vec<usize> = (0..n)
            .filter(|&i| lockfile.packages[i].source.is_none())
            .collect();
        if roots.is_empty() {
            roots = (0..n).filter(|&i| rdeps[i].is_empty()).collect();
        }
        let mut parent = vec![None; n];
        let mut reachable = vec![false; n];
        let mut queue = VecDeque::new();
        for &r in &roots {
            reachable[r] = true;
            queue.push_back(r);
        }
        while let Some(i) = queue.pop_front() {
            for &j in &deps[i] {
                if !reachable[j] {
                    reachable[j] = true;
                    parent[j] = Some(i);
                    queue.push_back(j);
                }
            }
        }
        Graph {
            path,
            text,
            lockfile,
            version,
            deps,
            rdeps,
            parent,
            reachable,
        }
    }

    pub fn packages(&self) -> &[Package] {
        &self.lockfile.packages
    }

    pub fn len(&self) -> usize {
        self.lockfile.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lockfile.packages.is_empty()
    }

    pub fn dependencies(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    pub fn dependents(&self, i: usize) -> &[usize] {
        &self.rdeps[i]
    }

    /// Whether a workspace member can reach the package (cargo would drop it otherwise).
    pub fn is_reachable(&self, i: usize) -> bool {
        self.reachable[i]
    }

    /// `["member 1.0.0", "direct-dep 2.1.0", ..., "package 0.3.1"]`, the shortest path from a
    /// local package. Empty for local packages themselves.
    pub fn via(&self, i: usize) -> Vec<String> {
        let mut chain = vec![i];
        let mut cur = i;
        while let Some(p) = self.parent[cur] {
            chain.push(p);
            cur = p;
            if chain.len() > self.len() {
                break;
            }
        }
        if chain.len() == 1 {
            return Vec::new();
        }
        chain.iter().rev().map(|&j| self.label(j)).collect()
    }

    pub fn label(&self, i: usize) -> String {
        let p = &self.lockfile.packages[i];
        format!("{} {}", p.name, p.version)
    }

    pub fn package_ref(&self, i: usize) -> PackageRef {
        package_ref(&self.lockfile.packages[i])
    }

    /// The registry package `i` comes from: `Some(None)` for crates.io, `Some(Some(source))`
    /// for another registry (the lockfile's source string), `None` for path and git packages.
    pub fn registry(&self, i: usize) -> Option<Option<String>> {
        match self.origin(i) {
            Origin::CratesIo => Some(None),
            Origin::Registry(_) => Some(
                self.lockfile.packages[i]
                    .source
                    .as_ref()
                    .map(|s| s.to_string()),
            ),
            _ => None,
        }
    }

    pub fn origin(&self, i: usize) -> Origin {
        origin(self.lockfile.packages[i].source.as_ref())
    }

    /// Index of the package with this name and version.
    pub fn find(&self, name: &str, version: &str) -> Option<usize> {
        self.lockfile
            .packages
            .iter()
            .position(|p| p.name.as_str() == name && p.version.to_string() == version)
    }

    /// 1-based line of the `[[package]]` entry of package `i` in the lockfile text.
    pub fn line_of(&self, i: usize) -> Option<u32> {
        let p = &self.lockfile.packages[i];
        let name_line = format!("name = \"{}\"", p.name);
        let version_line = format!("version = \"{}\"", p.version);
        let mut lines = self.text.lines().enumerate().peekable();
        while let Some((n, line)) = lines.next() {
            if line.trim() == name_line
                && lines
                    .peek()
                    .is_some_and(|(_, next)| next.trim() == version_line)
            {
                return u32::try_from(n + 1).ok();
            }
        }
        None
    }
}

pub fn origin(source: Option<&SourceId>) -> Origin {
    match source {
        None => Origin::Local,
        Some(s) if s.is_default_registry() => Origin::CratesIo,
        Some(s) if s.is_registry() => Origin::Registry(s.url().to_string()),
        Some(s) if s.is_git() => Origin::Git {
            url: s.url().to_string(),
            commit: s.precise().map(str::to_string),
        },
        Some(s) => Origin::Other(s.to_string()),
    }
}

pub fn package_ref(p: &Package) -> PackageRef {
    PackageRef {
        name: p.name.to_string(),
        version: p.version.to_string(),
        source: p
            .source
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_else(|| "path".into()),
    }
}
