//! CI hardening lint over GitHub Actions workflows and `.gitlab-ci.yml`: cargo pinned to the
//! lockfile, secrets kept away from steps that run dependency code, short-lived cloud
//! credentials (OIDC) instead of static keys, and least-privilege token permissions; and
//! the rules that matter most for Rust pipelines: actions pinned to commits, tools installed
//! at a version, no unverified installers, no caches in release builds, trusted publishing
//! to crates.io, no template injection, no archived actions, no untrusted code built with
//! the base repository's secrets.

pub mod actions;
mod github;
mod gitlab;
pub mod injection;
pub mod release;
pub mod shell;
pub mod tools;
pub mod yaml;

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Level, Severity};
use crate::knowledge::secrets::{credential_shape, is_cloud_key_name};
use crate::sources::cargo_config;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub struct CiHardening;

const NAME: &str = "ci";

pub const UNLOCKED: CodeSpec = CodeSpec::new(
    "ci-cargo-unlocked",
    Severity::Medium,
    "a CI cargo invocation does not use --locked or --frozen, so CI may build a graph nobody reviewed",
);
pub const SECRET_IN_BUILD: CodeSpec = CodeSpec::new(
    "ci-secret-exposed-to-build",
    Severity::Medium,
    "a secret is in the environment of a CI step that compiles or runs dependency code",
);
pub const SECRET_AFTER_BUILD: CodeSpec = CodeSpec::new(
    "ci-secret-after-build",
    Severity::Low,
    "a secret is used later in a job whose earlier steps ran dependency code (which can persist via $GITHUB_ENV, $GITHUB_PATH or ~/.cargo)",
);
pub const STATIC_CLOUD_KEYS: CodeSpec = CodeSpec::new(
    "ci-static-cloud-credentials",
    Severity::Medium,
    "CI uses long-lived cloud keys where OIDC federation (id-token: write with a role) would give short-lived ones",
);
pub const LONG_SESSION: CodeSpec = CodeSpec::new(
    "ci-long-role-session",
    Severity::Low,
    "an assumed cloud role session lasts longer than one hour",
);
pub const PERMISSIONS_MISSING: CodeSpec = CodeSpec::new(
    "ci-permissions-missing",
    Severity::Low,
    "a workflow does not set `permissions`, so its token gets the repository default (read-write on older repositories)",
);
pub const PERMISSIONS_BROAD: CodeSpec = CodeSpec::new(
    "ci-permissions-broad",
    Severity::Medium,
    "a workflow grants write-all, or write scopes to every job at the workflow level",
)
.varies(&[Severity::Low]);
pub const HARDCODED_CREDENTIAL: CodeSpec = CodeSpec::new(
    "ci-hardcoded-credential",
    Severity::Medium,
    "a CI file contains what looks like a literal credential",
);
pub const UNTRUSTED_CHECKOUT: CodeSpec = CodeSpec::new(
    "ci-pull-request-target-checkout",
    Severity::Medium,
    "a pull_request_target, workflow_run or issue_comment workflow checks out and builds untrusted code with the base repository's secrets",
);
pub const ACTION_UNPINNED: CodeSpec = CodeSpec::new(
    "ci-action-unpinned",
    Severity::Medium,
    "a `uses:` action or reusable workflow is not pinned to a full commit SHA (tags and branches can be moved to other code)",
).varies(&[Severity::Low]);
pub const ACTION_ARCHIVED: CodeSpec = CodeSpec::new(
    "ci-action-archived",
    Severity::Low,
    "CI uses an action whose repository is archived: it gets no fixes and nobody watches its owner account",
);
pub const INSTALL_UNPINNED: CodeSpec = CodeSpec::new(
    "ci-cargo-install-unpinned",
    Severity::Medium,
    "`cargo install` or `cargo binstall` without an exact version (or from git without --rev/--tag) installs whatever is newest that day",
);
pub const DOWNLOAD_UNVERIFIED: CodeSpec = CodeSpec::new(
    "ci-download-exec-unverified",
    Severity::Medium,
    "CI runs code straight from the network without a checksum (`curl ... | sh`, a downloaded rustup-init or script executed)",
).varies(&[Severity::Low]);
pub const CACHE_IN_RELEASE: CodeSpec = CodeSpec::new(
    "ci-cache-in-release",
    Severity::Medium,
    "a release or publish job restores a build cache that other workflows can write (cache poisoning)",
);
pub const STATIC_REGISTRY_TOKEN: CodeSpec = CodeSpec::new(
    "ci-static-registry-token",
    Severity::Medium,
    "CI publishes to crates.io with a long-lived token secret where trusted publishing (rust-lang/crates-io-auth-action) gives a short-lived one",
);
pub const TEMPLATE_INJECTION: CodeSpec = CodeSpec::new(
    "ci-template-injection",
    Severity::Medium,
    "an attacker-controlled `${{ }}` expression (pull request title, branch name, comment, commit message...) is pasted into a script as code",
).varies(&[Severity::High, Severity::Medium, Severity::Low]);
pub const UNPARSABLE: CodeSpec = CodeSpec::new(
    "ci-file-unparsable",
    Severity::Low,
    "a CI file could not be parsed, so it was not checked",
);

static CODES: [CodeSpec; 17] = [
    UNLOCKED,
    SECRET_IN_BUILD,
    SECRET_AFTER_BUILD,
    STATIC_CLOUD_KEYS,
    LONG_SESSION,
    PERMISSIONS_MISSING,
    PERMISSIONS_BROAD,
    HARDCODED_CREDENTIAL,
    UNTRUSTED_CHECKOUT,
    ACTION_UNPINNED,
    ACTION_ARCHIVED,
    INSTALL_UNPINNED,
    DOWNLOAD_UNVERIFIED,
    CACHE_IN_RELEASE,
    STATIC_REGISTRY_TOKEN,
    TEMPLATE_INJECTION,
    UNPARSABLE,
];

impl Check for CiHardening {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::CI_FILES.with(Needs::CARGO_CONFIG)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let first = out.findings.len();
        let status = review_ci(cx, out);
        if let Some(policy) = cx.policy {
            level_by_policy(&mut out.findings[first..], policy);
        }
        status
    }
}

fn review_ci(cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
    let Some(root) = &cx.ci_root else {
        return CheckStatus::Skipped {
            reason: "lockfile-only mode (--file): no repository to look for CI files".into(),
        };
    };
    let files = ci_files(root);
    let aliases = cargo_config::aliases(cx.cargo_configs);
    let mut stats = CiStats {
        files: files.len(),
        ..CiStats::default()
    };
    for file in &files {
        let display = file.display().to_string();
        let short = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                out.push(
                    Finding::new(NAME, &UNPARSABLE, format!("cannot read {short}"))
                        .evidence(e.to_string())
                        .at(display, None),
                );
                continue;
            }
        };
        hardcoded_credentials(&display, &short, &text, out);
        let doc = match yaml::parse(&text) {
            Ok(doc) => doc,
            Err((line, msg)) => {
                out.push(
                    Finding::new(NAME, &UNPARSABLE, format!("{short} is not valid YAML"))
                        .evidence(msg)
                        .at(display, Some(line))
                        .remedy("fix the syntax; GitHub and GitLab reject this file too"),
                );
                continue;
            }
        };
        let file_ctx = FileCtx {
            path: display,
            text: &text,
            aliases: &aliases,
        };
        if file.file_name().is_some_and(|n| n == ".gitlab-ci.yml") {
            gitlab::analyse(&file_ctx, &doc, out, &mut stats);
        } else {
            github::analyse(&file_ctx, &doc, out, &mut stats);
        }
    }
    if stats.cargo_invocations > 0 {
        stats.locked_percent = Some(
            (stats.locked_invocations as f64 * 1000.0 / stats.cargo_invocations as f64).round()
                / 10.0,
        );
    }
    out.ci = Some(stats);
    if files.is_empty() {
        CheckStatus::Skipped {
            reason: format!(
                "no GitHub Actions workflows or .gitlab-ci.yml under {}",
                root.display()
            ),
        }
    } else {
        CheckStatus::Ran
    }
}

/// `[ci] require-locked` makes an unlocked cargo call fail the gate.
fn level_by_policy(findings: &mut [Finding], policy: &crate::policy::Policy) {
    if policy.ci.require_locked {
        for f in findings.iter_mut().filter(|f| f.code == UNLOCKED.code) {
            f.level = Some(Level::Deny);
        }
    }
}

pub(crate) struct FileCtx<'a> {
    pub path: String,
    pub text: &'a str,
    pub aliases: &'a [(String, Vec<String>)],
}

impl FileCtx<'_> {
    /// Counts one cargo invocation and reports it when it is not pinned to the lockfile.
    pub fn count_call(
        &self,
        job: &str,
        command: &str,
        locked: &shell::Locked,
        line: u32,
        out: &mut Sink,
        stats: &mut CiStats,
    ) {
        stats.cargo_invocations += 1;
        if *locked == shell::Locked::Yes {
            stats.locked_invocations += 1;
            return;
        }
        let mut finding = Finding::new(
            NAME,
            &UNLOCKED,
            format!("`{command}` in job `{job}` does not use --locked"),
        )
        .at(self.path.clone(), Some(line))
        .remedy(
            "add --locked (or --frozen) so CI fails instead of silently re-resolving Cargo.lock",
        );
        if let shell::Locked::Unknown(what) = locked {
            finding = finding.evidence(format!(
                "some flags come from {what}, which cannot be resolved from the file"
            ));
        }
        out.push(finding);
    }

    /// Tool installs and downloads in one script (a `run:` step or a GitLab script entry)
    /// whose content starts at `start`: `ci-cargo-install-unpinned` and
    /// `ci-download-exec-unverified`. Returns every cargo command, for the callers' own rules.
    pub fn tool_rules(
        &self,
        job: &str,
        script: &str,
        start: u32,
        lookup: shell::Lookup<'_>,
        out: &mut Sink,
    ) -> Vec<shell::CargoCommand> {
        let commands = shell::cargo_commands(script, lookup, self.aliases);
        for call in &commands {
            if let Some(why) = tools::install_unpinned(call) {
                let line = start + u32::try_from(call.line).unwrap_or(0);
                out.push(
                    Finding::new(
                        NAME,
                        &INSTALL_UNPINNED,
                        format!("`{}` in job `{job}` does not pin what it installs", call.command),
                    )
                    .at(self.path.clone(), Some(line))
                    .evidence(why)
                    .evidence("a new release of the tool (or of a dependency it resolves) runs in CI the day it is published, hijacked or not")
                    .remedy("install one exact version with its lockfile: `cargo install --locked <tool>@<x.y.z>` (`--rev <commit>` for git), or a SHA-pinned `taiki-e/install-action` with `tool: <tool>@<x.y.z>`"),
                );
            }
        }
        for d in tools::unverified_downloads(script) {
            let line = start + u32::try_from(d.line).unwrap_or(0);
            let mut finding = Finding::new(
                NAME,
                &DOWNLOAD_UNVERIFIED,
                format!(
                    "job `{job}` runs code from {} {} without checking it",
                    d.url.as_deref().unwrap_or("the network"),
                    d.how
                ),
            )
            .at(self.path.clone(), Some(line))
            .evidence(format!("`{}`", d.command))
            .remedy("download to a file, check it against a SHA-256 written in the workflow (`echo \"<sha256>  file\" | sha256sum -c -`), then run it; or use a SHA-pinned action; runners already ship rustup");
            if d.from_rust_project() {
                finding = finding.severity(Severity::Low).evidence(
                    "served by the Rust project over https, which runners already trust: low",
                );
            }
            out.push(finding);
        }
        commands
    }

    /// The line of byte `offset` of a script whose content starts at line `start`.
    pub fn line_in(start: u32, script: &str, offset: usize) -> u32 {
        let before = script.get(..offset).unwrap_or(script);
        start + u32::try_from(before.matches('\n').count()).unwrap_or(0)
    }

    /// The line where the script's content starts: block scalars (`run: |`) begin one line
    /// below their key.
    pub fn script_start(&self, node_line: u32) -> u32 {
        let raw = self
            .text
            .lines()
            .nth(node_line.saturating_sub(1) as usize)
            .unwrap_or("");
        let t = raw.trim_end();
        let block = t.ends_with('|')
            || t.ends_with('>')
            || t.ends_with("|-")
            || t.ends_with(">-")
            || t.ends_with("|+")
            || t.ends_with(">+");
        if block { node_line + 1 } else { node_line }
    }
}

/// Workflow files, composite actions and `.gitlab-ci.yml` under `root`.
pub fn ci_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join(".github").join("workflows"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    // Composite actions of the repository run their steps inside the calling job.
    let actions = std::fs::read_dir(root.join(".github").join("actions"))
        .into_iter()
        .flatten()
        .flatten();
    for dir in actions {
        for name in ["action.yml", "action.yaml"] {
            let p = dir.path().join(name);
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    let gitlab = root.join(".gitlab-ci.yml");
    if gitlab.is_file() {
        files.push(gitlab);
    }
    files
}

/// Names in `${{ secrets.NAME }}` (and `github.token`) references in `text`.
pub(crate) fn secret_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let after = &rest[start + 3..];
        let end = after.find("}}").unwrap_or(after.len());
        let expr = &after[..end];
        let mut e = expr;
        while let Some(p) = e.find("secrets.") {
            let name: String = e[p + 8..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
            e = &e[p + 8..];
        }
        if expr.contains("secrets[") && !out.iter().any(|n| n == "<dynamic>") {
            out.push("<dynamic>".into());
        }
        if expr.contains("github.token") && !out.iter().any(|n| n == "GITHUB_TOKEN") {
            out.push("GITHUB_TOKEN".into());
        }
        rest = &after[end.min(after.len())..];
    }
    out
}

/// Literal tokens with well-known prefixes.
fn hardcoded_credentials(path: &str, short: &str, text: &str, out: &mut Sink) {
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(kind) = credential_shape(line) {
            out.push(
                Finding::new(NAME, &HARDCODED_CREDENTIAL, format!("{kind} written into {short}"))
                    .at(path, u32::try_from(n + 1).ok())
                    .evidence("value not shown")
                    .remedy("revoke it, remove it from the file and its git history, and use a CI secret or OIDC"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references() {
        assert_eq!(
            secret_refs("${{ secrets.A }} and ${{ secrets.B_2 || github.token }}"),
            vec!["A", "B_2", "GITHUB_TOKEN"]
        );
        assert!(secret_refs("${{ matrix.os }}").is_empty());
    }
}

/// CI figures worth a headline: how many cargo invocations are pinned to the lockfile.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CiStats {
    pub files: usize,
    pub cargo_invocations: usize,
    pub locked_invocations: usize,
    /// Share of cargo invocations that use `--locked` or `--frozen`, in percent.
    pub locked_percent: Option<f64>,
}
