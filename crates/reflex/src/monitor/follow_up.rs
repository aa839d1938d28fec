//! What else judges an alert once it is raised: the crate's behaviour baseline and the
//! destinations every monitored build contacted before (the state store).

use super::alert::{Alert, DNS_QUERY_ACTION};
use super::baseline::Baseline;
use super::codes;
use crate::finding::{CodeSpec, Severity};
use crate::state::StateStore;

/// Alerts that follow from an alert: behaviour outside the crate's baseline, and destinations
/// never contacted by any build before (remembered in the state store).
pub fn follow_up(
    a: &Alert,
    baseline: Option<&Baseline>,
    store: Option<&dyn StateStore>,
) -> Vec<Alert> {
    let mut out = Vec::new();
    if a.actor.is_baseline() {
        return out;
    }
    let derived = |code: &CodeSpec, severity: Severity, message: String, evidence: String| Alert {
        code: code.code,
        severity,
        message,
        evidence: vec![evidence],
        ..a.clone()
    };
    if let Some(why) = baseline.and_then(|b| b.deviation(a)) {
        let severity = if why.contains("changed behaviour") {
            Severity::Critical
        } else {
            Severity::High
        };
        out.push(derived(
            &codes::BASELINE_DEVIATION,
            severity,
            format!("{}: {why}", a.actor.describe()),
            why,
        ));
    }
    let kind = match a.action.as_str() {
        DNS_QUERY_ACTION => "domain",
        "connect" | "send" => "address",
        _ => return out,
    };
    let now = jiff::Timestamp::from_nanosecond(a.time_ns as i128)
        .map(|t| t.to_string())
        .unwrap_or_default();
    if let Some(s) = store
        && s.first_sighting(kind, &a.target, a.actor.crate_name(), &now)
            .unwrap_or(false)
    {
        out.push(derived(
            &codes::FIRST_SEEN_DESTINATION,
            Severity::Medium,
            format!(
                "{} contacted {} for the first time in any monitored build",
                a.actor.describe(),
                a.target
            ),
            format!("first {kind} sighting recorded in {}", s.location()),
        ));
    }
    out
}
