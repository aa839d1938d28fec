//! Trends from the state store: first-seen destinations per week, the drills' success rate,
//! time to detect and to remediate, and gate runs (and blocked changes) per week.

use super::Ratio;
use crate::state::DrillRun;
use serde::Serialize;
use std::collections::BTreeMap;

/// Count per ISO week (`2026-W47`), oldest first.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Week {
    pub week: String,
    pub count: usize,
}

/// Gate runs recorded in one ISO week and how many of them were blocked.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct GateWeek {
    pub week: String,
    pub runs: usize,
    pub blocked: usize,
}

/// One recorded gate verdict, for the weekly trend.
#[derive(Clone, Debug)]
pub struct GatePoint {
    pub at: String,
    pub passed: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct History {
    /// Whether a state store was read at all.
    pub state: bool,
    pub destinations: usize,
    pub first_seen_per_week: Vec<Week>,
    pub drills: Vec<DrillRun>,
    /// Scenarios that passed over scenarios played, over every drill.
    pub drill_success: Ratio,
    /// Mean time to detect over the drills that measured it, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mttd_ms: Option<f64>,
    /// Mean time to remediate over the drills that measured it, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mttr_s: Option<f64>,
    pub gate_runs_per_week: Vec<GateWeek>,
}

impl History {
    /// From the first-sighting times of every destination, the drills and the gate verdicts.
    pub fn from_parts(first_seen: &[String], drills: Vec<DrillRun>, gates: &[GatePoint]) -> Self {
        let mut weeks: BTreeMap<String, usize> = BTreeMap::new();
        for t in first_seen {
            *weeks.entry(iso_week(t)).or_default() += 1;
        }
        let mut gate_weeks: BTreeMap<String, GateWeek> = BTreeMap::new();
        for g in gates {
            let w = iso_week(&g.at);
            let e = gate_weeks.entry(w.clone()).or_insert_with(|| GateWeek {
                week: w,
                ..GateWeek::default()
            });
            e.runs += 1;
            e.blocked += usize::from(!g.passed);
        }
        let scenarios: i64 = drills.iter().map(|d| d.scenarios).sum();
        let passed: i64 = drills.iter().map(|d| d.passed).sum();
        let mean = |f: &dyn Fn(&DrillRun) -> Option<f64>| {
            let v: Vec<f64> = drills.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64 * 10.0).round() / 10.0)
        };
        History {
            state: true,
            destinations: first_seen.len(),
            first_seen_per_week: weeks
                .into_iter()
                .map(|(week, count)| Week { week, count })
                .collect(),
            drill_success: Ratio::new(
                usize::try_from(passed).unwrap_or(0),
                usize::try_from(scenarios).unwrap_or(0),
            ),
            mttd_ms: mean(&|d| d.mean_time_to_detect_ms),
            mttr_s: mean(&|d| d.mean_time_to_remediate_s),
            drills,
            gate_runs_per_week: gate_weeks.into_values().collect(),
        }
    }
}

/// `2026-W47` for an RFC 3339 time or a date; the text itself when it is neither.
pub fn iso_week(t: &str) -> String {
    let date = t
        .parse::<jiff::Timestamp>()
        .map(|ts| ts.to_zoned(jiff::tz::TimeZone::UTC).date())
        .or_else(|_| t.get(..10).unwrap_or(t).parse::<jiff::civil::Date>());
    match date {
        Ok(d) => {
            let w = d.iso_week_date();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_and_drill_rates() {
        assert_eq!(iso_week("2026-01-01T10:00:00Z"), "2026-W01");
        assert_eq!(iso_week("2025-12-29"), "2026-W01");
        assert_eq!(iso_week("2026-11-25T23:30:00-05:00"), "2026-W48");
        let run = |passed, ttd| DrillRun {
            started: "2026-11-01T00:00:00Z".into(),
            scenarios: 4,
            passed,
            blocked: 1,
            contained: 1,
            detected: 1,
            mean_time_to_detect_ms: ttd,
            mean_time_to_remediate_s: None,
            failed: vec![],
        };
        let h = History::from_parts(
            &[
                "2026-11-02T00:00:00Z".into(),
                "2026-11-03T00:00:00Z".into(),
                "2026-11-20".into(),
            ],
            vec![run(4, Some(10.0)), run(2, Some(30.0)), run(3, None)],
            &[
                GatePoint {
                    at: "2026-11-02T00:00:00Z".into(),
                    passed: true,
                },
                GatePoint {
                    at: "2026-11-03T00:00:00Z".into(),
                    passed: false,
                },
            ],
        );
        assert_eq!(h.first_seen_per_week.len(), 2);
        assert_eq!(h.first_seen_per_week[0].count, 2);
        assert_eq!(h.drill_success, Ratio::new(9, 12));
        assert_eq!(h.mttd_ms, Some(20.0));
        assert_eq!(h.mttr_s, None);
        assert_eq!(
            h.gate_runs_per_week[0],
            GateWeek {
                week: "2026-W45".into(),
                runs: 2,
                blocked: 1
            }
        );
    }
}
