//! The SQLite schema, one migration per version, each in its own `BEGIN IMMEDIATE`
//! transaction: a migration that fails (a full disk, a killed process) leaves the store as it
//! was, at the previous version, and the next opening starts that migration again.

use crate::error::Result;
use crate::state::rows::digest_fields;
use crate::state::{SCHEMA_VERSION, failed, gave_up, migration_wait, seconds, too_new};
use rusqlite::params;

/// Version 1: the tables, each run's packages in full in `run_packages`. It adopts the tables
/// of stores written before versions were recorded.
const V1: &str = "
    CREATE TABLE IF NOT EXISTS destinations (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_crate TEXT,
        sightings INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (kind, value)
    );
    CREATE TABLE IF NOT EXISTS drills (
        started TEXT NOT NULL,
        scenario TEXT NOT NULL,
        passed INTEGER NOT NULL,
        gate TEXT NOT NULL,
        sandbox TEXT NOT NULL,
        monitor TEXT NOT NULL,
        time_to_detect_ms REAL,
        time_to_remediate_s REAL,
        PRIMARY KEY (started, scenario)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        repository TEXT NOT NULL,
        branch TEXT NOT NULL,
        commit_id TEXT,
        recorded_at TEXT NOT NULL,
        recorded_us INTEGER NOT NULL,
        command TEXT NOT NULL,
        passed INTEGER NOT NULL,
        deny_level TEXT,
        total INTEGER NOT NULL, critical INTEGER NOT NULL, high INTEGER NOT NULL,
        medium INTEGER NOT NULL, low INTEGER NOT NULL, info INTEGER NOT NULL,
        denied INTEGER NOT NULL,
        codes TEXT NOT NULL,
        details TEXT NOT NULL,
        package_count INTEGER NOT NULL,
        tool_version TEXT NOT NULL
    );
    CREATE INDEX runs_by_time ON runs (recorded_us);
    CREATE TABLE run_packages (
        run_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT,
        checksum TEXT,
        via TEXT NOT NULL,
        dependents TEXT NOT NULL
    );
    CREATE INDEX run_packages_by_name ON run_packages (name, run_id);
    CREATE INDEX run_packages_by_run ON run_packages (run_id);
    CREATE TABLE latest_runs (
        repository TEXT NOT NULL,
        branch TEXT NOT NULL,
        run_id INTEGER NOT NULL,
        recorded_us INTEGER NOT NULL,
        PRIMARY KEY (repository, branch)
    );
";

/// Version 2: each distinct package row once (`package_rows`, content-addressed by
/// [`crate::state::rows::digest`]), and `run_packages` narrow (run, position, name, row): runs
/// that repeat a lockfile share its rows, and `respond` reads narrow index entries, then the
/// few distinct rows. Existing runs are migrated in place, in one pass over their rows in
/// order; a row already stored is found by its digest in memory, not in the table.
fn migrate_v2(tx: &rusqlite::Connection) -> rusqlite::Result<()> {
    tx.execute_batch(
        "ALTER TABLE run_packages RENAME TO run_packages_v1;
         CREATE TABLE package_rows (
             id INTEGER PRIMARY KEY,
             digest BLOB NOT NULL UNIQUE,
             name TEXT NOT NULL,
             version TEXT NOT NULL,
             source TEXT,
             checksum TEXT,
             via TEXT NOT NULL,
             dependents TEXT NOT NULL
         );
         CREATE TABLE run_packages (
             run_id INTEGER NOT NULL,
             position INTEGER NOT NULL,
             name TEXT NOT NULL,
             row_id INTEGER NOT NULL,
             PRIMARY KEY (run_id, position)
         ) WITHOUT ROWID;",
    )?;
    // A large page cache for the pass (random inserts into the digest index), the default after.
    tx.execute_batch("PRAGMA cache_size = -262144")?;
    // Digest -> row id of the rows stored so far (bounded: past it, the table answers).
    const KNOWN: usize = 1 << 21;
    let mut known: std::collections::HashMap<Vec<u8>, i64> = Default::default();
    let mut read = tx.prepare(
        "SELECT run_id, name, version, source, checksum, via, dependents
         FROM run_packages_v1 ORDER BY run_id, rowid",
    )?;
    let mut store = tx.prepare(
        "INSERT INTO package_rows (digest, name, version, source, checksum, via, dependents)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (digest) DO UPDATE SET digest = excluded.digest RETURNING id",
    )?;
    let mut entry = tx.prepare("INSERT INTO run_packages VALUES (?1, ?2, ?3, ?4)")?;
    let mut rows = read.query([])?;
    let (mut run, mut position) = (i64::MIN, 0i64);
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let fields: [Option<&str>; 6] = [
            Some(r.get_ref(1)?.as_str()?),
            Some(r.get_ref(2)?.as_str()?),
            r.get_ref(3)?.as_str_or_null()?,
            r.get_ref(4)?.as_str_or_null()?,
            Some(r.get_ref(5)?.as_str()?),
            Some(r.get_ref(6)?.as_str()?),
        ];
        let digest = digest_fields(fields);
        let row = match known.get(&digest) {
            Some(row) => *row,
            None => {
                let [name, version, source, checksum, via, deps] = fields;
                let row: i64 = store.query_row(
                    params![digest, name, version, source, checksum, via, deps],
                    |r| r.get(0),
                )?;
                if known.len() >= KNOWN {
                    known.clear();
                }
                known.insert(digest, row);
                row
            }
        };
        if id != run {
            (run, position) = (id, 0);
        }
        position += 1;
        entry.execute(params![id, position, fields[0], row])?;
    }
    drop(rows);
    tx.execute_batch(
        "DROP TABLE run_packages_v1;
         CREATE INDEX run_packages_by_name ON run_packages (name, run_id, row_id);
         PRAGMA cache_size = -2000;",
    )
}

/// Version 3, for `respond`: the distinct rows of a name with their versions, from an index
/// (judged before any run is read), and the newest record of each repository and branch
/// carrying who and when itself (commit, time, command, verdict, package count).
const V3: &str = "
    CREATE INDEX package_rows_by_name ON package_rows (name, version);
    ALTER TABLE latest_runs ADD COLUMN commit_id TEXT;
    ALTER TABLE latest_runs ADD COLUMN recorded_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE latest_runs ADD COLUMN command TEXT NOT NULL DEFAULT '';
    ALTER TABLE latest_runs ADD COLUMN passed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE latest_runs ADD COLUMN package_count INTEGER NOT NULL DEFAULT 0;
    UPDATE latest_runs SET (commit_id, recorded_at, command, passed, package_count) =
        (SELECT r.commit_id, r.recorded_at, r.command, r.passed, r.package_count
         FROM runs r WHERE r.id = latest_runs.run_id);
";

/// Brings the schema to [`SCHEMA_VERSION`], one migration per transaction, and says what it
/// did (`None` when the schema was current or the store new). A current schema is read
/// without taking the write lock. Writers that open the file at once wait for each other
/// (`BEGIN IMMEDIATE`), a migrating one at most [`migration_wait`]. A migration that rewrote
/// tables leaves their old pages free: when they are more than a tenth of the file, `VACUUM`
/// gives them back (it needs room for a copy of what is kept; when it fails, the store is
/// migrated all the same and the message says why the file kept its size).
pub(super) fn migrate(conn: &mut rusqlite::Connection, location: &str) -> Result<Option<String>> {
    let fail = |e: rusqlite::Error| failed("migrating the state store", location, e);
    let current = |conn: &rusqlite::Connection| -> Option<i64> {
        conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .ok()
            .flatten()
    };
    match current(conn) {
        Some(v) if v == SCHEMA_VERSION => return Ok(None),
        Some(v) if v > SCHEMA_VERSION => return Err(too_new(location, v)),
        _ => {}
    }
    let started = std::time::Instant::now();
    let wait = migration_wait();
    conn.busy_timeout(wait).map_err(fail)?;
    let migrated = steps(conn, location, wait);
    conn.busy_timeout(BUSY).map_err(fail)?;
    let from = migrated?;
    if from == 0 || from == SCHEMA_VERSION {
        return Ok(None);
    }
    let took = seconds(started.elapsed());
    let reclaimed = reclaim(conn);
    Ok(Some(format!(
        "migrated the state store ({location}) from schema version {from} to {SCHEMA_VERSION} \
         in {took}{reclaimed}"
    )))
}

/// The migrations still to do, each in its own `BEGIN IMMEDIATE` transaction (waited for at
/// most `wait`): the version found first.
fn steps(conn: &rusqlite::Connection, location: &str, wait: std::time::Duration) -> Result<i64> {
    let fail = |e: rusqlite::Error| failed("migrating the state store", location, e);
    let mut from = None;
    loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {}
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
                let holder = match conn
                    .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                    .ok()
                    .flatten()
                {
                    Some(v) => format!("another process writing the file, at schema version {v}"),
                    None => "another process creating the file's tables".into(),
                };
                return Err(gave_up(location, wait, &holder));
            }
            Err(e) => return Err(fail(e)),
        }
        let step = step(conn);
        let end = match step {
            Ok(v) if v < SCHEMA_VERSION => "COMMIT",
            _ => "ROLLBACK",
        };
        let ended = conn.execute_batch(end);
        let version = step.map_err(fail)?;
        ended.map_err(fail)?;
        let from = *from.get_or_insert(version);
        if version > SCHEMA_VERSION {
            return Err(too_new(location, version));
        }
        if version == SCHEMA_VERSION {
            return Ok(from);
        }
    }
}

/// In a transaction: the version found, migrated one step further when below
/// [`SCHEMA_VERSION`].
fn step(conn: &rusqlite::Connection) -> rusqlite::Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?
        .unwrap_or(0);
    if version >= SCHEMA_VERSION {
        return Ok(version);
    }
    match version {
        0 => conn.execute_batch(V1),
        1 => migrate_v2(conn),
        _ => conn.execute_batch(V3),
    }?;
    conn.execute("INSERT INTO schema_version VALUES (?1)", [version + 1])?;
    Ok(version)
}

/// The busy timeout of ordinary writes (another writer's transaction is short).
pub(super) const BUSY: std::time::Duration = std::time::Duration::from_secs(60);

/// Gives back the pages a migration freed when they are more than a tenth of the file
/// (`VACUUM`, then the write-ahead log truncated): `; VACUUM gave back ...` for the message.
fn reclaim(conn: &rusqlite::Connection) -> String {
    let pragma = |name: &str| -> i64 {
        conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
            .unwrap_or(0)
    };
    let (pages, free, size) = (
        pragma("page_count"),
        pragma("freelist_count"),
        pragma("page_size"),
    );
    if free * 10 <= pages {
        return String::new();
    }
    let mib = |pages: i64| format!("{:.0} MiB", (pages * size) as f64 / f64::from(1 << 20));
    let started = std::time::Instant::now();
    match conn
        .execute_batch("VACUUM")
        .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
    {
        Ok(()) => format!(
            "; VACUUM gave back the {} it left free ({} -> {}, {})",
            mib(free),
            mib(pages),
            mib(pragma("page_count")),
            seconds(started.elapsed())
        ),
        Err(e) => format!(
            "; the {} it left free stay in the file ({} in all): VACUUM failed ({e}); \
             `sqlite3 FILE VACUUM` gives them back",
            mib(free),
            mib(pages)
        ),
    }
}
