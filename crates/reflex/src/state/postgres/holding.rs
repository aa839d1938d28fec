//! `respond`'s question on PostgreSQL ([`crate::state::StateStore::latest_holding`]): in one
//! read-only snapshot, the distinct rows of the name (by the `package_rows_by_name` index) are
//! judged by their version first; only when some are kept are the newest runs holding them
//! read (narrow index entries joined to the newest-record table), then each kept row once.
//! Each query is sent with its parameter types (no round trip to prepare it) and its rows are
//! read as they arrive, not gathered first.

use crate::state::sqlite::HOLDING_RUN_COLUMNS;
use crate::state::{HeldPackage, Holding, InventoryRecord};
use postgres::types::{ToSql, Type};
use postgres::{IsolationLevel, Row};
use std::collections::HashMap;
use std::sync::Arc;

pub(super) fn latest_holding(
    c: &mut postgres::Client,
    name: &str,
    from: i64,
    keep: Option<&dyn Fn(&str) -> bool>,
) -> Result<Holding, postgres::Error> {
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let (name_arg, from_arg) = (
        (&name as &(dyn ToSql + Sync), Type::TEXT),
        (&from as _, Type::INT8),
    );
    // With the counts, one row's list of dependents: the rows of a crate mostly share one, and
    // each row then comes without it (most of what the rows weigh).
    let counts = tx.query_typed_one(
        "SELECT (SELECT COUNT(*) FROM latest_runs WHERE recorded_us >= $2),
                (SELECT COUNT(*) FROM package_rows WHERE name = $1),
                (SELECT dependents FROM package_rows WHERE name = $1 LIMIT 1)",
        &[name_arg.clone(), from_arg.clone()],
    )?;
    let (scanned, rows_of_name): (i64, i64) = (counts.get(0), counts.get(1));
    let common: Option<String> = counts.get(2);
    let mut holding = Holding {
        scanned: scanned as usize,
        ..Holding::default()
    };
    // The rows kept, when not all of them: judged by their versions before any run is read.
    let kept: Option<Vec<i64>> = match keep {
        Some(keep) => Some(
            tx.query_typed(
                "SELECT id, version FROM package_rows WHERE name = $1",
                std::slice::from_ref(&name_arg),
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
    let mut args = vec![name_arg.clone(), from_arg];
    if let Some(kept) = &kept {
        args.push((kept as _, Type::INT8_ARRAY));
    }
    let held = tx.query_typed(&sql, &args)?;
    let runs = sorted_runs(&held);
    let mut ids: Vec<i64> = runs
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    // The rows held: by the name's index when they are most of its rows (no list of ids to
    // send and look up one by one), else by their ids.
    holding.rows = HashMap::with_capacity(ids.len());
    let by_name = ids.len() * 2 >= rows_of_name as usize;
    let common = common.unwrap_or_default();
    let columns = "id, name, version, source, checksum, via, NULLIF(dependents, $2)";
    let common_arg = (&common as &(dyn ToSql + Sync), Type::TEXT);
    let details = if by_name {
        let sql = format!("SELECT {columns} FROM package_rows WHERE name = $1");
        tx.query_typed(&sql, &[name_arg, common_arg])?
    } else {
        let sql = format!("SELECT {columns} FROM package_rows WHERE id = ANY($1)");
        let ids_arg = (&ids as &(dyn ToSql + Sync), Type::INT8_ARRAY);
        tx.query_typed(&sql, &[ids_arg, common_arg])?
    };
    let common: Arc<str> = Arc::from(common);
    let mut last = common.clone();
    for r in &details {
        let id: i64 = r.get(0);
        if ids.binary_search(&id).is_ok() {
            let dependents = match r.get::<_, Option<&str>>(6) {
                None => common.clone(),
                Some(listed) if *last == *listed => last.clone(),
                Some(listed) => {
                    last = Arc::from(listed);
                    last.clone()
                }
            };
            holding.rows.insert(id, held_package(r, dependents));
        }
    }
    tx.commit()?;
    holding.runs = runs;
    Ok(holding)
}

/// The runs of `rows` (from [`HOLDING_RUN_COLUMNS`], then the row id and the package's
/// position) with their row ids: runs in byte order of repository and branch (as SQLite and
/// the directory walk order), row ids in lockfile order. The rows are ordered by their keys,
/// read in place; each run is then read once.
fn sorted_runs(rows: &[Row]) -> Vec<(InventoryRecord, Vec<i64>)> {
    let mut order: Vec<(&str, &str, i64, i32, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.get(1), r.get(2), r.get(0), r.get(9), i))
        .collect();
    order.sort_unstable();
    let mut out: Vec<(InventoryRecord, Vec<i64>)> = Vec::with_capacity(order.len());
    for (_, _, run, _, i) in order {
        let row = rows[i].get(8);
        match out.last_mut() {
            Some((last, ids)) if last.id == Some(run) => ids.push(row),
            _ => out.push((holding_run(&rows[i]), vec![row])),
        }
    }
    out
}

/// A newest record from [`HOLDING_RUN_COLUMNS`].
fn holding_run(r: &Row) -> InventoryRecord {
    InventoryRecord {
        package_count: r.get(7),
        ..super::run_head(r)
    }
}

/// A package row from `id, name, version, source, checksum, via`, with its dependents.
fn held_package(r: &Row, dependents: Arc<str>) -> HeldPackage {
    HeldPackage {
        name: r.get(1),
        version: r.get(2),
        source: r.get(3),
        checksum: r.get(4),
        via: r.get(5),
        dependents,
    }
}
