//! A fresh, empty store of each backend for each case.

use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }
}

pub struct Backend {
    pub kind: Kind,
    /// What `--state` takes.
    pub url: String,
    /// Scratch space of the case (and the SQLite file).
    pub dir: tempfile::TempDir,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

impl Backend {
    /// A new empty store; `None` for PostgreSQL without a server.
    pub fn fresh(kind: Kind) -> Option<Backend> {
        let dir = tempfile::tempdir().unwrap();
        let url = match kind {
            Kind::Sqlite => dir.path().join("state.sqlite").display().to_string(),
            Kind::Postgres => {
                let admin = std::env::var("REFLEX_TEST_POSTGRES_URL")
                    .ok()
                    .filter(|u| !u.is_empty())?;
                let name = format!(
                    "reflex_t{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                );
                let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                    .unwrap_or_else(|e| panic!("REFLEX_TEST_POSTGRES_URL: {e}"));
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                with_database(&admin, &name)
            }
        };
        Some(Backend { kind, url, dir })
    }

    pub fn open(&self) -> Box<dyn reflex::state::StateStore> {
        reflex::state::open(&reflex::state::Location::parse(&self.url)).unwrap()
    }

    /// Runs SQL on the store directly (to break it on purpose).
    pub fn sql(&self, sql: &str) {
        match self.kind {
            Kind::Sqlite => {
                rusqlite::Connection::open(&self.url)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap();
            }
            Kind::Postgres => {
                postgres::Client::connect(&self.url, postgres::NoTls)
                    .unwrap()
                    .batch_execute(sql)
                    .unwrap();
            }
        }
    }
}

impl Backend {
    /// The number a query (`SELECT COUNT(*) ...`) answers, read from the store directly.
    pub fn count(&self, sql: &str) -> i64 {
        match self.kind {
            Kind::Sqlite => rusqlite::Connection::open(&self.url)
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Kind::Postgres => postgres::Client::connect(&self.url, postgres::NoTls)
                .unwrap()
                .query_one(sql, &[])
                .unwrap()
                .get(0),
        }
    }
}

/// `admin` (a postgres:// URL) pointing at database `name`.
pub fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let (scheme, rest) = base.split_once("://").unwrap();
    let host = rest.split('/').next().unwrap();
    format!("{scheme}://{host}/{name}{query}")
}
