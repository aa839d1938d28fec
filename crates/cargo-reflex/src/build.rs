//! `cargo reflex build`: fetch with the network and no secrets, then run the cargo command
//! offline inside the sandbox.

use clap::Args;
use reflex::build_plan::{BuildPlan, BuildRequest, plan};
use reflex_sandbox::{Outcome, Profile, SandboxError};
use std::io::Write;
use std::path::PathBuf;

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

    /// The state store remembering every destination ever contacted (SQLite) [default: state.sqlite in cargo-reflex's cache directory]
    #[arg(
        long,
        value_name = "FILE",
        env = "CARGO_REFLEX_STATE",
        requires = "monitor"
    )]
    pub state: Option<PathBuf>,

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
    let ws = reflex::graph::workspace::Workspace::discover(args.manifest_path.as_deref(), &cwd)?;
    let policy = match &args.policy {
        Some(p) => Some(reflex::policy::Policy::load(&cwd.join(p))?),
        None => reflex::policy::Policy::discover(&ws.root)?,
    };
    let env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let plan = plan(&BuildRequest {
        cwd: &cwd,
        manifest_path: args.manifest_path.as_deref(),
        env,
        command: &args.cargo,
        args: args.cargo_args.clone(),
        policy: policy.as_ref(),
    })?;
    let mut profile = plan.sandbox.clone();
    let monitor_dir = plan.target_dir.join("reflex-monitor");
    let events = monitor_dir.join("events.jsonl");
    let alerts_path = args
        .alerts
        .clone()
        .unwrap_or_else(|| monitor_dir.join("alerts.jsonl"));
    let canaries = reflex::monitor::canary::Canaries::generate();
    if args.monitor {
        // Canaries: fake but realistic secrets in the environment and the home directory.
        profile.env.extend(canaries.env());
        if let Some(home) = plan.sandbox.homes.first() {
            profile.plant = canaries.files(home, plan.cargo_home.as_deref());
        }
        let mut quiet: Vec<PathBuf> = vec![plan.target_dir.clone()];
        quiet.extend(["/tmp", "/var/tmp", "/dev", "/proc/self", "/run"].map(PathBuf::from));
        // Cargo's own lock and cache-tracking files; its caches (registry, git) stay watched.
        for home in plan.sandbox.scratch.iter() {
            quiet.extend(
                [".package-cache", ".package-cache-mutate", ".global-cache"].map(|f| home.join(f)),
            );
        }
        quiet.extend(plan.sandbox.writable.iter().cloned());
        // Reads of decoys and of the files the sandbox hid are attempted thefts to report
        // (cleaned files, such as .git/config read by `git describe`, hold nothing to take).
        let mut sensitive: Vec<PathBuf> = profile.plant.iter().map(|(p, _)| p.clone()).collect();
        sensitive.extend(plan.sandbox.hide.iter().cloned());
        profile.monitor = Some(reflex_sandbox::MonitorConfig {
            dns_sinkhole: true,
            quiet_writes: quiet,
            watched_writes: plan
                .sandbox
                .read_only
                .iter()
                .chain(&plan.sandbox.homes)
                .cloned()
                .collect(),
            sensitive_reads: sensitive,
            guarded_writes: vec![plan.target_dir.clone()],
        });
    }
    let mut err = std::io::stderr().lock();
    if args.dry_run {
        let support = reflex_sandbox::probe();
        let mut out = std::io::stdout().lock();
        let text = dry_run(&plan, &profile, &support, args.no_fetch);
        out.write_all(text.as_bytes())
            .map_err(|e| reflex::Error::io("<stdout>", e))?;
        return Ok(0);
    }
    let support = reflex_sandbox::probe();
    let missing = support.missing();
    let sandboxed = !args.no_sandbox && missing.is_empty();
    if !sandboxed && !args.allow_unsandboxed {
        return Err(reflex::Error::Usage(
            format!("cannot sandbox here: missing {}", missing.join(", ")),
            Some("fix the system (see the README's build section), or accept the risk with --allow-unsandboxed".into()),
        ));
    }
    if !args.no_fetch {
        if !plan.fetch_dropped.is_empty() {
            let _ = writeln!(
                err,
                "cargo-reflex: stage 1 (fetch, network): dropped {} secret-looking variables: {}",
                plan.fetch_dropped.len(),
                plan.fetch_dropped.join(", ")
            );
        }
        let status = std::process::Command::new(&plan.cargo)
            .args(&plan.fetch_args)
            .current_dir(&cwd)
            .env_clear()
            .envs(plan.fetch_env.iter().map(|(k, v)| (k, v)))
            .status()
            .map_err(|e| reflex::Error::io(&plan.cargo, e))?;
        if !status.success() {
            let _ = writeln!(
                err,
                "cargo-reflex: stage 1 failed: `cargo fetch --locked` exited with {status}"
            );
            return Ok(1);
        }
    }
    std::fs::create_dir_all(&plan.target_dir)
        .map_err(|e| reflex::Error::io(&plan.target_dir, e))?;
    for g in &plan.granted {
        let _ = writeln!(err, "cargo-reflex: sandbox exception from the policy: {g}");
    }
    let what = if sandboxed {
        "sandboxed"
    } else {
        "UNSANDBOXED"
    };
    let _ = writeln!(
        err,
        "cargo-reflex: stage 2 ({what}, offline): cargo {}",
        plan.sandbox.args.join(" ")
    );
    drop(err);
    let (events_tx, events_rx) = std::sync::mpsc::channel();
    let follower = if args.monitor {
        if !sandboxed {
            // Observe only: nothing is blocked or replaced (no decoy files in the real home;
            // the canaries are in the environment), everything is recorded.
            profile.isolation = reflex_sandbox::Isolation::ObserveOnly;
            profile.plant.clear();
            if let Some(m) = &mut profile.monitor {
                m.dns_sinkhole = false;
            }
        }
        if std::fs::symlink_metadata(&monitor_dir).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(&monitor_dir).map_err(|e| reflex::Error::io(&monitor_dir, e))?;
        }
        std::fs::create_dir_all(&monitor_dir).map_err(|e| reflex::Error::io(&monitor_dir, e))?;
        let _ = std::fs::remove_file(&events);
        let versions = reflex::graph::Graph::load(&ws.lockfile_path())
            .map(|g| {
                g.packages()
                    .iter()
                    .map(|p| (p.name.to_string(), p.version.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let analyzer = reflex::monitor::Analyzer {
            canaries: canaries.clone(),
            versions,
            sandboxed,
        };
        let baseline_path = ws.root.join(reflex::monitor::baseline::FILE_NAME);
        let baseline = if args.learn {
            None
        } else {
            reflex::monitor::baseline::Baseline::load(&baseline_path)?
        };
        let state_path = args
            .state
            .clone()
            .or_else(reflex::state::StateStore::default_path);
        let store = match &state_path {
            Some(p) => Some(reflex::state::StateStore::open(p)?),
            None => None,
        };
        Some(
            crate::monitor::follow(
                events_rx,
                events.clone(),
                alerts_path.clone(),
                analyzer,
                crate::monitor::Judges {
                    baseline,
                    store,
                    webhook: args.webhook.clone(),
                },
            )
            .map_err(|e| reflex::Error::io(&alerts_path, e))?,
        )
    } else {
        None
    };
    let outcome = if sandboxed || args.monitor {
        let me = std::env::current_exe().map_err(|e| reflex::Error::io("/proc/self/exe", e))?;
        reflex_sandbox::run(&profile, &me, args.monitor.then_some(events_tx))
    } else {
        reflex_sandbox::run_unsandboxed(&profile)
    };
    let mut err = std::io::stderr().lock();
    // A set-uid program left in target/ would make whoever runs it on the host its owner.
    let set_id = reflex::build_plan::clear_set_id_bits(&plan.target_dir);
    if !set_id.is_empty() {
        let _ = writeln!(
            err,
            "cargo-reflex: build code left {} files with a set-uid or set-gid bit in {}; the bits were cleared:",
            set_id.len(),
            plan.target_dir.display()
        );
        for p in &set_id {
            let _ = writeln!(err, "  {}", p.display());
        }
    }
    let mut exfiltration = false;
    if let Some(f) = follower {
        let (summary, alerts) = f.finish();
        // Written again now that no build code runs: what the build could reach while it ran
        // (a symlink, forged lines) is replaced by exactly the alerts the monitor raised.
        if alerts_path != std::path::Path::new("-") {
            let mut text = String::new();
            for a in &alerts {
                text.push_str(&a.to_ecs().to_string());
                text.push('\n');
            }
            crate::monitor::fresh_file(&alerts_path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| reflex::Error::io(&alerts_path, e))?;
        }
        crate::monitor::report(&summary, &alerts, &alerts_path, &mut err);
        if summary.webhook_failures > 0 {
            let _ = writeln!(
                err,
                "cargo-reflex monitor: {} webhook posts failed",
                summary.webhook_failures
            );
        }
        if let Some(path) = &args.alerts_sarif {
            let graph = reflex::graph::Graph::load(&ws.lockfile_path()).ok();
            std::fs::write(
                path,
                reflex::monitor::sarif(&alerts, graph.as_ref(), &ws.root),
            )
            .map_err(|e| reflex::Error::io(path, e))?;
        }
        if args.learn {
            let path = ws.root.join(reflex::monitor::baseline::FILE_NAME);
            reflex::monitor::baseline::Baseline::learn(&alerts).save(&path)?;
            let _ = writeln!(
                err,
                "cargo-reflex monitor: behaviour baseline written to {}",
                path.display()
            );
        }
        exfiltration = alerts
            .iter()
            .any(|a| a.severity == reflex::monitor::AlertSeverity::Critical);
    }
    let outcome = match outcome {
        Ok(Outcome::Exited(0)) if exfiltration => {
            let _ = writeln!(
                err,
                "cargo-reflex: the build succeeded, but build-time code did something only an attack does (critical alerts above: exfiltration, tampering or injection)"
            );
            Ok(Outcome::Exited(1))
        }
        Ok(Outcome::Exited(0)) if !set_id.is_empty() => {
            let _ = writeln!(
                err,
                "cargo-reflex: the build succeeded, but its code tried to plant set-uid programs (above)"
            );
            Ok(Outcome::Exited(1))
        }
        o => o,
    };
    let exfiltration = exfiltration || !set_id.is_empty();
    match outcome {
        Ok(Outcome::Exited(0)) => Ok(0),
        Ok(Outcome::Exited(1)) if exfiltration => Ok(1),
        Ok(Outcome::Exited(code)) => {
            let _ = writeln!(err, "cargo-reflex: `cargo {}` exited with {code}", args.cargo);
            Ok(1)
        }
        Ok(Outcome::Signaled(sig)) => {
            let _ = writeln!(err, "cargo-reflex: `cargo {}` was killed by signal {sig}", args.cargo);
            Ok(1)
        }
        Ok(Outcome::Interrupted(sig)) => {
            let _ = writeln!(err, "cargo-reflex: interrupted; the sandbox and everything in it were stopped");
            Ok((128 + sig).clamp(0, 255) as u8)
        }
        Err(e @ (SandboxError::Unsupported(_) | SandboxError::Setup(_))) => Err(reflex::Error::External {
            what: "the build sandbox".into(),
            message: e.to_string(),
            help: Some("nothing was built; `cargo reflex build --dry-run` shows the profile and what the kernel offers".into()),
        }),
        Err(SandboxError::Io(e)) => Err(reflex::Error::io(&plan.cargo, e)),
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
