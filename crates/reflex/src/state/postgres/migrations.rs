//! The PostgreSQL schema, one migration per version.

use crate::state::rows::digest_sql;

/// The migrations, in order: index + 1 is the version each brings the schema to.
pub(super) fn migrations() -> [String; 2] {
    [V1.to_string(), v2()]
}

/// Version 1: the tables, each run's packages in full in `run_packages`.
const V1: &str = "
    CREATE TABLE destinations (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        first_crate TEXT,
        sightings BIGINT NOT NULL DEFAULT 1,
        PRIMARY KEY (kind, value)
    );
    CREATE TABLE drills (
        started TEXT NOT NULL,
        scenario TEXT NOT NULL,
        passed BOOLEAN NOT NULL,
        gate TEXT NOT NULL,
        sandbox TEXT NOT NULL,
        monitor TEXT NOT NULL,
        time_to_detect_ms DOUBLE PRECISION,
        time_to_remediate_s DOUBLE PRECISION,
        PRIMARY KEY (started, scenario)
    );
    CREATE TABLE runs (
        id BIGSERIAL PRIMARY KEY,
        repository TEXT NOT NULL,
        branch TEXT NOT NULL,
        commit_id TEXT,
        recorded_at TEXT NOT NULL,
        recorded_us BIGINT NOT NULL,
        command TEXT NOT NULL,
        passed BOOLEAN NOT NULL,
        deny_level TEXT,
        total BIGINT NOT NULL, critical BIGINT NOT NULL, high BIGINT NOT NULL,
        medium BIGINT NOT NULL, low BIGINT NOT NULL, info BIGINT NOT NULL,
        denied BIGINT NOT NULL,
        codes TEXT NOT NULL,
        details TEXT NOT NULL,
        package_count BIGINT NOT NULL,
        tool_version TEXT NOT NULL
    );
    CREATE INDEX runs_by_time ON runs (recorded_us);
    CREATE TABLE run_packages (
        run_id BIGINT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT,
        checksum TEXT,
        via TEXT NOT NULL,
        dependents TEXT NOT NULL,
        PRIMARY KEY (run_id, position)
    );
    CREATE INDEX run_packages_by_name ON run_packages (name, run_id);
    CREATE TABLE latest_runs (
        repository TEXT NOT NULL,
        branch TEXT NOT NULL,
        run_id BIGINT NOT NULL,
        recorded_us BIGINT NOT NULL,
        PRIMARY KEY (repository, branch)
    );
";

/// Version 2: each distinct package row once (`package_rows`, content-addressed by
/// [`digest_sql`]), and `run_packages` narrow (run, position, name, row): runs that repeat a
/// lockfile share its rows, and `respond` reads narrow index entries, then the few distinct
/// rows. Existing runs are migrated in place.
pub(super) fn v2() -> String {
    let digest = digest_sql("o");
    format!(
        "
    ALTER TABLE run_packages RENAME TO run_packages_v1;
    ALTER TABLE run_packages_v1 DROP CONSTRAINT IF EXISTS run_packages_pkey;
    DROP INDEX IF EXISTS run_packages_by_name;
    CREATE TABLE package_rows (
        id BIGSERIAL PRIMARY KEY,
        digest BYTEA NOT NULL UNIQUE,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        source TEXT,
        checksum TEXT,
        via TEXT NOT NULL,
        dependents TEXT NOT NULL
    );
    INSERT INTO package_rows (digest, name, version, source, checksum, via, dependents)
    SELECT DISTINCT ON (d) d, name, version, source, checksum, via, dependents
    FROM (SELECT {digest} AS d, o.* FROM run_packages_v1 o) t ORDER BY d;
    CREATE TABLE run_packages (
        run_id BIGINT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        row_id BIGINT NOT NULL,
        PRIMARY KEY (run_id, position)
    );
    INSERT INTO run_packages (run_id, position, name, row_id)
    SELECT o.run_id, o.position, o.name, pr.id
    FROM run_packages_v1 o JOIN package_rows pr ON pr.digest = {digest};
    DROP TABLE run_packages_v1;
    CREATE INDEX run_packages_by_name ON run_packages (name, run_id) INCLUDE (position, row_id);
"
    )
}
