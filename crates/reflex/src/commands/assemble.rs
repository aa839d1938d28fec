//! From what the checks found to the report: the sections the command fills, findings about
//! packages this platform never builds, paths as the user typed them, the policy and the
//! `-D/-W/-A` overrides, then the verdict.

use super::load::Inputs;
use super::{Command, CommandOptions};
use crate::checks::Sink;
use crate::checks::recon_table::{CrateRow, ReconMetrics};
use crate::finding::{Catalog, CheckRun, Finding, Metric};
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::report::{PolicyInfo, Report, Target};
use std::collections::BTreeSet;
use std::path::Path;

pub fn report(
    command: &Command,
    inputs: &Inputs,
    mut sink: Sink,
    runs: Vec<CheckRun>,
    opts: &CommandOptions,
    catalog: &Catalog,
) -> Report {
    if let (Some(g), Some(a)) = (&inputs.graph, &inputs.analyses) {
        mark_not_built(&mut sink.findings, g, inputs.workspace.as_ref(), a);
    }
    let mut report = Report::new(command.name, opts.clock.rfc3339());
    report.target = Target {
        workspace_root: inputs
            .workspace
            .as_ref()
            .map(|w| w.root.display().to_string()),
        lockfile: inputs.graph.as_ref().map(|g| g.path.display().to_string()),
        lockfile_version: inputs.graph.as_ref().map(|g| g.version),
        package_count: inputs.graph.as_ref().map_or(0, Graph::len),
    };
    report.advisory_db = Some(inputs.db.info());
    report.ci = sink.ci;
    report.crates = sink.crates;
    report.metrics = sink.metrics;
    if let Some(m) = &mut report.metrics {
        annotate(&mut report.crates, &sink.findings, m, catalog);
    }
    if !command.crate_table {
        report.crates.clear();
    }
    report.checks = runs;
    report.findings = sink.findings;
    if command.id == crate::checks::CommandId::Inspect {
        report.target.lockfile_version = None;
        // The one-package graph is made up: findings point at the crate, not at a line.
        for f in &mut report.findings {
            if let Some(loc) = &mut f.location {
                loc.line = None;
            }
        }
    }
    report.review = sink.review;
    relativize(&mut report, &opts.cwd);
    let mut deny = opts.deny;
    if let Some(p) = &inputs.policy {
        let applied = p.apply(&mut report.findings, catalog, opts.clock.today());
        report.summary.allowed += applied.allowed;
        report.summary.excepted += applied.excepted;
        if !opts.deny_from_cli {
            deny = p.deny_level;
        }
        report.policy = Some(PolicyInfo {
            path: p
                .path
                .as_ref()
                .map(|x| x.strip_prefix(&opts.cwd).unwrap_or(x).display().to_string()),
            deny_level: deny,
            exceptions: p.exceptions.len(),
            trust_records: p.trust.len(),
        });
    }
    report.apply_overrides(&opts.overrides);
    report.finish(deny)
}

/// Puts each finding's code on its crate's row and counts suspects for the metrics.
fn annotate(rows: &mut [CrateRow], findings: &[Finding], m: &mut ReconMetrics, catalog: &Catalog) {
    let distinct = |metric: Metric| -> usize {
        let codes = catalog.feeding(metric);
        let set: BTreeSet<(String, String)> = findings
            .iter()
            .filter(|f| codes.contains(&f.code))
            .filter_map(|f| {
                f.package
                    .as_ref()
                    .map(|p| (p.name.clone(), p.version.clone()))
            })
            .collect();
        set.len()
    };
    m.vulnerable = distinct(Metric::Vulnerable);
    m.unmaintained = distinct(Metric::Unmaintained);
    m.typosquat_suspects = distinct(Metric::TyposquatSuspects);
    m.confusion_suspects = distinct(Metric::ConfusionSuspects);
    for row in rows {
        for f in findings {
            if f.package
                .as_ref()
                .is_some_and(|p| p.name == row.name && p.version == row.version)
                && !row.flags.iter().any(|c| c == f.code)
            {
                row.flags.push(f.code.to_string());
            }
        }
    }
}

/// Paths in the report relative to the working directory, as a user would type them.
fn relativize(report: &mut Report, cwd: &Path) {
    let rel = |p: &str| -> String {
        match Path::new(p).strip_prefix(cwd) {
            Ok(r) if r.as_os_str().is_empty() => ".".into(),
            Ok(r) => r.display().to_string(),
            Err(_) => p.to_string(),
        }
    };
    let prefix = format!("{}/", cwd.display());
    for f in &mut report.findings {
        if let Some(loc) = &mut f.location {
            loc.path = rel(&loc.path);
        }
        for e in &mut f.evidence {
            if e.contains(&prefix) {
                *e = e.replace(&prefix, "");
            }
        }
    }
    let t = &mut report.target;
    t.lockfile = t.lockfile.as_deref().map(rel);
    t.workspace_root = t.workspace_root.as_deref().map(rel);
}

/// Findings about packages this platform never builds say so. Their severity stays: the same
/// lockfile builds on the team's other platforms, and an attack aimed at Windows developers
/// must not pass a Linux CI gate.
fn mark_not_built(
    findings: &mut [Finding],
    graph: &Graph,
    workspace: Option<&Workspace>,
    analyses: &super::load::Analyses,
) {
    let (target, cfgs) = crate::graph::platform::host();
    let only = |i: usize| match analyses.get(&i) {
        Some(Ok(a)) => Some(a.target_only_deps.clone()),
        _ => None,
    };
    let skipped = crate::graph::platform::not_built(graph, workspace, &only, &target, &cfgs);
    if skipped.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let Some(i) = f
            .package
            .as_ref()
            .and_then(|p| graph.find(&p.name, &p.version))
        else {
            continue;
        };
        let Some(why) = skipped.get(&i) else { continue };
        f.evidence.push(format!("not built for {target}: {why}"));
    }
}
