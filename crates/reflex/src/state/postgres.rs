//! The PostgreSQL store, for fleets of CI runners sharing one database. Blocking client
//! (`postgres`), TLS by `sslmode` through rustls and the platform's trust store (or the
//! certificates of `sslrootcert=FILE`, which we read ourselves: the driver does not), a small pool
//! of connections, and writes that are single upserts or one transaction each, so that many
//! runners recording at once never lose or double-count anything.

use super::rows::{digest, drills_in_range, in_range, lines};
use super::sqlite::{PACKAGE_COLUMNS, RUN_COLUMNS};
use super::{
    Destination, DrillRecord, FindingCounts, Holding, InventoryPackage, InventoryRecord,
    StateStore, TimeRange, failed, micros, redact,
};
use crate::error::Result;
use postgres::types::ToSql;
use postgres::{Client, Config, Row};
use std::sync::Mutex;

mod holding;
mod migrate;
mod migrations;
mod tls;

use migrations::migrations;
use tls::{take_root_cert, trusting};

/// Serialises migrations of writers that open the store at once (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x7265_666c_6578; // "reflex"

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 4;

pub struct PostgresStore {
    config: Config,
    /// `sslrootcert=FILE`: the PEM certificates to trust instead of the platform's store.
    root_cert: Option<std::path::PathBuf>,
    url: String,
    idle: Mutex<Vec<Client>>,
    /// What opening it did ([`StateStore::opened`]).
    opened: Option<String>,
}

impl PostgresStore {
    pub fn open(url: &str) -> Result<PostgresStore> {
        let shown = redact(url);
        let (url, root_cert) = take_root_cert(url);
        let mut config: Config = url
            .parse()
            .map_err(|e| failed("reading the state store URL", &shown, Chain(e)))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("cargo-reflex");
        }
        let mut store = PostgresStore {
            config,
            root_cert,
            url: shown,
            idle: Mutex::new(Vec::new()),
            opened: None,
        };
        store.opened = store.with(|c| migrate::migrate(c, &store.url))?;
        Ok(store)
    }

    fn connect(&self) -> Result<Client> {
        let fail = |e: &dyn std::fmt::Display| {
            failed("connecting to the state store", &self.url, e.to_string())
        };
        if self.config.get_ssl_mode() == postgres::config::SslMode::Disable {
            return self
                .config
                .connect(postgres::NoTls)
                .map_err(|e| fail(&Chain(e)));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let root = self.root_cert.clone();
        let make: tls::MakeConfig = std::sync::Arc::new(move || {
            match &root {
            Some(path) => trusting(path),
            None => <rustls::ClientConfig as rustls_platform_verifier::ConfigVerifierExt>::with_platform_verifier()
                .map_err(|e| e.to_string()),
        }
        });
        self.config
            .connect(tls::Lazy(make))
            .map_err(|e| fail(&Chain(e)))
    }

    /// Runs `f` on a pooled connection; a connection that broke is not returned to the pool.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => self.connect()?,
        };
        let out = f(&mut client);
        if !client.is_closed() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < POOL_SIZE {
                idle.push(client);
            }
        }
        out
    }

    fn fail(&self, what: &str, e: postgres::Error) -> crate::Error {
        failed(what, &self.url, Chain(e))
    }

    fn query(&self, what: &str, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.with(|c| c.query(sql, args).map_err(|e| self.fail(what, e)))
    }

    /// Runs `sql` (selecting [`RUN_COLUMNS`]) and fills in their packages when asked.
    fn select_runs(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
        with_packages: bool,
    ) -> Result<Vec<InventoryRecord>> {
        let what = "reading recorded runs";
        let mut runs: Vec<InventoryRecord> = self
            .query(what, sql, args)?
            .iter()
            .map(run_from_row)
            .collect();
        if with_packages && !runs.is_empty() {
            let ids: Vec<i64> = runs.iter().filter_map(|r| r.id).collect();
            let rows = self.query(
                what,
                &format!(
                    "SELECT {PACKAGE_COLUMNS} FROM run_packages p
                     JOIN package_rows d ON d.id = p.row_id WHERE p.run_id = ANY($1)
                     ORDER BY p.run_id, p.position"
                ),
                &[&ids],
            )?;
            let mut by_run: std::collections::HashMap<i64, Vec<InventoryPackage>> =
                Default::default();
            for r in &rows {
                let (id, p) = package_from_row(r, 0);
                by_run.entry(id).or_default().push(p);
            }
            for run in &mut runs {
                run.packages = run.id.and_then(|id| by_run.remove(&id)).unwrap_or_default();
            }
        }
        Ok(runs)
    }
}

/// The columns every run query starts with: `id, repository, branch, commit, recorded_at,
/// command, passed`.
fn run_head(r: &Row) -> InventoryRecord {
    InventoryRecord {
        id: Some(r.get(0)),
        repository: r.get(1),
        branch: r.get(2),
        commit: r.get(3),
        recorded_at: r.get(4),
        command: r.get(5),
        passed: r.get(6),
        ..Default::default()
    }
}

fn run_from_row(r: &Row) -> InventoryRecord {
    InventoryRecord {
        deny_level: r.get(7),
        counts: FindingCounts {
            total: r.get(8),
            critical: r.get(9),
            high: r.get(10),
            medium: r.get(11),
            low: r.get(12),
            info: r.get(13),
            denied: r.get(14),
        },
        codes: serde_json::from_str(r.get(15)).unwrap_or_default(),
        details: serde_json::from_str(r.get(16)).unwrap_or_default(),
        package_count: r.get(17),
        packages: Vec::new(),
        tool_version: r.get(18),
        ..run_head(r)
    }
}

fn package_from_row(r: &Row, at: usize) -> (i64, InventoryPackage) {
    (
        r.get(at),
        InventoryPackage {
            name: r.get(at + 1),
            version: r.get(at + 2),
            source: r.get(at + 3),
            checksum: r.get(at + 4),
            via: lines(r.get(at + 5)),
            dependents: lines(r.get(at + 6)),
        },
    )
}

impl StateStore for PostgresStore {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn opened(&self) -> Option<String> {
        self.opened.clone()
    }

    fn schema_version(&self) -> Result<i64> {
        let rows = self.query(
            "reading the schema version",
            "SELECT MAX(version) FROM schema_version",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    fn first_sighting(
        &self,
        kind: &str,
        value: &str,
        krate: Option<&str>,
        now: &str,
    ) -> Result<bool> {
        // One statement: the sighting count it returns is this writer's own.
        let rows = self.query(
            "recording a destination",
            "INSERT INTO destinations (kind, value, first_seen, first_crate) VALUES ($1, $2, $3, $4)
             ON CONFLICT (kind, value) DO UPDATE SET sightings = destinations.sightings + 1
             RETURNING sightings",
            &[&kind, &value, &now, &krate],
        )?;
        Ok(rows.first().is_some_and(|r| r.get::<_, i64>(0) == 1))
    }

    fn destinations(&self, range: &TimeRange) -> Result<Vec<Destination>> {
        let rows = self.query(
            "reading destinations",
            "SELECT kind, value, first_seen, first_crate, sightings FROM destinations",
            &[],
        )?;
        let all = rows
            .iter()
            .map(|r| Destination {
                kind: r.get(0),
                value: r.get(1),
                first_seen: r.get(2),
                first_crate: r.get(3),
                sightings: r.get(4),
            })
            .collect();
        in_range(all, range)
    }

    fn destination_count(&self) -> Result<i64> {
        let rows = self.query(
            "counting destinations",
            "SELECT COUNT(*) FROM destinations",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| r.get(0)))
    }

    fn record_drill(&self, rows: &[DrillRecord]) -> Result<()> {
        self.with(|c| {
            let fail = |e| self.fail("recording the drill", e);
            let mut tx = c.transaction().map_err(fail)?;
            for r in rows {
                tx.execute(
                    "INSERT INTO drills VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (started, scenario) DO UPDATE SET passed = excluded.passed,
                         gate = excluded.gate, sandbox = excluded.sandbox,
                         monitor = excluded.monitor,
                         time_to_detect_ms = excluded.time_to_detect_ms,
                         time_to_remediate_s = excluded.time_to_remediate_s",
                    &[
                        &r.started,
                        &r.scenario,
                        &r.passed,
                        &r.gate,
                        &r.sandbox,
                        &r.monitor,
                        &r.time_to_detect_ms,
                        &r.time_to_remediate_s,
                    ],
                )
                .map_err(fail)?;
            }
            tx.commit().map_err(fail)
        })
    }

    fn drill_records(&self, range: &TimeRange) -> Result<Vec<DrillRecord>> {
        let rows = self.query(
            "reading drill history",
            "SELECT started, scenario, passed, gate, sandbox, monitor, time_to_detect_ms,
                    time_to_remediate_s FROM drills ORDER BY started, scenario",
            &[],
        )?;
        let all = rows
            .iter()
            .map(|r| DrillRecord {
                started: r.get(0),
                scenario: r.get(1),
                passed: r.get(2),
                gate: r.get(3),
                sandbox: r.get(4),
                monitor: r.get(5),
                time_to_detect_ms: r.get(6),
                time_to_remediate_s: r.get(7),
            })
            .collect();
        drills_in_range(all, range)
    }

    fn record_run(&self, run: &InventoryRecord) -> Result<i64> {
        let at = micros(&run.recorded_at)?;
        self.with(|c| record_run(c, run, at).map_err(|e| self.fail("recording the run", e)))
    }

    fn runs(&self, range: &TimeRange, with_packages: bool) -> Result<Vec<InventoryRecord>> {
        let (from, to) = range.micros()?;
        self.select_runs(
            &format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE r.recorded_us >= $1 AND r.recorded_us < $2
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
                 WHERE l.recorded_us >= $1 ORDER BY r.repository, r.branch"
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
        self.with(|c| {
            holding::latest_holding(c, name, from, keep)
                .map_err(|e| self.fail("reading recorded runs", e))
        })
    }
}

/// One transaction: the run, its packages (one statement, arrays unnested) and the newest
/// record of its repository and branch (an upsert that only moves forward in time).
fn record_run(
    c: &mut Client,
    run: &InventoryRecord,
    at: i64,
) -> std::result::Result<i64, postgres::Error> {
    let mut tx = c.transaction()?;
    let k = &run.counts;
    let codes = serde_json::to_string(&run.codes).unwrap_or_default();
    let details = run.details.to_string();
    let count = run.packages.len().max(run.package_count as usize) as i64;
    let id: i64 = tx
        .query_one(
            "INSERT INTO runs (repository, branch, commit_id, recorded_at, recorded_us, command,
                passed, deny_level, total, critical, high, medium, low, info, denied, codes,
                details, package_count, tool_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19) RETURNING id",
            &[
                &run.repository,
                &run.branch,
                &run.commit,
                &run.recorded_at,
                &at,
                &run.command,
                &run.passed,
                &run.deny_level,
                &k.total,
                &k.critical,
                &k.high,
                &k.medium,
                &k.low,
                &k.info,
                &k.denied,
                &codes,
                &details,
                &count,
                &run.tool_version,
            ],
        )?
        .get(0);
    if !run.packages.is_empty() {
        let rows = package_row_ids(&mut tx, &run.packages)?;
        let names: Vec<&str> = run.packages.iter().map(|p| p.name.as_str()).collect();
        tx.execute(
            "INSERT INTO run_packages (run_id, position, name, row_id)
             SELECT $1, t.ord::INTEGER, t.name, t.row_id
             FROM unnest($2::TEXT[], $3::BIGINT[]) WITH ORDINALITY AS t(name, row_id, ord)",
            &[&id, &names, &rows],
        )?;
    }
    tx.execute(
        "INSERT INTO latest_runs (repository, branch, run_id, recorded_us, commit_id,
             recorded_at, command, passed, package_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (repository, branch) DO UPDATE SET run_id = excluded.run_id,
             recorded_us = excluded.recorded_us, commit_id = excluded.commit_id,
             recorded_at = excluded.recorded_at, command = excluded.command,
             passed = excluded.passed, package_count = excluded.package_count
         WHERE excluded.recorded_us > latest_runs.recorded_us
            OR (excluded.recorded_us = latest_runs.recorded_us
                AND excluded.run_id > latest_runs.run_id)",
        &[
            &run.repository,
            &run.branch,
            &id,
            &at,
            &run.commit,
            &run.recorded_at,
            &run.command,
            &run.passed,
            &count,
        ],
    )?;
    tx.commit()?;
    Ok(id)
}

/// The `package_rows` id of each package, in order, storing the rows not stored yet. A
/// lockfile recorded before costs one lookup of its digests; new rows are inserted once each,
/// in digest order (writers adding the same rows at once wait for each other in one order:
/// no deadlock). Rows are never changed nor removed, so an id read is an id kept.
fn package_row_ids(
    tx: &mut postgres::Transaction<'_>,
    ps: &[InventoryPackage],
) -> std::result::Result<Vec<i64>, postgres::Error> {
    use std::collections::{BTreeMap, HashMap};
    let digests: Vec<Vec<u8>> = ps.iter().map(digest).collect();
    let lookup = "SELECT digest, id FROM package_rows WHERE digest = ANY($1)";
    let mut ids: HashMap<Vec<u8>, i64> = tx
        .query(lookup, &[&digests])?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let missing: BTreeMap<&[u8], &InventoryPackage> = digests
        .iter()
        .zip(ps)
        .filter(|(d, _)| !ids.contains_key(*d))
        .map(|(d, p)| (d.as_slice(), p))
        .collect();
    if !missing.is_empty() {
        let keys: Vec<&[u8]> = missing.keys().copied().collect();
        let col = |f: fn(&InventoryPackage) -> Option<String>| -> Vec<Option<String>> {
            missing.values().map(|p| f(p)).collect()
        };
        let inserted = tx.query(
            "INSERT INTO package_rows (digest, name, version, source, checksum, via, dependents)
             SELECT * FROM unnest($1::BYTEA[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[],
                  $6::TEXT[], $7::TEXT[])
             ON CONFLICT (digest) DO NOTHING RETURNING digest, id",
            &[
                &keys,
                &col(|p| Some(p.name.clone())),
                &col(|p| Some(p.version.clone())),
                &col(|p| p.source.clone()),
                &col(|p| p.checksum.clone()),
                &col(|p| Some(p.via.join("\n"))),
                &col(|p| Some(p.dependents.join("\n"))),
            ],
        )?;
        ids.extend(inserted.iter().map(|r| (r.get(0), r.get(1))));
        // Rows another writer stored meanwhile.
        let raced: Vec<&[u8]> = keys.into_iter().filter(|k| !ids.contains_key(*k)).collect();
        if !raced.is_empty() {
            let rows = tx.query(lookup, &[&raced])?;
            ids.extend(rows.iter().map(|r| (r.get(0), r.get(1))));
        }
    }
    Ok(digests.iter().map(|d| ids[d]).collect())
}

/// An error with its causes (`error connecting to server: Connection refused (os error 111)`).
struct Chain(postgres::Error);

impl std::fmt::Display for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut cause = std::error::Error::source(&self.0);
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.contains(&more) {
                text = format!("{text}: {more}");
            }
            cause = c.source();
        }
        f.write_str(&text)
    }
}
