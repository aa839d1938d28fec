//! The alerts for other tools: SARIF 2.1.0 for code scanning, and webhooks that receive
//! each alert's ECS document as it happens.

use super::alert::{Alert, outcome_text};
use super::codes;
use crate::graph::Graph;
use crate::report::sarif;
use serde_json::json;
use std::path::Path;

/// The alerts as SARIF 2.1.0 (the same dialect as the reports'): one result per alert,
/// located at the crate's Cargo.lock entry.
pub fn sarif(alerts: &[Alert], lockfile: Option<&Graph>, root: &Path) -> String {
    let rules: Vec<serde_json::Value> = codes::ALL
        .iter()
        .map(|spec| sarif::rule("monitor", spec, "cargo-reflex-build---monitor"))
        .collect();
    let results: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            let mut r = json!({
                "ruleId": a.code,
                "ruleIndex": codes::ALL.iter().position(|s| s.code == a.code).unwrap_or(0),
                "level": sarif::level(a.severity),
                "message": {"text": format!("{} [{}] ({})", a.message, outcome_text(a.outcome), a.evidence.join("; "))},
                "properties": {
                    "severity": a.severity.as_str(),
                    "crate": a.actor.crate_name(),
                    "version": a.actor.version(),
                    "actor": a.actor.kind(),
                    "target": a.target,
                    "outcome": a.outcome.as_str(),
                    "timeToDetectMs": a.time_to_detect_ms(),
                },
            });
            let line = lockfile.and_then(|g| {
                let i = g.find(a.actor.crate_name()?, a.actor.version()?)?;
                let path = g.path.strip_prefix(root).unwrap_or(&g.path);
                Some((path.display().to_string(), g.line_of(i)?))
            });
            if let Some((path, line)) = line {
                r["locations"] = json!([{"physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line},
                }}]);
            }
            r
        })
        .collect();
    sarif::document(rules, results, None)
}

/// Posts one alert (its ECS document) to a webhook; failures are returned, not fatal.
pub fn post_webhook(agent: &ureq::Agent, url: &str, alert: &Alert) -> Result<(), String> {
    agent
        .post(url)
        .header("content-type", "application/json")
        .send(alert.to_ecs().to_string())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An agent for webhooks: short timeouts, platform certificates.
pub fn webhook_agent() -> ureq::Agent {
    crate::sources::http_agent(std::time::Duration::from_secs(5))
}
