//! State that outlives a run, behind one storage trait ([`StateStore`]) with two
//! implementations: an embedded SQLite file (the default: `state.sqlite` in cargo-reflex's
//! cache directory) and PostgreSQL (`--state postgres://...`, for fleets of ephemeral CI
//! runners that share one database).
//!
//! What is kept, as plain records (this layer knows nothing of checks, reports or monitors):
//! - first sightings of destinations ([`Destination`]): every domain and address a monitored
//!   build ever contacted, with when and by which crate it was first seen;
//! - drills ([`DrillRecord`], one row per scenario; [`DrillRun`] sums one drill);
//! - the inventory ([`InventoryRecord`]): one row per recorded `gate`/`audit`/`recon` run with
//!   its repository, branch, commit, time, verdict, finding counts and the locked graph.
//!
//! Both backends keep the same schema, created and upgraded by numbered migrations; the
//! version is recorded in the store (`schema_version`), and a store written by a newer
//! cargo-reflex is refused rather than misread. Every write is one statement or one
//! transaction with upserts: many writers (builds on one machine, runners of a fleet) never
//! lose or double-count a write.
//!
//! Times are RFC 3339 strings at this API; the stores also keep them as microseconds since
//! the epoch to filter and order by.

mod fallback;
mod postgres;
mod rows;
mod sqlite;

pub use fallback::Fallback;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The schema version this cargo-reflex writes and understands.
pub const SCHEMA_VERSION: i64 = 3;

/// The storage trait: every backend answers these, with the same meaning. Implementations
/// are safe to share between threads and between processes.
pub trait StateStore: Send + Sync {
    /// Where the store is, for people: a file path, or a PostgreSQL URL without its password.
    fn location(&self) -> String;

    /// The schema version recorded in the store.
    fn schema_version(&self) -> Result<i64>;

    /// What opening the store did that people should hear of: a migration of its schema (how
    /// long it took, and on SQLite the space given back after it); `None` otherwise.
    fn opened(&self) -> Option<String> {
        None
    }

    /// Records a sighting of a destination (`kind`: `domain` or `address`) at `now` (RFC 3339);
    /// `true` when it was never seen before, by any writer. Atomic: of many writers seeing a
    /// new destination at once, exactly one is told it is new.
    fn first_sighting(
        &self,
        kind: &str,
        value: &str,
        krate: Option<&str>,
        now: &str,
    ) -> Result<bool>;

    /// Every destination first seen in `range` (all of them with [`TimeRange::ALL`]), oldest
    /// first sighting first.
    fn destinations(&self, range: &TimeRange) -> Result<Vec<Destination>>;

    /// How many destinations were ever seen.
    fn destination_count(&self) -> Result<i64>;

    /// Records one drill: one row per scenario it played (recording it again replaces it).
    fn record_drill(&self, rows: &[DrillRecord]) -> Result<()>;

    /// The scenario rows of every drill started in `range`, oldest first.
    fn drill_records(&self, range: &TimeRange) -> Result<Vec<DrillRecord>>;

    /// Past drills, oldest first: one row per drill.
    fn drill_history(&self) -> Result<Vec<DrillRun>> {
        Ok(drill_runs(&self.drill_records(&TimeRange::ALL)?))
    }

    /// Records one run in the inventory (with its packages, in one transaction) and returns
    /// its id. It becomes its repository and branch's newest record unless a record with a
    /// later `recorded_at` is already there.
    fn record_run(&self, run: &InventoryRecord) -> Result<i64>;

    /// Every recorded run in `range`, oldest first; their packages only when
    /// `with_packages` (the counts are always there).
    fn runs(&self, range: &TimeRange, with_packages: bool) -> Result<Vec<InventoryRecord>>;

    /// The newest record of every (repository, branch), recorded at or after `since` when
    /// given, ordered by repository and branch; packages only when `with_packages`.
    fn latest_runs(&self, since: Option<&str>, with_packages: bool)
    -> Result<Vec<InventoryRecord>>;

    /// `respond`'s question: of the newest record of every (repository, branch) (at or after
    /// `since`), how many there are, and those holding a package named `name` whose version
    /// `keep` accepts (every version with `None`). `keep` is asked once per distinct package
    /// row of that name, before any run is read: a crate that no version matches costs no run
    /// at all. A fixed number of queries in one snapshot, whatever the size of the inventory;
    /// each distinct row is read once. The runs carry who and when (id, repository, branch,
    /// commit, recorded_at, command, passed, package_count), not their counts, codes or
    /// details.
    fn latest_holding(
        &self,
        name: &str,
        since: Option<&str>,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<Holding>;
}

/// A half-open time range `[from, to)` of RFC 3339 instants; `None` is unbounded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        from: None,
        to: None,
    };

    /// Everything at or after `from`.
    pub fn since(from: Option<&str>) -> TimeRange {
        TimeRange {
            from: from.map(str::to_string),
            to: None,
        }
    }

    /// The bounds as microseconds since the epoch (`i64::MIN`/`i64::MAX` when open).
    pub fn micros(&self) -> Result<(i64, i64)> {
        let bound = |t: &Option<String>, open| t.as_deref().map_or(Ok(open), micros);
        Ok((bound(&self.from, i64::MIN)?, bound(&self.to, i64::MAX)?))
    }
}

/// Microseconds since the epoch of an RFC 3339 time or a date (`2026-11-30`, midnight UTC).
pub fn micros(text: &str) -> Result<i64> {
    let ts = text
        .parse::<jiff::Timestamp>()
        .or_else(|_| {
            text.parse::<jiff::civil::Date>()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        })
        .map_err(|e| {
            Error::Usage(
                format!("`{text}` is not an RFC 3339 time or a date: {e}"),
                Some("for example 2026-11-30 or 2026-11-30T08:00:00Z".into()),
            )
        })?;
    Ok(ts.as_microsecond())
}

/// A destination as the store remembers it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Destination {
    /// `domain` or `address`.
    pub kind: String,
    pub value: String,
    /// When it was first seen (RFC 3339).
    pub first_seen: String,
    /// The crate that first contacted it, when known.
    pub first_crate: Option<String>,
    /// How many sightings were recorded, the first included.
    pub sightings: i64,
}

/// One past drill, summed over its scenarios.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DrillRun {
    pub started: String,
    pub scenarios: i64,
    pub passed: i64,
    pub blocked: i64,
    pub contained: i64,
    pub detected: i64,
    pub mean_time_to_detect_ms: Option<f64>,
    pub mean_time_to_remediate_s: Option<f64>,
    /// Scenarios that did not pass.
    pub failed: Vec<String>,
}

/// One scenario of one drill, as the state store keeps it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DrillRecord {
    /// When the drill started (RFC 3339): the drill's key.
    pub started: String,
    pub scenario: String,
    pub passed: bool,
    /// What each layer did: `blocked`, `contained`, `detected`, `missed`, `off` or `error`.
    pub gate: String,
    pub sandbox: String,
    pub monitor: String,
    pub time_to_detect_ms: Option<f64>,
    pub time_to_remediate_s: Option<f64>,
}

/// Sums scenario rows into one row per drill, oldest first.
pub fn drill_runs(rows: &[DrillRecord]) -> Vec<DrillRun> {
    let mut by_start: std::collections::BTreeMap<(i64, &str), Vec<&DrillRecord>> =
        Default::default();
    for r in rows {
        let at = micros(&r.started).unwrap_or(i64::MIN);
        by_start.entry((at, &r.started)).or_default().push(r);
    }
    let mean = |xs: Vec<f64>| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    by_start
        .into_iter()
        .map(|((_, started), rs)| {
            let count =
                |f: &dyn Fn(&DrillRecord) -> bool| rs.iter().filter(|r| f(r)).count() as i64;
            DrillRun {
                started: started.to_string(),
                scenarios: rs.len() as i64,
                passed: count(&|r| r.passed),
                blocked: count(&|r| r.gate == "blocked"),
                contained: count(&|r| r.sandbox == "contained"),
                detected: count(&|r| r.monitor == "detected"),
                mean_time_to_detect_ms: mean(
                    rs.iter().filter_map(|r| r.time_to_detect_ms).collect(),
                ),
                mean_time_to_remediate_s: mean(
                    rs.iter().filter_map(|r| r.time_to_remediate_s).collect(),
                ),
                failed: rs
                    .iter()
                    .filter(|r| !r.passed)
                    .map(|r| r.scenario.clone())
                    .collect(),
            }
        })
        .collect()
}

/// One recorded run of `gate`, `audit` or `recon` (`--record`): where it ran, what it judged
/// and the locked graph it judged. The inventory answers "who has it?" (`respond --state`)
/// and the organisation's figures (`survey`) from these.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct InventoryRecord {
    /// Assigned by the store when recorded; `None` before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// The repository: its remote URL without credentials (`https://github.com/o/r`), or a
    /// name given with `--repository`.
    pub repository: String,
    /// The branch (or `HEAD` when detached and unknown).
    pub branch: String,
    /// The commit id, when known.
    pub commit: Option<String>,
    /// When the run judged it (RFC 3339).
    pub recorded_at: String,
    /// `gate`, `audit` or `recon`.
    pub command: String,
    /// The verdict: no finding at or above the deny level.
    pub passed: bool,
    /// The deny level the verdict applied (`high`, ...), `None` when nothing is denied.
    pub deny_level: Option<String>,
    pub counts: FindingCounts,
    /// How many findings of each code (`advisory-vulnerable` -> 2): what survey counts.
    #[serde(default)]
    pub codes: std::collections::BTreeMap<String, i64>,
    /// Free-form figures of the run for survey, as JSON (recon's metrics, CI statistics,
    /// the policy applied); `null` when there are none.
    #[serde(default)]
    pub details: serde_json::Value,
    /// The number of packages of the locked graph (also when `packages` is not loaded).
    pub package_count: i64,
    /// The locked graph; empty when a query was asked without packages.
    #[serde(default)]
    pub packages: Vec<InventoryPackage>,
    /// The cargo-reflex version that recorded it.
    #[serde(default)]
    pub tool_version: String,
}

/// The finding counts of a run, by severity (after the policy and overrides).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FindingCounts {
    pub total: i64,
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub info: i64,
    /// Findings at or above the deny level (they fail the run).
    pub denied: i64,
}

/// One package of a recorded locked graph.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InventoryPackage {
    pub name: String,
    pub version: String,
    /// The lockfile's source (`registry+https://...`, `git+...`), `None` for workspace and
    /// path packages.
    pub source: Option<String>,
    pub checksum: Option<String>,
    /// The dependency path from a workspace member (`["app 0.1.0", "url 2.5.4"]`).
    pub via: Vec<String>,
    /// The packages that depend on it directly (`name version`).
    #[serde(default)]
    pub dependents: Vec<String>,
}

/// The answer of [`StateStore::latest_holding`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Holding {
    /// How many newest records there are (each a lockfile looked at).
    pub scanned: usize,
    /// The newest records holding a kept package, ordered by repository and branch, each with
    /// the ids of its kept package rows in lockfile order (keys of `rows`).
    pub runs: Vec<(InventoryRecord, Vec<i64>)>,
    /// The kept package rows those runs hold, by id: a row shared by many runs is here once.
    pub rows: std::collections::HashMap<i64, HeldPackage>,
}

impl Holding {
    /// The kept packages of the `i`th run, in lockfile order.
    pub fn packages(&self, i: usize) -> Vec<InventoryPackage> {
        self.runs.get(i).map_or_else(Vec::new, |(_, ids)| {
            ids.iter()
                .filter_map(|id| self.rows.get(id))
                .map(HeldPackage::package)
                .collect()
        })
    }
}

/// A package row as [`StateStore::latest_holding`] reads it: `via` and `dependents` as stored,
/// one `name version` a line ([`HeldPackage::lines`] splits them), so that rows are split
/// only when read, and compared or hashed as one string each. Rows of one crate mostly share
/// their list of dependents: rows read one after another with the same list share one copy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HeldPackage {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
    /// The dependency path from a workspace member, one package a line.
    pub via: String,
    /// The packages that depend on it directly, one a line.
    pub dependents: std::sync::Arc<str>,
}

impl HeldPackage {
    /// The lines of `via` or `dependents`.
    pub fn lines(joined: &str) -> impl Iterator<Item = &str> {
        joined.split('\n').filter(|l| !l.is_empty())
    }

    /// As an [`InventoryPackage`].
    pub fn package(&self) -> InventoryPackage {
        let owned = |s: &str| Self::lines(s).map(str::to_string).collect();
        InventoryPackage {
            name: self.name.clone(),
            version: self.version.clone(),
            source: self.source.clone(),
            checksum: self.checksum.clone(),
            via: owned(&self.via),
            dependents: owned(&self.dependents),
        }
    }
}

/// Where the state is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (libpq's keys: `sslmode`, `connect_timeout`,
    /// `application_name`, ...).
    Postgres(String),
}

impl Location {
    /// `postgres://...` / `postgresql://...` is PostgreSQL, `sqlite:PATH` or any other text a
    /// file path.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Location::Postgres(text.to_string())
        } else {
            let path = text.strip_prefix("sqlite:").unwrap_or(text);
            Location::Sqlite(PathBuf::from(path))
        }
    }

    /// `state.sqlite` in cargo-reflex's cache directory.
    pub fn default_local() -> Option<Location> {
        crate::knowledge::paths::state_file().map(Location::Sqlite)
    }

    /// The location given (`--state`/`CARGO_REFLEX_STATE`), else the default local file.
    pub fn or_default(given: Option<&str>) -> Result<Location> {
        match given.filter(|s| !s.is_empty()) {
            Some(s) => Ok(Location::parse(s)),
            None => Location::default_local().ok_or_else(|| {
                Error::Usage(
                    "no cache directory for the state store".into(),
                    Some("give --state FILE or --state postgres://...".into()),
                )
            }),
        }
    }

    /// For people: the path, or the URL without a password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Location::Sqlite(_))
    }
}

/// Opens (creating or upgrading its schema when needed) the store at `location`.
pub fn open(location: &Location) -> Result<Box<dyn StateStore>> {
    Ok(match location {
        Location::Sqlite(path) => Box::new(sqlite::SqliteStore::open(path)?),
        Location::Postgres(url) => Box::new(postgres::PostgresStore::open(url)?),
    })
}

/// Opens the SQLite store at `path`.
pub fn open_sqlite(path: &Path) -> Result<Box<dyn StateStore>> {
    Ok(Box::new(sqlite::SqliteStore::open(path)?))
}

/// A URL without the password of its user info (`postgres://u:secret@h/db` -> `postgres://u@h/db`)
/// nor a `password=` parameter.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => format!("{}@{host}", user.split(':').next().unwrap_or("")),
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.to_ascii_lowercase().starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// The error of a failed store operation.
pub(crate) fn failed(what: &str, location: &str, message: impl std::fmt::Display) -> Error {
    Error::External {
        what: format!("{what} ({location})"),
        message: message.to_string(),
        help: Some(
            "check --state / CARGO_REFLEX_STATE; a local state file can be removed safely (it only remembers past sightings, drills and recorded runs)".into(),
        ),
    }
}

/// How long opening a store waits for another process's migration of it (and for the locks a
/// migration needs) before giving up: `CARGO_REFLEX_STATE_WAIT` seconds, else 10 minutes (a
/// migration of 10,000 recorded lockfiles takes about a minute).
pub(crate) fn migration_wait() -> std::time::Duration {
    std::env::var("CARGO_REFLEX_STATE_WAIT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(std::time::Duration::from_secs(600), |s| {
            // At most 11 days: the drivers take milliseconds as 32-bit numbers.
            std::time::Duration::from_secs_f64(s.min(1e6))
        })
}

/// The error of a process that waited [`migration_wait`] for another one's migration.
pub(crate) fn gave_up(location: &str, waited: std::time::Duration, holder: &str) -> Error {
    Error::External {
        what: format!("opening the state store ({location})"),
        message: format!(
            "gave up after {} waiting for another process's migration of the store \
             (its lock is held by {holder})",
            seconds(waited)
        ),
        help: Some(
            "let that migration finish (CARGO_REFLEX_STATE_WAIT=SECONDS waits longer), or stop it: its changes are rolled back".into(),
        ),
    }
}

/// `2.0 s`.
pub(crate) fn seconds(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// The error for a store whose schema is newer than this cargo-reflex.
pub(crate) fn too_new(location: &str, found: i64) -> Error {
    Error::External {
        what: format!("opening the state store ({location})"),
        message: format!(
            "its schema version is {found}, this cargo-reflex knows versions up to {SCHEMA_VERSION}"
        ),
        help: Some("upgrade cargo-reflex on this runner, or point --state at another store".into()),
    }
}

#[cfg(test)]
mod tests;
