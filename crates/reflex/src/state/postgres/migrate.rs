//! Opening a PostgreSQL store: the schema brought to [`SCHEMA_VERSION`] when it is not there.
//!
//! - Most openings find the schema current: one statement, without a transaction or a lock.
//! - Otherwise one transaction migrates it, holding an advisory lock so that runners opening
//!   a new database at once migrate it once. A runner waiting for another's migration (or for
//!   any lock the migration needs) gives up after [`migration_wait`], naming what it waited
//!   for (the lock's holder: its process id, application and since when).
//! - The migrating session asks the server to check every second that this process is still
//!   there (`client_connection_check_interval`, PostgreSQL 14 and later; older servers do not
//!   know it and are not asked): a killed cargo-reflex no longer leaves the server migrating
//!   for a minute, it rolls back at once.

use super::{Chain, MIGRATION_LOCK, migrations};
use crate::error::Result;
use crate::state::{SCHEMA_VERSION, failed, gave_up, migration_wait, seconds, too_new};
use postgres::Client;
use std::time::{Duration, Instant};

/// Only set when the server knows the setting (no error on older servers).
const CHECK_CLIENT: &str = "SELECT set_config(name, '1000', false) FROM pg_settings
    WHERE name = 'client_connection_check_interval'";

/// The holder of the migration lock, for the message of a runner that gave up waiting.
const HOLDER: &str = "SELECT a.pid, COALESCE(a.application_name, ''),
        COALESCE(to_char(a.xact_start, 'YYYY-MM-DD HH24:MI:SS TZ'), '')
    FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.classid::BIGINT * 4294967296 + l.objid::BIGINT = $1";

/// What the opening did, for people: `None` when the schema was current (or the store new).
pub(super) fn migrate(c: &mut Client, url: &str) -> Result<Option<String>> {
    let fail = |e: postgres::Error| failed("migrating the state store", url, Chain(e));
    if let Ok(row) = c.query_typed_one("SELECT MAX(version) FROM schema_version", &[]) {
        match row.get::<_, Option<i64>>(0) {
            Some(v) if v == SCHEMA_VERSION => return Ok(None),
            Some(v) if v > SCHEMA_VERSION => return Err(too_new(url, v)),
            _ => {}
        }
    }
    // Ignored where the platform has no such check (the server then refuses a value).
    let _ = c.batch_execute(CHECK_CLIENT);
    let wait = migration_wait();
    let started = Instant::now();
    let mut tx = c.transaction().map_err(fail)?;
    // Every lock of the migration is waited for at most `wait`: another runner's migration
    // (the advisory lock), and the tables' locks that readers hold meanwhile.
    tx.batch_execute(&format!(
        "SET LOCAL lock_timeout = {}",
        wait.as_millis().max(1)
    ))
    .map_err(fail)?;
    if let Err(e) = tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]) {
        drop(tx);
        return Err(match lock_timeout(&e) {
            true => gave_up(url, wait, &holder(c)),
            false => fail(e),
        });
    }
    let waited = started.elapsed();
    let result: std::result::Result<i64, postgres::Error> = (|| {
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")?;
        let version: i64 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
            .get(0);
        if version < SCHEMA_VERSION {
            for (i, sql) in migrations().iter().enumerate().skip(version as usize) {
                tx.batch_execute(sql)?;
                tx.execute("INSERT INTO schema_version VALUES ($1)", &[&(i as i64 + 1)])?;
            }
        }
        Ok(version)
    })();
    let version = match result {
        Ok(version) if version > SCHEMA_VERSION => return Err(too_new(url, version)),
        Ok(version) => version,
        Err(e) if lock_timeout(&e) => {
            return Err(failed(
                "migrating the state store",
                url,
                format!(
                    "gave up after {} waiting for a table lock another session holds \
                     (no change made; CARGO_REFLEX_STATE_WAIT=SECONDS waits longer): {}",
                    seconds(wait),
                    Chain(e)
                ),
            ));
        }
        Err(e) => return Err(fail(e)),
    };
    tx.commit().map_err(fail)?;
    Ok((1..SCHEMA_VERSION).contains(&version).then(|| {
        format!(
            "migrated the state store ({url}) from schema version {version} to \
             {SCHEMA_VERSION} in {}{}",
            seconds(started.elapsed() - waited),
            match waited >= Duration::from_secs(1) {
                true => format!(", after waiting {} for the lock", seconds(waited)),
                false => String::new(),
            }
        )
    }))
}

/// Whether `e` is a lock wait that `lock_timeout` ended.
fn lock_timeout(e: &postgres::Error) -> bool {
    e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
}

/// Who holds the migration lock (`process 4242 (cargo-reflex), migrating since ...`).
fn holder(c: &mut Client) -> String {
    match c.query_opt(HOLDER, &[&MIGRATION_LOCK]) {
        Ok(Some(r)) => {
            let (pid, app, since): (i32, String, String) = (r.get(0), r.get(1), r.get(2));
            let app = if app.is_empty() {
                app
            } else {
                format!(" ({app})")
            };
            let since = if since.is_empty() {
                since
            } else {
                format!(", its transaction started {since}")
            };
            format!("server process {pid}{app}{since}")
        }
        _ => "another session".into(),
    }
}
