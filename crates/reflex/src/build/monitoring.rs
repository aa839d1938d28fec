//! `build --monitor` around the build: the canaries planted in the sandbox and what its
//! monitor watches; before the build, the event follower with the behaviour baseline and the
//! state store; after it, the alerts written again, the summary, SARIF and the learned
//! baseline.

use super::follower::{self, Follower, Judges, fresh_file};
use super::{BuildPlan, MonitorOptions, Monitored};
use crate::error::{Error, Result};
use crate::finding::Severity;
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::monitor::baseline::{self, Baseline};
use crate::monitor::canary::Canaries;
use crate::monitor::{self, Analyzer, MonitorEvent};
use crate::state::{Fallback, Location, StateStore};
use reflex_sandbox_contract::{Isolation, MonitorConfig, Profile};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

/// Plants the canaries (fake but realistic secrets in the environment and the home directory)
/// and tells the sandbox what to watch.
pub(super) fn watch(profile: &mut Profile, plan: &BuildPlan, canaries: &Canaries) {
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
    profile.monitor = Some(MonitorConfig {
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

/// Without the sandbox the monitor only observes: nothing is blocked or replaced (no decoy
/// files in the real home; the canaries are in the environment), everything is recorded.
pub(super) fn observe_only(profile: &mut Profile) {
    profile.isolation = Isolation::ObserveOnly;
    profile.plant.clear();
    if let Some(m) = &mut profile.monitor {
        m.dns_sinkhole = false;
    }
}

/// Where the monitor of one build writes, and what it needs to know of the workspace.
pub(super) struct MonitorRun<'a> {
    pub options: &'a MonitorOptions,
    pub workspace: &'a Workspace,
    /// `<target>/reflex-monitor`.
    pub dir: PathBuf,
    /// The alerts as JSON Lines (`-`: the live stream).
    pub alerts_path: PathBuf,
    /// The state store once the follower started (to report a fall back to the local file).
    pub store: std::sync::OnceLock<std::sync::Arc<Fallback>>,
}

impl MonitorRun<'_> {
    /// Prepares the monitor's directory and starts following `events`: alerts go to the
    /// alerts file, or to `live` when the alerts path is `-`.
    pub fn start(
        &self,
        events: Receiver<MonitorEvent>,
        canaries: &Canaries,
        sandboxed: bool,
        live: Box<dyn Write + Send>,
    ) -> Result<Follower> {
        let dir = &self.dir;
        if std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(dir).map_err(|e| Error::io(dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let record = dir.join("events.jsonl");
        let _ = std::fs::remove_file(&record);
        let versions = Graph::load(&self.workspace.lockfile_path())
            .map(|g| {
                g.packages()
                    .iter()
                    .map(|p| (p.name.to_string(), p.version.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let analyzer = Analyzer {
            canaries: canaries.clone(),
            versions,
            sandboxed,
        };
        let baseline = if self.options.learn {
            None
        } else {
            Baseline::load(&self.workspace.root.join(baseline::FILE_NAME))?
        };
        let store = self.open_store()?;
        let sink: Box<dyn Write + Send> = if self.alerts_path == Path::new("-") {
            live
        } else {
            Box::new(fresh_file(&self.alerts_path).map_err(|e| Error::io(&self.alerts_path, e))?)
        };
        let judges = Judges {
            baseline,
            store,
            webhook: self.options.webhook.clone(),
        };
        Ok(follower::follow(events, record, sink, analyzer, judges))
    }

    /// The first-seen store: a local file (that must open), or a shared database that falls
    /// back to the local file when it cannot be reached or fails during the build.
    fn open_store(&self) -> Result<Option<std::sync::Arc<dyn StateStore>>> {
        let location = match self.options.state.as_deref() {
            Some(s) if !s.is_empty() => Location::parse(s),
            _ => match Location::default_local() {
                Some(l) => l,
                None => return Ok(None),
            },
        };
        let local = match (&location, Location::default_local()) {
            (Location::Sqlite(p), _) => {
                crate::state::open(&location)?;
                p.clone()
            }
            (_, Some(Location::Sqlite(p))) => p,
            _ => self.dir.join("state.sqlite"),
        };
        let store = std::sync::Arc::new(Fallback::open(&location, local));
        let _ = self.store.set(store.clone());
        Ok(Some(store))
    }

    /// Once the build has ended: takes the follower's alerts, writes them again, reports on
    /// `log` and writes SARIF and the learned baseline when asked.
    pub fn finish(&self, follower: Follower, log: &mut dyn Write) -> Result<Monitored> {
        let (summary, alerts) = follower.finish();
        if let Some((why, local)) = self.store.get().and_then(|s| s.fell_back()) {
            let _ = writeln!(
                log,
                "cargo-reflex monitor: the state store failed ({why}); first sightings were recorded in {local} instead"
            );
        }
        let path = &self.alerts_path;
        // Written again now that no build code runs: what the build could reach while it ran
        // (a symlink, forged lines) is replaced by exactly the alerts the monitor raised.
        if path != Path::new("-") {
            let mut text = String::new();
            for a in &alerts {
                text.push_str(&a.to_ecs().to_string());
                text.push('\n');
            }
            fresh_file(path)
                .and_then(|mut f| f.write_all(text.as_bytes()))
                .map_err(|e| Error::io(path, e))?;
        }
        let _ = log.write_all(monitor::render_summary(&summary, &alerts, path).as_bytes());
        if summary.webhook_failures > 0 {
            let _ = writeln!(
                log,
                "cargo-reflex monitor: {} webhook posts failed",
                summary.webhook_failures
            );
        }
        let root = &self.workspace.root;
        if let Some(sarif_path) = &self.options.alerts_sarif {
            let graph = Graph::load(&self.workspace.lockfile_path()).ok();
            std::fs::write(sarif_path, monitor::sarif(&alerts, graph.as_ref(), root))
                .map_err(|e| Error::io(sarif_path, e))?;
        }
        if self.options.learn {
            let baseline_path = root.join(baseline::FILE_NAME);
            Baseline::learn(&alerts).save(&baseline_path)?;
            let _ = writeln!(
                log,
                "cargo-reflex monitor: behaviour baseline written to {}",
                baseline_path.display()
            );
        }
        Ok(Monitored {
            summary,
            alerts,
            alerts_path: path.clone(),
        })
    }
}

impl Monitored {
    /// Whether build-time code did something only an attack does (a critical alert:
    /// exfiltration, tampering or injection).
    pub fn attack_detected(&self) -> bool {
        self.alerts.iter().any(|a| a.severity == Severity::Critical)
    }
}
