//! The PostgreSQL schema, one migration per version.

use crate::state::rows::digest_sql;

/// The migrations, in order: index + 1 is the version each brings the schema to.
pub(super) fn migrations() -> [String; 3] {
    [V1.to_string(), v2(), V3.to_string()]
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
/// rows. Existing runs are migrated in place, in one transaction with the others (a failure
/// leaves version 1 as it was): each row's digest computed once into a temporary table
/// (no WAL), one representative per digest, the narrow rows by a hash join on the digest, and
/// the indexes built after the rows (10,350,000 rows of 10,000 lockfiles: about a minute).
pub(super) fn v2() -> String {
    let digest = digest_sql("o");
    format!(
        "
    SET LOCAL work_mem = '256MB';
    SET LOCAL maintenance_work_mem = '512MB';
    ALTER TABLE run_packages RENAME TO run_packages_v1;
    ALTER INDEX IF EXISTS run_packages_pkey RENAME TO run_packages_v1_pkey;
    DROP INDEX IF EXISTS run_packages_by_name;
    CREATE TEMPORARY TABLE migrated_digests ON COMMIT DROP AS
    SELECT o.run_id, o.position, o.name, {digest} AS d FROM run_packages_v1 o;
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
    SELECT g.d, o.name, o.version, o.source, o.checksum, o.via, o.dependents
    FROM (SELECT d, MIN(run_id * 4294967296 + position) AS k FROM migrated_digests GROUP BY d) g
    JOIN run_packages_v1 o ON o.run_id = g.k / 4294967296 AND o.position = g.k % 4294967296
    ORDER BY g.d;
    CREATE TABLE run_packages (
        run_id BIGINT NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        row_id BIGINT NOT NULL
    );
    INSERT INTO run_packages (run_id, position, name, row_id)
    SELECT m.run_id, m.position, m.name, pr.id
    FROM migrated_digests m JOIN package_rows pr ON pr.digest = m.d;
    ALTER TABLE run_packages ADD PRIMARY KEY (run_id, position);
    DROP TABLE run_packages_v1;
    CREATE INDEX run_packages_by_name ON run_packages (name, run_id) INCLUDE (position, row_id);
"
    )
}

/// Version 3, for `respond`: the distinct rows of a name with their versions, from an index
/// (judged before any run is read), and the newest record of each repository and branch
/// carrying who and when itself (commit, time, command, verdict, package count), so that the
/// runs holding a crate are read from two narrow tables, whatever the history behind them.
const V3: &str = "
    CREATE INDEX package_rows_by_name ON package_rows (name) INCLUDE (id, version);
    ALTER TABLE latest_runs ADD COLUMN commit_id TEXT,
        ADD COLUMN recorded_at TEXT NOT NULL DEFAULT '',
        ADD COLUMN command TEXT NOT NULL DEFAULT '',
        ADD COLUMN passed BOOLEAN NOT NULL DEFAULT FALSE,
        ADD COLUMN package_count BIGINT NOT NULL DEFAULT 0;
    UPDATE latest_runs l SET commit_id = r.commit_id, recorded_at = r.recorded_at,
        command = r.command, passed = r.passed, package_count = r.package_count
    FROM runs r WHERE r.id = l.run_id;
    ANALYZE package_rows, run_packages, latest_runs;
";
