//! The event follower of `build --monitor`: takes the sandbox's events as they arrive (on a
//! channel build code cannot reach), turns them into alerts at once (JSON Lines, Elastic
//! Common Schema), scans what the build produced for the canaries once it has ended, and
//! sums up. The events are also written to `events.jsonl` as a record for people; no decision
//! is taken from that file.

use crate::finding::Severity;
use crate::monitor::baseline::Baseline;
use crate::monitor::{self, Alert, Analyzer, MonitorEvent, Reported, Summary, artifacts};
use crate::state::StateStore;
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct Follower {
    handle: std::thread::JoinHandle<(Summary, Vec<Alert>)>,
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// What else judges each alert: the behaviour baseline and the first-seen store.
pub struct Judges {
    pub baseline: Option<Baseline>,
    pub store: Option<std::sync::Arc<dyn StateStore>>,
    /// Alerts are also posted here as they happen (from a thread of their own).
    pub webhook: Option<String>,
}

/// A new, empty file at `path`, never through a link: the target directory is writable by the
/// build code that ran before, which may have left a symlink there (at the file, or at its
/// directory) pointing at `~/.bashrc`.
pub fn fresh_file(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        if std::fs::symlink_metadata(dir).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(dir)?;
        }
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// Starts taking `events`, recording them in `record` and writing alerts to `sink` as they
/// are raised. The follower ends when the sender is dropped (the sandbox has exited): it then
/// scans the target directory's build outputs and artifacts for the canaries. `record` lies
/// in the target directory (`<target>/reflex-monitor/events.jsonl`), which is how the
/// follower knows it.
pub fn follow(
    events: std::sync::mpsc::Receiver<MonitorEvent>,
    record: PathBuf,
    sink: Box<dyn Write + Send>,
    analyzer: Analyzer,
    judges: Judges,
) -> Follower {
    let hook = judges.webhook.clone().map(|url| {
        let (tx, rx) = std::sync::mpsc::channel::<Alert>();
        let poster = std::thread::spawn(move || {
            let agent = monitor::webhook_agent();
            let mut failures = 0usize;
            for a in rx {
                if monitor::post_webhook(&agent, &url, &a).is_err() {
                    failures += 1;
                }
            }
            failures
        });
        (tx, poster)
    });
    let target_dir = record
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    // Artifacts written from now on are this build's (a little slack for coarse clocks).
    let started = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    let handle = std::thread::spawn(move || {
        let (tx, poster) = match hook {
            Some((tx, poster)) => (Some(tx), Some(poster)),
            None => (None, None),
        };
        let mut out = Out {
            sink,
            hook: tx,
            judges,
            summary: Summary::default(),
            kept: Vec::new(),
            latencies: Vec::new(),
        };
        let mut compiled = artifacts::Compiled::default();
        // One act, one alert: a DNS query is sent and then heard by the sinkhole.
        let mut reported = Reported::default();
        let mut record = fresh_file(&record).ok().map(std::io::BufWriter::new);
        for ev in events {
            if let Some(r) = record.as_mut()
                && let Ok(line) = serde_json::to_string(&ev)
            {
                let _ = writeln!(r, "{line}");
            }
            out.summary.events += 1;
            compiled.note(&ev, &analyzer.versions);
            if let Some(kind) = analyzer.normal_activity(&ev, target_dir.as_deref()) {
                *out.summary.normal.entry(kind.to_string()).or_default() += 1;
            }
            out.publish(analyzer.alerts_once(&ev, now_ns(), target_dir.as_deref(), &mut reported));
        }
        if let Some(mut r) = record {
            let _ = r.flush();
        }
        // The build has ended: what it produced.
        if let Some(t) = &target_dir {
            out.publish(artifacts::scan(
                t,
                started,
                &analyzer.canaries,
                &compiled,
                &analyzer.versions,
                now_ns(),
            ));
        }
        let Out {
            mut summary,
            kept,
            latencies,
            hook,
            ..
        } = out;
        summary.latencies(latencies);
        drop(hook);
        if let Some(poster) = poster {
            summary.webhook_failures = poster.join().unwrap_or(0);
        }
        (summary, kept)
    });
    Follower { handle }
}

/// Where alerts go as they are made: the sink, the webhook, the summary.
struct Out {
    sink: Box<dyn Write + Send>,
    hook: Option<std::sync::mpsc::Sender<Alert>>,
    judges: Judges,
    summary: Summary,
    kept: Vec<Alert>,
    latencies: Vec<f64>,
}

impl Out {
    /// Judges `found` further (baseline, first sightings) and publishes all of it.
    fn publish(&mut self, mut found: Vec<Alert>) {
        let extra: Vec<Alert> = found
            .iter()
            .flat_map(|a| {
                monitor::follow_up(
                    a,
                    self.judges.baseline.as_ref(),
                    self.judges.store.as_deref(),
                )
            })
            .collect();
        found.extend(extra);
        for a in &found {
            let _ = writeln!(self.sink, "{}", a.to_ecs());
            // Artifacts are judged after the build: no time to detect.
            if a.action != "artifact" {
                self.latencies.push(a.time_to_detect_ms());
            }
            if let Some(tx) = &self.hook
                && a.severity >= Severity::Medium
            {
                let _ = tx.send(a.clone());
            }
        }
        let _ = self.sink.flush();
        self.summary.add(&found);
        self.kept.extend(found);
    }
}

impl Follower {
    /// Takes what is left after the build and returns the summary and the alerts.
    pub fn finish(self) -> (Summary, Vec<Alert>) {
        self.handle.join().unwrap_or_default()
    }
}
