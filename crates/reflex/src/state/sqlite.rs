//! The embedded SQLite store. Concurrent processes share the file safely: WAL journal, a busy
//! timeout, single-statement upserts, and `BEGIN IMMEDIATE` transactions for recorded runs.

use super::{
    Destination, DrillRecord, Holding, InventoryPackage, InventoryRecord, StateStore, TimeRange,
    failed, micros,
};
use crate::error::{Error, Result};
use rusqlite::params;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod holding;
mod migrations;

/// Stores `package` as the `position`th (from 1) of run `run`, its row once.
pub(super) fn insert_package(
    tx: &rusqlite::Transaction<'_>,
    run: i64,
    position: i64,
    p: &InventoryPackage,
) -> rusqlite::Result<()> {
    let digest = super::rows::digest(p);
    let row: i64 = tx
        .prepare_cached(
            "INSERT INTO package_rows (digest, name, version, source, checksum, via, dependents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (digest) DO UPDATE SET digest = excluded.digest RETURNING id",
        )?
        .query_row(
            params![
                digest,
                p.name,
                p.version,
                p.source,
                p.checksum,
                p.via.join("\n"),
                p.dependents.join("\n"),
            ],
            |r| r.get(0),
        )?;
    tx.prepare_cached("INSERT INTO run_packages VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![run, position, p.name, row])?;
    Ok(())
}

/// The columns of `runs` that [`run_from_row`] reads, in order.
pub(super) const RUN_COLUMNS: &str = "r.id, r.repository, r.branch, r.commit_id, r.recorded_at, \
     r.command, r.passed, r.deny_level, r.total, r.critical, r.high, r.medium, r.low, r.info, \
     r.denied, r.codes, r.details, r.package_count, r.tool_version";

/// The columns of `latest_runs` (`l`) that [`holding_run_from_row`] reads: who and when,
/// carried by the newest-record table itself, without the counts and details of `runs`.
pub(super) const HOLDING_RUN_COLUMNS: &str = "l.run_id, l.repository, l.branch, l.commit_id, l.recorded_at, l.command, l.passed, l.package_count";

/// The columns of `run_packages` that [`package_from_row`] reads, in order.
/// (`p` a `run_packages` row, `d` its `package_rows` row.)
pub(super) const PACKAGE_COLUMNS: &str =
    "p.run_id, d.name, d.version, d.source, d.checksum, d.via, d.dependents";

pub struct SqliteStore {
    conn: Mutex<rusqlite::Connection>,
    path: PathBuf,
    /// What opening it did ([`StateStore::opened`]).
    opened: Option<String>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let location = path.display().to_string();
        let fail = |what: &str, e: rusqlite::Error| failed(what, &location, e);
        if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let mut conn =
            rusqlite::Connection::open(path).map_err(|e| fail("opening the state store", e))?;
        conn.busy_timeout(migrations::BUSY)
            .map_err(|e| fail("configuring the state store", e))?;
        // Switching a new file to WAL takes its lock without the busy handler: many processes
        // opening one new store at once retry here (within the same bound).
        let started = std::time::Instant::now();
        loop {
            let done = conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            );
            match done {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && started.elapsed() < migrations::BUSY =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(fail("configuring the state store", e)),
            }
        }
        let opened = migrations::migrate(&mut conn, &location)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            opened,
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) -> Error {
        failed(what, &self.location(), e)
    }
}

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InventoryRecord> {
    let codes: String = r.get(15)?;
    let details: String = r.get(16)?;
    Ok(InventoryRecord {
        id: Some(r.get(0)?),
        repository: r.get(1)?,
        branch: r.get(2)?,
        commit: r.get(3)?,
        recorded_at: r.get(4)?,
        command: r.get(5)?,
        passed: r.get(6)?,
        deny_level: r.get(7)?,
        counts: super::FindingCounts {
            total: r.get(8)?,
            critical: r.get(9)?,
            high: r.get(10)?,
            medium: r.get(11)?,
            low: r.get(12)?,
            info: r.get(13)?,
            denied: r.get(14)?,
        },
        codes: serde_json::from_str(&codes).unwrap_or_default(),
        details: serde_json::from_str(&details).unwrap_or_default(),
        package_count: r.get(17)?,
        packages: Vec::new(),
        tool_version: r.get(18)?,
    })
}

pub(super) fn holding_run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<InventoryRecord> {
    Ok(InventoryRecord {
        id: Some(r.get(0)?),
        repository: r.get(1)?,
        branch: r.get(2)?,
        commit: r.get(3)?,
        recorded_at: r.get(4)?,
        command: r.get(5)?,
        passed: r.get(6)?,
        package_count: r.get(7)?,
        ..Default::default()
    })
}

pub(super) fn package_from_row(
    r: &rusqlite::Row<'_>,
    at: usize,
) -> rusqlite::Result<(i64, InventoryPackage)> {
    let lines = |s: String| -> Vec<String> {
        s.split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    Ok((
        r.get(at)?,
        InventoryPackage {
            name: r.get(at + 1)?,
            version: r.get(at + 2)?,
            source: r.get(at + 3)?,
            checksum: r.get(at + 4)?,
            via: lines(r.get(at + 5)?),
            dependents: lines(r.get(at + 6)?),
        },
    ))
}

impl SqliteStore {
    /// Runs `sql` (selecting [`RUN_COLUMNS`]) and fills in their packages when asked.
    fn select_runs(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
        with_packages: bool,
    ) -> Result<Vec<InventoryRecord>> {
        let conn = self.conn();
        let fail = |e| self.fail("reading recorded runs", e);
        let mut stmt = conn.prepare(sql).map_err(fail)?;
        let mut runs = stmt
            .query_map(args, run_from_row)
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        if with_packages {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {PACKAGE_COLUMNS} FROM run_packages p
                     JOIN package_rows d ON d.id = p.row_id WHERE p.run_id = ?1
                     ORDER BY p.position"
                ))
                .map_err(fail)?;
            for run in &mut runs {
                run.packages = stmt
                    .query_map([run.id], |r| package_from_row(r, 0).map(|(_, p)| p))
                    .map_err(fail)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map_err(fail)?;
            }
        }
        Ok(runs)
    }
}

impl StateStore for SqliteStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn opened(&self) -> Option<String> {
        self.opened.clone()
    }

    fn schema_version(&self) -> Result<i64> {
        self.conn()
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .map_err(|e| self.fail("reading the schema version", e))
    }

    fn first_sighting(
        &self,
        kind: &str,
        value: &str,
        krate: Option<&str>,
        now: &str,
    ) -> Result<bool> {
        // One statement: the sighting count it returns is this writer's own.
        let sightings: i64 = self
            .conn()
            .query_row(
                "INSERT INTO destinations (kind, value, first_seen, first_crate) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = sightings + 1
                 RETURNING sightings",
                params![kind, value, now, krate],
                |r| r.get(0),
            )
            .map_err(|e| self.fail("recording a destination", e))?;
        Ok(sightings == 1)
    }

    fn destinations(&self, range: &TimeRange) -> Result<Vec<Destination>> {
        let conn = self.conn();
        let fail = |e| self.fail("reading destinations", e);
        let mut stmt = conn
            .prepare("SELECT kind, value, first_seen, first_crate, sightings FROM destinations")
            .map_err(fail)?;
        let all = stmt
            .query_map([], |r| {
                Ok(Destination {
                    kind: r.get(0)?,
                    value: r.get(1)?,
                    first_seen: r.get(2)?,
                    first_crate: r.get(3)?,
                    sightings: r.get(4)?,
                })
            })
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        super::rows::in_range(all, range)
    }

    fn destination_count(&self) -> Result<i64> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM destinations", [], |r| r.get(0))
            .map_err(|e| self.fail("counting destinations", e))
    }

    fn record_drill(&self, rows: &[DrillRecord]) -> Result<()> {
        let mut conn = self.conn();
        let fail = |e| failed("recording the drill", &self.location(), e);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        for r in rows {
            tx.execute(
                "INSERT OR REPLACE INTO drills VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    r.started,
                    r.scenario,
                    r.passed,
                    r.gate,
                    r.sandbox,
                    r.monitor,
                    r.time_to_detect_ms,
                    r.time_to_remediate_s,
                ],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    fn drill_records(&self, range: &TimeRange) -> Result<Vec<DrillRecord>> {
        let conn = self.conn();
        let fail = |e| self.fail("reading drill history", e);
        let mut stmt = conn
            .prepare(
                "SELECT started, scenario, passed, gate, sandbox, monitor, time_to_detect_ms,
                        time_to_remediate_s FROM drills ORDER BY started, scenario",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DrillRecord {
                    started: r.get(0)?,
                    scenario: r.get(1)?,
                    passed: r.get(2)?,
                    gate: r.get(3)?,
                    sandbox: r.get(4)?,
                    monitor: r.get(5)?,
                    time_to_detect_ms: r.get(6)?,
                    time_to_remediate_s: r.get(7)?,
                })
            })
            .map_err(fail)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(fail)?;
        super::rows::drills_in_range(rows, range)
    }

    fn record_run(&self, run: &InventoryRecord) -> Result<i64> {
        let at = micros(&run.recorded_at)?;
        let mut conn = self.conn();
        let fail = |e| failed("recording the run", &self.location(), e);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        let c = &run.counts;
        let count = run.packages.len().max(run.package_count as usize) as i64;
        let id: i64 = tx
            .query_row(
                "INSERT INTO runs (repository, branch, commit_id, recorded_at, recorded_us, command,
                    passed, deny_level, total, critical, high, medium, low, info, denied, codes,
                    details, package_count, tool_version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                    ?17, ?18, ?19) RETURNING id",
                params![
                    run.repository,
                    run.branch,
                    run.commit,
                    run.recorded_at,
                    at,
                    run.command,
                    run.passed,
                    run.deny_level,
                    c.total,
                    c.critical,
                    c.high,
                    c.medium,
                    c.low,
                    c.info,
                    c.denied,
                    serde_json::to_string(&run.codes).unwrap_or_default(),
                    run.details.to_string(),
                    count,
                    run.tool_version,
                ],
                |r| r.get(0),
            )
            .map_err(fail)?;
        for (i, p) in run.packages.iter().enumerate() {
            insert_package(&tx, id, i as i64 + 1, p).map_err(fail)?;
        }
        tx.execute(
            "INSERT INTO latest_runs (repository, branch, run_id, recorded_us, commit_id,
                 recorded_at, command, passed, package_count)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (repository, branch) DO UPDATE SET run_id = excluded.run_id,
                 recorded_us = excluded.recorded_us, commit_id = excluded.commit_id,
                 recorded_at = excluded.recorded_at, command = excluded.command,
                 passed = excluded.passed, package_count = excluded.package_count
             WHERE excluded.recorded_us > latest_runs.recorded_us
                OR (excluded.recorded_us = latest_runs.recorded_us
                    AND excluded.run_id > latest_runs.run_id)",
            params![
                run.repository,
                run.branch,
                id,
                at,
                run.commit,
                run.recorded_at,
                run.command,
                run.passed,
                count,
            ],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        Ok(id)
    }

    fn runs(&self, range: &TimeRange, with_packages: bool) -> Result<Vec<InventoryRecord>> {
        let (from, to) = range.micros()?;
        self.select_runs(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE r.recorded_us >= ?1 AND r.recorded_us < ?2
                 ORDER BY r.recorded_us, r.id"
            ),
            &[&from, &to],
            with_packages,
        )
    }

    fn latest_runs(
        &self,
        since: Option<&str>,
        with_packages: bool,
    ) -> Result<Vec<InventoryRecord>> {
        let from = since.map_or(Ok(i64::MIN), micros)?;
        self.select_runs(
            &format!(
                "SELECT {RUN_COLUMNS} FROM latest_runs l JOIN runs r ON r.id = l.run_id
                 WHERE l.recorded_us >= ?1 ORDER BY r.repository, r.branch"
            ),
            &[&from],
            with_packages,
        )
    }

    fn latest_holding(
        &self,
        name: &str,
        since: Option<&str>,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<Holding> {
        let from = since.map_or(Ok(i64::MIN), micros)?;
        let mut conn = self.conn();
        holding::latest_holding(&mut conn, name, from, keep)
            .map_err(|e| self.fail("reading recorded runs", e))
    }
}
