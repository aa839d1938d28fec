//! SARIF 2.1.0 output for GitHub code scanning and other SARIF consumers.

use super::Report;

use crate::finding::{Catalog, CodeSpec, Finding, Severity};
use serde_json::{Value, json};

const INFO_URI: &str = "https://github.com/cargo-reflex/cargo-reflex";

/// The SARIF level of a severity (one mapping for findings and monitor alerts).
pub fn level(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

/// GitHub's `security-severity` scale (0.0 to 10.0).
fn security_severity(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The SARIF rule of a code, owned by `owner` (a check, or `monitor`) and documented at
/// `help_anchor` in the README.
pub fn rule(owner: &str, spec: &CodeSpec, help_anchor: &str) -> Value {
    json!({
        "id": spec.code,
        "name": spec.code,
        "shortDescription": { "text": spec.summary },
        "fullDescription": { "text": format!("{} (check: {owner})", spec.summary) },
        "helpUri": format!("{INFO_URI}#{help_anchor}"),
        "help": { "text": spec.summary },
        "defaultConfiguration": { "level": level(spec.severity) },
        "properties": {
            "tags": ["security", "supply-chain", owner],
            "security-severity": security_severity(spec.severity),
        },
    })
}

/// A SARIF 2.1.0 log of one run of cargo-reflex: its rules, its results and, when given,
/// the invocation.
pub fn document(rules: Vec<Value>, results: Vec<Value>, invocation: Option<Value>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut run = json!({
        "tool": { "driver": {
            "name": "cargo-reflex",
            "version": version,
            "semanticVersion": version,
            "informationUri": INFO_URI,
            "rules": rules,
        }},
    });
    if let Some(invocation) = invocation {
        run["invocations"] = json!([invocation]);
    }
    run["results"] = Value::Array(results);
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The report as SARIF 2.1.0, with a rule for every code of `catalog`.
pub fn render(report: &Report, catalog: &Catalog) -> String {
    let codes: Vec<_> = catalog.iter().collect();
    let rules: Vec<Value> = codes
        .iter()
        .map(|(check, spec)| rule(check, spec, "finding-codes"))
        .collect();
    let results: Vec<Value> = report.findings.iter().map(|f| result(f, &codes)).collect();
    let invocation = json!({
        "executionSuccessful": true,
        "properties": { "command": report.command, "passed": report.summary.passed },
    });
    document(rules, results, Some(invocation))
}

fn result(f: &Finding, codes: &[(&str, &CodeSpec)]) -> Value {
    let mut text = f.title.clone();
    if let Some(p) = &f.package {
        text.push_str(&format!(" [{} {}]", p.name, p.version));
    }
    if f.via.len() > 1 {
        text.push_str(&format!(". Via: {}", f.via.join(" -> ")));
    }
    for e in &f.evidence {
        text.push_str(&format!(". {e}"));
    }
    if let Some(r) = &f.remedy {
        text.push_str(&format!(". Fix: {r}"));
    }
    let mut r = json!({
        "ruleId": f.code,
        "ruleIndex": codes.iter().position(|(_, s)| s.code == f.code).unwrap_or(0),
        "level": level(f.severity),
        "message": { "text": text },
        "partialFingerprints": { "reflexFinding/v1": fingerprint(f) },
        "properties": {
            "severity": f.severity.as_str(),
            "check": f.check,
        },
    });
    if let Some(loc) = &f.location {
        let mut physical = json!({ "artifactLocation": { "uri": uri(&loc.path) } });
        if let Some(line) = loc.line.filter(|l| *l >= 1) {
            physical["region"] = json!({ "startLine": line });
        }
        r["locations"] = json!([{ "physicalLocation": physical }]);
    }
    if let Some(p) = &f.package {
        r["properties"]["package"] =
            json!({ "name": p.name, "version": p.version, "source": p.source });
    }
    if let Some(a) = &f.advisory {
        r["properties"]["advisory"] = json!(a.id);
    }
    r
}

fn uri(path: &str) -> String {
    let p = path.strip_prefix("./").unwrap_or(path);
    p.replace('\\', "/").replace(' ', "%20")
}

/// Stable across runs: code, package and title.
fn fingerprint(f: &Finding) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{}|{}|{}",
        f.code,
        f.package
            .as_ref()
            .map(|p| format!("{}@{}", p.name, p.version))
            .unwrap_or_default(),
        f.title
    );
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
