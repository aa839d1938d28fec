//! `build`: fetch with the network and no secrets (stage 1), then run the cargo command
//! offline inside the sandbox (stage 2), optionally monitored: canaries planted, every event
//! attributed and judged as it happens, the alerts written, summed up and judged again after
//! the build. [`run`] orchestrates; [`plan`] computes what each stage gets; [`secrets`] finds
//! the files the sandbox hides or cleans.
//!
//! The sandbox itself is the one crate with unsafe code: the caller hands it in as a
//! [`Sandbox`]. Progress and the monitor's reports go to the caller's log as they happen;
//! nothing is printed here and the process never exits.

mod follower;
mod monitoring;
pub mod plan;
pub mod secrets;
mod set_id;

pub use plan::{BuildPlan, BuildRequest, CARGO_COMMANDS, plan};
pub use set_id::clear_set_id_bits;

use crate::error::{Error, Result};
use crate::finding::Catalog;
use crate::graph::workspace::Workspace;
use crate::monitor::canary::Canaries;
use crate::monitor::{Alert, MonitorEvent, Summary};
use crate::policy::Policy;
use monitoring::MonitorRun;
use reflex_sandbox_contract::Profile;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Sender;

/// What to build and how.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    /// The caller's environment (both stages are made from it).
    pub env: Vec<(String, String)>,
    /// The cargo command run in the sandbox: build, check, test, clippy, doc, run, bench.
    pub cargo_command: String,
    pub cargo_args: Vec<String>,
    /// Policy file with `[sandbox]` exceptions (default: `reflex.toml` at the workspace root).
    pub policy: Option<PathBuf>,
    /// Plan only: run nothing.
    pub dry_run: bool,
    /// Skip stage 1: everything must already be in cargo's cache.
    pub no_fetch: bool,
    /// Run without the sandbox (needs `allow_unsandboxed`).
    pub no_sandbox: bool,
    /// Accept running unsandboxed where the sandbox is unavailable (or with `no_sandbox`).
    pub allow_unsandboxed: bool,
    /// Monitor the build.
    pub monitor: Option<MonitorOptions>,
}

/// `build --monitor`.
#[derive(Clone, Debug, Default)]
pub struct MonitorOptions {
    /// Where the alerts go as JSON Lines; `-` for the live stream (default:
    /// `<target>/reflex-monitor/alerts.jsonl`).
    pub alerts: Option<PathBuf>,
    /// Also write the alerts as SARIF 2.1.0 here.
    pub alerts_sarif: Option<PathBuf>,
    /// Every alert of medium severity or worse is posted here as it happens.
    pub webhook: Option<String>,
    /// Write what each crate did into the behaviour baseline instead of judging by it.
    pub learn: bool,
    /// The state store of first-seen destinations: a SQLite file or a `postgres://` URL
    /// (default: `state.sqlite` in cargo-reflex's cache directory). When PostgreSQL fails, the
    /// sightings go to the local file and the build's log says so.
    pub state: Option<String>,
}

/// How the build's command runs: the sandbox crate, which the caller provides.
pub trait Sandbox {
    /// The features this system lacks to sandbox (empty: it can).
    fn missing(&self) -> Vec<String>;
    /// Runs `profile` in the sandbox and waits; the monitor's events go to `events` as they
    /// happen (all of them have been sent when this returns).
    fn run(
        &self,
        profile: &Profile,
        events: Option<Sender<MonitorEvent>>,
    ) -> std::result::Result<CommandEnd, SandboxFailure>;
    /// Runs `profile`'s command without a sandbox, with the same environment.
    fn run_unsandboxed(&self, profile: &Profile)
    -> std::result::Result<CommandEnd, SandboxFailure>;
}

/// How the command in the sandbox ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandEnd {
    Exited(i32),
    Signaled(i32),
    /// The caller was interrupted (SIGINT or SIGTERM) and the sandbox was torn down.
    Interrupted(i32),
}

/// Why the command could not run.
#[derive(Debug)]
pub enum SandboxFailure {
    /// The system cannot sandbox, or the sandbox could not be set up: what the sandbox said.
    Unavailable(String),
    /// Starting or waiting for the command failed.
    Io(std::io::Error),
    /// Anything else, already described.
    Error(Error),
}

/// Where the build's output goes besides its files.
pub struct Output<'a> {
    /// Progress and the monitor's reports, as they happen (`cargo reflex build`: standard
    /// error).
    pub log: &'a mut dyn Write,
    /// The alerts as they are raised when the alerts path is `-` (`cargo reflex build`:
    /// standard output).
    pub live_alerts: Box<dyn Write + Send>,
}

/// What a build came to.
#[derive(Debug)]
pub enum BuildOutcome {
    /// `dry_run`: what would run (the profile includes the monitor's configuration).
    DryRun {
        plan: Box<BuildPlan>,
        profile: Box<Profile>,
    },
    /// Stage 1 failed (`cargo fetch --locked` exited with this status).
    FetchFailed { status: String },
    /// Stage 2 ran.
    Built(Box<Built>),
}

/// A build that ran.
#[derive(Debug)]
pub struct Built {
    pub verdict: Verdict,
    /// Files under the target directory that had a set-uid or set-gid bit (cleared).
    pub set_id: Vec<PathBuf>,
    pub monitored: Option<Monitored>,
}

/// What the monitor saw.
#[derive(Debug)]
pub struct Monitored {
    pub summary: Summary,
    pub alerts: Vec<Alert>,
    pub alerts_path: PathBuf,
}

/// The verdict on a build that ran: the exit policy as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// The build succeeded, but build-time code did something only an attack does.
    AttackDetected,
    /// The build succeeded, but its code left set-uid or set-gid programs.
    SetIdPlanted,
    /// cargo failed; `alarmed`: critical alerts or set-id programs were reported too.
    CargoFailed {
        code: i32,
        alarmed: bool,
    },
    /// cargo was killed by a signal.
    Killed {
        signal: i32,
    },
    /// The caller was interrupted and the sandbox stopped.
    Interrupted {
        signal: i32,
    },
}

impl Verdict {
    fn of(end: CommandEnd, attack: bool, set_id: bool) -> Verdict {
        match end {
            CommandEnd::Exited(0) if attack => Verdict::AttackDetected,
            CommandEnd::Exited(0) if set_id => Verdict::SetIdPlanted,
            CommandEnd::Exited(0) => Verdict::Passed,
            CommandEnd::Exited(code) => Verdict::CargoFailed {
                code,
                alarmed: attack || set_id,
            },
            CommandEnd::Signaled(signal) => Verdict::Killed { signal },
            CommandEnd::Interrupted(signal) => Verdict::Interrupted { signal },
        }
    }
}

impl BuildOutcome {
    /// The exit code: 0 passed, 1 failed or alarming, 128 + the signal when interrupted.
    pub fn exit_code(&self) -> u8 {
        match self {
            BuildOutcome::DryRun { .. } => 0,
            BuildOutcome::FetchFailed { .. } => 1,
            BuildOutcome::Built(b) => match b.verdict {
                Verdict::Passed => 0,
                Verdict::Interrupted { signal } => (128 + signal).clamp(0, 255) as u8,
                _ => 1,
            },
        }
    }
}

/// Plans the build of `opts` and, unless it is a dry run, runs both stages; `catalog` checks
/// the policy's codes. Fails closed: without a sandbox (and without `allow_unsandboxed`)
/// nothing runs.
pub fn run(
    opts: &BuildOptions,
    catalog: &Catalog,
    sandbox: &dyn Sandbox,
    out: Output<'_>,
) -> Result<BuildOutcome> {
    let ws = Workspace::discover(opts.manifest_path.as_deref(), &opts.cwd)?;
    let policy = match &opts.policy {
        Some(p) => Some(Policy::load(&opts.cwd.join(p), catalog)?),
        None => Policy::discover(&ws.root, catalog)?,
    };
    let plan = plan(&BuildRequest {
        cwd: &opts.cwd,
        manifest_path: opts.manifest_path.as_deref(),
        env: opts.env.clone(),
        command: &opts.cargo_command,
        args: opts.cargo_args.clone(),
        policy: policy.as_ref(),
    })?;
    let mut profile = plan.sandbox.clone();
    let canaries = Canaries::generate();
    if opts.monitor.is_some() {
        monitoring::watch(&mut profile, &plan, &canaries);
    }
    if opts.dry_run {
        return Ok(BuildOutcome::DryRun {
            plan: Box::new(plan),
            profile: Box::new(profile),
        });
    }
    let missing = sandbox.missing();
    let sandboxed = !opts.no_sandbox && missing.is_empty();
    if !sandboxed && !opts.allow_unsandboxed {
        return Err(Error::Usage(
            format!("cannot sandbox here: missing {}", missing.join(", ")),
            Some("fix the system (see the README's build section), or accept the risk with --allow-unsandboxed".into()),
        ));
    }
    let log = out.log;
    if !opts.no_fetch
        && let Some(status) = fetch(&plan, &opts.cwd, log)?
    {
        return Ok(BuildOutcome::FetchFailed { status });
    }
    std::fs::create_dir_all(&plan.target_dir).map_err(|e| Error::io(&plan.target_dir, e))?;
    for g in &plan.granted {
        let _ = writeln!(log, "cargo-reflex: sandbox exception from the policy: {g}");
    }
    let what = if sandboxed {
        "sandboxed"
    } else {
        "UNSANDBOXED"
    };
    let _ = writeln!(
        log,
        "cargo-reflex: stage 2 ({what}, offline): cargo {}",
        plan.sandbox.args.join(" ")
    );
    let monitor_dir = plan.target_dir.join("reflex-monitor");
    let monitor = opts.monitor.as_ref().map(|m| MonitorRun {
        options: m,
        workspace: &ws,
        store: Default::default(),
        alerts_path: m
            .alerts
            .clone()
            .unwrap_or_else(|| monitor_dir.join("alerts.jsonl")),
        dir: monitor_dir.clone(),
    });
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    let follower = match &monitor {
        Some(m) => {
            if !sandboxed {
                monitoring::observe_only(&mut profile);
            }
            Some(m.start(events_rx, &canaries, sandboxed, out.live_alerts)?)
        }
        None => None,
    };
    let ended = if sandboxed || monitor.is_some() {
        sandbox.run(&profile, monitor.is_some().then_some(events_tx))
    } else {
        sandbox.run_unsandboxed(&profile)
    };
    let set_id = report_set_id(&plan.target_dir, log);
    let monitored = match (&monitor, follower) {
        (Some(m), Some(f)) => Some(m.finish(f, log)?),
        _ => None,
    };
    let attack = monitored.as_ref().is_some_and(Monitored::attack_detected);
    let ended = ended.map_err(|e| match e {
        SandboxFailure::Unavailable(message) => Error::External {
            what: "the build sandbox".into(),
            message,
            help: Some("nothing was built; `cargo reflex build --dry-run` shows the profile and what the kernel offers".into()),
        },
        SandboxFailure::Io(e) => Error::io(&plan.cargo, e),
        SandboxFailure::Error(e) => e,
    })?;
    Ok(BuildOutcome::Built(Box::new(Built {
        verdict: Verdict::of(ended, attack, !set_id.is_empty()),
        set_id,
        monitored,
    })))
}

/// Stage 1: `cargo fetch --locked` with the network and without secret-looking variables;
/// `Some(status)` when it failed.
fn fetch(plan: &BuildPlan, cwd: &Path, log: &mut dyn Write) -> Result<Option<String>> {
    if !plan.fetch_dropped.is_empty() {
        let _ = writeln!(
            log,
            "cargo-reflex: stage 1 (fetch, network): dropped {} secret-looking variables: {}",
            plan.fetch_dropped.len(),
            plan.fetch_dropped.join(", ")
        );
    }
    let status = std::process::Command::new(&plan.cargo)
        .args(&plan.fetch_args)
        .current_dir(cwd)
        .env_clear()
        .envs(plan.fetch_env.iter().map(|(k, v)| (k, v)))
        .status()
        .map_err(|e| Error::io(&plan.cargo, e))?;
    Ok((!status.success()).then(|| status.to_string()))
}

/// Clears the set-id bits build code left in the target directory and says so on `log`: a
/// set-uid program left in target/ would make whoever runs it on the host its owner.
fn report_set_id(target_dir: &Path, log: &mut dyn Write) -> Vec<PathBuf> {
    let set_id = clear_set_id_bits(target_dir);
    if !set_id.is_empty() {
        let _ = writeln!(
            log,
            "cargo-reflex: build code left {} files with a set-uid or set-gid bit in {}; the bits were cleared:",
            set_id.len(),
            target_dir.display()
        );
        for p in &set_id {
            let _ = writeln!(log, "  {}", p.display());
        }
    }
    set_id
}
