//! How the drill runs each stage of the pipeline in a sample project: `init`, the gate and
//! `respond` are the library's own functions, called with what `cargo reflex` would get in
//! the project's scratch environment; the builds run the real binary.

use super::Play;
use crate::commands::{self, CommandOptions};
use crate::error::{Error, Result};
use crate::monitor::Alert;
use crate::report::Report;
use crate::respond::{self, Query};
use crate::sources::advisory_db::{self, Scope};
use crate::sources::registry_index::{IndexConfig, RegistryIndex};
use std::path::Path;
use std::process::Command;

/// A command's outcome.
pub(super) struct Ran {
    pub code: Option<i32>,
    pub stderr: String,
}

impl Play<'_> {
    /// What `cargo reflex <command> --no-fetch` would be given in the sample project by the
    /// drill's environment: the scratch home, cache and cargo home, the drill's registry.
    fn command_options(&self) -> CommandOptions {
        let mut opts = CommandOptions::new(self.project());
        opts.cache_dir = Some(self.dir.join("cache"));
        opts.home = Some(self.dir.join("home"));
        opts.index = IndexConfig {
            online: true,
            cargo_home: Some(self.cargo_home()),
            crates_io_url: Some(self.registry.url().to_string()),
            ..IndexConfig::default()
        };
        opts
    }

    /// `init`: the starter policy, with today's findings as its baseline, written to the
    /// project's `reflex.toml`.
    pub(super) fn init_policy(&self) -> Result<()> {
        let failed = |why: String| Error::Usage(format!("init failed: {why}"), None);
        let starter = crate::init::starter_policy(&self.command_options(), &|_, _, _| {})
            .map_err(|e| failed(format!("error: {e}")))?;
        if !starter.not_baselined.is_empty() {
            let refused: Vec<String> = starter
                .not_baselined
                .iter()
                .map(|r| format!("not accepted into the baseline (fix it): {r}"))
                .collect();
            return Err(failed(refused.join("\n")));
        }
        let path = self.project().join(crate::policy::FILE_NAME);
        std::fs::write(&path, &starter.policy_text).map_err(|e| Error::io(&path, e))
    }

    /// The gate on the change: `gate --base HEAD` under the project's policy.
    pub(super) fn gate_report(&self) -> Result<Report> {
        let mut opts = self.command_options();
        opts.compare = Some(crate::review::parse_range(Some("HEAD")));
        commands::gate(&opts, &|_, _, _| {})
    }

    /// `respond`'s remedy for `query` in the project (online: the drill's registry); empty
    /// when it has none.
    pub(super) fn respond_remedy(&self, query: &str) -> String {
        let cache = self.dir.join("cache");
        let remedy = || -> Result<String> {
            let db = advisory_db::select(None, Some(&cache), Scope::All)?;
            let index = RegistryIndex::crates_io(IndexConfig {
                cargo_home: Some(self.cargo_home()),
                online: true,
                cache_dir: Some(cache.clone()),
                detailed: true,
                crates_io_url: Some(self.registry.url().to_string()),
                ..IndexConfig::default()
            });
            let response = respond::respond(
                &Query::parse(query)?,
                query,
                &respond::Options {
                    roots: vec![self.project()],
                    db: &db,
                    index: Some(&index),
                    threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
                },
            )?;
            Ok(response
                .projects
                .into_iter()
                .next()
                .and_then(|p| p.matches.into_iter().next())
                .map(|m| m.remedy)
                .unwrap_or_default())
        };
        remedy().unwrap_or_default()
    }

    /// `cargo reflex <args>` in the project. The builds run as a subprocess: the sandboxed
    /// cargo writes to its caller's standard output and error (the drill keeps them off the
    /// terminal and reads their end), and the sandbox takes over SIGINT and SIGTERM.
    pub(super) fn reflex(&self, args: &[&str]) -> Result<Ran> {
        let out = self.command_in_project(&self.opts.exe, args)?;
        Ok(Ran {
            code: out.status.code(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs `program` in the project with the drill's environment only.
    pub(super) fn command_in_project(
        &self,
        program: &Path,
        args: &[&str],
    ) -> Result<std::process::Output> {
        Command::new(program)
            .args(args)
            .current_dir(self.project())
            .env_clear()
            .envs(self.env())
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| Error::io(program, e))
    }
}

/// The alerts a monitored build wrote (JSON Lines of ECS documents).
pub(super) fn read_alerts(path: &Path) -> Vec<Alert> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter_map(|doc| Alert::from_ecs(&doc))
        .collect()
}
