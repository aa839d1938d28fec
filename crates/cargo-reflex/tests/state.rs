//! The state store, the same suite against both backends: SQLite (always) and PostgreSQL
//! (when `REFLEX_TEST_POSTGRES_URL` names a server where the tests may create databases;
//! `scripts/postgres-for-tests.sh start` starts one). Without a server the PostgreSQL cases
//! are printed as skipped, never passed; `REFLEX_REQUIRE_POSTGRES=1` (CI) makes a skip a
//! failure.
//!
//! Its own harness (`harness = false`): it prints each case per backend, and re-runs itself
//! as the concurrent writer processes.
#![allow(clippy::print_stdout, clippy::print_stderr)]

#[path = "state/backend.rs"]
mod backend;
#[path = "state/cases.rs"]
mod cases;
mod common;
#[path = "state/inventory.rs"]
mod inventory;
#[path = "state/migration.rs"]
mod migration;
#[path = "state/respond.rs"]
mod respond;
#[path = "state/tls.rs"]
mod tls;

use backend::{Backend, Kind};

type Case = fn(&Backend);

const CASES: &[(&str, Case)] = &[
    ("first_sightings", cases::first_sightings),
    ("drill_runs", cases::drill_runs),
    ("inventory_round_trip", inventory::round_trip),
    (
        "respond_answers_from_the_newest_records",
        inventory::respond_from_records,
    ),
    (
        "respond_from_records_equals_the_walk",
        respond::respond_from_records_equals_the_walk,
    ),
    (
        "fifty_concurrent_writer_processes",
        cases::concurrent_writers,
    ),
    ("bad_state_exits_2", cases::bad_state),
    ("migrates_a_version_1_store", inventory::migrates_version_1),
    (
        "a_failed_migration_changes_nothing",
        inventory::failed_migration_changes_nothing,
    ),
    (
        "monitor_falls_back_to_the_local_store",
        cases::monitor_fallback,
    ),
    (
        "waiting_for_a_migration_is_bounded",
        migration::waiting_for_a_migration_is_bounded,
    ),
    (
        "a_migration_says_what_it_did",
        migration::migration_says_what_it_did,
    ),
];

/// Cases of PostgreSQL alone.
const POSTGRES_CASES: &[(&str, Case)] = &[
    ("sslmode_require_and_sslrootcert", tls::sslmode_require),
    (
        "a_killed_migration_stops_on_the_server",
        migration::a_killed_migration_stops_on_the_server,
    ),
];

fn main() {
    if let Ok(job) = std::env::var(cases::WRITER_ENV) {
        cases::writer(&job);
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let require_pg = std::env::var("REFLEX_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let (mut passed, mut failed, mut skipped) = (0, Vec::new(), 0);
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let only = match kind {
            Kind::Postgres => POSTGRES_CASES,
            Kind::Sqlite => &[],
        };
        for (name, case) in CASES.iter().chain(only) {
            let full = format!("{}::{name}", kind.name());
            if !filters.is_empty() && !filters.iter().any(|f| full.contains(f.as_str())) {
                continue;
            }
            let Some(backend) = Backend::fresh(kind) else {
                let why =
                    "skipped: REFLEX_TEST_POSTGRES_URL is not set (README: the PostgreSQL tests)";
                if require_pg {
                    println!("test {full} ... FAILED ({why}, and REFLEX_REQUIRE_POSTGRES=1)");
                    failed.push(full);
                } else {
                    println!("test {full} ... {why}");
                    skipped += 1;
                }
                continue;
            };
            let started = std::time::Instant::now();
            let outcome = std::panic::catch_unwind(|| case(&backend));
            let ms = started.elapsed().as_millis();
            match outcome {
                Ok(()) => {
                    println!("test {full} ... ok ({ms} ms)");
                    passed += 1;
                }
                Err(_) => {
                    println!("test {full} ... FAILED ({ms} ms)");
                    failed.push(full);
                }
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {skipped} skipped{}",
        if failed.is_empty() { "ok" } else { "FAILED" },
        failed.len(),
        if skipped > 0 {
            " (PostgreSQL cases: no server)"
        } else {
            ""
        }
    );
    if !failed.is_empty() {
        println!("failures: {}", failed.join(", "));
        std::process::exit(101);
    }
}
