//! Impersonation and suspicious links, from each crate's packaged manifest: a crate that
//! claims the repository of a different, popular crate (copycats point at the original),
//! repository links that are missing, malformed or on unusual hosts, and descriptions copied
//! from a popular crate in the same graph.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use std::collections::HashMap;

pub struct Impersonation;

const NAME: &str = "impersonation";

pub const CLAIMS_REPOSITORY: CodeSpec = CodeSpec::new(
    "impersonation-repository",
    Severity::Medium,
    "a little-known crate claims the repository of a different, popular crate (copycats point at the original)",
);
pub const COPIED_DESCRIPTION: CodeSpec = CodeSpec::new(
    "impersonation-description",
    Severity::Low,
    "a little-known crate has the same description as a popular crate in the graph",
);
pub const LINK: CodeSpec = CodeSpec::new(
    "repository-link-suspicious",
    Severity::Low,
    "the crate's repository link is malformed, not https, or on an unusual host (info: missing)",
)
.varies(&[Severity::Info]);

static CODES: [CodeSpec; 3] = [CLAIMS_REPOSITORY, COPIED_DESCRIPTION, LINK];

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
        // Which popular crate owns each repository (the most popular one naming it).
        let mut owners: HashMap<String, (&str, u32)> = HashMap::new();
        // Every popular crate per repository: monorepos host whole families.
        let mut residents: HashMap<String, Vec<&str>> = HashMap::new();
        for p in popularity.iter() {
            if let Some(key) = p.repository.as_deref().and_then(|r| {
                repo_key(
                    if r.contains("://") {
                        r.to_string()
                    } else {
                        format!("https://github.com/{r}")
                    }
                    .as_str(),
                )
            }) {
                residents
                    .entry(key.clone())
                    .or_default()
                    .push(p.name.as_str());
                let e = owners.entry(key).or_insert((p.name.as_str(), p.rank));
                if p.rank < e.1 {
                    *e = (p.name.as_str(), p.rank);
                }
            }
        }
        let descriptions: HashMap<String, &str> = analyses
            .iter()
            .filter_map(|(&i, a)| {
                let a = a.as_ref().ok()?;
                let name = graph.packages()[i].name.as_str();
                popularity.get_exact(name)?;
                let d = a.description.as_deref()?.trim().to_ascii_lowercase();
                (d.len() >= 20).then_some((d, name))
            })
            .collect();
        let mut indexes: Vec<&usize> = analyses.keys().collect();
        indexes.sort();
        for &i in indexes {
            let Ok(a) = &analyses[&i] else { continue };
            let name = graph.packages()[i].name.as_str();
            let popular_itself = popularity.get_exact(name).is_some();
            let at = |spec: &'static CodeSpec, title: String| {
                Finding::new(NAME, spec, title)
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            match a.repository.as_deref() {
                None => out.push(at(&LINK, format!("`{name}` names no repository")).severity(Severity::Info).remedy("nothing links the published code to its source; review the archive itself")),
                Some(url) => {
                    match host(url) {
                        None => out.push(at(&LINK, format!("`{name}` has a malformed repository link")).evidence(format!("repository = {url:?}")).remedy("check where the source really lives")),
                        Some(h) => {
                            if !url.trim().starts_with("https://") {
                                out.push(at(&LINK, format!("`{name}`'s repository link is not https")).evidence(format!("repository = {url:?}")).remedy("check where the source really lives"));
                            } else if !KNOWN_HOSTS.iter().any(|k| h == *k || h.ends_with(&format!(".{k}"))) && !popular_itself {
                                out.push(at(&LINK, format!("`{name}`'s repository is on an unusual host ({h})")).evidence(format!("repository = {url:?}")).remedy("check that the host and the repository are what they claim"));
                            }
                        }
                    }
                    let key = repo_key(url);
                    let family_home = key.as_ref().and_then(|k| residents.get(k)).is_some_and(|names| names.iter().any(|n| related(n, name)));
                    if let Some((owner, rank)) = key.as_ref().and_then(|k| owners.get(k).copied())
                        && !popular_itself && !family_home && !owner.eq_ignore_ascii_case(name) && !pulled_in_by(graph, owner, i) {
                            out.push(
                                at(&CLAIMS_REPOSITORY, format!("`{name}` claims the repository of `{owner}`"))
                                    .evidence(format!("repository = {url:?}"))
                                    .evidence(format!("`{owner}` is #{rank} by downloads and lives there; `{name}` is not a known crate"))
                                    .remedy(format!("compare the archive with the repository; if you wanted `{owner}`, fix the dependency")),
                            );
                        }
                }
            }
            if !popular_itself
                && let Some(original) = a
                    .description
                    .as_deref()
                    .and_then(|d| descriptions.get(&d.trim().to_ascii_lowercase()))
                && *original != name
                && !related(original, name)
                && !pulled_in_by(graph, original, i)
            {
                out.push(
                    at(
                        &COPIED_DESCRIPTION,
                        format!("`{name}` copies the description of `{original}`"),
                    )
                    .evidence(format!(
                        "description = {:?}",
                        a.description.as_deref().unwrap_or("")
                    ))
                    .remedy(format!("check that `{name}` is not a copy of `{original}`")),
                );
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
