//! Cargo configuration review: where crates come from (registries, source replacement,
//! `[patch]`/`[replace]`), whether those channels are authenticated and encrypted, whether git
//! dependencies are pinned, and credentials written into committed files.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Level, Severity};
use crate::graph::workspace::{DepSource, Manifest};
use crate::sources::cargo_config::ConfigFile;
use toml::Value;

pub struct CargoConfig;

const NAME: &str = "cargo-config";

pub const INSECURE_URL: CodeSpec = CodeSpec::new(
    "cargo-config-insecure-url",
    Severity::Medium,
    "a registry, source or git dependency is fetched over plain http or git://, open to tampering in transit",
);
pub const SOURCE_REPLACED: CodeSpec = CodeSpec::new(
    "cargo-config-source-replacement",
    Severity::Low,
    "crates.io is replaced by another source: every crate comes from there",
);
pub const PLAINTEXT_TOKEN: CodeSpec = CodeSpec::new(
    "cargo-config-plaintext-token",
    Severity::Medium,
    "a registry token is written in a cargo config file (use a credential provider or CARGO_REGISTRY_TOKEN)",
);
pub const PATCH_REDIRECT: CodeSpec = CodeSpec::new(
    "cargo-patch-redirect",
    Severity::Low,
    "a [patch] or [replace] entry redirects a crate to another source",
);
pub const GIT_UNPINNED: CodeSpec = CodeSpec::new(
    "git-dependency-unpinned",
    Severity::Medium,
    "a git dependency follows a branch or tag instead of a pinned `rev`, so its code can change under the same manifest",
).varies(&[Severity::Low, Severity::Medium]);
pub const BUILD_PROGRAM: CodeSpec = CodeSpec::new(
    "cargo-config-build-program",
    Severity::Low,
    "cargo config runs a program from the repository on every compile (rustc wrapper, linker or runner)",
);

static CODES: [CodeSpec; 6] = [
    INSECURE_URL,
    SOURCE_REPLACED,
    PLAINTEXT_TOKEN,
    PATCH_REDIRECT,
    GIT_UNPINNED,
    BUILD_PROGRAM,
];

impl Check for CargoConfig {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH
            .with(Needs::WORKSPACE)
            .with(Needs::CARGO_CONFIG)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let first = out.findings.len();
        let status = review_configs_and_manifests(cx, out);
        if let Some(policy) = cx.policy {
            level_by_policy(&mut out.findings[first..], policy);
        }
        status
    }
}

fn review_configs_and_manifests(cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
    for file in cx.cargo_configs {
        review_config(file, out);
    }
    match cx.workspace {
        Some(ws) => {
            for m in &ws.packages {
                review_manifest_deps(m, out);
            }
            if ws.root_manifest.name.is_none() {
                review_manifest_deps(&ws.root_manifest, out);
            }
            review_patches(&ws.root_manifest, out);
            CheckStatus::Ran
        }
        None => {
            // Without manifests, the lockfile still records how git sources were declared.
            if let Some(graph) = cx.graph {
                review_locked_git_sources(graph, out);
            }
            CheckStatus::Partial {
                reason: "lockfile-only mode (--file): manifests and cargo config not reviewed; git sources read from Cargo.lock".into(),
            }
        }
    }
}

/// `[sources] git` decides how much an unpinned git dependency matters.
fn level_by_policy(findings: &mut [Finding], policy: &crate::policy::Policy) {
    use crate::policy::GitRule;
    for f in findings.iter_mut().filter(|f| f.code == GIT_UNPINNED.code) {
        f.level = Some(match policy.sources.git {
            GitRule::Pinned => Level::Deny,
            GitRule::Any => Level::Warn,
            // Every git source is then `source-not-allowed`; this one adds nothing.
            GitRule::Deny => Level::Allow,
        });
    }
}

fn line_of(text: &str, needle: &str) -> Option<u32> {
    text.lines()
        .position(|l| l.contains(needle))
        .and_then(|n| u32::try_from(n + 1).ok())
}

fn insecure(url: &str) -> bool {
    let u = url
        .trim_start_matches("sparse+")
        .trim_start_matches("registry+")
        .trim_start_matches("git+");
    u.starts_with("http://") || u.starts_with("git://")
}

fn review_config(file: &ConfigFile, out: &mut Sink) {
    let path = file.path.display().to_string();
    let t = &file.table;
    let at = |needle: &str| line_of(&file.text, needle);
    let mut url_finding = |what: String, url: &str, needle: &str| {
        if insecure(url) {
            out.push(
                Finding::new(NAME, &INSECURE_URL, format!("{what} uses {url}"))
                    .at(path.clone(), at(needle))
                    .remedy("use an https:// (or sparse+https://) URL"),
            );
        }
    };
    if let Some(regs) = t.get("registries").and_then(Value::as_table) {
        for (name, reg) in regs {
            if let Some(index) = reg.get("index").and_then(Value::as_str) {
                url_finding(format!("registry `{name}`"), index, index);
            }
        }
    }
    if let Some(index) = t
        .get("registry")
        .and_then(|r| r.get("index"))
        .and_then(Value::as_str)
    {
        url_finding("the default registry".into(), index, index);
    }
    if let Some(sources) = t.get("source").and_then(Value::as_table) {
        for (name, src) in sources {
            for key in ["registry", "git"] {
                if let Some(url) = src.get(key).and_then(Value::as_str) {
                    url_finding(format!("source `{name}`"), url, url);
                }
            }
        }
        if let Some(target) = sources
            .get("crates-io")
            .and_then(|s| s.get("replace-with"))
            .and_then(Value::as_str)
        {
            let detail = sources
                .get(target)
                .and_then(Value::as_table)
                .and_then(|s| {
                    ["registry", "local-registry", "directory", "git"]
                        .iter()
                        .find_map(|k| {
                            s.get(*k)
                                .and_then(Value::as_str)
                                .map(|v| format!("{k} = {v}"))
                        })
                })
                .unwrap_or_else(|| "definition not found in this file".into());
            out.push(
                Finding::new(NAME, &SOURCE_REPLACED, format!("crates.io is replaced by source `{target}`"))
                    .at(path.clone(), at("replace-with"))
                    .evidence(detail)
                    .remedy("make sure the mirror is trusted and authenticated; advisories and yanks still refer to crates.io"),
            );
        }
    }
    let mut tokens = Vec::new();
    if t.get("registry").and_then(|r| r.get("token")).is_some() {
        tokens.push("[registry] token".to_string());
    }
    if let Some(regs) = t.get("registries").and_then(Value::as_table) {
        for (name, reg) in regs {
            if reg.get("token").is_some() {
                tokens.push(format!("[registries.{name}] token"));
            }
        }
    }
    for what in tokens {
        out.push(
            Finding::new(NAME, &PLAINTEXT_TOKEN, format!("{what} is stored in plain text"))
                .at(path.clone(), at("token"))
                .evidence("every build script and proc-macro can read this file")
                .remedy("revoke the token, remove it from the file, and use `cargo login` with a credential provider or CARGO_REGISTRY_TOKEN in the publishing job only"),
        );
    }
    if let Some(patch) = t.get("patch").and_then(Value::as_table) {
        for (src, entries) in patch {
            for (name, spec) in entries.as_table().into_iter().flatten() {
                let fake = format!("[package]\nname = \"x\"\n[dependencies]\n{name} = {spec}\n");
                let target = describe_spec(spec);
                out.push(
                    Finding::new(
                        NAME,
                        &PATCH_REDIRECT,
                        format!("cargo config patches `{name}` from {src}"),
                    )
                    .at(path.clone(), at(name))
                    .evidence(format!("redirected to {target}"))
                    .remedy("keep patches in Cargo.toml where reviews see them, pinned to a `rev`"),
                );
                if let Ok(m) = Manifest::parse(std::path::Path::new(&path), fake, None) {
                    for d in m.deps.iter() {
                        unpinned(&path, &file.text, &d.package, &d.source, out);
                    }
                }
            }
        }
    }
    let mut programs = Vec::new();
    if let Some(build) = t.get("build").and_then(Value::as_table) {
        for key in [
            "rustc-wrapper",
            "rustc-workspace-wrapper",
            "rustc",
            "rustdoc",
        ] {
            if let Some(p) = build.get(key).and_then(Value::as_str) {
                programs.push((format!("build.{key}"), p.to_string()));
            }
        }
    }
    if let Some(targets) = t.get("target").and_then(Value::as_table) {
        for (triple, cfg) in targets {
            for key in ["linker", "runner"] {
                if let Some(p) = cfg
                    .get(key)
                    .and_then(|v| v.as_str().or_else(|| v.as_array()?.first()?.as_str()))
                {
                    programs.push((format!("target.{triple}.{key}"), p.to_string()));
                }
            }
        }
    }
    for (key, program) in programs {
        if program.contains('/') && !program.starts_with('/') {
            out.push(
                Finding::new(NAME, &BUILD_PROGRAM, format!("{key} runs `{program}` from the repository"))
                    .at(path.clone(), at(&program))
                    .evidence("a change to that file runs on every developer's and CI's compile")
                    .remedy("review changes to this program like build scripts, or use a tool from the toolchain"),
            );
        }
    }
}

fn describe_spec(spec: &Value) -> String {
    let s = |k: &str| spec.get(k).and_then(Value::as_str);
    if let Some(git) = s("git") {
        let pin = s("rev")
            .map(|r| format!("rev {r}"))
            .or_else(|| s("tag").map(|t| format!("tag {t}")))
            .or_else(|| s("branch").map(|b| format!("branch {b}")))
            .unwrap_or_else(|| "the default branch".into());
        format!("git {git} ({pin})")
    } else if let Some(p) = s("path") {
        format!("path {p}")
    } else if let Some(r) = s("registry") {
        format!("registry {r}")
    } else {
        spec.to_string()
    }
}

fn unpinned(path: &str, text: &str, name: &str, source: &DepSource, out: &mut Sink) {
    let DepSource::Git {
        url,
        rev,
        branch,
        tag,
    } = source
    else {
        return;
    };
    if insecure(url) {
        out.push(
            Finding::new(
                NAME,
                &INSECURE_URL,
                format!("git dependency `{name}` is fetched over {url}"),
            )
            .at(path, line_of(text, url))
            .remedy("use an https:// URL"),
        );
    }
    if rev
        .as_ref()
        .is_some_and(|r| r.len() >= 7 && r.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return;
    }
    let (what, severity) = match (rev, tag, branch) {
        (Some(r), _, _) => (
            format!("rev `{r}`, which is not a commit hash"),
            Severity::Medium,
        ),
        (None, Some(t), _) => (format!("tag `{t}` (tags can be moved)"), Severity::Low),
        (None, None, Some(b)) => (format!("branch `{b}`"), Severity::Medium),
        (None, None, None) => ("the default branch".to_string(), Severity::Medium),
    };
    out.push(
        Finding::new(NAME, &GIT_UNPINNED, format!("git dependency `{name}` follows {what}"))
            .severity(severity)
            .at(path, line_of(text, url))
            .evidence(format!("repository: {url}"))
            .evidence("Cargo.lock pins a commit, but `cargo update` or a build without --locked takes whatever the ref points to")
            .remedy("pin it: `rev = \"<full commit hash>\"`"),
    );
}

fn review_manifest_deps(m: &Manifest, out: &mut Sink) {
    let path = m.path.display().to_string();
    let mut seen = std::collections::BTreeSet::new();
    for d in &m.deps {
        if seen.insert((d.package.clone(), format!("{:?}", d.source))) {
            unpinned(&path, &m.text, &d.package, &d.source, out);
        }
    }
    if let Some(ws_deps) = m
        .table
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(Value::as_table)
    {
        for (key, spec) in ws_deps {
            let fake = format!("[package]\nname = \"x\"\n[dependencies]\n{key} = {spec}\n");
            if let Ok(parsed) = Manifest::parse(&m.path, fake, None) {
                for d in &parsed.deps {
                    if seen.insert((d.package.clone(), format!("{:?}", d.source))) {
                        unpinned(&path, &m.text, &d.package, &d.source, out);
                    }
                }
            }
        }
    }
}

fn review_patches(root: &Manifest, out: &mut Sink) {
    let path = root.path.display().to_string();
    for p in &root.patches {
        let target = match &p.source {
            DepSource::Git {
                url,
                rev,
                branch,
                tag,
            } => {
                let pin = rev
                    .as_ref()
                    .map(|r| format!("rev {r}"))
                    .or_else(|| tag.as_ref().map(|t| format!("tag {t}")))
                    .or_else(|| branch.as_ref().map(|b| format!("branch {b}")))
                    .unwrap_or_else(|| "the default branch".into());
                format!("git {url} ({pin})")
            }
            DepSource::Path(p) => format!("path {p}"),
            DepSource::Registry(r) => format!("registry {}", r.as_deref().unwrap_or("crates-io")),
        };
        let what = if p.patched_source == "replace" {
            "[replace]".to_string()
        } else {
            format!("[patch.{}]", p.patched_source)
        };
        out.push(
            Finding::new(NAME, &PATCH_REDIRECT, format!("{what} redirects `{}` to {target}", p.package))
                .at(path.clone(), p.line)
                .evidence("every crate in the graph that depends on it gets the patched code")
                .remedy("keep the patch pinned to a reviewed commit and remove it once upstream has the fix"),
        );
        unpinned(&path, &root.text, &p.package, &p.source, out);
    }
}

/// Git packages in the lockfile whose source URL shows a branch, a tag or no ref at all
/// (`git+https://host/repo?branch=main#<commit>`).
fn review_locked_git_sources(graph: &crate::graph::Graph, out: &mut Sink) {
    for (i, pkg) in graph.packages().iter().enumerate() {
        let Some(src) = pkg.source.as_ref().filter(|s| s.is_git()) else {
            continue;
        };
        let text = src.to_string();
        let query = text
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or(q))
            .unwrap_or("");
        let mut rev = None;
        let mut branch = None;
        let mut tag = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("rev", v)) => rev = Some(v.to_string()),
                Some(("branch", v)) => branch = Some(v.to_string()),
                Some(("tag", v)) => tag = Some(v.to_string()),
                _ => {}
            }
        }
        let source = DepSource::Git {
            url: src.url().to_string(),
            rev,
            branch,
            tag,
        };
        let path = graph.path.display().to_string();
        let before = out.findings.len();
        unpinned(&path, &graph.text, pkg.name.as_str(), &source, out);
        for f in &mut out.findings[before..] {
            f.package = Some(graph.package_ref(i));
            f.via = graph.via(i);
            if let Some(loc) = &mut f.location {
                loc.line = graph.line_of(i);
            }
        }
    }
}
