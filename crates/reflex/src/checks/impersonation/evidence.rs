//! What one crate takes from another: the crates known to live in each repository, where a
//! claimant says it lives (`path_in_vcs`), and the version number, description, README and
//! files it shares with the crate it may imitate.

use super::repo_key;
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::Severity;
use crate::sources::popularity::{Popularity, canonical};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A crate another may imitate: from the corpus, the graph or a reference archive.
#[derive(Clone, Copy)]
pub(super) struct Known<'a> {
    pub(super) name: &'a str,
    pub(super) rank: Option<u32>,
    pub(super) analysis: Option<&'a CrateAnalysis>,
    /// Its version, when its archive is known.
    pub(super) version: Option<&'a str>,
}

/// Every crate known to live in each repository (by [`repo_key`]), and every crate whose
/// archive can be compared.
pub(super) struct KnownCrates<'a> {
    pub(super) by_repo: HashMap<String, Vec<Known<'a>>>,
    pub(super) with_archive: Vec<Known<'a>>,
    /// Indexes into `with_archive` by file digest, folded description and README digest.
    pub(super) by_digest: HashMap<&'a str, Vec<usize>>,
    pub(super) by_description: HashMap<String, Vec<usize>>,
    pub(super) by_readme: HashMap<&'a str, Vec<usize>>,
}

/// A description with whitespace and case folded.
pub(super) fn fold(d: &str) -> String {
    d.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl<'a> KnownCrates<'a> {
    fn index(&mut self) {
        for (k, known) in self.with_archive.iter().enumerate() {
            let Some(a) = known.analysis else { continue };
            for (_, d) in &a.identity.files {
                let list = self.by_digest.entry(d.as_str()).or_default();
                if list.last() != Some(&k) {
                    list.push(k);
                }
            }
            if let Some(d) = a.description.as_deref().filter(|d| d.len() >= 20) {
                self.by_description.entry(fold(d)).or_default().push(k);
            }
            if let Some(r) = a.identity.readme_digest.as_deref() {
                self.by_readme.entry(r).or_default().push(k);
            }
        }
    }

    /// Crates with an archive that share `a`'s description, README or at least two files.
    pub(super) fn candidates(&self, a: &CrateAnalysis) -> impl Iterator<Item = usize> + use<> {
        let mut out: std::collections::BTreeSet<usize> = Default::default();
        if let Some(d) = a.description.as_deref().filter(|d| d.len() >= 20) {
            out.extend(self.by_description.get(&fold(d)).into_iter().flatten());
        }
        if let Some(r) = a.identity.readme_digest.as_deref() {
            out.extend(self.by_readme.get(r).into_iter().flatten());
        }
        let mut counts: HashMap<usize, usize> = HashMap::new();
        for (_, d) in a.identity.files.iter().filter(|(p, _)| telling(p)) {
            for &k in self.by_digest.get(d.as_str()).into_iter().flatten() {
                *counts.entry(k).or_default() += 1;
            }
        }
        out.extend(counts.into_iter().filter(|&(_, n)| n >= 2).map(|(k, _)| k));
        out.into_iter()
    }
}

pub(super) fn corpus_key(r: &str) -> Option<String> {
    if r.contains("://") {
        repo_key(r)
    } else {
        repo_key(&format!("https://github.com/{r}"))
    }
}

pub(super) fn known<'a>(
    popularity: &'a Popularity,
    graph: &'a crate::graph::Graph,
    analyses: &'a HashMap<usize, Result<CrateAnalysis, String>>,
    references: Option<&'a BTreeMap<String, CrateAnalysis>>,
) -> KnownCrates<'a> {
    let rank = |n: &str| popularity.get_exact(n).map(|p| p.rank);
    let mut with_archive: Vec<Known<'a>> = Vec::new();
    for (&i, a) in analyses {
        if let Ok(a) = a {
            let p = &graph.packages()[i];
            with_archive.push(Known {
                name: p.name.as_str(),
                rank: rank(p.name.as_str()),
                analysis: Some(a),
                version: a.identity.version.as_deref(),
            });
        }
    }
    for (name, a) in references.into_iter().flatten() {
        with_archive.push(Known {
            name: name.as_str(),
            rank: rank(name),
            analysis: Some(a),
            version: a.identity.version.as_deref(),
        });
    }
    let mut by_repo: HashMap<String, Vec<Known<'a>>> = HashMap::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for k in &with_archive {
        if let Some(key) = k
            .analysis
            .and_then(|a| a.repository.as_deref())
            .and_then(repo_key)
            && seen.insert((key.clone(), canonical(k.name)))
        {
            by_repo.entry(key).or_default().push(*k);
        }
    }
    for p in popularity.iter() {
        if let Some(key) = p.repository.as_deref().and_then(corpus_key)
            && seen.insert((key.clone(), canonical(&p.name)))
        {
            by_repo.entry(key).or_default().push(Known {
                name: p.name.as_str(),
                rank: Some(p.rank),
                analysis: None,
                version: p.max_version.as_deref(),
            });
        }
    }
    let mut known = KnownCrates {
        by_repo,
        with_archive,
        by_digest: HashMap::new(),
        by_description: HashMap::new(),
        by_readme: HashMap::new(),
    };
    known.index();
    known
}

/// Whether `other` (ranked `other_rank`) is far more popular than a crate ranked `rank`
/// (`None`: not in the corpus). Two crates of about the same standing (within a factor of
/// four in rank: `sha1` and `sha-1`, a rename both sides of which are established) are not an
/// imitation of one by the other.
pub(super) fn more_popular(other_rank: Option<u32>, rank: Option<u32>) -> bool {
    match (other_rank, rank) {
        (Some(o), Some(r)) => o.saturating_mul(4) < r,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `path_in_vcs` of a crate, when it was packaged with VCS info that records it.
pub(super) fn path_in_vcs(a: &CrateAnalysis) -> Option<&str> {
    a.identity.vcs.as_ref()?.path_in_vcs.as_deref()
}

/// Monorepo siblings: the same repository, both packaged with VCS info at distinct paths.
pub(super) fn siblings(a: &CrateAnalysis, b: &CrateAnalysis) -> bool {
    let same_repo = match (
        a.repository.as_deref().and_then(repo_key),
        b.repository.as_deref().and_then(repo_key),
    ) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    matches!((path_in_vcs(a), path_in_vcs(b)), (Some(x), Some(y)) if x != y) && same_repo
}

/// Versions too common to say anything when two crates share them.
pub(super) fn trivial_version(v: &str) -> bool {
    matches!(
        v,
        "0.0.0" | "0.0.1" | "0.1.0" | "0.1.1" | "0.2.0" | "1.0.0" | "1.0.1"
    )
}

/// Files that say nothing about the code (licenses, READMEs, tool configs) or are tiny.
pub(super) fn telling(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let base = lower.rsplit('/').next().unwrap_or(&lower);
    ![
        "license",
        "licence",
        "copying",
        "notice",
        "readme",
        "changelog",
        "authors",
        ".",
    ]
    .iter()
    .any(|p| base.starts_with(p))
        && !lower.starts_with(".github/")
        && !matches!(base, "rustfmt.toml" | "clippy.toml" | "deny.toml")
}

/// Identical files: (matching, compared) over `a`'s telling files.
pub(super) fn shared_files(a: &CrateAnalysis, b: &CrateAnalysis) -> (usize, usize) {
    let theirs: HashSet<&str> = b.identity.files.iter().map(|(_, d)| d.as_str()).collect();
    let mine: HashSet<&str> = a
        .identity
        .files
        .iter()
        .filter(|(p, _)| telling(p))
        .map(|(_, d)| d.as_str())
        .collect();
    let same = mine.iter().filter(|d| theirs.contains(*d)).count();
    (same, mine.len())
}

/// Most files identical: at least two and more than half of the crate's telling files.
pub(super) fn cloned(same: usize, compared: usize) -> bool {
    same >= 2 && same * 2 > compared
}

/// What `a` (version `version`) copied from `o`: evidence lines.
pub(super) fn copied(a: &CrateAnalysis, version: &str, o: &Known<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(v) = o.version.filter(|v| *v == version && !trivial_version(v)) {
        out.push(format!("the same version number as `{}` ({v})", o.name));
    }
    let Some(oa) = o.analysis else { return out };
    if let (Some(d), Some(od)) = (a.description.as_deref(), oa.description.as_deref())
        && d.len() >= 20
        && fold(d) == fold(od)
    {
        out.push(format!("the description of `{}`: {d:?}", o.name));
    }
    if a.identity.readme_digest.is_some() && a.identity.readme_digest == oa.identity.readme_digest {
        out.push(format!("the README of `{}`", o.name));
    }
    let (same, compared) = shared_files(a, oa);
    if cloned(same, compared) {
        out.push(format!(
            "{same} of its {compared} files are identical to files of `{}`",
            o.name
        ));
    }
    out
}

/// Whether `name` is the name of the repository at `url` (`rust-url` for `url`, `serde-rs/json`
/// is not `serde_json`'s): the crate a repository is named after lives at its root.
pub(super) fn named_after(name: &str, url: Option<&str>) -> bool {
    let Some(key) = url.and_then(repo_key) else {
        return false;
    };
    let repo = canonical(key.rsplit('/').next().unwrap_or(""));
    let trimmed = repo
        .trim_start_matches("rust_")
        .trim_end_matches("_rs")
        .trim_end_matches(".rs")
        .trim_end_matches("_rust");
    let name = canonical(name);
    name == repo || name == trimmed
}

/// The directory a repository link points into (`https://github.com/o/r/tree/main/pkcs5` is
/// `pkcs5`), when it points into one.
pub(super) fn url_directory(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://")?.1;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match parts.as_slice() {
        [_, _, _, "tree" | "blob", _, dir @ ..] if !dir.is_empty() => Some(dir.join("/")),
        _ => None,
    }
}

/// Why a crate's claim on a repository where `owner` lives does not hold: `None` when it does
/// (a monorepo sibling, or a crate whose location cannot be told and whose name is the
/// family's). The severity comes with the reason.
pub(super) fn claim(
    a: &CrateAnalysis,
    name: &str,
    family: bool,
    owner: &Known<'_>,
) -> Option<(Severity, String)> {
    let repository = a.repository.as_deref();
    // Where the owner lives when its archive is not at hand: the root when the repository is
    // named after it, not when it is named after the claimant.
    let owner_at_root = named_after(owner.name, repository);
    let claimant_at_root = named_after(name, repository);
    let owner_path = owner.analysis.and_then(path_in_vcs);
    let Some(vcs) = &a.identity.vcs else {
        if family {
            return None;
        }
        // A link into its own directory (`.../tree/master/pkcs5`) says where it claims to live,
        // though nothing confirms it.
        let owner_dir = owner_path.filter(|p| !p.is_empty());
        return Some(match repository.and_then(url_directory) {
            Some(dir) if owner_dir != Some(dir.as_str()) && !(owner_dir.is_none() && owner_at_root && dir.is_empty()) => (
                Severity::Low,
                format!("it has no .cargo_vcs_info.json; its repository link names its own directory ({dir}/)"),
            ),
            _ => (
                Severity::Medium,
                "it has no .cargo_vcs_info.json: nothing shows it was packaged from that repository".to_string(),
            ),
        });
    };
    match vcs.path_in_vcs.as_deref() {
        // Packaged before cargo recorded where in the repository (cargo < 1.58).
        None => (!family).then(|| {
            (
                Severity::Low,
                "its .cargo_vcs_info.json does not say where in the repository it lives"
                    .to_string(),
            )
        }),
        Some("") => match owner_path {
            Some("") => Some((
                Severity::Medium,
                format!(
                    "both it and `{}` say they live at the repository root",
                    owner.name
                ),
            )),
            None if !family && !claimant_at_root && owner_at_root => Some((
                Severity::Medium,
                format!(
                    "it says it lives at the repository root, where `{}` is published from",
                    owner.name
                ),
            )),
            _ => None,
        },
        Some(p) => (owner_path == Some(p)).then(|| {
            (
                Severity::Medium,
                format!("it and `{}` both say they live at {p}/", owner.name),
            )
        }),
    }
}
