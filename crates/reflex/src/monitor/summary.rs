//! What a monitored build did, summed up: counts for the end of the build and the human
//! summary shown then.

use super::alert::{Alert, outcome_text};
use crate::finding::Severity;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// What a monitored build did, for the summary at the end.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub events: usize,
    pub alerts: usize,
    pub by_severity: std::collections::BTreeMap<String, usize>,
    /// Alerts per outcome of the call (`allowed`, `denied`, `failed`).
    pub by_outcome: std::collections::BTreeMap<String, usize>,
    /// Alerts per crate (`crate version`).
    pub by_crate: std::collections::BTreeMap<String, usize>,
    pub median_time_to_detect_ms: Option<f64>,
    pub max_time_to_detect_ms: Option<f64>,
    /// Webhook posts that failed.
    pub webhook_failures: usize,
    /// Normal build activity seen and not alerted, by kind (`compiler`, `linker`, ...).
    pub normal: std::collections::BTreeMap<String, usize>,
}

impl Summary {
    pub fn add(&mut self, alerts: &[Alert]) {
        self.alerts += alerts.len();
        for a in alerts {
            *self
                .by_severity
                .entry(a.severity.as_str().to_string())
                .or_default() += 1;
            *self.by_crate.entry(a.actor.describe()).or_default() += 1;
            *self
                .by_outcome
                .entry(a.outcome.as_str().to_string())
                .or_default() += 1;
        }
    }

    pub fn latencies(&mut self, mut ms: Vec<f64>) {
        ms.sort_by(|a, b| a.total_cmp(b));
        self.median_time_to_detect_ms = ms.get(ms.len() / 2).copied();
        self.max_time_to_detect_ms = ms.last().copied();
    }
}

/// The human summary at the end of a monitored build (what `build --monitor` shows on
/// standard error): counts, normal activity, alerts per crate, the worst alerts, the time to
/// detect.
pub fn render_summary(summary: &Summary, alerts: &[Alert], alerts_path: &Path) -> String {
    let mut out = String::new();
    let counts: Vec<String> = ["critical", "high", "medium", "low"]
        .iter()
        .filter_map(|k| summary.by_severity.get(*k).map(|v| format!("{v} {k}")))
        .collect();
    let outcomes: Vec<String> = ["allowed", "denied", "failed"]
        .iter()
        .filter_map(|k| summary.by_outcome.get(*k).map(|v| format!("{v} {k}")))
        .collect();
    let counts = match (counts.is_empty(), outcomes.is_empty()) {
        (true, _) => String::new(),
        (false, true) => format!(" ({})", counts.join(", ")),
        (false, false) => format!(" ({}; {})", counts.join(", "), outcomes.join(", ")),
    };
    let _ = writeln!(
        out,
        "cargo-reflex monitor: {} events, {} alerts{counts} -> {}",
        summary.events,
        summary.alerts,
        alerts_path.display()
    );
    if !summary.normal.is_empty() {
        let kinds: Vec<String> = summary
            .normal
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let _ = writeln!(
            out,
            "  normal build activity, not alerted (recorded in events.jsonl): {}",
            kinds.join(", ")
        );
    }
    for (who, n) in &summary.by_crate {
        let _ = writeln!(out, "  {n:>4}  {who}");
    }
    let mut worst: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.severity >= Severity::High)
        .collect();
    worst.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.time_ns.cmp(&b.time_ns)));
    worst.dedup_by(|a, b| a.message == b.message);
    for a in worst.iter().take(15) {
        let _ = writeln!(
            out,
            "  {:?}: {} [{}]",
            a.severity,
            a.message,
            outcome_text(a.outcome)
        );
    }
    if let (Some(m), Some(x)) = (
        summary.median_time_to_detect_ms,
        summary.max_time_to_detect_ms,
    ) {
        let _ = writeln!(out, "  time to detect: median {m:.1} ms, max {x:.1} ms");
    }
    out
}
