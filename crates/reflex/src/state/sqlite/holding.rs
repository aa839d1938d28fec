//! `respond`'s question on SQLite ([`crate::state::StateStore::latest_holding`]): in one read
//! transaction (one snapshot), the distinct rows of the name (by the `package_rows_by_name`
//! index) are judged by their version first; only when some are kept are the newest runs
//! holding them read, from narrow index entries.

use super::{HOLDING_RUN_COLUMNS, holding_run_from_row};
use crate::state::{HeldPackage, Holding, InventoryRecord};
use std::collections::HashMap;

pub(super) fn latest_holding(
    conn: &mut rusqlite::Connection,
    name: &str,
    from: i64,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> rusqlite::Result<Holding> {
    let tx = conn.transaction()?;
    let scanned: i64 = tx.query_row(
        "SELECT COUNT(*) FROM latest_runs WHERE recorded_us >= ?1",
        [from],
        |r| r.get(0),
    )?;
    // Each distinct row of the name once, read in full only when its version is kept.
    let mut rows = HashMap::new();
    let mut dependents: std::sync::Arc<str> = std::sync::Arc::from("");
    {
        let mut stmt = tx.prepare(
            "SELECT id, name, version, source, checksum, via, dependents
             FROM package_rows WHERE name = ?1",
        )?;
        let mut read = stmt.query([name])?;
        while let Some(r) = read.next()? {
            let kept = match keep {
                Some(keep) => keep(r.get_ref(2)?.as_str()?),
                None => true,
            };
            if kept {
                let listed = r.get_ref(6)?.as_str()?;
                if *dependents != *listed {
                    dependents = std::sync::Arc::from(listed);
                }
                let row = HeldPackage {
                    name: r.get(1)?,
                    version: r.get(2)?,
                    source: r.get(3)?,
                    checksum: r.get(4)?,
                    via: r.get(5)?,
                    dependents: dependents.clone(),
                };
                rows.insert(r.get::<_, i64>(0)?, row);
            }
        }
    }
    if rows.is_empty() {
        tx.commit()?;
        return Ok(Holding {
            scanned: scanned as usize,
            ..Holding::default()
        });
    }
    // The runs (in order) with their kept rows, grouped as they are read.
    let mut runs: Vec<(InventoryRecord, Vec<i64>)> = Vec::with_capacity(scanned as usize);
    {
        let mut stmt = tx.prepare(&format!(
            "SELECT {HOLDING_RUN_COLUMNS}, p.row_id
             FROM latest_runs l JOIN run_packages p ON p.run_id = l.run_id AND p.name = ?1
             WHERE l.recorded_us >= ?2 ORDER BY l.repository, l.branch, p.position"
        ))?;
        let mut read = stmt.query(rusqlite::params![name, from])?;
        while let Some(r) = read.next()? {
            let row: i64 = r.get(8)?;
            if !rows.contains_key(&row) {
                continue;
            }
            let run: i64 = r.get(0)?;
            match runs.last_mut() {
                Some((last, ids)) if last.id == Some(run) => ids.push(row),
                _ => runs.push((holding_run_from_row(r)?, vec![row])),
            }
        }
    }
    tx.commit()?;
    // Only the rows some newest record holds (the others are of older records).
    let mut used: HashMap<i64, HeldPackage> = HashMap::with_capacity(rows.len());
    for (_, ids) in &runs {
        for id in ids {
            if let Some(p) = rows.remove(id) {
                used.insert(*id, p);
            }
        }
    }
    Ok(Holding {
        scanned: scanned as usize,
        runs,
        rows: used,
    })
}
