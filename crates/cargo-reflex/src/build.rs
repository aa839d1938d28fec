//! `cargo reflex build`: fetch with the network and no secrets, then run the cargo command
//! offline inside the sandbox.

use clap::Args;
use reflex::build::{
    BuildOptions, BuildOutcome, BuildPlan, CommandEnd, MonitorOptions, Output, Sandbox,
    SandboxFailure, Verdict,
};
use reflex::monitor::MonitorEvent;
use reflex_sandbox::{Outcome, Profile, SandboxError};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::Sender;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The cargo command to run in the sandbox: build, check, test, clippy, doc, run, bench
    #[arg(long, value_name = "COMMAND", default_value = "build")]
    pub cargo: String,

    /// Print the sandbox profile and both stages, run nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Skip stage 1 (`cargo fetch --locked`): everything must already be in cargo's cache
    #[arg(long)]
    pub no_fetch: bool,

    /// Run without the sandbox (stage 2 still gets the reduced environment); needs --allow-unsandboxed
    #[arg(long, requires = "allow_unsandboxed")]
    pub no_sandbox: bool,

    /// Accept running unsandboxed where the sandbox is unavailable (or with --no-sandbox)
    #[arg(long)]
    pub allow_unsandboxed: bool,

    /// Policy file with `[sandbox]` exceptions [default: reflex.toml at the workspace root]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Watch every exec, connection, send and DNS query of the build, attribute it to a crate, plant canary secrets and alert
    #[arg(long)]
    pub monitor: bool,

    /// Where the monitor's alerts go as JSON Lines (Elastic Common Schema); `-` for standard output [default: <target>/reflex-monitor/alerts.jsonl]
    #[arg(long, value_name = "FILE", requires = "monitor")]
    pub alerts: Option<PathBuf>,

    /// Also write the alerts as SARIF 2.1.0 (for code scanning) to this file
    #[arg(long, value_name = "FILE", requires = "monitor")]
    pub alerts_sarif: Option<PathBuf>,

    /// POST every alert of medium severity or worse (its ECS JSON) to this URL as it happens
    #[arg(long, value_name = "URL", requires = "monitor")]
    pub webhook: Option<String>,

    /// Write what each crate did into reflex-baseline.toml at the workspace root (review and commit it); later monitored builds alert on anything outside it
    #[arg(long, requires = "monitor")]
    pub learn: bool,

    /// The state store remembering every destination ever contacted: a SQLite file or a postgres:// URL (when PostgreSQL fails, sightings go to the local file and the log says so) [default: state.sqlite in cargo-reflex's cache directory]
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "CARGO_REFLEX_STATE",
        requires = "monitor"
    )]
    pub state: Option<String>,

    /// Path to Cargo.toml of the workspace
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Accepted for cargo compatibility: the build always runs with --locked
    #[arg(long, hide = true)]
    pub locked: bool,

    /// Arguments for the cargo command (after `--`)
    #[arg(last = true, value_name = "CARGO_ARGS")]
    pub cargo_args: Vec<String>,
}

pub fn run(args: BuildArgs) -> Result<u8, reflex::Error> {
    let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let opts = BuildOptions {
        cwd,
        manifest_path: args.manifest_path.clone(),
        env,
        cargo_command: args.cargo.clone(),
        cargo_args: args.cargo_args.clone(),
        policy: args.policy.clone(),
        dry_run: args.dry_run,
        no_fetch: args.no_fetch,
        no_sandbox: args.no_sandbox,
        allow_unsandboxed: args.allow_unsandboxed,
        monitor: args.monitor.then(|| MonitorOptions {
            alerts: args.alerts.clone(),
            alerts_sarif: args.alerts_sarif.clone(),
            webhook: args.webhook.clone(),
            learn: args.learn,
            state: args.state.clone(),
        }),
    };
    // Standard error is never held locked: the sandbox relays its command's output to it.
    let mut log = std::io::stderr();
    let outcome = reflex::build::run(
        &opts,
        reflex::checks::catalog(),
        &SystemSandbox,
        Output {
            log: &mut log,
            live_alerts: Box::new(std::io::stdout()),
        },
    )?;
    match &outcome {
        BuildOutcome::DryRun { plan, profile } => {
            let text = dry_run(plan, profile, &reflex_sandbox::probe(), args.no_fetch);
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(|e| reflex::Error::io("<stdout>", e))?;
        }
        BuildOutcome::FetchFailed { status } => {
            let _ = writeln!(
                log,
                "cargo-reflex: stage 1 failed: `cargo fetch --locked` exited with {status}"
            );
        }
        BuildOutcome::Built(built) => {
            if let Some(message) = verdict_message(built.verdict, &args.cargo) {
                let _ = writeln!(log, "cargo-reflex: {message}");
            }
        }
    }
    Ok(outcome.exit_code())
}

/// What the user is told about the verdict, if anything (critical alerts and cleared set-id
/// bits were shown above it).
fn verdict_message(verdict: Verdict, cargo: &str) -> Option<String> {
    Some(match verdict {
        Verdict::Passed | Verdict::CargoFailed { code: 1, alarmed: true } => return None,
        Verdict::AttackDetected => "the build succeeded, but build-time code did something only an attack does (critical alerts above: exfiltration, tampering or injection)".into(),
        Verdict::SetIdPlanted => {
            "the build succeeded, but its code tried to plant set-uid programs (above)".into()
        }
        Verdict::CargoFailed { code, .. } => format!("`cargo {cargo}` exited with {code}"),
        Verdict::Killed { signal } => format!("`cargo {cargo}` was killed by signal {signal}"),
        Verdict::Interrupted { .. } => {
            "interrupted; the sandbox and everything in it were stopped".into()
        }
    })
}

/// The sandbox crate, with this binary as the sandbox's init.
struct SystemSandbox;

fn ended(outcome: Result<Outcome, SandboxError>) -> Result<CommandEnd, SandboxFailure> {
    match outcome {
        Ok(Outcome::Exited(c)) => Ok(CommandEnd::Exited(c)),
        Ok(Outcome::Signaled(s)) => Ok(CommandEnd::Signaled(s)),
        Ok(Outcome::Interrupted(s)) => Ok(CommandEnd::Interrupted(s)),
        Err(e @ (SandboxError::Unsupported(_) | SandboxError::Setup(_))) => {
            Err(SandboxFailure::Unavailable(e.to_string()))
        }
        Err(SandboxError::Io(e)) => Err(SandboxFailure::Io(e)),
    }
}

impl Sandbox for SystemSandbox {
    fn missing(&self) -> Vec<String> {
        reflex_sandbox::probe().missing()
    }

    fn run(
        &self,
        profile: &Profile,
        events: Option<Sender<MonitorEvent>>,
    ) -> Result<CommandEnd, SandboxFailure> {
        let me = std::env::current_exe()
            .map_err(|e| SandboxFailure::Error(reflex::Error::io("/proc/self/exe", e)))?;
        ended(reflex_sandbox::run(profile, &me, events))
    }

    fn run_unsandboxed(&self, profile: &Profile) -> Result<CommandEnd, SandboxFailure> {
        ended(reflex_sandbox::run_unsandboxed(profile))
    }
}

fn dry_run(
    plan: &BuildPlan,
    profile: &Profile,
    support: &reflex_sandbox::Support,
    no_fetch: bool,
) -> String {
    let mut s = String::new();
    use std::fmt::Write as _;
    if no_fetch {
        let _ = writeln!(s, "stage 1: skipped (--no-fetch)");
    } else {
        let _ = writeln!(
            s,
            "stage 1 (network, no dependency code runs): {} {}",
            plan.cargo.display(),
            plan.fetch_args.join(" ")
        );
        let _ = writeln!(
            s,
            "  secret-looking variables removed: {}",
            if plan.fetch_dropped.is_empty() {
                "none".to_string()
            } else {
                plan.fetch_dropped.join(", ")
            }
        );
    }
    let _ = writeln!(s, "stage 2 (offline, sandboxed):");
    let _ = write!(s, "{profile}");
    let _ = writeln!(
        s,
        "  caller variables not passed: {}",
        plan.build_dropped.len()
    );
    for g in &plan.granted {
        let _ = writeln!(s, "  policy exception: {g}");
    }
    let _ = writeln!(s, "kernel support:");
    let _ = writeln!(
        s,
        "  user namespaces: {}",
        match &support.user_namespaces {
            Ok(()) => "yes".to_string(),
            Err(e) => format!("no ({e})"),
        }
    );
    let _ = writeln!(
        s,
        "  landlock: {}",
        support
            .landlock_abi
            .map_or("no".to_string(), |a| format!("ABI {a}"))
    );
    let _ = writeln!(
        s,
        "  seccomp: {}",
        if support.seccomp { "yes" } else { "no" }
    );
    let missing = support.missing();
    if !missing.is_empty() {
        let _ = writeln!(
            s,
            "  MISSING: {} (build refuses without --allow-unsandboxed)",
            missing.join(", ")
        );
    }
    s
}
