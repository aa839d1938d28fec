//! The alerts for other tools: SARIF 2.1.0 for code scanning, and webhooks that receive
//! each alert's ECS document as it happens.

use super::alert::{Alert, outcome_text};
use super::codes;
use crate::finding::Severity;
use crate::graph::Graph;
use serde_json::json;
use std::path::Path;

/// The alerts as SARIF 2.1.0: one result per alert, located at the crate's Cargo.lock entry.
pub fn sarif(alerts: &[Alert], lockfile: Option<&Graph>, root: &Path) -> String {
    let rules: Vec<serde_json::Value> = codes::ALL
        .iter()
        .map(|spec| {
            json!({
                "id": spec.code,
                "name": spec.code,
                "shortDescription": {"text": spec.summary},
                "helpUri": "https://github.com/cargo-reflex/cargo-reflex#cargo-reflex-build---monitor",
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            let level = match a.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low | Severity::Info => "note",
            };
            let mut r = json!({
                "ruleId": a.code,
                "level": level,
                "message": {"text": format!("{} [{}] ({})", a.message, outcome_text(a.outcome), a.evidence.join("; "))},
                "properties": {
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
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cargo-reflex",
                "informationUri": "https://github.com/cargo-reflex/cargo-reflex",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
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
