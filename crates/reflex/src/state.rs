//! State that outlives a run, in an embedded SQLite file (default: `state.sqlite` in
//! cargo-reflex's cache directory): every destination a monitored build ever contacted, and the
//! scorecards of past drills.
//! Concurrent builds share the file safely (WAL journal, a busy timeout, one statement per
//! sighting).

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// One past drill, summed over its scenarios.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
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

pub struct StateStore {
    conn: rusqlite::Connection,
    pub path: PathBuf,
}

fn external(what: &str, e: rusqlite::Error) -> Error {
    Error::External {
        what: what.to_string(),
        message: e.to_string(),
        help: Some("the state file can be removed safely: it only remembers past sightings".into()),
    }
}

impl StateStore {
    /// `state.sqlite` in cargo-reflex's cache directory.
    pub fn default_path() -> Option<PathBuf> {
        crate::knowledge::paths::state_file()
    }

    pub fn open(path: &Path) -> Result<StateStore> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        let conn =
            rusqlite::Connection::open(path).map_err(|e| external("opening the state store", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(|e| external("configuring the state store", e))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
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
             );",
        )
        .map_err(|e| external("preparing the state store", e))?;
        Ok(StateStore {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Records a sighting; `true` when this destination was never seen before.
    pub fn first_sighting(
        &self,
        kind: &str,
        value: &str,
        krate: Option<&str>,
        now: &str,
    ) -> Result<bool> {
        // One statement: the sighting count it returns is this writer's own.
        let sightings: i64 = self
            .conn
            .query_row(
                "INSERT INTO destinations (kind, value, first_seen, first_crate) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET sightings = sightings + 1
                 RETURNING sightings",
                rusqlite::params![kind, value, now, krate],
                |r| r.get(0),
            )
            .map_err(|e| external("recording a destination", e))?;
        Ok(sightings == 1)
    }

    /// Records one drill: one row per scenario it played.
    pub fn record_drill(&self, rows: &[DrillRecord]) -> Result<()> {
        for r in rows {
            self.conn
                .execute(
                    "INSERT OR REPLACE INTO drills VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    rusqlite::params![
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
                .map_err(|e| external("recording the drill", e))?;
        }
        Ok(())
    }

    /// Past drills, oldest first: one row per drill.
    pub fn drill_history(&self) -> Result<Vec<DrillRun>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT started, COUNT(*), SUM(passed),
                        SUM(gate = 'blocked'), SUM(sandbox = 'contained'), SUM(monitor = 'detected'),
                        AVG(time_to_detect_ms), AVG(time_to_remediate_s),
                        GROUP_CONCAT(CASE WHEN passed THEN NULL ELSE scenario END, ', ')
                 FROM drills GROUP BY started ORDER BY started",
            )
            .map_err(|e| external("reading drill history", e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DrillRun {
                    started: r.get(0)?,
                    scenarios: r.get(1)?,
                    passed: r.get(2)?,
                    blocked: r.get(3)?,
                    contained: r.get(4)?,
                    detected: r.get(5)?,
                    mean_time_to_detect_ms: r.get(6)?,
                    mean_time_to_remediate_s: r.get(7)?,
                    failed: r
                        .get::<_, Option<String>>(8)?
                        .map(|s| s.split(", ").map(str::to_string).collect())
                        .unwrap_or_default(),
                })
            })
            .map_err(|e| external("reading drill history", e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| external("reading drill history", e))
    }

    pub fn count(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM destinations", [], |r| r.get(0))
            .map_err(|e| external("counting destinations", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sightings_survive_reopening_and_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let s = StateStore::open(&path).unwrap();
        assert!(
            s.first_sighting("domain", "a.invalid", Some("x"), "2026-11-25")
                .unwrap()
        );
        assert!(
            !s.first_sighting("domain", "a.invalid", Some("y"), "2026-11-25")
                .unwrap()
        );
        drop(s);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let s = StateStore::open(&path).unwrap();
                    (0..50)
                        .filter(|i| {
                            s.first_sighting(
                                "address",
                                &format!("10.0.0.{i}:443"),
                                None,
                                &t.to_string(),
                            )
                            .unwrap()
                        })
                        .count()
                })
            })
            .collect();
        let firsts: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(
            firsts, 50,
            "each address is new exactly once across writers"
        );
        let s = StateStore::open(&path).unwrap();
        assert_eq!(s.count().unwrap(), 51);
        assert!(
            !s.first_sighting("domain", "a.invalid", None, "later")
                .unwrap(),
            "remembered"
        );
    }
}
