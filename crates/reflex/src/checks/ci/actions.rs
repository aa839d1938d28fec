//! `uses:` references of GitHub Actions: pinned to a full commit SHA or not, and actions
//! whose repositories are archived.

/// What a `uses:` value points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Uses<'a> {
    /// `./path` in the same repository: pinned by the checkout itself.
    Local,
    /// `docker://image[:tag][@digest]`.
    Docker { image: &'a str, digest: bool },
    /// `owner/repo[/path]@ref`, an action or a reusable workflow.
    Repo {
        owner: &'a str,
        repo: &'a str,
        /// `None` when no `@ref` is written at all.
        reference: Option<&'a str>,
    },
}

pub fn parse(uses: &str) -> Option<Uses<'_>> {
    let uses = uses.trim();
    if uses.is_empty() {
        return None;
    }
    // `$/path` is the newer spelling of `./path`: the workflow's own repository and commit.
    if uses.starts_with("./") || uses.starts_with(".\\") || uses.starts_with("$/") {
        return Some(Uses::Local);
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        return Some(Uses::Docker {
            image,
            digest: image.contains("@sha256:"),
        });
    }
    let (path, reference) = match uses.split_once('@') {
        Some((p, r)) => (p, Some(r)),
        None => (uses, None),
    };
    let mut parts = path.split('/');
    // An expression or a form we do not know (`$/...`): not judged.
    let owner = parts.next().filter(|s| !s.is_empty() && !s.contains('$'))?;
    let repo = parts.next().filter(|s| !s.is_empty())?;
    Some(Uses::Repo {
        owner,
        repo,
        reference,
    })
}

/// A full commit SHA (SHA-1, or SHA-256 for repositories in that object format).
pub fn is_full_sha(r: &str) -> bool {
    (r.len() == 40 || r.len() == 64) && r.chars().all(|c| c.is_ascii_hexdigit())
}

/// Owners whose actions GitHub itself publishes (a moved tag there would be GitHub's own
/// doing): still better pinned, but a lower risk than anyone else's tag.
pub fn first_party(owner: &str) -> bool {
    matches!(
        owner.to_ascii_lowercase().as_str(),
        "actions" | "github" | "dependabot"
    )
}

/// Why a `uses:` is not pinned to something immutable, or `None` when it is.
pub fn unpinned(u: &Uses<'_>) -> Option<String> {
    match u {
        Uses::Local => None,
        Uses::Docker { image, digest } => (!digest).then(|| {
            format!("image `{image}` is named by a tag, which its publisher can point elsewhere")
        }),
        Uses::Repo { reference, .. } => match reference {
            None => Some("no ref at all: the default branch, whatever it holds today".into()),
            Some(r) if is_full_sha(r) => None,
            Some(r) if r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()) => Some(format!(
                "`{r}` is an abbreviated commit: another commit, or a branch or tag of that name, can match it"
            )),
            Some(r) if looks_like_version(r) => Some(format!(
                "`{r}` is a tag: whoever controls the repository can move it to other code"
            )),
            Some(r) => Some(format!(
                "`{r}` is a branch (or tag): it moves with every push"
            )),
        },
    }
}

fn looks_like_version(r: &str) -> bool {
    let r = r.strip_prefix('v').unwrap_or(r);
    r.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Archived repositories of actions that CI still uses (a small list: the ones common in
/// Rust pipelines and a few well-known others), with what replaces them. An archived
/// action gets no fixes (actions-rs still runs on a deprecated Node version) and its
/// owner's account is a takeover target nobody watches. The owner part matches every
/// repository of that owner when the repository is `*`.
pub const ARCHIVED: &[(&str, &str, &str)] = &[
    (
        "actions-rs",
        "*",
        "`dtolnay/rust-toolchain` or plain `rustup` and `cargo` commands",
    ),
    ("actions", "create-release", "`gh release create`"),
    ("actions", "upload-release-asset", "`gh release upload`"),
    ("actions", "setup-ruby", "`ruby/setup-ruby`"),
    ("actions", "setup-haskell", "`haskell-actions/setup`"),
    ("actions", "setup-elixir", "`erlef/setup-beam`"),
    ("artichoke", "setup-rust", "`dtolnay/rust-toolchain`"),
    (
        "orf",
        "cargo-bloat-action",
        "running `cargo bloat` directly",
    ),
    (
        "crazy-max",
        "ghaction-docker-buildx",
        "`docker/setup-buildx-action`",
    ),
    (
        "marvinpinto",
        "action-automatic-releases",
        "`gh release create`",
    ),
    (
        "gradle",
        "gradle-build-action",
        "`gradle/actions/setup-gradle`",
    ),
    (
        "tibdex",
        "github-app-token",
        "`actions/create-github-app-token`",
    ),
    (
        "svenstaro",
        "upx-action",
        "upx from the runner's package manager",
    ),
    (
        "sonarsource",
        "sonarcloud-github-action",
        "`SonarSource/sonarqube-scan-action`",
    ),
    ("semgrep", "semgrep-action", "the semgrep CLI"),
];

/// The replacement for an archived action, if `u` is one.
pub fn archived(u: &Uses<'_>) -> Option<&'static str> {
    let Uses::Repo { owner, repo, .. } = u else {
        return None;
    };
    ARCHIVED
        .iter()
        .find(|(o, r, _)| {
            o.eq_ignore_ascii_case(owner) && (*r == "*" || r.eq_ignore_ascii_case(repo))
        })
        .map(|(_, _, instead)| *instead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(s: &str) -> Option<String> {
        unpinned(&parse(s).unwrap())
    }

    #[test]
    fn pins() {
        assert_eq!(
            why("actions/checkout@d23441a48e516b6c34aea4fa41551a30e30af803"),
            None
        );
        assert_eq!(why("./.github/actions/setup"), None);
        assert_eq!(
            why(
                "docker://alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
            None
        );
        assert_eq!(
            why("org/repo/.github/workflows/ci.yml@d23441a48e516b6c34aea4fa41551a30e30af803"),
            None
        );
        assert!(why("actions/checkout@v4").unwrap().contains("tag"));
        assert!(why("Swatinem/rust-cache@v2.7.3").unwrap().contains("tag"));
        assert!(
            why("dtolnay/rust-toolchain@stable")
                .unwrap()
                .contains("branch")
        );
        assert!(
            why("dtolnay/rust-toolchain@master")
                .unwrap()
                .contains("branch")
        );
        assert!(
            why("actions/checkout@d23441a")
                .unwrap()
                .contains("abbreviated")
        );
        assert!(why("docker://alpine:3.19").unwrap().contains("tag"));
        assert!(why("org/repo").unwrap().contains("no ref"));
        assert!(why("org/repo/.github/workflows/x.yml@main").is_some());
        assert!(first_party("actions") && !first_party("Swatinem"));
        assert_eq!(parse("$/.github/workflows/build.yml"), Some(Uses::Local));
        assert_eq!(parse("${{ matrix.action }}@v1"), None);
    }

    #[test]
    fn archived_list() {
        let a = |s: &str| archived(&parse(s).unwrap());
        assert!(a("actions-rs/toolchain@v1").is_some());
        assert!(a("actions-rs/cargo@844f36862e911db73fe0815f00a4a2602c279505").is_some());
        assert!(a("Actions-RS/clippy-check@v1").is_some());
        assert!(a("actions/create-release@v1").is_some());
        assert!(a("actions/checkout@v4").is_none());
        assert!(a("dtolnay/rust-toolchain@stable").is_none());
        assert!(a("./actions-rs").is_none());
    }
}
