//! The scorecard for people (terminal, Markdown) and the history of drills.

use super::{Layer, NOT_APPLICABLE, ScenarioResult, Scorecard};
use crate::state::DrillRun;
use std::fmt::Write;

const LAYERS: [Layer; 3] = [Layer::Gate, Layer::Sandbox, Layer::Monitor];

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} ms"))
}

fn secs(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1} s"))
}

/// A layer's status in words: a layer that does not apply says why.
fn label(status: &str) -> &str {
    if status == NOT_APPLICABLE {
        "not applicable (runs at run time)"
    } else {
        status
    }
}

fn mark(status: &str, as_expected: bool) -> String {
    if as_expected {
        label(status).to_string()
    } else {
        format!("{} (!)", label(status))
    }
}

fn layers_off(card: &Scorecard) -> Option<String> {
    let off: Vec<&str> = card.layers_off.iter().map(|l| l.as_str()).collect();
    (!off.is_empty()).then(|| off.join(", "))
}

pub fn human(card: &Scorecard) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Drill scorecard: {} of {} scenarios defended as expected ({}%)",
        card.passed, card.total, card.success_rate
    );
    if let Some(off) = layers_off(card) {
        let _ = writeln!(s, "layers switched off: {off}");
    }
    let _ = writeln!(s);
    let cell = |r: &ScenarioResult, l: Layer| {
        r.layer(l)
            .map_or("error".to_string(), |x| mark(x.status, x.as_expected))
    };
    // Columns as wide as their widest cell ("not applicable (runs at run time)").
    let w = card
        .scenarios
        .iter()
        .flat_map(|r| LAYERS.map(|l| cell(r, l).chars().count()))
        .fold(14, usize::max);
    let n = card
        .scenarios
        .iter()
        .map(|r| r.name.chars().count())
        .fold(22, usize::max);
    let _ = writeln!(
        s,
        "{:<n$} {:<w$} {:<w$} {:<w$} {:>10} {:>12}",
        "scenario", "gate", "sandbox", "monitor", "detect", "remediate"
    );
    for r in &card.scenarios {
        let _ = writeln!(
            s,
            "{:<n$} {:<w$} {:<w$} {:<w$} {:>10} {:>12}",
            r.name,
            cell(r, Layer::Gate),
            cell(r, Layer::Sandbox),
            cell(r, Layer::Monitor),
            ms(r.time_to_detect_ms()),
            secs(r.time_to_remediate_s()),
        );
    }
    for r in &card.scenarios {
        let _ = writeln!(s, "\n{} — {}", r.name, r.title);
        if r.payload == "run" {
            let _ = writeln!(
                s,
                "  payload: runs at run time (library code), not in the build: only the gate applies"
            );
        }
        if let Some(e) = &r.error {
            let _ = writeln!(s, "  error: {e}");
        }
        for l in LAYERS {
            let Some(x) = r.layer(l) else { continue };
            let codes = if x.codes.is_empty() {
                String::new()
            } else {
                format!(" by {}", x.codes.join(", "))
            };
            let _ = writeln!(
                s,
                "  {}: {}{codes}",
                l.as_str(),
                mark(x.status, x.as_expected)
            );
            for e in &x.evidence {
                let _ = writeln!(s, "    - {e}");
            }
        }
        if let Some(m) = &r.remediation {
            let _ = writeln!(
                s,
                "  remediation ({}): {} -> {}",
                m.source,
                m.command,
                if m.clean {
                    format!("lockfile clean after {:.1} s", m.seconds)
                } else {
                    "the attack is still in the lockfile".into()
                }
            );
        }
    }
    let _ = writeln!(
        s,
        "\ntime to detect (median): {}; time to remediate (median): {}; drill took {:.1} s",
        ms(card.median_time_to_detect_ms),
        secs(card.median_time_to_remediate_s),
        card.seconds
    );
    s
}

pub fn markdown(card: &Scorecard) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## cargo-reflex drill: {} of {} scenarios defended ({}%)\n",
        card.passed, card.total, card.success_rate
    );
    if let Some(off) = layers_off(card) {
        let _ = writeln!(s, "Layers switched off: {off}\n");
    }
    let _ = writeln!(
        s,
        "| scenario | gate (Fortify) | sandbox (Limit) | monitor (Expose) | time to detect | time to remediate |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for r in &card.scenarios {
        let cell = |l: Layer| {
            r.layer(l).map_or("error".to_string(), |x| {
                let icon = if x.as_expected { "✅" } else { "❌" };
                let codes = if x.codes.is_empty() {
                    String::new()
                } else {
                    format!(" (`{}`)", x.codes.join("`, `"))
                };
                format!("{icon} {}{codes}", label(x.status))
            })
        };
        let _ = writeln!(
            s,
            "| **{}**: {} | {} | {} | {} | {} | {} |",
            r.name,
            r.imitates,
            cell(Layer::Gate),
            cell(Layer::Sandbox),
            cell(Layer::Monitor),
            ms(r.time_to_detect_ms()),
            secs(r.time_to_remediate_s()),
        );
    }
    let _ = writeln!(
        s,
        "\nMedian time to detect: {}. Median time to remediate: {}.",
        ms(card.median_time_to_detect_ms),
        secs(card.median_time_to_remediate_s)
    );
    s
}

/// Past drills and the trend.
pub fn history(runs: &[DrillRun]) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        let _ = writeln!(s, "No drills recorded yet: run `cargo reflex drill`.");
        return s;
    }
    let _ = writeln!(
        s,
        "{:<28} {:>9} {:>8} {:>8} {:>10} {:>9} {:>10} {:>11}  not defended",
        "drill", "defended", "blocked", "contain", "detected", "rate", "detect", "remediate"
    );
    for r in runs {
        let rate = if r.scenarios == 0 {
            0.0
        } else {
            r.passed as f64 * 100.0 / r.scenarios as f64
        };
        let _ = writeln!(
            s,
            "{:<28} {:>9} {:>8} {:>8} {:>10} {:>8.0}% {:>10} {:>11}  {}",
            r.started,
            format!("{}/{}", r.passed, r.scenarios),
            r.blocked,
            r.contained,
            r.detected,
            rate,
            ms(r.mean_time_to_detect_ms),
            secs(r.mean_time_to_remediate_s),
            if r.failed.is_empty() {
                "-".to_string()
            } else {
                r.failed.join(", ")
            }
        );
    }
    if let [.., prev, last] = runs {
        let rate = |r: &DrillRun| r.passed as f64 * 100.0 / r.scenarios.max(1) as f64;
        let d = rate(last) - rate(prev);
        let _ = writeln!(
            s,
            "\ntrend: success rate {} ({:+.0} points since the drill before)",
            if d > 0.0 {
                "up"
            } else if d < 0.0 {
                "down"
            } else {
                "unchanged"
            },
            d
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drill::{LayerResult, Remediation, ScenarioResult};

    fn layer(layer: Layer, status: &'static str, as_expected: bool, codes: &[&str]) -> LayerResult {
        LayerResult {
            layer,
            status,
            as_expected,
            codes: codes.iter().map(|c| c.to_string()).collect(),
            evidence: vec![format!("{} evidence", layer.as_str())],
            time_to_detect_ms: (layer == Layer::Monitor && status == "detected").then_some(1.25),
            canary_decoded: (layer == Layer::Monitor).then_some(status == "detected"),
            seconds: 0.5,
        }
    }

    fn card() -> Scorecard {
        let scenario = |name: &str, sandbox: &'static str| ScenarioResult {
            name: name.into(),
            title: format!("{name} title"),
            imitates: format!("{name} imitates"),
            attack: vec!["url-parse".into()],
            payload: "build",
            layers: vec![
                layer(Layer::Gate, "blocked", true, &["cooldown-too-young"]),
                layer(Layer::Sandbox, sandbox, sandbox == "contained", &[]),
                layer(
                    Layer::Monitor,
                    "detected",
                    true,
                    &[crate::monitor::codes::SECRET_EXFILTRATION.code],
                ),
            ],
            passed: sandbox == "contained",
            remediation: Some(Remediation {
                command: "cargo update -p rust-utilities-v2@2.1.1 --precise 2.1.0".into(),
                source: "respond",
                clean: true,
                seconds: 0.25,
            }),
            error: None,
        };
        Scorecard {
            version: 1,
            started: "2026-11-25T08:00:00Z".into(),
            layers_off: vec![Layer::Sandbox],
            scenarios: vec![
                scenario("takeover", "contained"),
                scenario("second-stage", "missed"),
            ],
            passed: 1,
            total: 2,
            success_rate: 50.0,
            median_time_to_detect_ms: Some(1.25),
            median_time_to_remediate_s: Some(0.25),
            seconds: 9.5,
        }
    }

    #[test]
    fn scorecards_people_read() {
        insta::assert_snapshot!("scorecard_human", human(&card()));
        insta::assert_snapshot!("scorecard_markdown", markdown(&card()));
    }

    #[test]
    fn layers_that_do_not_apply_say_why() {
        let mut c = card();
        c.layers_off.clear();
        let r = &mut c.scenarios[1];
        r.name = "runtime-lookalike".into();
        r.payload = "run";
        r.layers[1] = layer(Layer::Sandbox, NOT_APPLICABLE, true, &[]);
        r.layers[2] = layer(Layer::Monitor, NOT_APPLICABLE, true, &[]);
        r.passed = true;
        let h = human(&c);
        let row = h
            .lines()
            .find(|l| l.starts_with("runtime-lookalike "))
            .unwrap();
        let header = h.lines().find(|l| l.starts_with("scenario ")).unwrap();
        // The columns are as wide as "not applicable (runs at run time)".
        assert_eq!(row.find("not applicable"), header.find("sandbox"), "{h}");
        assert!(
            row.split_whitespace().collect::<Vec<_>>().join(" ")
                == "runtime-lookalike blocked not applicable (runs at run time) not applicable (runs at run time) - 0.2 s"
                && h.contains("  sandbox: not applicable (runs at run time)\n")
                && h.contains("  monitor: not applicable (runs at run time)\n")
                && h.contains("payload: runs at run time"),
            "{h}"
        );
        let md = markdown(&c);
        assert!(
            md.contains(
                "| ✅ not applicable (runs at run time) | ✅ not applicable (runs at run time) |"
            ),
            "{md}"
        );
    }

    #[test]
    fn history_with_a_trend() {
        let run = |started: &str, passed: i64, failed: &[&str]| DrillRun {
            started: started.into(),
            scenarios: 5,
            passed,
            blocked: 5,
            contained: passed,
            detected: 5,
            mean_time_to_detect_ms: Some(1.5),
            mean_time_to_remediate_s: Some(0.3),
            failed: failed.iter().map(|s| s.to_string()).collect(),
        };
        insta::assert_snapshot!(
            "history",
            history(&[
                run("2026-11-24T08:00:00Z", 3, &["second-stage", "persistence"]),
                run("2026-11-25T08:00:00Z", 5, &[]),
            ])
        );
        assert!(history(&[]).contains("No drills recorded yet"));
    }
}
