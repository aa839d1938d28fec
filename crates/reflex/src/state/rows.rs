//! What both backends share once rows are read: time filters and grouping.

use super::{Destination, DrillRecord, InventoryPackage, InventoryRecord, TimeRange, micros};
use crate::error::Result;

/// The destinations first seen in `range`, oldest first.
pub(super) fn in_range(all: Vec<Destination>, range: &TimeRange) -> Result<Vec<Destination>> {
    let (from, to) = range.micros()?;
    let mut kept: Vec<(i64, Destination)> = all
        .into_iter()
        .filter_map(|d| {
            let at = micros(&d.first_seen).unwrap_or(i64::MIN);
            (at >= from && at < to).then_some((at, d))
        })
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.value.cmp(&b.1.value)));
    Ok(kept.into_iter().map(|(_, d)| d).collect())
}

/// The drill rows started in `range`, oldest first.
pub(super) fn drills_in_range(
    rows: Vec<DrillRecord>,
    range: &TimeRange,
) -> Result<Vec<DrillRecord>> {
    let (from, to) = range.micros()?;
    let mut kept: Vec<(i64, DrillRecord)> = rows
        .into_iter()
        .filter_map(|r| {
            let at = micros(&r.started).unwrap_or(i64::MIN);
            (at >= from && at < to).then_some((at, r))
        })
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.scenario.cmp(&b.1.scenario)));
    Ok(kept.into_iter().map(|(_, r)| r).collect())
}

/// (run, one of its packages) rows, in run order, grouped into runs with their packages.
pub(super) fn group_packages(
    rows: Vec<(InventoryRecord, InventoryPackage)>,
) -> Vec<InventoryRecord> {
    let mut out: Vec<InventoryRecord> = Vec::new();
    for (run, package) in rows {
        match out.last_mut() {
            Some(last) if last.id == run.id => last.packages.push(package),
            _ => {
                let mut run = run;
                run.packages.push(package);
                out.push(run);
            }
        }
    }
    out
}

/// The lines of a newline-joined list.
pub(super) fn lines(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}
