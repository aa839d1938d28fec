//! A store that falls back to the local SQLite file when the shared one fails, for monitors:
//! a build must not lose a first sighting because the database went away. The first failure
//! is remembered ([`Fallback::fell_back`]) so that the caller reports it; every write after
//! it goes to the local store.

use super::{Destination, DrillRecord, Holding, InventoryRecord, Location, StateStore, TimeRange};
use crate::error::Result;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

pub struct Fallback {
    primary: Option<Box<dyn StateStore>>,
    local_path: PathBuf,
    local: OnceLock<std::result::Result<Box<dyn StateStore>, String>>,
    why: Mutex<Option<String>>,
}

impl Fallback {
    /// Opens `location`; when it cannot be opened, the local file at `local` is used from the
    /// start (and [`Fallback::fell_back`] says why).
    pub fn open(location: &Location, local: PathBuf) -> Fallback {
        let (primary, why) = match super::open(location) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Fallback {
            primary,
            local_path: local,
            local: OnceLock::new(),
            why: Mutex::new(why),
        }
    }

    /// Why the shared store was left for the local one, and where the local one is.
    pub fn fell_back(&self) -> Option<(String, String)> {
        let why = self.why.lock().unwrap_or_else(|p| p.into_inner()).clone()?;
        Some((why, self.local_path.display().to_string()))
    }

    fn local(&self) -> Result<&dyn StateStore> {
        match self
            .local
            .get_or_init(|| super::open_sqlite(&self.local_path).map_err(|e| e.to_string()))
        {
            Ok(s) => Ok(s.as_ref()),
            Err(e) => Err(super::failed(
                "opening the local fallback state store",
                &self.local_path.display().to_string(),
                e,
            )),
        }
    }

    /// `op` on the shared store while it works, else on the local one.
    fn run<T>(&self, op: impl Fn(&dyn StateStore) -> Result<T>) -> Result<T> {
        let failed_before = self.why.lock().unwrap_or_else(|p| p.into_inner()).is_some();
        if let (Some(p), false) = (&self.primary, failed_before) {
            match op(p.as_ref()) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    *self.why.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
            }
        }
        op(self.local()?)
    }
}

impl StateStore for Fallback {
    fn location(&self) -> String {
        match (&self.primary, self.fell_back()) {
            (Some(p), None) => p.location(),
            _ => self.local_path.display().to_string(),
        }
    }

    fn schema_version(&self) -> Result<i64> {
        self.run(|s| s.schema_version())
    }

    fn opened(&self) -> Option<String> {
        self.primary.as_ref().and_then(|p| p.opened())
    }

    fn first_sighting(
        &self,
        kind: &str,
        value: &str,
        krate: Option<&str>,
        now: &str,
    ) -> Result<bool> {
        self.run(|s| s.first_sighting(kind, value, krate, now))
    }

    fn destinations(&self, range: &TimeRange) -> Result<Vec<Destination>> {
        self.run(|s| s.destinations(range))
    }

    fn destination_count(&self) -> Result<i64> {
        self.run(|s| s.destination_count())
    }

    fn record_drill(&self, rows: &[DrillRecord]) -> Result<()> {
        self.run(|s| s.record_drill(rows))
    }

    fn drill_records(&self, range: &TimeRange) -> Result<Vec<DrillRecord>> {
        self.run(|s| s.drill_records(range))
    }

    fn record_run(&self, run: &InventoryRecord) -> Result<i64> {
        self.run(|s| s.record_run(run))
    }

    fn runs(&self, range: &TimeRange, with_packages: bool) -> Result<Vec<InventoryRecord>> {
        self.run(|s| s.runs(range, with_packages))
    }

    fn latest_runs(
        &self,
        since: Option<&str>,
        with_packages: bool,
    ) -> Result<Vec<InventoryRecord>> {
        self.run(|s| s.latest_runs(since, with_packages))
    }

    fn latest_holding(
        &self,
        name: &str,
        since: Option<&str>,
        keep: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<Holding> {
        self.run(|s| s.latest_holding(name, since, keep))
    }
}
