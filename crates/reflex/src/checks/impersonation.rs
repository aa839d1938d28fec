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
use crate::checks::typosquat::Detector;
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::sources::popularity::{Popularity, canonical};

mod evidence;

use evidence::{
    Known, claim, cloned, copied, corpus_key, fold, known, more_popular, path_in_vcs, shared_files,
    siblings,
};

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
    "a crate has the description (low) or the README (medium) of a more popular crate it is not related to; high when its name also imitates that crate's",
)
.varies(&[Severity::Medium, Severity::High]);
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
        let detector = Detector::new(popularity.clone(), cx.typosquat_target_rank);
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
            // Crates whose names this one imitates (the typosquat detector's judgement: two
            // established siblings are not look-alikes).
            let targets: Vec<String> = detector
                .check(name)
                .into_iter()
                .map(|s| canonical(&s.imitates))
                .collect();
            let lookalike = |o: &Known<'_>| targets.contains(&canonical(o.name));
            let family = |o: &Known<'_>| {
                !lookalike(o) && (related(o.name, name) || pulled_in_by(graph, o.name, i))
            };
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
                // A shared version number alone does not make a weak claim strong (monorepos
                // release in lockstep).
                let strong = copies.iter().any(|c| !c.starts_with("the same version"));
                let severity = match (severity, copies.is_empty()) {
                    (_, true) => severity,
                    (Severity::Low, false) if !strong => Severity::Low,
                    _ => Severity::High,
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
                if let Some(f) = copy_finding(a, name, &version, o, oa, lookalike(o), &at) {
                    out.push(f);
                }
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

/// A crate that shares most files (a clone), its README or its description with `o`, a more
/// popular crate it is not related to.
fn copy_finding(
    a: &CrateAnalysis,
    name: &str,
    version: &str,
    o: &Known<'_>,
    oa: &CrateAnalysis,
    lookalike: bool,
    at: &dyn Fn(&'static CodeSpec, String) -> Finding,
) -> Option<Finding> {
    let (same, compared) = shared_files(a, oa);
    if cloned(same, compared) {
        let key = a.repository.as_deref().and_then(repo_key);
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
        for c in copied(a, version, o)
            .into_iter()
            .filter(|c| !c.contains("files are identical"))
        {
            f = f.evidence(format!("it copies {c}"));
        }
        return Some(f.remedy(format!(
            "if you wanted `{}`, depend on it; a fork should say so and link its own repository",
            o.name
        )));
    }
    let same_readme =
        a.identity.readme_digest.is_some() && a.identity.readme_digest == oa.identity.readme_digest;
    let same_description = matches!(
        (a.description.as_deref(), oa.description.as_deref()),
        (Some(d), Some(od)) if d.len() >= 20 && fold(d) == fold(od)
    );
    let what = match (same_description, same_readme) {
        (false, false) => return None,
        (true, true) => "description and README",
        (true, false) => "description",
        _ => "README",
    };
    let mut f = at(
        &COPIED_DESCRIPTION,
        format!("`{name}` copies the {what} of `{}`", o.name),
    )
    .severity(match (lookalike, same_readme) {
        (true, _) => Severity::High,
        (false, true) => Severity::Medium,
        (false, false) => Severity::Low,
    });
    if let Some(d) = a.description.as_deref().filter(|_| same_description) {
        f = f.evidence(format!("description = {d:?}"));
    }
    if lookalike {
        f = f.evidence(format!("its name looks like `{}`'s", o.name));
        for c in copied(a, version, o)
            .into_iter()
            .filter(|c| c.starts_with("the same version"))
        {
            f = f.evidence(format!("it copies {c}"));
        }
    }
    Some(f.remedy(format!("check that `{name}` is not a copy of `{}`", o.name)))
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

/// The crates `a` (named `name`) may imitate whose archives are worth reading: the crates its
/// name imitates, the most popular crates living in the repository it claims, and the popular
/// crates its README names.
pub fn reference_names(
    a: &CrateAnalysis,
    name: &str,
    popularity: &std::sync::Arc<Popularity>,
) -> Vec<String> {
    let rank = popularity.get_exact(name).map(|p| p.rank);
    let mut out: Vec<(u32, String)> = Vec::new();
    // The crates its name imitates, most popular first.
    let mut lookalikes = Detector::new(popularity.clone(), u32::MAX).check(name);
    lookalikes.sort_by_key(|s| s.target_rank);
    out.extend(
        lookalikes
            .into_iter()
            .take(2)
            .map(|s| (s.target_rank, s.imitates)),
    );
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
