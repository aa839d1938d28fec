//! Release and publish pipelines: which workflows and jobs publish (crates, GitHub releases,
//! images, packages), which steps restore a cache there (cache poisoning), and which
//! publish to crates.io with a long-lived token where trusted publishing would do.

use super::shell;
use super::yaml::{Node, Value};

/// Actions that publish something (lower-case `owner/repo` prefixes).
const PUBLISHING_ACTIONS: &[(&str, &str)] = &[
    ("softprops/action-gh-release", "a GitHub release"),
    ("ncipollo/release-action", "a GitHub release"),
    ("actions/create-release", "a GitHub release"),
    ("actions/upload-release-asset", "a GitHub release asset"),
    ("svenstaro/upload-release-action", "a GitHub release asset"),
    ("taiki-e/upload-rust-binary-action", "release binaries"),
    ("taiki-e/create-gh-release-action", "a GitHub release"),
    ("marvinpinto/action-automatic-releases", "a GitHub release"),
    ("rust-lang/crates-io-auth-action", "crates to crates.io"),
    ("release-plz/action", "crates to crates.io"),
    ("katyo/publish-crates", "crates to crates.io"),
    ("pypa/gh-action-pypi-publish", "a package to PyPI"),
    ("js-devtools/npm-publish", "a package to npm"),
    ("goreleaser/goreleaser-action", "a release"),
    (
        "actions/attest-build-provenance",
        "attested release artifacts",
    ),
    ("actions/attest", "attested release artifacts"),
    ("rubygems/release-gem", "a gem to RubyGems"),
    ("jreleaser/release-action", "a release"),
    ("redhat-actions/push-to-registry", "a container image"),
];

fn slug(uses: &str) -> String {
    uses.split('@').next().unwrap_or(uses).to_ascii_lowercase()
}

fn with_str<'a>(with: Option<&'a Node>, key: &str) -> Option<&'a str> {
    with.and_then(|w| w.get_str(key))
}

/// What a step publishes, if it does.
pub fn publishes(uses: &str, with: Option<&Node>, script: Option<&str>) -> Option<String> {
    let s = slug(uses);
    if !uses.is_empty() {
        if let Some((_, what)) = PUBLISHING_ACTIONS
            .iter()
            .find(|(a, _)| s == *a || s.starts_with(&format!("{a}/")))
        {
            return Some(format!(
                "{what} ({})",
                uses.split('@').next().unwrap_or(uses)
            ));
        }
        if s == "docker/build-push-action" || s == "docker/bake-action" {
            let push = with_str(with, "push").unwrap_or("false");
            if push != "false" {
                return Some(format!("a container image ({s} with push)"));
            }
        }
        if s == "pyo3/maturin-action"
            && matches!(with_str(with, "command"), Some("publish" | "upload"))
        {
            return Some("a package to PyPI (maturin)".into());
        }
    }
    let script = script?;
    for p in shell::pipelines(script) {
        for stage in &p.stages {
            if let Some(what) = publishing_command(&stage.words) {
                return Some(format!("{what} (`{}`)", stage.text));
            }
        }
    }
    None
}

fn publishing_command(words: &[String]) -> Option<&'static str> {
    let (cmd, start) = shell::command_word(words)?;
    let args: Vec<&str> = words[start..].iter().map(String::as_str).collect();
    let base = cmd.rsplit('/').next().unwrap_or(cmd);
    let has = |w: &str| args.contains(&w);
    let sub = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.starts_with('+'))
        .copied();
    match base {
        "cargo" => match sub {
            Some("publish") if !has("--dry-run") && !has("-n") => Some("crates to crates.io"),
            Some("workspaces" | "ws") if has("publish") => Some("crates to crates.io"),
            Some("release" | "smart-release")
                if has("--execute") || has("-x") || has("publish") =>
            {
                Some("crates to crates.io")
            }
            _ => None,
        },
        "release-plz" if matches!(sub, Some("release")) => Some("crates to crates.io"),
        "gh" if args.first() == Some(&"release")
            && matches!(args.get(1), Some(&("create" | "upload"))) =>
        {
            Some("a GitHub release")
        }
        "docker" | "podman" if sub == Some("push") || has("--push") => Some("a container image"),
        "twine" if sub == Some("upload") => Some("a package to PyPI"),
        "maturin" | "uv" | "poetry" if matches!(sub, Some("publish" | "upload")) => {
            Some("a package to PyPI")
        }
        "npm" | "pnpm" | "yarn" | "wasm-pack" | "vsce" | "ovsx"
            if sub == Some("publish") && !has("--dry-run") =>
        {
            Some("a package")
        }
        b if b.starts_with("publish") => Some("a release (publish script)"),
        "python" | "python3" | "bash" | "sh" | "node" | "uv"
            if sub.is_some_and(|a| a.rsplit('/').next().unwrap_or(a).starts_with("publish")) =>
        {
            Some("a release (publish script)")
        }
        _ => None,
    }
}

/// The cache a step restores, if it restores one.
pub fn restores_cache(uses: &str, with: Option<&Node>, file_text: &str) -> Option<String> {
    let s = slug(uses);
    let lookup_only = with_str(with, "lookup-only") == Some("true");
    let cache_input = with_str(with, "cache");
    let name = uses.split('@').next().unwrap_or(uses);
    match s.as_str() {
        "swatinem/rust-cache"
        | "useblacksmith/rust-cache"
        | "leafwing-studios/cargo-cache"
        | "actions/cache"
        | "actions/cache/restore"
        | "useblacksmith/cache"
        | "buildjet/cache"
            if !lookup_only =>
        {
            Some(name.to_string())
        }
        "actions-rust-lang/setup-rust-toolchain" if cache_input != Some("false") => {
            Some(format!("{name} (caches by default)"))
        }
        "mozilla-actions/sccache-action" if file_text.contains("SCCACHE_GHA_ENABLED") => {
            Some(format!("{name} (sccache on the Actions cache)"))
        }
        "actions/setup-go" | "gradle/actions/setup-gradle" | "jdx/mise-action"
            if cache_input != Some("false") && with_str(with, "cache-disabled") != Some("true") =>
        {
            Some(format!("{name} (caches by default)"))
        }
        "awalsh128/cache-apt-pkgs-action"
        | "determinatesystems/magic-nix-cache-action"
        | "nix-community/cache-nix-action" => Some(name.to_string()),
        "astral-sh/setup-uv" if with_str(with, "enable-cache") == Some("true") => {
            Some(format!("{name} (enable-cache)"))
        }
        "ruby/setup-ruby" if with_str(with, "bundler-cache") == Some("true") => {
            Some(format!("{name} (bundler-cache)"))
        }
        "pyo3/maturin-action" if with_str(with, "sccache") == Some("true") => {
            Some(format!("{name} (sccache)"))
        }
        s if s.starts_with("actions/setup-")
            && cache_input.is_some_and(|c| !c.is_empty() && c != "false") =>
        {
            Some(format!("{name} (cache: {})", cache_input.unwrap_or("")))
        }
        "docker/build-push-action" | "docker/bake-action"
            if with
                .map(|w| w.strings().iter().any(|(v, _)| v.contains("type=gha")))
                .unwrap_or(false) =>
        {
            Some(format!("{name} (cache-from type=gha)"))
        }
        _ => None,
    }
}

/// The workflow's triggers, each with whether it fires on a release (a `release` event or
/// a tag push) and whether it is release-only (no branch pushes, no pull requests).
pub struct Triggers {
    pub names: Vec<String>,
    /// The triggers that fire on releases, described ("push of tags", "release").
    pub release: Vec<String>,
    /// Every trigger is a release, a manual dispatch or a call from another workflow.
    pub release_only: bool,
}

pub fn triggers(doc: &Node) -> Triggers {
    let on = doc.get("on");
    let names: Vec<String> = match on.map(|n| &n.value) {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|n| n.str().map(str::to_string))
            .collect(),
        Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
    let mut release = Vec::new();
    let mut others = false;
    for n in &names {
        match n.as_str() {
            "release" => release.push("release".to_string()),
            "push" => {
                let push = on.and_then(|o| o.get("push"));
                let tags = push.is_some_and(|p| p.get("tags").is_some());
                let branches = push.is_some_and(|p| {
                    p.get("branches").is_some() || p.get("branches-ignore").is_some()
                });
                if tags {
                    release.push("push of tags".to_string());
                }
                if branches || !tags {
                    others = true;
                }
            }
            "workflow_dispatch" | "workflow_call" => {}
            _ => others = true,
        }
    }
    Triggers {
        release_only: !release.is_empty() && !others,
        names,
        release,
    }
}

/// A cargo command that hands a stored secret to crates.io (`cargo publish --token
/// ${{ secrets.X }}`, `cargo login ${{ secrets.X }}`).
pub fn token_on_command_line(call: &shell::CargoCommand) -> bool {
    matches!(
        call.subcommand.as_str(),
        "publish" | "login" | "owner" | "yank"
    ) && call.args.iter().any(|a| a.contains("secrets."))
        && !call
            .args
            .iter()
            .any(|a| a == "--registry" || a == "--index")
}

#[cfg(test)]
mod tests {
    use super::super::yaml;
    use super::*;

    fn step(text: &str) -> (String, Option<Node>, Option<String>) {
        let n = yaml::parse(text).unwrap();
        (
            n.get_str("uses").unwrap_or("").to_string(),
            n.get("with").cloned(),
            n.get_str("run").map(str::to_string),
        )
    }

    fn pubs(text: &str) -> Option<String> {
        let (u, w, r) = step(text);
        publishes(&u, w.as_ref(), r.as_deref())
    }

    #[test]
    fn publishing_steps() {
        assert!(pubs("run: cargo publish -p foo").is_some());
        assert!(pubs("run: cargo +nightly publish --locked").is_some());
        assert!(pubs("run: cargo workspaces publish --yes").is_some());
        assert!(pubs("run: gh release create v1 dist/*").is_some());
        assert!(pubs("run: ./publish.py").is_some());
        assert!(pubs("run: python3 scripts/publish-crates.py --no-verify").is_some());
        assert!(pubs("run: docker push ghcr.io/a/b:1").is_some());
        assert!(pubs("uses: softprops/action-gh-release@v1").is_some());
        assert!(pubs("uses: docker/build-push-action@v6\nwith: {push: true}").is_some());
        assert!(pubs("uses: rust-lang/crates-io-auth-action@v1").is_some());
        assert!(pubs("run: cargo publish --dry-run").is_none());
        assert!(pubs("run: cargo publish --workspace --dry-run").is_none());
        assert!(pubs("run: cargo build --release").is_none());
        assert!(pubs("run: gh release download v1").is_none());
        assert!(pubs("uses: docker/build-push-action@v6\nwith: {push: false}").is_none());
        assert!(pubs("uses: actions/upload-artifact@v4").is_none());
    }

    fn cache(text: &str) -> Option<String> {
        let (u, w, _) = step(text);
        restores_cache(&u, w.as_ref(), "")
    }

    #[test]
    fn cache_steps() {
        assert!(cache("uses: Swatinem/rust-cache@v2").is_some());
        assert!(cache("uses: Swatinem/rust-cache@v2\nwith: {save-if: false}").is_some());
        assert!(cache("uses: actions/cache@v4").is_some());
        assert!(cache("uses: actions/cache/restore@v4").is_some());
        assert!(cache("uses: actions-rust-lang/setup-rust-toolchain@v1").is_some());
        assert!(cache("uses: actions/setup-node@v4\nwith: {cache: npm}").is_some());
        assert!(cache("uses: actions/cache/save@v4").is_none());
        assert!(cache("uses: actions/cache@v4\nwith: {lookup-only: true}").is_none());
        assert!(
            cache("uses: actions-rust-lang/setup-rust-toolchain@v1\nwith: {cache: false}")
                .is_none()
        );
        assert!(cache("uses: actions/setup-node@v4").is_none());
        assert!(cache("uses: mozilla-actions/sccache-action@v0.0.9").is_none());
        assert!(cache("uses: docker/build-push-action@v6\nwith: {cache-from: type=gha}").is_some());
    }

    #[test]
    fn release_triggers() {
        let t = |s: &str| triggers(&yaml::parse(s).unwrap());
        let tags = t("on:\n  push:\n    tags: ['v*']\n");
        assert!(tags.release_only && tags.release == ["push of tags"]);
        let mixed = t("on:\n  push:\n    branches: [main]\n    tags: ['*']\n  pull_request:\n");
        assert!(!mixed.release_only && mixed.release == ["push of tags"]);
        let rel = t("on:\n  release:\n    types: [published]\n  workflow_dispatch:\n");
        assert!(rel.release_only);
        let ci = t("on: [push, pull_request]");
        assert!(ci.release.is_empty() && !ci.release_only);
    }
}
