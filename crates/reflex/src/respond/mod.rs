//! `respond`: "are we affected?" Walks the directory trees of many repositories (respecting
//! `.gitignore`, in parallel), finds every `Cargo.lock` that contains a crate (matching a
//! version requirement) or the crates of an advisory, and says per project which versions are
//! there, through which dependency paths, whether it only runs at build time, and what to run
//! to get rid of it.

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::knowledge::versions::{
    nearest_safe_version, precise_update, semver_compatible, upgrade_command, upgrade_remedy,
};
use crate::sources::advisory_db::AdvisoryDb;
use crate::sources::registry_index::{IndexedVersion, Lookup, RegistryIndex};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

mod output;
mod recorded;
pub use output::{write_human, write_json};
pub use recorded::respond_recorded;

/// What to look for.
#[derive(Clone, Debug)]
pub enum Query {
    /// `name` or `name@<version-req>`.
    Crate {
        name: String,
        req: Option<semver::VersionReq>,
    },
    /// An advisory id (or alias): its crate and vulnerable ranges.
    Advisory { id: String },
}

impl Query {
    pub fn parse(s: &str) -> Result<Query> {
        let upper = s.to_ascii_uppercase();
        if upper.starts_with("RUSTSEC-") || upper.starts_with("GHSA-") || upper.starts_with("CVE-")
        {
            return Ok(Query::Advisory { id: s.to_string() });
        }
        match s.split_once('@') {
            Some((name, req)) => {
                let req = semver::VersionReq::parse(req).map_err(|e| {
                    Error::Usage(
                        format!("`{req}` is not a version requirement: {e}"),
                        Some("for example `url-parse@0.1.0`, `openssl@<0.10.55` or `time@>=0.2, <0.2.23`".into()),
                    )
                })?;
                Ok(Query::Crate {
                    name: name.to_string(),
                    req: Some(req),
                })
            }
            None => Ok(Query::Crate {
                name: s.to_string(),
                req: None,
            }),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Match {
    pub name: String,
    pub version: String,
    pub source: String,
    /// Dependency path from a workspace member.
    pub via: Vec<String>,
    /// The direct dependency of the workspace that pulls it in (or the crate itself).
    pub direct: Option<String>,
    /// Whether every path to it is a build dependency (from the registry index of its
    /// dependents); `None` when the index does not say.
    pub build_time_only: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<String>,
    pub remedy: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Project {
    pub lockfile: String,
    pub matches: Vec<Match>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Response {
    pub query: String,
    pub roots: Vec<String>,
    pub lockfiles_scanned: usize,
    pub lockfiles_unreadable: Vec<String>,
    pub projects: Vec<Project>,
    pub elapsed_ms: u128,
}

pub struct Options<'a> {
    pub roots: Vec<PathBuf>,
    pub db: &'a AdvisoryDb,
    /// For build-time detection and remedies; `None` skips both lookups.
    pub index: Option<&'a RegistryIndex>,
    pub threads: usize,
}

/// Which versions a query means: the advisory ids that apply (one empty id for a plain crate
/// query), nothing when the version does not match.
type VersionTest<'a> = Box<dyn Fn(&semver::Version) -> Vec<String> + Sync + 'a>;

/// The crate names and version test of a query.
fn matcher<'a>(query: &'a Query, db: &'a AdvisoryDb) -> Result<(String, VersionTest<'a>)> {
    match query {
        Query::Crate { name, req } => Ok((
            name.clone(),
            Box::new(move |v: &semver::Version| {
                if req.as_ref().is_none_or(|r| r.matches(v)) {
                    vec![String::new()]
                } else {
                    Vec::new()
                }
            }),
        )),
        Query::Advisory { id } => {
            let adv = db
                .advisories
                .iter()
                .find(|a| {
                    a.metadata.id.as_str().eq_ignore_ascii_case(id)
                        || a.metadata
                            .aliases
                            .iter()
                            .any(|x| x.as_str().eq_ignore_ascii_case(id))
                })
                .ok_or_else(|| {
                    Error::Usage(
                        format!("no advisory `{id}` in the advisory database"),
                        Some("`cargo reflex db fetch` for the newest advisories".into()),
                    )
                })?;
            let name = adv.metadata.package.as_str().to_string();
            let ident = adv.metadata.id.to_string();
            Ok((
                name,
                Box::new(move |v: &semver::Version| {
                    if adv.versions.is_vulnerable(v) {
                        vec![ident.clone()]
                    } else {
                        Vec::new()
                    }
                }),
            ))
        }
    }
}

pub fn respond(query: &Query, label: &str, opts: &Options<'_>) -> Result<Response> {
    let start = std::time::Instant::now();
    let (name, test) = matcher(query, opts.db)?;
    let needle = format!("name = \"{name}\"");
    let found: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let scanned = std::sync::atomic::AtomicUsize::new(0);
    for root in &opts.roots {
        if !root.exists() {
            return Err(Error::Usage(
                format!("{} does not exist", root.display()),
                None,
            ));
        }
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_global(false)
            .require_git(false)
            .filter_entry(|e| e.file_name() != ".git" && e.file_name() != "target")
            .threads(opts.threads)
            .build_parallel();
        let test = &test;
        walker.run(|| {
            let found = &found;
            let scanned = &scanned;
            let needle = needle.as_bytes();
            let name = name.as_bytes();
            Box::new(move |entry| {
                if let Ok(e) = entry
                    && e.file_name() == "Cargo.lock"
                    && e.file_type().is_some_and(|t| t.is_file())
                {
                    scanned.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    // Most lockfiles do not hold the crate: a byte search decides before parsing,
                    // but only skips what provably cannot hold it.
                    if let Ok(bytes) = std::fs::read(e.path())
                        && may_hold(&bytes, name, needle, test)
                    {
                        found
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(e.path().to_path_buf());
                    }
                }
                ignore::WalkState::Continue
            })
        });
    }
    let mut candidates = found.into_inner().unwrap_or_default();
    candidates.sort();
    // Lockfiles are parsed in parallel; index answers are shared (many repositories, few crates).
    let lookups = Lookups::new(opts.index);
    let results = crate::parallel::map(&candidates, opts.threads.max(1), &|_, _| {}, |path| {
        let graph = Graph::load(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut matches = Vec::new();
        for (i, p) in graph.packages().iter().enumerate() {
            if p.name.as_str() != name {
                continue;
            }
            let advisories = test(&p.version);
            if advisories.is_empty() {
                continue;
            }
            let via = graph.via(i);
            let direct = via.get(1).cloned();
            matches.push(Match {
                name: name.clone(),
                version: p.version.to_string(),
                source: p.source.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                build_time_only: build_time_only(&graph, i, &lookups),
                remedy: remedy(name.as_str(), &p.version, &via, query, opts.db, &lookups),
                advisories: advisories.into_iter().filter(|a| !a.is_empty()).collect(),
                direct,
                via,
            });
        }
        Ok(Project {
            lockfile: path.display().to_string(),
            matches,
        })
    });
    let mut projects = Vec::new();
    let mut unreadable = Vec::new();
    for r in results {
        match r {
            Ok(p) if !p.matches.is_empty() => projects.push(p),
            Ok(_) => {}
            Err(e) => unreadable.push(e),
        }
    }
    Ok(Response {
        query: label.to_string(),
        roots: opts.roots.iter().map(|r| r.display().to_string()).collect(),
        lockfiles_scanned: scanned.into_inner(),
        lockfiles_unreadable: unreadable,
        projects,
        elapsed_ms: start.elapsed().as_millis(),
    })
}

/// Registry index answers, looked up once per crate name, and what respond derives from them,
/// computed once per distinct input: many lockfiles hold the same versions and dependents.
struct Lookups<'a> {
    index: Option<&'a RegistryIndex>,
    seen: Mutex<HashMap<String, std::sync::Arc<Lookup>>>,
    /// [`all_build_edges`] by (crate, its dependents).
    build: Mutex<HashMap<(String, Parents), Option<bool>>>,
    /// [`earlier_release`] by (crate, version, what is sought): the sought release depends on
    /// nothing else during one response.
    earlier: Mutex<HashMap<(String, semver::Version, String), Option<semver::Version>>>,
    /// The nearest safe version of the advisory's crate by version.
    safe: Mutex<HashMap<semver::Version, Option<semver::Version>>>,
}

/// The packages that depend on one directly: (name, version).
type Parents = Vec<(String, String)>;

/// `map[key]`, computed by `f` the first time (a race computes it twice, with one answer).
fn memo<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, V>>,
    key: K,
    f: impl FnOnce() -> V,
) -> V {
    if let Some(v) = map.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return v.clone();
    }
    let v = f();
    map.lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(key, v.clone());
    v
}

impl<'a> Lookups<'a> {
    fn new(index: Option<&'a RegistryIndex>) -> Lookups<'a> {
        Lookups {
            index,
            seen: Mutex::default(),
            build: Mutex::default(),
            earlier: Mutex::default(),
            safe: Mutex::default(),
        }
    }

    fn get(&self, name: &str) -> Option<std::sync::Arc<Lookup>> {
        let index = self.index?;
        if let Some(l) = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return Some(l.clone());
        }
        let l = std::sync::Arc::new(index.lookup(name, None));
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), l.clone());
        Some(l)
    }
}

/// Whether a lockfile may hold a matching entry of the crate `name`. A file is skipped only
/// when it provably cannot: the name's characters appear nowhere else than in entries written
/// as cargo writes them (`name = "x"` then `version = "..."`) whose versions do not match, and
/// no escape sequence could spell it otherwise (`"\u0078"`). Any other spelling TOML allows
/// (`name="x"`, single or triple quotes, quoted keys, inline tables) is parsed.
fn may_hold(bytes: &[u8], name: &[u8], needle: &[u8], test: &VersionTest<'_>) -> bool {
    if memchr::memchr(b'\\', bytes).is_some() {
        return true;
    }
    let anywhere = memchr::memmem::find_iter(bytes, name).count();
    let canonical = memchr::memmem::find_iter(bytes, needle).count();
    if anywhere > canonical {
        return true;
    }
    any_version_matches(bytes, needle, test)
}

/// Whether a `[[package]]` entry named by `needle` (`name = "x"`) has a version the query
/// matches, read from the line that follows (as cargo writes lockfiles); unsure means yes.
fn any_version_matches(bytes: &[u8], needle: &[u8], test: &VersionTest<'_>) -> bool {
    for at in memchr::memmem::find_iter(bytes, needle) {
        let rest = &bytes[at + needle.len()..];
        let line = rest.strip_prefix(b"\n").unwrap_or(rest);
        let version = line
            .strip_prefix(b"version = \"")
            .and_then(|v| v.iter().position(|c| *c == b'"').map(|end| &v[..end]))
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| semver::Version::parse(v).ok());
        match version {
            Some(v) if test(&v).is_empty() => continue,
            _ => return true,
        }
    }
    false
}

/// True when every dependent declares it as a build dependency (per the registry index).
fn build_time_only(graph: &Graph, i: usize, lookups: &Lookups<'_>) -> Option<bool> {
    let mut parents = Vec::new();
    for &d in graph.dependents(i) {
        let parent = &graph.packages()[d];
        graph.registry(d)?;
        parents.push((parent.name.to_string(), parent.version.to_string()));
    }
    all_build_edges(graph.packages()[i].name.as_str(), &parents, lookups)
}

/// True when every one of `parents` (name, version: registry packages) declares `name` as a
/// build dependency in the registry index; `None` when the index does not say.
fn all_build_edges(
    name: &str,
    parents: &[(String, String)],
    lookups: &Lookups<'_>,
) -> Option<bool> {
    let key = (name.to_string(), parents.to_vec());
    memo(&lookups.build, key, || build_edges(name, parents, lookups))
}

fn build_edges(name: &str, parents: &[(String, String)], lookups: &Lookups<'_>) -> Option<bool> {
    let mut all_build = true;
    for (parent_name, parent_version) in parents {
        let lookup = lookups.get(parent_name)?;
        let entry = lookup.version(parent_version)?;
        let deps = entry.deps.as_ref()?;
        let edge: Vec<&String> = deps
            .iter()
            .filter(|d| d.split_whitespace().next() == Some(name))
            .collect();
        if edge.is_empty() || edge.iter().any(|e| !e.contains("(build")) {
            all_build = false;
        }
    }
    Some(all_build && !parents.is_empty())
}

/// The command that gets rid of it: an update to a safe version, or which dependency to change.
fn remedy(
    name: &str,
    version: &semver::Version,
    via: &[String],
    query: &Query,
    db: &AdvisoryDb,
    lookups: &Lookups<'_>,
) -> String {
    if let Query::Advisory { id } = query {
        let advs: Vec<&rustsec::Advisory> = db
            .for_crate(name)
            .filter(|a| {
                a.metadata.id.as_str().eq_ignore_ascii_case(id)
                    || a.metadata
                        .aliases
                        .iter()
                        .any(|x| x.as_str().eq_ignore_ascii_case(id))
            })
            .collect();
        let safe = memo(&lookups.safe, version.clone(), || {
            let lookup = lookups.get(name);
            // Outside every fixable advisory of the crate, not only the one asked about.
            let all = db.fixable_for_crate(name);
            let set = if all.is_empty() { advs.clone() } else { all };
            let published = lookup
                .as_deref()
                .map(Lookup::unyanked_versions)
                .unwrap_or_default();
            nearest_safe_version(&set, version, &published)
        });
        if let Some(v) = safe {
            return upgrade_command(name, version, &v)
                .unwrap_or_else(|| upgrade_remedy(name, version, &v, via));
        }
    }
    // A query for bad versions: the newest earlier compatible release outside them.
    if let Query::Crate { req: Some(req), .. } = query
        && let Some(good) = earlier_release(lookups, name, version, "outside the query", |_, p| {
            !req.matches(p)
        })
    {
        return precise_update(name, version, good);
    }
    // Brought in by a dependent's new release: its newest earlier release without the crate.
    if via.len() > 2
        && let Some((pname, pver)) = via[via.len() - 2].split_once(' ')
        && let Ok(current) = semver::Version::parse(pver)
        && let Some(good) = earlier_release(lookups, pname, &current, name, |v, _| {
            v.deps.as_ref().is_some_and(|deps| {
                !deps
                    .iter()
                    .any(|d| d.split_whitespace().next() == Some(name))
            })
        })
    {
        return precise_update(pname, pver, good);
    }
    match via.get(1) {
        Some(_) if via.len() == 2 => {
            format!("remove or replace the dependency on {} in {}", name, via[0])
        }
        Some(d) => {
            // Once per distinct row of a crate in every lockfile: concatenated, not formatted.
            let version = version.to_string();
            [
                "update or replace ",
                d,
                ", which pulls in ",
                name,
                " ",
                &version,
                " (`cargo tree -i ",
                name,
                "@",
                &version,
                "` shows every path)",
            ]
            .concat()
        }
        None => format!("{} is a workspace member", name),
    }
}

/// The newest unyanked, non-prerelease release of `name` before `current` that `cargo update
/// --precise` can reach without a manifest change (caret-compatible) and that `keep` accepts;
/// `sought` names what `keep` accepts (answers are kept by name, version and `sought`).
fn earlier_release(
    lookups: &Lookups<'_>,
    name: &str,
    current: &semver::Version,
    sought: &str,
    keep: impl Fn(&IndexedVersion, &semver::Version) -> bool,
) -> Option<semver::Version> {
    let key = (name.to_string(), current.clone(), sought.to_string());
    memo(&lookups.earlier, key, || {
        find_earlier_release(lookups, name, current, keep)
    })
}

fn find_earlier_release(
    lookups: &Lookups<'_>,
    name: &str,
    current: &semver::Version,
    keep: impl Fn(&IndexedVersion, &semver::Version) -> bool,
) -> Option<semver::Version> {
    let lookup = lookups.get(name)?;
    let Lookup::Found { versions, .. } = &*lookup else {
        return None;
    };
    versions
        .iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| Some((v, semver::Version::parse(&v.version).ok()?)))
        .filter(|(v, parsed)| {
            parsed < current
                && parsed.pre.is_empty()
                && semver_compatible(current, parsed)
                && keep(v, parsed)
        })
        .map(|(_, parsed)| parsed)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefilter_reads_the_version_of_the_named_entry() {
        let lock = b"[[package]]\nname = \"url\"\nversion = \"2.5.4\"\n\n[[package]]\nname = \"url\"\nversion = \"1.7.2\"\n";
        let req = |r: &str| {
            let r = semver::VersionReq::parse(r).unwrap();
            Box::new(move |v: &semver::Version| {
                if r.matches(v) {
                    vec![String::new()]
                } else {
                    Vec::new()
                }
            }) as VersionTest<'static>
        };
        let needle = b"name = \"url\"";
        assert!(any_version_matches(lock, needle, &req("<2")));
        assert!(any_version_matches(lock, needle, &req("=2.5.4")));
        assert!(!any_version_matches(lock, needle, &req(">=3")));
        assert!(!any_version_matches(lock, b"name = \"syn\"", &req("*")));
        // An entry written differently is parsed rather than skipped.
        assert!(any_version_matches(
            b"name = \"url\"\nsource = \"x\"\n",
            needle,
            &req(">=3")
        ));
        assert!(matches!(
            Query::parse("RUSTSEC-2019-0009").unwrap(),
            Query::Advisory { .. }
        ));
        assert!(Query::parse("x@>>1").is_err());
    }
}
