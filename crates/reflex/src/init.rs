//! `init`: a starter `reflex.toml` that records today's graph as the baseline (every entry with
//! reason "baseline", so adopting the gate is one command and then a ratchet), and hardened
//! configuration: cargo config with a private registry, a CI workflow that gates the change and
//! builds and tests in the monitored sandbox, and a Kubernetes NetworkPolicy for build pods.

use crate::commands::{CommandOptions, Progress};
use crate::error::Result;
use crate::finding::{Approval, Baseline, Finding};
use crate::policy::Policy;
use crate::report::Report;
use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

/// Cooldown the starter policy asks for.
pub const STARTER_COOLDOWN_DAYS: u32 = 3;

/// Licenses the starter policy allows: permissive ones common in the Rust ecosystem.
pub const STARTER_LICENSES: &[&str] = &[
    "MIT",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "ISC",
    "Zlib",
    "0BSD",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "CC0-1.0",
    "BSL-1.0",
    "Unlicense",
];

/// Advisory baselines expire after this many days, so accepted vulnerabilities come back.
const ADVISORY_BASELINE_DAYS: i64 = 90;

/// The rules of the starter policy, before the baseline is added.
fn rules(internal_prefixes: &[String]) -> String {
    let mut s = String::new();
    // A top-level key: it must come before the first table.
    let prefixes = if internal_prefixes.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = internal_prefixes.iter().map(|p| format!("{p:?}")).collect();
        format!(
            "# Names of your organisation's crates: public look-alikes are dependency confusion.\ninternal-prefixes = [{}]\n",
            list.join(", ")
        )
    };
    let _ = writeln!(
        s,
        r#"# cargo-reflex policy. `cargo reflex gate` applies it; the README documents every key.
version = 1
{prefixes}
[gate]
# Findings at or above this severity fail the gate: critical, high, medium, low, info, none.
deny-level = "high"

[checks]
# Per check: "deny" (always fails), "warn" (reported, never fails) or "allow" (dropped).
typosquat = "deny"
confusion = "deny"

[cooldown]
# New versions must have been public this long: hijacked releases are usually pulled within days.
min-age-days = {STARTER_COOLDOWN_DAYS}
# Unknown publish time (offline, or the index has none) fails closed.
unknown-publish-time = "deny"
# Crates ("name") or exact versions ("name@1.2.3") the cooldown does not apply to.
exempt = []

[sources]
git = "pinned"

[ci]
require-locked = true

[build-time]
# Crates with a build script or proc-macro must be approved below.
require-approval = true
"#
    );
    let list: Vec<String> = STARTER_LICENSES
        .iter()
        .map(|l| format!("  {l:?},"))
        .collect();
    let _ = writeln!(
        s,
        "[licenses]\nallow = [\n{}\n]\nunknown = \"warn\"\n",
        list.join("\n")
    );
    s
}

/// What `init` produced.
pub struct Starter {
    pub policy_text: String,
    pub exceptions: usize,
    pub approvals: usize,
    /// Locked versions exempted from the cooldown (`name@version`).
    pub cooldown_exempt: usize,
    /// Denied findings left out of the baseline on purpose (must be fixed).
    pub not_baselined: Vec<String>,
    /// Known advisories accepted into the baseline, each with its expiry: "RUSTSEC-2020-0071
    /// time 0.1.43 (high) until 2027-02-27".
    pub baselined_advisories: Vec<String>,
}

/// Runs the gate with the starter rules and records what fails today as the baseline.
pub fn starter_policy(opts: &CommandOptions, progress: Progress<'_>) -> Result<Starter> {
    let rules_text = rules(&opts.internal_prefixes);
    let mut o = opts.clone();
    o.policy_rules = Some(Policy::parse(
        Path::new(crate::policy::FILE_NAME),
        &rules_text,
        crate::checks::catalog(),
    )?);
    o.deny_from_cli = false;
    let report = crate::commands::gate(&o, progress)?;
    let mut text = rules_text;
    let (approvals, exceptions, cooldown_exempt, not_baselined) =
        baseline(&report, opts, &mut text);
    let expiry = advisory_expiry(opts);
    let mut baselined_advisories: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.denied && crate::checks::catalog().baseline(f.code) != Baseline::Never)
        .filter_map(|f| {
            let a = f.advisory.as_ref()?;
            let pkg = f
                .package
                .as_ref()
                .map(|p| format!(" {} {}", p.name, p.version))
                .unwrap_or_default();
            Some(format!(
                "{}{pkg} ({}) until {expiry}",
                a.id,
                format!("{:?}", f.severity).to_lowercase()
            ))
        })
        .collect();
    baselined_advisories.sort();
    baselined_advisories.dedup();
    // What we write must be what we read.
    Policy::parse(
        Path::new(crate::policy::FILE_NAME),
        &text,
        crate::checks::catalog(),
    )?;
    Ok(Starter {
        policy_text: text,
        exceptions,
        approvals,
        cooldown_exempt,
        not_baselined,
        baselined_advisories,
    })
}

/// When advisories accepted today come back.
fn advisory_expiry(opts: &CommandOptions) -> jiff::civil::Date {
    let today = opts.clock.today();
    today
        .checked_add(jiff::Span::new().days(ADVISORY_BASELINE_DAYS))
        .unwrap_or(today)
}

/// Appends the baseline to the policy text: (approvals, exceptions, cooldown exemptions,
/// findings refused).
fn baseline(
    report: &Report,
    opts: &CommandOptions,
    text: &mut String,
) -> (usize, usize, usize, Vec<String>) {
    let mut approvals: BTreeSet<(String, &'static str)> = BTreeSet::new();
    let catalog = crate::checks::catalog();
    let spec = |f: &Finding| catalog.get(f.code);
    for f in &report.findings {
        let Some(Approval::BuildTime(kind)) = spec(f).map(|s| s.approval) else {
            continue;
        };
        if let Some(p) = &f.package {
            approvals.insert((p.name.clone(), kind));
        }
    }
    if !approvals.is_empty() {
        let _ = writeln!(
            text,
            "# Build-time code present when the policy was adopted."
        );
    }
    for (name, kind) in &approvals {
        let _ = writeln!(
            text,
            "[[build-time.allow]]\ncrate = {name:?}\nkind = \"{kind}\"\nreason = \"baseline\"\n"
        );
    }
    let advisory_expiry = advisory_expiry(opts);
    // Versions already locked when the policy is adopted are exempt from the cooldown by
    // exact version: the next version of the same crate is checked again.
    let cooled: BTreeSet<String> = report
        .findings
        .iter()
        .filter(|f| f.denied && catalog.baseline(f.code) == Baseline::CooldownExempt)
        .filter_map(|f| {
            f.package
                .as_ref()
                .map(|p| format!("{}@{}", p.name, p.version))
        })
        .collect();
    if !cooled.is_empty() {
        let list: Vec<String> = cooled.iter().map(|c| format!("  {c:?},")).collect();
        *text = text.replacen(
            "exempt = []",
            &format!(
                "# baseline: versions locked when the policy was adopted\nexempt = [\n{}\n]",
                list.join("\n")
            ),
            1,
        );
    }
    let mut seen = BTreeSet::new();
    let mut count = 0;
    let mut refused = Vec::new();
    let denied: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| {
            f.denied
                && !matches!(
                    catalog.baseline(f.code),
                    Baseline::CooldownExempt | Baseline::BuildTimeAllow
                )
        })
        .collect();
    if !denied.is_empty() {
        let _ = writeln!(
            text,
            "# Findings that failed when the policy was adopted: fix them, then delete the entry."
        );
    }
    for f in denied {
        if catalog.baseline(f.code) == Baseline::Never {
            refused.push(format!("{}: {}", f.code, f.title));
            continue;
        }
        let mut entry = format!("[[exception]]\ncode = {:?}\n", f.code);
        match (&f.package, &f.location) {
            (Some(p), _) if !p.version.is_empty() => {
                let _ = writeln!(entry, "crate = \"{}@{}\"", p.name, p.version);
            }
            (_, Some(l)) => {
                let _ = writeln!(entry, "path = {:?}", l.path);
            }
            _ => {}
        }
        if let Some(a) = &f.advisory {
            let _ = writeln!(entry, "id = {:?}", a.id);
        }
        let _ = writeln!(entry, "reason = \"baseline\"");
        if f.advisory.is_some() {
            let _ = writeln!(entry, "expires = {advisory_expiry}");
        }
        if seen.insert(entry.clone()) {
            let _ = writeln!(text, "{entry}");
            count += 1;
        }
    }
    (approvals.len(), count, cooled.len(), refused)
}

/// Settings for the hardened configuration files.
#[derive(Clone, Debug, Default)]
pub struct Hardening {
    /// Prefixes of internal crate names (each gets a comment and a source mapping).
    pub internal_prefixes: Vec<String>,
    /// Name of the private registry in `[registries]`.
    pub registry_name: String,
    /// Sparse index URL of the private registry. Without one, no registry is declared and the
    /// default registry stays crates.io: a placeholder default breaks `cargo add` and publish.
    pub registry_url: Option<String>,
    /// Mirror that replaces crates.io, if any.
    pub mirror_url: Option<String>,
    /// CIDRs of the registry (or its proxy) that build pods may reach on 443.
    pub registry_cidrs: Vec<String>,
}

impl Hardening {
    pub fn with_defaults(mut self) -> Hardening {
        if self.registry_name.is_empty() {
            self.registry_name = "internal".into();
        }
        self.registry_url = self.registry_url.filter(|u| !u.trim().is_empty());
        self
    }
}

/// `.cargo/config.toml`: the private registry (when its URL is given), crates.io replaced by a
/// mirror (when given), credentials from a provider rather than a file, and fail-fast network
/// settings. Without a registry URL the default registry is left alone.
pub fn cargo_config(h: &Hardening) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Hardened by `cargo reflex init`.");
    if !h.internal_prefixes.is_empty() {
        let _ = writeln!(
            s,
            "# Internal crates ({}) must come from the `{}` registry: declare them as\n#   {}name = {{ version = \"...\", registry = \"{}\" }}\n# so a public crate of the same name can never be picked instead (dependency confusion).",
            h.internal_prefixes
                .iter()
                .map(|p| format!("{p}*"))
                .collect::<Vec<_>>()
                .join(", "),
            h.registry_name,
            h.internal_prefixes[0],
            h.registry_name,
        );
    }
    match &h.registry_url {
        Some(url) => {
            let _ = writeln!(
                s,
                "[registries.{}]\nindex = {url:?}\n# A token from the environment or a credential helper, never a file in the repository.\ncredential-provider = [\"cargo:token\"]\n",
                h.registry_name
            );
            let _ = writeln!(
                s,
                "[registry]\n# Publishing (and `cargo add` without --registry) goes to the private registry, so\n# nothing internal is published to crates.io by mistake. Public crates: --registry crates-io.\ndefault = {:?}\nglobal-credential-providers = [\"cargo:token\"]\n",
                h.registry_name
            );
        }
        None => {
            let _ = writeln!(
                s,
                "# A private registry: `cargo reflex init --write-hardened --registry-url sparse+https://...`\n# declares it here (and makes it the default for publishing).\n\n[registry]\n# Tokens from the environment or a credential helper, never a file in the repository.\nglobal-credential-providers = [\"cargo:token\"]\n"
            );
        }
    }
    if let Some(mirror) = &h.mirror_url {
        let _ = writeln!(
            s,
            "# Every crates.io download goes through the organisation's mirror (source replacement).\n[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = {mirror:?}\n"
        );
    }
    let _ = writeln!(
        s,
        "[net]\n# Fail instead of silently using an outdated index when the network is gone.\nretry = 3\ngit-fetch-with-cli = false\n\n[http]\n# Certificate checks stay on.\ncheck-revoke = true"
    );
    s
}

/// A GitHub Action pinned to a full commit, with the version it was tagged as.
#[derive(Clone, Copy, Debug)]
pub struct PinnedAction {
    /// `owner/repo` or `owner/repo/path`.
    pub name: &'static str,
    pub sha: &'static str,
    pub version: &'static str,
    /// The workflow (in `fixtures/corpus`) that pins this commit to this version: this machine
    /// has no GitHub access, so every pin is one a real project already uses.
    pub source: &'static str,
}

impl PinnedAction {
    /// The `uses:` value with its version comment.
    pub fn uses(&self) -> String {
        format!("{}@{} # {}", self.name, self.sha, self.version)
    }
}

pub const CHECKOUT: PinnedAction = PinnedAction {
    name: "actions/checkout",
    sha: "3d3c42e5aac5ba805825da76410c181273ba90b1",
    version: "v7.0.1",
    source: "astral-sh__ruff/.github/workflows/build-binaries.yml",
};
pub const CACHE: PinnedAction = PinnedAction {
    name: "actions/cache",
    sha: "55cc8345863c7cc4c66a329aec7e433d2d1c52a9",
    version: "v6.1.0",
    source: "astral-sh__ruff/.github/workflows/ci.yaml",
};
pub const UPLOAD_ARTIFACT: PinnedAction = PinnedAction {
    name: "actions/upload-artifact",
    sha: "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a",
    version: "v7.0.1",
    source: "astral-sh__ruff/.github/workflows/build-binaries.yml",
};
/// Same repository and commit as the `init` and `analyze` actions bevy pins.
pub const UPLOAD_SARIF: PinnedAction = PinnedAction {
    name: "github/codeql-action/upload-sarif",
    sha: "8aad20d150bbac5944a9f9d289da16a4b0d87c1e",
    version: "v4.36.2",
    source: "bevyengine__bevy/.github/workflows/security-static-analysis.yml",
};

/// Every action `init` and the README's examples pin.
pub const PINNED_ACTIONS: &[PinnedAction] = &[CHECKOUT, CACHE, UPLOAD_ARTIFACT, UPLOAD_SARIF];

/// Where cargo-reflex is installed from: this repository at a commit, never a crate name
/// anyone could publish.
pub const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// Stands for the commit in a generated workflow when it is not known; the install step fails
/// on it and says what to write instead.
pub const REV_PLACEHOLDER: &str = "FILL-IN-A-FULL-COMMIT-SHA-OF-CARGO-REFLEX";

/// A full, lowercase commit SHA-1: what `--rev` and `uses:` pins must be.
pub fn is_commit(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A GitHub Actions workflow that does what cargo-reflex preaches: every action pinned to a
/// commit, no credentials kept, a read-only token, cargo-reflex installed from a pinned commit
/// of its repository, the gate on the pull request's change, then build and test in the
/// monitored sandbox (offline, no secrets). `rev` is the commit to install (`None`: a
/// placeholder the install step refuses).
pub fn ci_workflow(rev: Option<&str>) -> String {
    let rev = rev.filter(|r| is_commit(r)).unwrap_or(REV_PLACEHOLDER);
    format!(
        r#"# Generated by `cargo reflex init`. Dependency code (build scripts, proc-macros, tests) runs
# only inside cargo-reflex's sandbox: offline, without secrets, watched by its monitor.
# Every action is pinned to a full commit (its version in the comment); cargo-reflex is
# installed from a pinned commit of its repository, never by a crate name anyone could publish.
name: reflex-build
on:
  push:
    branches: [main]
  pull_request:

permissions: {{}}

concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ github.ref }}}}
  cancel-in-progress: true

env:
  # The commit of {REPOSITORY} this workflow installs (review the change before moving it).
  CARGO_REFLEX_REV: {rev}

jobs:
  build:
    name: gate, build and test
    runs-on: ubuntu-latest
    timeout-minutes: 45
    permissions:
      contents: read
    steps:
      - name: Check out (no credentials left on disk)
        uses: {checkout}
        with:
          persist-credentials: false
          fetch-depth: 0
      - name: Restore cargo-reflex (cached by commit)
        id: reflex-cache
        uses: {cache}
        with:
          path: ~/.cargo-reflex
          key: cargo-reflex-${{{{ runner.os }}}}-${{{{ runner.arch }}}}-${{{{ env.CARGO_REFLEX_REV }}}}
      - name: Install cargo-reflex from its pinned commit
        if: steps.reflex-cache.outputs.cache-hit != 'true'
        run: |
          if ! [[ "$CARGO_REFLEX_REV" =~ ^[0-9a-f]{{40}}$ ]]; then
            echo "::error title=cargo-reflex::set CARGO_REFLEX_REV in this workflow to the full commit SHA of {REPOSITORY} to install (cargo reflex init --reflex-rev SHA writes it)"
            exit 1
          fi
          cargo install --locked --git {REPOSITORY} --rev "$CARGO_REFLEX_REV" --root ~/.cargo-reflex cargo-reflex
      - name: Put cargo-reflex on PATH
        run: echo "$HOME/.cargo-reflex/bin" >> "$GITHUB_PATH"
      - name: Gate the change (annotations and job summary)
        env:
          BASE_SHA: ${{{{ github.event.pull_request.base.sha }}}}
        run: |
          if [ -n "$BASE_SHA" ]; then
            cargo reflex gate --locked --base "$BASE_SHA" --format github --summary "$GITHUB_STEP_SUMMARY"
          else
            cargo reflex gate --locked --format github --summary "$GITHUB_STEP_SUMMARY"
          fi
      - name: Allow user namespaces for the sandbox (Ubuntu 24.04 restricts them)
        run: |
          if [ "$(cat /proc/sys/kernel/apparmor_restrict_unprivileged_userns 2>/dev/null)" = 1 ]; then
            sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0
          fi
      - name: Fetch dependencies (network, no secrets; no dependency code runs)
        run: cargo fetch --locked
      - name: Build in the sandbox (offline, no secrets, monitored)
        run: |
          mkdir -p "$RUNNER_TEMP/reflex-alerts"
          cargo reflex build --locked --no-fetch --monitor --alerts "$RUNNER_TEMP/reflex-alerts/build.jsonl"
      - name: Test in the sandbox (offline, no secrets, monitored)
        run: cargo reflex build --locked --no-fetch --cargo test --monitor --alerts "$RUNNER_TEMP/reflex-alerts/test.jsonl"
      - name: Keep the monitor's alerts
        if: always()
        uses: {upload}
        with:
          name: reflex-alerts
          path: ${{{{ runner.temp }}}}/reflex-alerts/
          if-no-files-found: ignore
"#,
        checkout = CHECKOUT.uses(),
        cache = CACHE.uses(),
        upload = UPLOAD_ARTIFACT.uses(),
    )
}

/// A NetworkPolicy for build pods: DNS to the cluster resolver and HTTPS to the registry (or
/// its proxy) only; nothing else leaves the pod.
pub fn network_policy(h: &Hardening) -> String {
    let mut s = String::from(
        r#"# Hardened by `cargo reflex init`: build pods reach only DNS and the registry.
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: rust-build-registry-only
spec:
  podSelector:
    matchLabels:
      app: rust-build
  policyTypes:
    - Ingress
    - Egress
  ingress: []
  egress:
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: kube-system
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - protocol: UDP
          port: 53
        - protocol: TCP
          port: 53
    # The registry mirror: the only component with a route to the internet.
    - to:
        - namespaceSelector:
            matchLabels:
              kubernetes.io/metadata.name: registry
          podSelector:
            matchLabels:
              app: registry-mirror
"#,
    );
    for cidr in &h.registry_cidrs {
        let _ = writeln!(s, "        - ipBlock:\n            cidr: {cidr}");
    }
    s.push_str("      ports:\n        - protocol: TCP\n          port: 443\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_registry_url_the_default_registry_is_left_alone() {
        let h = Hardening {
            registry_url: Some(" ".into()),
            ..Hardening::default()
        }
        .with_defaults();
        let text = cargo_config(&h);
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert!(parsed.get("registries").is_none(), "{text}");
        assert!(parsed["registry"].get("default").is_none(), "{text}");
        let h = Hardening {
            registry_url: Some("sparse+https://r.example/index/".into()),
            ..Hardening::default()
        }
        .with_defaults();
        let parsed: toml::Table = toml::from_str(&cargo_config(&h)).unwrap();
        assert_eq!(parsed["registry"]["default"].as_str(), Some("internal"));
    }

    #[test]
    fn internal_prefixes_are_a_top_level_key_of_the_policy() {
        let text = rules(&["acme-".into()]);
        let policy =
            Policy::parse(Path::new("reflex.toml"), &text, crate::checks::catalog()).unwrap();
        assert_eq!(policy.internal_prefixes, vec!["acme-".to_string()]);
    }

    #[test]
    fn only_full_commits_are_pins() {
        assert!(is_commit(CHECKOUT.sha));
        assert!(!is_commit("main"));
        assert!(!is_commit(&CHECKOUT.sha.to_uppercase()));
        assert!(!is_commit(&CHECKOUT.sha[..39]));
        let ci = ci_workflow(Some("v1.0.0"));
        assert!(
            ci.contains(REV_PLACEHOLDER),
            "a tag is never written as a pin"
        );
    }
}
