//! `init`: a starter `reflex.toml` that records today's graph as the baseline (every entry with
//! reason "baseline", so adopting the gate is one command and then a ratchet), and hardened
//! configuration: cargo config with a private registry, a CI workflow that fetches with the
//! network and builds without it, and a Kubernetes NetworkPolicy for build pods.

use crate::audit::{AuditOptions, Progress};
use crate::error::Result;
use crate::policy::Policy;
use crate::report::{Finding, Report};
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

/// Codes never recorded as baseline: they must be fixed, not accepted.
const NEVER_BASELINE: &[&str] = &[
    "advisory-malicious",
    "archive-checksum-mismatch",
    "archive-hostile",
    "policy-default",
];

/// Advisory baselines expire after this many days, so accepted vulnerabilities come back.
const ADVISORY_BASELINE_DAYS: i64 = 90;

/// The rules of the starter policy, before the baseline is added.
fn rules(internal_prefixes: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"# cargo-reflex policy. `cargo reflex gate` applies it; the README documents every key.
version = 1

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
    if !internal_prefixes.is_empty() {
        let list: Vec<String> = internal_prefixes.iter().map(|p| format!("{p:?}")).collect();
        let _ = writeln!(s, "internal-prefixes = [{}]\n", list.join(", "));
    }
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
pub fn starter_policy(opts: &AuditOptions, progress: Progress<'_>) -> Result<Starter> {
    let rules_text = rules(&opts.internal_prefixes);
    let mut o = opts.clone();
    o.policy_rules = Some(Policy::parse(
        Path::new(crate::policy::FILE_NAME),
        &rules_text,
    )?);
    o.deny_from_cli = false;
    let report = crate::audit::gate(&o, progress)?;
    let mut text = rules_text;
    let (approvals, exceptions, cooldown_exempt, not_baselined) =
        baseline(&report, opts, &mut text);
    let expiry = advisory_expiry(opts);
    let mut baselined_advisories: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.denied && !NEVER_BASELINE.contains(&f.code))
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
    Policy::parse(Path::new(crate::policy::FILE_NAME), &text)?;
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
fn advisory_expiry(opts: &AuditOptions) -> jiff::civil::Date {
    let today = opts.clock.today();
    today
        .checked_add(jiff::Span::new().days(ADVISORY_BASELINE_DAYS))
        .unwrap_or(today)
}

/// Appends the baseline to the policy text: (approvals, exceptions, cooldown exemptions,
/// findings refused).
fn baseline(
    report: &Report,
    opts: &AuditOptions,
    text: &mut String,
) -> (usize, usize, usize, Vec<String>) {
    let mut approvals: BTreeSet<(String, &'static str)> = BTreeSet::new();
    for f in &report.findings {
        let kind = match f.code {
            "build-script-not-approved" => "build-script",
            "proc-macro-not-approved" => "proc-macro",
            _ => continue,
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
        .filter(|f| f.denied && f.code.starts_with("cooldown-"))
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
                && !f.code.starts_with("cooldown-")
                && !matches!(
                    f.code,
                    "build-script-not-approved" | "proc-macro-not-approved"
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
        if NEVER_BASELINE.contains(&f.code) {
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
    /// Sparse index URL of the private registry.
    pub registry_url: String,
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
        if self.registry_url.is_empty() {
            self.registry_url = "sparse+https://crates.internal.example/index/".into();
        }
        self
    }
}

/// `.cargo/config.toml`: the private registry, crates.io replaced by a mirror (when given),
/// credentials from a provider rather than a file, and the network only where it is needed.
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
    let _ = writeln!(
        s,
        "[registries.{}]\nindex = {:?}\n# A token from the environment or a credential helper, never a file in the repository.\ncredential-provider = [\"cargo:token\"]\n",
        h.registry_name, h.registry_url
    );
    let _ = writeln!(
        s,
        "[registry]\n# Publishing goes to the private registry unless a crate says otherwise.\ndefault = {:?}\nglobal-credential-providers = [\"cargo:token\"]\n",
        h.registry_name
    );
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

/// A GitHub Actions workflow: gate the lockfile, fetch with the network and no secrets, then
/// build and test offline in separate steps, without secrets.
pub fn ci_workflow() -> String {
    r#"# Hardened by `cargo reflex init`: dependency code never runs with network or secrets.
name: build
on:
  push:
    branches: [main]
  pull_request:

permissions:
  contents: read

jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
          fetch-depth: 0
      - name: Install cargo-reflex
        run: cargo install --locked cargo-reflex
      - name: Gate the lockfile change
        run: cargo reflex gate --locked --base "origin/${GITHUB_BASE_REF:-main}" --format github --summary "$GITHUB_STEP_SUMMARY"
      - name: Fetch dependencies (network, no secrets, no dependency code runs)
        run: cargo fetch --locked
      - name: Build offline (no network, no secrets)
        run: cargo build --locked --offline --all-targets
        env:
          CARGO_NET_OFFLINE: "true"
      - name: Test offline (no network, no secrets)
        run: cargo test --locked --offline
        env:
          CARGO_NET_OFFLINE: "true"
"#
    .to_string()
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
