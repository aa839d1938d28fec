//! `--record` on `gate`, `audit` and `recon`: the run goes into the inventory of the state
//! store (`--state`, a SQLite file or a PostgreSQL URL), which `respond --state` and `survey`
//! read.

use clap::Args;
use reflex::commands::record::{Origin, record};
use reflex::state::{Location, StateStore};
use std::io::Write;

#[derive(Args, Debug, Clone, Default)]
pub struct RecordArgs {
    /// Record this run (repository, branch, commit, verdict, finding counts and the locked graph) in the state store's inventory, for `respond --state` and `survey`
    #[arg(long)]
    pub record: bool,

    /// The state store for --record: a SQLite file or a postgres:// URL (libpq keys such as sslmode) [default: state.sqlite in cargo-reflex's cache directory]
    #[arg(long, value_name = "FILE|URL", env = "CARGO_REFLEX_STATE")]
    pub state: Option<String>,

    /// With --record: the repository's name or URL [default: the CI's repository, else git's remote.origin.url without credentials, else the directory's name]
    #[arg(long, value_name = "NAME|URL", requires = "record")]
    pub repository: Option<String>,

    /// With --record: the branch [default: the CI's branch, else git's]
    #[arg(long, value_name = "NAME", requires = "record")]
    pub branch: Option<String>,

    /// With --record: the commit [default: the CI's commit, else git's HEAD]
    #[arg(long, value_name = "SHA", requires = "record")]
    pub commit: Option<String>,
}

impl RecordArgs {
    /// The store, opened before the run so that an unreachable one fails at once.
    pub fn open(&self) -> Result<Option<Box<dyn StateStore>>, reflex::Error> {
        if !self.record {
            return Ok(None);
        }
        let location = Location::or_default(self.state.as_deref())?;
        let store = reflex::state::open(&location)?;
        if let Some(notice) = store.opened() {
            let _ = writeln!(std::io::stderr(), "{notice}");
        }
        Ok(Some(store))
    }

    /// Records the finished run and says so on standard error (unless `quiet`).
    pub fn save(
        &self,
        store: Option<&dyn StateStore>,
        report: &reflex::report::Report,
        quiet: bool,
    ) -> Result<(), reflex::Error> {
        let Some(store) = store else {
            return Ok(());
        };
        let origin = Origin {
            repository: self.repository.clone(),
            branch: self.branch.clone(),
            commit: self.commit.clone(),
        };
        let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
        let started = std::time::Instant::now();
        let done = record(report, &origin, &cwd, store)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let store_ms = done.store_time.as_secs_f64() * 1000.0;
        let (id, run) = (done.id, done.run);
        if !quiet {
            let _ = writeln!(
                std::io::stderr(),
                "recorded run {id} ({} {} of {} @ {}, {} packages) in {} ({store_ms:.1} ms; {ms:.1} ms with reading the graph)",
                run.command,
                if run.passed { "passed" } else { "failed" },
                run.repository,
                run.branch,
                run.package_count,
                store.location()
            );
        }
        Ok(())
    }
}
