//! `respond`'s question on PostgreSQL ([`crate::state::StateStore::latest_holding`]): in one
//! read-only snapshot, the distinct rows of the name (by the `package_rows_by_name` index) are
//! judged by their version first; only when some are kept are the newest runs holding them
//! read (narrow index entries joined to the newest-record table), then each kept row once.

use crate::state::rows::group_rows;
use crate::state::sqlite::HOLDING_RUN_COLUMNS;
use crate::state::{HeldPackage, Holding, InventoryRecord};
use postgres::{Client, IsolationLevel};

pub(super) fn latest_holding(
    c: &mut Client,
    name: &str,
    from: i64,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<Holding, postgres::Error> {
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let counts = tx.query_one(
        "SELECT (SELECT COUNT(*) FROM latest_runs WHERE recorded_us >= $1),
                (SELECT COUNT(*) FROM package_rows WHERE name = $2)",
        &[&from, &name],
    )?;
    let (scanned, rows_of_name): (i64, i64) = (counts.get(0), counts.get(1));
    let mut holding = Holding {
        scanned: scanned as usize,
        ..Holding::default()
    };
    // The rows kept, when not all of them: judged by their versions before any run is read.
    let kept: Option<Vec<i64>> = match keep {
        Some(keep) => Some(
            tx.query(
                "SELECT id, version FROM package_rows WHERE name = $1",
                &[&name],
            )?
            .iter()
            .filter(|r| keep(r.get(1)))
            .map(|r| r.get(0))
            .collect(),
        ),
        None => None,
    };
    let kept = kept.filter(|k| k.len() < rows_of_name as usize);
    if rows_of_name == 0 || kept.as_ref().is_some_and(Vec::is_empty) {
        tx.commit()?;
        return Ok(holding);
    }
    // Unordered: sorted here, by bytes (as SQLite and the directory walk order), rather than
    // by the server's collation.
    let sql = format!(
        "SELECT {HOLDING_RUN_COLUMNS}, p.row_id, p.position
         FROM run_packages p JOIN latest_runs l ON l.run_id = p.run_id
         WHERE p.name = $1 AND l.recorded_us >= $2 {}",
        if kept.is_some() {
            "AND p.row_id = ANY($3)"
        } else {
            ""
        }
    );
    let rows = match &kept {
        Some(kept) => tx.query(&sql, &[&name, &from, kept])?,
        None => tx.query(&sql, &[&name, &from])?,
    };
    let mut rows: Vec<(InventoryRecord, i64, i32)> = rows
        .iter()
        .map(|r| {
            let run = InventoryRecord {
                id: Some(r.get(0)),
                repository: r.get(1),
                branch: r.get(2),
                commit: r.get(3),
                recorded_at: r.get(4),
                command: r.get(5),
                passed: r.get(6),
                package_count: r.get(7),
                ..Default::default()
            };
            (run, r.get(8), r.get(9))
        })
        .collect();
    rows.sort_unstable_by(|(a, _, i), (b, _, j)| {
        (&a.repository, &a.branch, i).cmp(&(&b.repository, &b.branch, j))
    });
    let rows: Vec<(InventoryRecord, i64)> = rows.into_iter().map(|(r, id, _)| (r, id)).collect();
    let mut ids: Vec<i64> = rows.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    // The rows held: by the name's index when they are most of its rows (no list of ids to
    // send and look up one by one), else by their ids.
    let by_name = ids.len() * 2 >= rows_of_name as usize;
    let details = match by_name {
        true => tx.query(
            "SELECT id, name, version, source, checksum, via, dependents
             FROM package_rows WHERE name = $1",
            &[&name],
        )?,
        false => tx.query(
            "SELECT id, name, version, source, checksum, via, dependents
             FROM package_rows WHERE id = ANY($1)",
            &[&ids],
        )?,
    };
    holding.rows = details
        .iter()
        .filter_map(|r| {
            let id: i64 = r.get(0);
            ids.binary_search(&id).ok()?;
            let row = HeldPackage {
                name: r.get(1),
                version: r.get(2),
                source: r.get(3),
                checksum: r.get(4),
                via: r.get(5),
                dependents: r.get(6),
            };
            Some((id, row))
        })
        .collect();
    tx.commit()?;
    holding.runs = group_rows(rows);
    Ok(holding)
}
