//! Impersonation and suspicious links, from each crate's packaged manifest and files: a crate
//! that claims the repository of a more popular crate without being its monorepo sibling (no
//! `.cargo_vcs_info.json`, or the directory where that crate lives), a description or README
//! copied from a more popular crate, content cloned from another registry crate, and
//! repository links that are missing, malformed or on unusual hosts.
//!
//! Monorepo siblings are not suspects: two crates naming the same repository, both packaged
//! with VCS info at distinct `path_in_vcs`, are how RustCrypto, icu4x and swc publish.

use super::{Check, Context, Needs, Sink};
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::sources::popularity::{Popularity, canonical};
use std::collections::{BTreeMap, HashMap, HashSet};

pub struct Impersonation;

const NAME: &str = "impersonation";

pub const CLAIMS_REPOSITORY: CodeSpec = CodeSpec::new(
    "impersonation-repository",
    Severity::Medium,
    "a crate claims the repository of a more popular crate without being its monorepo sibling (no VCS info, or the directory that crate lives in); high with copied version, description, README or files",
)
.varies(&[Severity::Low, Severity::High]);
pub const COPIED_DESCRIPTION: CodeSpec = CodeSpec::new(
    "impersonation-description",
    Severity::Low,
    "a crate has the description (low) or the README (medium) of a more popular crate it is not related to",
)
.varies(&[Severity::Medium]);
pub const CLONED: CodeSpec = CodeSpec::new(
    "impersonation-clone",
    Severity::High,
    "most files of the crate are identical to those of a more popular registry crate published under another name (medium: a declared fork with its own repository)",
)
.varies(&[Severity::Medium]);
pub const LINK: CodeSpec = CodeSpec::new(
    "repository-link-suspicious",
    Severity::Low,
    "the crate's repository link is malformed, not https, or on an unusual host (info: missing)",
)
.varies(&[Severity::Info]);

static CODES: [CodeSpec; 4] = [CLAIMS_REPOSITORY, COPIED_DESCRIPTION, CLONED, LINK];

/// Forges and hosts where public crates keep their code.
const KNOWN_HOSTS: &[&str] = &[
    "github.com",
    "gitlab.com",
    "codeberg.org",
    "bitbucket.org",
    "sr.ht",
    "git.sr.ht",
    "gitea.com",
    "gitee.com",
    "salsa.debian.org",
    "gitlab.freedesktop.org",
    "gitlab.gnome.org",
    "chromium.googlesource.com",
    "android.googlesource.com",
    "git.kernel.org",
    "invent.kde.org",
    "framagit.org",
    "git.savannah.gnu.org",
    "dev.azure.com",
    "hg.mozilla.org",
    "git.deuxfleurs.fr",
    "gitlab.torproject.org",
    "gitlab.redox-os.org",
];

/// `owner/repo` of a GitHub-style URL, lowercased, without `.git` or trailing path.
pub fn repo_key(url: &str) -> Option<String> {
    let rest = url
        .trim()
        .trim_end_matches('/')
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(url);
    let mut parts = rest.split('/');
    let host = parts.next()?.to_ascii_lowercase();
    let owner = parts.next()?.to_ascii_lowercase();
    let repo = parts.next()?.trim_end_matches(".git").to_ascii_lowercase();
    if owner.is_empty() || repo.is_empty() {
        return None;
    }
    Some(if host == "github.com" {
        format!("{owner}/{repo}")
    } else {
        format!("{host}/{owner}/{repo}")
    })
}

fn host(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let host = rest
        .split(['/', ':', '?', '#'])
        .next()?
        .to_ascii_lowercase();
    (!scheme.is_empty() && host.contains('.')).then_some(host)
}

/// Whether a package named `owner` in the graph depends directly on package `i`: the
/// popular crate pulls in its own sibling from the same repository.
fn pulled_in_by(graph: &crate::graph::Graph, owner: &str, i: usize) -> bool {
    graph.dependents(i).iter().any(|&d| {
        graph.packages()[d]
            .name
            .as_str()
            .eq_ignore_ascii_case(owner)
    })
}

/// Crate names of one family: the same first word (`tokio`, `tokio-util`).
fn related(a: &str, b: &str) -> bool {
    let first = |s: &str| {
        s.to_ascii_lowercase()
            .replace('_', "-")
            .split('-')
            .next()
            .unwrap_or("")
            .to_string()
    };
    first(a) == first(b)
}

/// A crate another may imitate: from the corpus, the graph or a reference archive.
#[derive(Clone, Copy)]
struct Known<'a> {
    name: &'a str,
    rank: Option<u32>,
    analysis: Option<&'a CrateAnalysis>,
    /// Its version, when its archive is known.
    version: Option<&'a str>,
}

/// Every crate known to live in each repository (by [`repo_key`]), and every crate whose
/// archive can be compared.
struct KnownCrates<'a> {
    by_repo: HashMap<String, Vec<Known<'a>>>,
    with_archive: Vec<Known<'a>>,
    /// Indexes into `with_archive` by file digest, folded description and README digest.
    by_digest: HashMap<&'a str, Vec<usize>>,
    by_description: HashMap<String, Vec<usize>>,
    by_readme: HashMap<&'a str, Vec<usize>>,
}

/// A description with whitespace and case folded.
fn fold(d: &str) -> String {
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
    fn candidates(&self, a: &CrateAnalysis) -> impl Iterator<Item = usize> + use<> {
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

fn corpus_key(r: &str) -> Option<String> {
    if r.contains("://") {
        repo_key(r)
    } else {
        repo_key(&format!("https://github.com/{r}"))
    }
}

fn known<'a>(
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

/// Whether `other` (ranked `other_rank`) is more popular than a crate ranked `rank`
/// (`None`: not in the corpus).
fn more_popular(other_rank: Option<u32>, rank: Option<u32>) -> bool {
    match (other_rank, rank) {
        (Some(o), Some(r)) => o < r,
        (Some(_), None) => true,
        _ => false,
    }
}

/// `path_in_vcs` of a crate, when it was packaged with VCS info that records it.
fn path_in_vcs(a: &CrateAnalysis) -> Option<&str> {
    a.identity.vcs.as_ref()?.path_in_vcs.as_deref()
}

/// Monorepo siblings: the same repository, both packaged with VCS info at distinct paths.
fn siblings(a: &CrateAnalysis, b: &CrateAnalysis) -> bool {
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
fn trivial_version(v: &str) -> bool {
    matches!(
        v,
        "0.0.0" | "0.0.1" | "0.1.0" | "0.1.1" | "0.2.0" | "1.0.0" | "1.0.1"
    )
}

/// Files that say nothing about the code (licenses, READMEs, tool configs) or are tiny.
fn telling(path: &str) -> bool {
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
fn shared_files(a: &CrateAnalysis, b: &CrateAnalysis) -> (usize, usize) {
    let theirs: HashSet<&str> = b.identity.files.iter().map(|(_, d)| d.as_str()).collect();
    let mine: Vec<&(String, String)> = a
        .identity
        .files
        .iter()
        .filter(|(p, _)| telling(p))
        .collect();
    let same = mine
        .iter()
        .filter(|(_, d)| theirs.contains(d.as_str()))
        .count();
    (same, mine.len())
}

/// Most files identical: at least two and more than half of the crate's telling files.
fn cloned(same: usize, compared: usize) -> bool {
    same >= 2 && same * 2 > compared
}

/// What `a` (version `version`) copied from `o`: evidence lines.
fn copied(a: &CrateAnalysis, version: &str, o: &Known<'_>) -> Vec<String> {
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
fn named_after(name: &str, url: Option<&str>) -> bool {
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

/// Why a crate's claim on a repository where `owner` lives does not hold: `None` when it does
/// (a monorepo sibling, or a crate whose location cannot be told and whose name is the
/// family's). The severity comes with the reason.
fn claim(
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
        return (!family).then(|| {
            (
                Severity::Medium,
                "it has no .cargo_vcs_info.json: nothing shows it was packaged from that repository".to_string(),
            )
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

impl Check for Impersonation {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::ARCHIVES).with(Needs::POPULARITY)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let (Some(graph), Some(analyses), Some(popularity)) =
            (cx.graph, cx.analyses, cx.popularity)
        else {
            return CheckStatus::Skipped {
                reason: "needs crate archives and the popularity corpus".into(),
            };
        };
        let known = known(popularity, graph, analyses, cx.references);
        let mut indexes: Vec<&usize> = analyses.keys().collect();
        indexes.sort();
        for &i in indexes {
            let Ok(a) = &analyses[&i] else { continue };
            let pkg = &graph.packages()[i];
            let name = pkg.name.as_str();
            let version = pkg.version.to_string();
            let rank = popularity.get_exact(name).map(|p| p.rank);
            let at = |spec: &'static CodeSpec, title: String| {
                Finding::new(NAME, spec, title)
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            link_findings(a, name, rank.is_some(), &at, out);
            let imitable =
                |o: &Known<'_>| canonical(o.name) != canonical(name) && more_popular(o.rank, rank);
            let family = |o: &Known<'_>| related(o.name, name) || pulled_in_by(graph, o.name, i);
            // 1. The repository it claims, where a more popular crate lives.
            let key = a.repository.as_deref().and_then(repo_key);
            let owner = key
                .as_ref()
                .and_then(|k| known.by_repo.get(k))
                .and_then(|residents| {
                    residents
                        .iter()
                        .filter(|o| imitable(o))
                        .min_by_key(|o| (o.analysis.is_none(), o.rank))
                        .copied()
                });
            let mut reported: Option<&str> = None;
            if let Some(o) = owner
                && let Some((severity, why)) = claim(a, name, family(&o), &o)
            {
                let copies = copied(a, &version, &o);
                let severity = if copies.is_empty() {
                    severity
                } else {
                    Severity::High
                };
                let mut f = at(
                    &CLAIMS_REPOSITORY,
                    format!("`{name}` claims the repository of `{}`", o.name),
                )
                .severity(severity)
                .evidence(format!(
                    "repository = {:?}",
                    a.repository.as_deref().unwrap_or("")
                ))
                .evidence(match o.rank {
                    Some(r) => format!("`{}` is #{r} by downloads and lives there", o.name),
                    None => format!("`{}` lives there", o.name),
                })
                .evidence(why);
                for c in copies {
                    f = f.evidence(format!("it copies {c}"));
                }
                out.push(f.remedy(format!(
                    "compare the archive with the repository; if you wanted `{}`, depend on it instead",
                    o.name
                )));
                reported = Some(o.name);
            }
            // 2. Copied description, README or files of another crate with an archive.
            for o in known
                .candidates(a)
                .map(|k| &known.with_archive[k])
                .filter(|o| imitable(o))
            {
                if reported == Some(o.name) || family(o) {
                    continue;
                }
                let Some(oa) = o.analysis else { continue };
                if siblings(a, oa) {
                    continue;
                }
                let (same, compared) = shared_files(a, oa);
                if cloned(same, compared) {
                    let own_repo = key.is_some()
                        && key != oa.repository.as_deref().and_then(repo_key)
                        && path_in_vcs(a).is_some();
                    let mut f = at(&CLONED, format!("`{name}` is a copy of `{}`", o.name))
                        .severity(if own_repo {
                            Severity::Medium
                        } else {
                            Severity::High
                        })
                        .evidence(format!(
                            "{same} of its {compared} files are identical to files of `{}`{}",
                            o.name,
                            o.version.map(|v| format!(" {v}")).unwrap_or_default()
                        ));
                    for c in copied(a, &version, o)
                        .into_iter()
                        .filter(|c| !c.contains("files are identical"))
                    {
                        f = f.evidence(format!("it copies {c}"));
                    }
                    out.push(f.remedy(format!(
                        "if you wanted `{}`, depend on it; a fork should say so and link its own repository",
                        o.name
                    )));
                    continue;
                }
                let same_readme = a.identity.readme_digest.is_some()
                    && a.identity.readme_digest == oa.identity.readme_digest;
                let same_description = matches!(
                    (a.description.as_deref(), oa.description.as_deref()),
                    (Some(d), Some(od)) if d.len() >= 20 && fold(d) == fold(od)
                );
                if !(same_readme || same_description) {
                    continue;
                }
                let what = match (same_description, same_readme) {
                    (true, true) => "description and README",
                    (true, false) => "description",
                    _ => "README",
                };
                let mut f = at(
                    &COPIED_DESCRIPTION,
                    format!("`{name}` copies the {what} of `{}`", o.name),
                )
                .severity(if same_readme {
                    Severity::Medium
                } else {
                    Severity::Low
                });
                if let Some(d) = a.description.as_deref().filter(|_| same_description) {
                    f = f.evidence(format!("description = {d:?}"));
                }
                out.push(f.remedy(format!("check that `{name}` is not a copy of `{}`", o.name)));
            }
        }
        let read = analyses.values().filter(|a| a.is_ok()).count();
        match read {
            0 if !analyses.is_empty() => CheckStatus::Skipped {
                reason: "no crate archive could be read".into(),
            },
            n if n < analyses.len() => CheckStatus::Partial {
                reason: format!("{} archives unavailable", analyses.len() - n),
            },
            _ => CheckStatus::Ran,
        }
    }
}

/// Missing, malformed, plain-http or odd-host repository links.
fn link_findings(
    a: &CrateAnalysis,
    name: &str,
    popular_itself: bool,
    at: &dyn Fn(&'static CodeSpec, String) -> Finding,
    out: &mut Sink,
) {
    let check = "check where the source really lives";
    let Some(url) = a.repository.as_deref() else {
        out.push(
            at(&LINK, format!("`{name}` names no repository"))
                .severity(Severity::Info)
                .remedy(
                    "nothing links the published code to its source; review the archive itself",
                ),
        );
        return;
    };
    let evidence = format!("repository = {url:?}");
    match host(url) {
        None => out.push(
            at(&LINK, format!("`{name}` has a malformed repository link"))
                .evidence(evidence)
                .remedy(check),
        ),
        Some(_) if !url.trim().starts_with("https://") => out.push(
            at(&LINK, format!("`{name}`'s repository link is not https"))
                .evidence(evidence)
                .remedy(check),
        ),
        Some(h)
            if !popular_itself
                && !KNOWN_HOSTS
                    .iter()
                    .any(|k| h == *k || h.ends_with(&format!(".{k}"))) =>
        {
            out.push(
                at(
                    &LINK,
                    format!("`{name}`'s repository is on an unusual host ({h})"),
                )
                .evidence(evidence)
                .remedy("check that the host and the repository are what they claim"),
            )
        }
        Some(_) => {}
    }
}

/// The crates `a` (named `name`) may imitate whose archives are worth reading: the most
/// popular crates living in the repository it claims, and the popular crates its README names.
pub fn reference_names(a: &CrateAnalysis, name: &str, popularity: &Popularity) -> Vec<String> {
    let rank = popularity.get_exact(name).map(|p| p.rank);
    let mut out: Vec<(u32, String)> = Vec::new();
    if let Some(key) = a.repository.as_deref().and_then(repo_key) {
        for p in popularity.iter() {
            if p.repository.as_deref().and_then(corpus_key).as_ref() == Some(&key) {
                out.push((p.rank, p.name.clone()));
            }
        }
    }
    for n in &a.identity.readme_names {
        if let Some(p) = popularity.get(n) {
            out.push((p.rank, p.name.clone()));
        }
    }
    out.retain(|(r, n)| canonical(n) != canonical(name) && more_popular(Some(*r), rank));
    out.sort();
    let mut names: Vec<String> = Vec::new();
    for (_, n) in out {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.truncate(4);
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_keys_and_hosts() {
        assert_eq!(
            repo_key("https://github.com/serde-rs/serde.git").as_deref(),
            Some("serde-rs/serde")
        );
        assert_eq!(
            repo_key("https://github.com/Serde-rs/serde/tree/master/serde_derive").as_deref(),
            Some("serde-rs/serde")
        );
        assert_eq!(
            repo_key("https://gitlab.com/a/b").as_deref(),
            Some("gitlab.com/a/b")
        );
        assert_eq!(
            host("https://crates.example.invalid/x").as_deref(),
            Some("crates.example.invalid")
        );
        assert!(host("not a url").is_none());
        assert!(
            related("tokio", "tokio-util")
                && related("regex", "regex-automata")
                && !related("serde", "url-parse")
        );
    }
}
