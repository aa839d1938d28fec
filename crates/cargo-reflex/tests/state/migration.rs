//! Migrations seen from outside: a runner waiting for another's migration gives up after a
//! bounded time and says what it waited for; a killed migration stops on the server at once;
//! the message of a migration, and on SQLite the space it gives back.

use crate::backend::{Backend, Kind};
use crate::common::{json, run_with};
use crate::inventory::version_1_store;
use std::time::{Duration, Instant};

/// `pg_advisory_xact_lock`'s key for migrations (`reflex::state`'s `MIGRATION_LOCK`, "reflex").
const MIGRATION_LOCK: i64 = 0x7265_666c_6578;

fn respond(b: &Backend, wait: &str) -> crate::common::Run {
    run_with(
        b.dir.path(),
        &["respond", "itoa", "--state", &b.url, "--format", "json"],
        &[("CARGO_REFLEX_STATE_WAIT", wait)],
        None,
    )
}

/// Another process holds the migration lock of a new store for longer than
/// `CARGO_REFLEX_STATE_WAIT`: cargo-reflex gives up after that long (exit 2), naming what it
/// waited for; once the lock is released, the same command creates the store.
pub fn waiting_for_a_migration_is_bounded(b: &Backend) {
    // The holder: a PostgreSQL session with the migration lock, or a SQLite connection in a
    // write transaction on the new file (as a migrating cargo-reflex would be).
    let mut pg = None;
    let mut lite = None;
    let holder = match b.kind {
        Kind::Postgres => {
            let mut c = postgres::Client::connect(&b.url, postgres::NoTls).unwrap();
            c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
                .unwrap();
            let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
            pg = Some(c);
            format!("server process {pid}")
        }
        Kind::Sqlite => {
            let c = rusqlite::Connection::open(&b.url).unwrap();
            c.execute_batch("PRAGMA journal_mode = WAL; BEGIN IMMEDIATE;")
                .unwrap();
            lite = Some(c);
            "another process creating the file's tables".into()
        }
    };
    let started = Instant::now();
    let r = respond(b, "1");
    let took = started.elapsed();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("gave up after 1.0 s waiting for another process's migration")
            && r.stderr.contains(&holder)
            && r.stderr.contains("CARGO_REFLEX_STATE_WAIT"),
        "{}",
        r.stderr
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(30),
        "{took:?}"
    );
    drop(pg);
    if let Some(c) = lite {
        c.execute_batch("ROLLBACK").unwrap();
    }
    let r = respond(b, "1");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["lockfiles_scanned"], 0);
}

/// A store of schema version 1 with `n` more package entries of run 1, all one package row
/// (as a fleet's repeated lockfiles): schema version 2 keeps that row once, and leaves the
/// pages of version 1's full rows free.
fn bigger_version_1_store(b: &Backend, n: usize) {
    version_1_store(b);
    let via = format!("'app 0.1.0\n{}pad 1.0.0'", "x".repeat(400));
    b.sql(&match b.kind {
        Kind::Postgres => format!(
            "INSERT INTO run_packages SELECT 1, 2 + i, 'pad', '1.0.0', NULL, NULL, {via}, ''
             FROM generate_series(1, {n}) i"
        ),
        Kind::Sqlite => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
             INSERT INTO run_packages SELECT 1, 'pad', '1.0.0', NULL, NULL, {via}, '' FROM s"
        ),
    });
}

/// The first opening after an upgrade says it migrated the store; on SQLite, the pages the
/// migration freed are given back (`VACUUM`) and the file shrinks.
pub fn migration_says_what_it_did(b: &Backend) {
    bigger_version_1_store(b, 3000);
    let size = || {
        let c = rusqlite::Connection::open(&b.url).unwrap();
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        std::fs::metadata(&b.url).unwrap().len()
    };
    let before = (b.kind == Kind::Sqlite).then(size);
    let r = respond(b, "60");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("migrated the state store (")
            && r.stderr.contains("from schema version 1 to 3 in "),
        "{}",
        r.stderr
    );
    assert_eq!(json(&r)["projects"].as_array().unwrap().len(), 2);
    if let Some(before) = before {
        let after = size();
        assert!(r.stderr.contains("; VACUUM gave back the "), "{}", r.stderr);
        assert!(after * 2 < before, "{before} -> {after} bytes");
        assert_eq!(b.count("PRAGMA freelist_count"), 0);
    }
    // Said once: the next opening finds the schema current.
    let r = respond(b, "60");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("migrated"), "{}", r.stderr);
}

/// The backend of a `cargo-reflex` migrating the store in `db`, waiting for a lock.
fn migrating_backend(admin: &mut postgres::Client, db: &str) -> Option<i32> {
    admin
        .query_opt(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1
             AND application_name = 'cargo-reflex' AND wait_event_type = 'Lock'",
            &[&db],
        )
        .unwrap()
        .map(|r| r.get(0))
}

/// A cargo-reflex killed while it migrates a PostgreSQL store does not leave the server
/// migrating: the server checks the client every second and rolls back. (The migration is
/// held up by a lock the test holds, so that without the check it would wait for as long as
/// the test, and the migration's own lock wait is longer than the test.)
pub fn a_killed_migration_stops_on_the_server(b: &Backend) {
    version_1_store(b);
    let db = b.url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let mut holder = postgres::Client::connect(&b.url, postgres::NoTls).unwrap();
    let mut lock = holder.transaction().unwrap();
    lock.batch_execute("LOCK TABLE run_packages IN ACCESS SHARE MODE")
        .unwrap();
    let cwd = b.dir.path();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", cwd.join("__home"))
        .env("CARGO_REFLEX_CACHE", cwd.join("__cache"))
        .env("CARGO_REFLEX_STATE_WAIT", "300")
        .args(["respond", "itoa", "--state", &b.url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut admin = postgres::Client::connect(&b.url, postgres::NoTls).unwrap();
    let started = Instant::now();
    let pid = loop {
        if let Some(pid) = migrating_backend(&mut admin, db) {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no migration waiting for the lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = Instant::now();
    let gone = |admin: &mut postgres::Client| {
        admin
            .query_opt("SELECT 1 FROM pg_stat_activity WHERE pid = $1", &[&pid])
            .unwrap()
            .is_none()
    };
    while !gone(&mut admin) {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "the killed cargo-reflex's backend {pid} still runs after {:?}",
            killed.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    lock.commit().unwrap();
    assert_eq!(b.count("SELECT MAX(version) FROM schema_version"), 1);
    let r = respond(b, "60");
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["projects"].as_array().unwrap().len(), 2);
}
