//! What both backends share once rows are read: time filters and grouping.

use super::{Destination, DrillRecord, InventoryPackage, TimeRange, micros};
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

/// The lines of a newline-joined list.
pub(super) fn lines(s: &str) -> Vec<String> {
    s.split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The content address of a package row (schema version 2 keeps each distinct row once):
/// SHA-256 of its fields, each written as `LENGTH:TEXT;` (`-;` when absent), `via` and
/// `dependents` newline-joined. [`digest_sql`] computes the same in PostgreSQL.
pub(super) fn digest(p: &InventoryPackage) -> Vec<u8> {
    digest_fields([
        Some(p.name.as_str()),
        Some(p.version.as_str()),
        p.source.as_deref(),
        p.checksum.as_deref(),
        Some(p.via.join("\n").as_str()),
        Some(p.dependents.join("\n").as_str()),
    ])
}

/// [`digest`] of the stored fields: name, version, source, checksum, via and dependents (the
/// last two newline-joined, as stored).
pub(super) fn digest_fields(fields: [Option<&str>; 6]) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for f in fields {
        match f {
            Some(f) => {
                h.update(f.len().to_string());
                h.update(":");
                h.update(f);
                h.update(";");
            }
            None => h.update("-;"),
        }
    }
    h.finalize().to_vec()
}

/// [`digest`] in PostgreSQL, over columns `name, version, source, checksum, via, dependents`
/// of the table or alias `{t}`.
pub(super) fn digest_sql(t: &str) -> String {
    let field =
        |c: &str| format!("COALESCE(octet_length({t}.{c})::TEXT || ':' || {t}.{c}, '-') || ';'");
    let fields: Vec<String> = ["name", "version", "source", "checksum", "via", "dependents"]
        .iter()
        .map(|c| field(c))
        .collect();
    format!("sha256(convert_to({}, 'UTF8'))", fields.join(" || "))
}
