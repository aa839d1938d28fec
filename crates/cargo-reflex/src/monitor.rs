//! `build --monitor`: takes the sandbox's events as they arrive (on a channel build code cannot
//! reach), turns them into alerts at once (JSON Lines, Elastic Common Schema) and summarises
//! them at the end. The events are also written to `events.jsonl` as a record for people; no
//! decision is taken from that file.

use reflex::monitor::{Alert, AlertSeverity, Analyzer, MonitorEvent, Summary};
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
    pub baseline: Option<reflex::monitor::baseline::Baseline>,
    pub store: Option<reflex::state::StateStore>,
    /// Alerts are also posted here as they happen (from a thread of their own).
    pub webhook: Option<String>,
}

/// Starts taking `events`, recording them in `record` and writing alerts to `alerts` (`-` for
/// standard output). The follower ends when the sender is dropped (the sandbox has exited).
pub fn follow(
    events: std::sync::mpsc::Receiver<MonitorEvent>,
    record: PathBuf,
    alerts: PathBuf,
    analyzer: Analyzer,
    judges: Judges,
) -> std::io::Result<Follower> {
    let mut sink: Box<dyn Write + Send> = if alerts == Path::new("-") {
        Box::new(std::io::stdout())
    } else {
        if let Some(d) = alerts.parent() {
            std::fs::create_dir_all(d)?;
        }
        Box::new(std::fs::File::create(&alerts)?)
    };
    let hook = judges.webhook.clone().map(|url| {
        let (tx, rx) = std::sync::mpsc::channel::<Alert>();
        let poster = std::thread::spawn(move || {
            let agent = reflex::monitor::webhook_agent();
            let mut failures = 0usize;
            for a in rx {
                if reflex::monitor::post_webhook(&agent, &url, &a).is_err() {
                    failures += 1;
                }
            }
            failures
        });
        (tx, poster)
    });
    let handle = std::thread::spawn(move || {
        let hook = hook;
        let mut summary = Summary::default();
        let mut kept = Vec::new();
        let mut latencies = Vec::new();
        let mut record = std::fs::File::create(&record)
            .ok()
            .map(std::io::BufWriter::new);
        for ev in events {
            if let Some(r) = record.as_mut()
                && let Ok(line) = serde_json::to_string(&ev)
            {
                let _ = writeln!(r, "{line}");
            }
            summary.events += 1;
            let mut found = analyzer.alerts(&ev, now_ns());
            let extra: Vec<Alert> = found
                .iter()
                .flat_map(|a| {
                    reflex::monitor::follow_up(a, judges.baseline.as_ref(), judges.store.as_ref())
                })
                .collect();
            found.extend(extra);
            for a in &found {
                let _ = writeln!(sink, "{}", a.to_ecs());
                latencies.push(a.time_to_detect_ms());
                if let Some((tx, _)) = &hook
                    && a.severity >= AlertSeverity::Medium
                {
                    let _ = tx.send(a.clone());
                }
            }
            let _ = sink.flush();
            summary.add(&found);
            kept.extend(found);
        }
        if let Some(mut r) = record {
            let _ = r.flush();
        }
        summary.latencies(latencies);
        if let Some((tx, poster)) = hook {
            drop(tx);
            summary.webhook_failures = poster.join().unwrap_or(0);
        }
        (summary, kept)
    });
    Ok(Follower { handle })
}

impl Follower {
    /// Takes what is left after the build and returns the summary and the alerts.
    pub fn finish(self) -> (Summary, Vec<Alert>) {
        self.handle.join().unwrap_or_default()
    }
}

/// The human summary at the end of a monitored build (stderr).
pub fn report(summary: &Summary, alerts: &[Alert], alerts_path: &Path, out: &mut dyn Write) {
    let counts: Vec<String> = ["critical", "high", "medium", "low"]
        .iter()
        .filter_map(|k| summary.by_severity.get(*k).map(|v| format!("{v} {k}")))
        .collect();
    let counts = if counts.is_empty() {
        String::new()
    } else {
        format!(" ({})", counts.join(", "))
    };
    let _ = writeln!(
        out,
        "cargo-reflex monitor: {} events, {} alerts{counts} -> {}",
        summary.events,
        summary.alerts,
        alerts_path.display()
    );
    for (who, n) in &summary.by_crate {
        let _ = writeln!(out, "  {n:>4}  {who}");
    }
    let mut worst: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.severity >= AlertSeverity::High)
        .collect();
    worst.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.time_ns.cmp(&b.time_ns)));
    worst.dedup_by(|a, b| a.message == b.message);
    for a in worst.iter().take(15) {
        let _ = writeln!(out, "  {:?}: {} [{}]", a.severity, a.message, a.outcome);
    }
    if let (Some(m), Some(x)) = (
        summary.median_time_to_detect_ms,
        summary.max_time_to_detect_ms,
    ) {
        let _ = writeln!(out, "  time to detect: median {m:.1} ms, max {x:.1} ms");
    }
}
