//! An alert of the monitor, and its Elastic Common Schema form (one JSON document per line,
//! for ELK or Splunk), read back too (the drill judges the alerts a build wrote).

use super::attribution::Actor;
use super::codes;
use crate::finding::Severity;
use reflex_sandbox_contract::CallOutcome;
use serde::Serialize;
use serde_json::json;

/// ECS `event.severity` (numeric).
fn ecs_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 21,
        Severity::Medium => 47,
        Severity::High => 73,
        Severity::Critical => 99,
    }
}

/// The action of alerts about a DNS query, which is also the sandbox's name for the event of
/// a query its DNS sinkhole heard (the alert code of the same name is [`codes::DNS_QUERY`]).
pub const DNS_QUERY_ACTION: &str = "dns-query";

/// How an alert's outcome reads for people: `allowed`, `denied by the sandbox`, `failed`.
pub fn outcome_text(o: CallOutcome) -> &'static str {
    match o {
        CallOutcome::Allowed => "allowed",
        CallOutcome::Denied => "denied by the sandbox",
        CallOutcome::Failed => "failed",
    }
}

/// Something a build-time process did that deserves attention.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Alert {
    pub time_ns: u64,
    /// When the alert was produced (for the time to detect).
    pub alerted_ns: u64,
    pub severity: Severity,
    /// Stable code: one of [`super::codes`].
    pub code: &'static str,
    pub actor: Actor,
    pub pid: u32,
    pub process: Vec<String>,
    /// `connect`, `send`, `dns-query`, `exec`, `write`, `rename`, `link`, `read`, `artifact`.
    pub action: String,
    pub target: String,
    /// What became of the call: `allowed` (the sandbox let it go ahead), `denied` (the
    /// sandbox refused it: no route out, a refused socket, a read-only mount, a hidden file),
    /// `failed` (let through, and it failed: nothing listening, no such file).
    pub outcome: CallOutcome,
    pub evidence: Vec<String>,
    pub message: String,
}

impl Alert {
    pub fn time_to_detect_ms(&self) -> f64 {
        self.alerted_ns.saturating_sub(self.time_ns) as f64 / 1e6
    }

    /// The alert as one Elastic Common Schema document (JSON Lines for ELK or Splunk).
    pub fn to_ecs(&self) -> serde_json::Value {
        let ts = jiff::Timestamp::from_nanosecond(self.time_ns as i128)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let category = match self.action.as_str() {
            "exec" => "process",
            "write" | "read" | "rename" | "link" | "artifact" => "file",
            _ => "network",
        };
        let (address, port) = match self.target.rsplit_once(':') {
            Some((a, p)) if p.chars().all(|c| c.is_ascii_digit()) => (
                a.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().ok(),
            ),
            _ => (self.target.clone(), None),
        };
        let mut doc = json!({
            "@timestamp": ts,
            "ecs": {"version": "8.11.0"},
            "message": self.message,
            "event": {
                "kind": "alert",
                "category": [category],
                "type": [match (category, self.action.as_str()) { ("process", _) => "start", ("file", "read") => "access", ("file", "artifact") => "creation", ("file", _) => "change", _ => "connection" }],
                "action": self.action,
                // ECS: the sandbox let it happen, or it did not happen.
                "outcome": match self.outcome { CallOutcome::Allowed => "success", CallOutcome::Denied | CallOutcome::Failed => "failure" },
                "severity": ecs_severity(self.severity),
                "code": self.code,
                "module": "cargo-reflex",
                "dataset": "cargo_reflex.monitor",
            },
            "rule": {"name": self.code},
            "process": {
                "pid": self.pid,
                "args": self.process,
                "command_line": self.process.join(" "),
            },
            "labels": {"crate": self.actor.crate_name(), "actor": self.actor.kind()},
            "cargo_reflex": {
                "crate": self.actor.crate_name(),
                "version": self.actor.version(),
                "actor": self.actor,
                "severity": self.severity,
                "target": self.target,
                "outcome": self.outcome.as_str(),
                "evidence": self.evidence,
                "time_to_detect_ms": self.time_to_detect_ms(),
            },
        });
        if category == "network" {
            doc["destination"] = json!({"address": address, "port": port});
        }
        if category == "file" {
            doc["file"] = json!({"path": self.target});
        }
        if self.action == DNS_QUERY_ACTION {
            doc["dns"] = json!({"question": {"name": self.target}});
        }
        doc
    }

    /// An alert read back from its ECS document ([`Alert::to_ecs`]); `None` when the document
    /// is not one (an unknown code, a field missing).
    pub fn from_ecs(doc: &serde_json::Value) -> Option<Alert> {
        let ours = &doc["cargo_reflex"];
        let time: jiff::Timestamp = doc["@timestamp"].as_str()?.parse().ok()?;
        let time_ns = u64::try_from(time.as_nanosecond()).ok()?;
        let detect_ms = ours["time_to_detect_ms"].as_f64()?;
        let strings = |v: &serde_json::Value| -> Option<Vec<String>> {
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let outcome = match ours["outcome"].as_str()? {
            "allowed" => CallOutcome::Allowed,
            "denied" => CallOutcome::Denied,
            "failed" => CallOutcome::Failed,
            _ => return None,
        };
        Some(Alert {
            time_ns,
            alerted_ns: time_ns + (detect_ms * 1e6).round() as u64,
            severity: Severity::parse(ours["severity"].as_str()?)?,
            code: codes::find(doc["event"]["code"].as_str()?)?.code,
            actor: serde_json::from_value(ours["actor"].clone()).ok()?,
            pid: u32::try_from(doc["process"]["pid"].as_u64()?).ok()?,
            process: strings(&doc["process"]["args"])?,
            action: doc["event"]["action"].as_str()?.to_string(),
            target: ours["target"].as_str()?.to_string(),
            outcome,
            evidence: strings(&ours["evidence"])?,
            message: doc["message"].as_str()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_back_from_their_ecs_documents() {
        let alert = Alert {
            time_ns: 1_780_000_000_123_456_789,
            alerted_ns: 1_780_000_000_125_000_001,
            severity: Severity::Critical,
            code: codes::SECRET_EXFILTRATION.code,
            actor: Actor::BuildScript {
                krate: "url-parse".into(),
                version: Some("0.1.0".into()),
                script: "/w/target/debug/build/url-parse-1/build-script-build".into(),
            },
            pid: 42,
            process: vec!["build-script-build".into()],
            action: "dns-query".into(),
            target: "a.b.drill.invalid".into(),
            outcome: CallOutcome::Denied,
            evidence: vec!["decoded: AWS_SECRET_ACCESS_KEY=x".into()],
            message: "build script of url-parse 0.1.0 tried to exfiltrate".into(),
        };
        let doc = alert.to_ecs();
        assert_eq!(doc["cargo_reflex"]["severity"], "critical");
        assert_eq!(doc["event"]["severity"], 99);
        let line = doc.to_string();
        let back = Alert::from_ecs(&serde_json::from_str(&line).unwrap()).unwrap();
        assert_eq!(back, alert);
        assert_eq!(back.time_to_detect_ms(), alert.time_to_detect_ms());
        let mut unknown = doc.clone();
        unknown["event"]["code"] = "not-a-code".into();
        assert_eq!(Alert::from_ecs(&unknown), None);
    }
}
