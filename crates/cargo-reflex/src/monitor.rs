//! `build --monitor`: follows the sandbox's event log while the build runs, turns events into
//! alerts at once (JSON Lines, Elastic Common Schema) and summarises them at the end.

use reflex::monitor::{Alert, AlertSeverity, Analyzer, RawEvent, Summary};
use std::io::{BufRead, BufReader, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Follower {
    done: Arc<AtomicBool>,
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

/// Starts following `events`, writing alerts to `alerts` (`-` for standard output).
pub fn follow(
    events: PathBuf,
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
    let done = Arc::new(AtomicBool::new(false));
    let finished = done.clone();
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
        let mut reader: Option<BufReader<std::fs::File>> = None;
        let mut line = String::new();
        loop {
            if reader.is_none() {
                reader = std::fs::File::open(&events).ok().map(BufReader::new);
            }
            let Some(r) = reader.as_mut() else {
                if finished.load(Ordering::SeqCst) {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            };
            let pos = r.stream_position().unwrap_or(0);
            line.clear();
            match r.read_line(&mut line) {
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    if let Ok(ev) = serde_json::from_str::<RawEvent>(&line) {
                        summary.events += 1;
                        let mut found = analyzer.alerts(&ev, now_ns());
                        let extra: Vec<Alert> = found
                            .iter()
                            .flat_map(|a| {
                                reflex::monitor::follow_up(
                                    a,
                                    judges.baseline.as_ref(),
                                    judges.store.as_ref(),
                                )
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
                }
                _ => {
                    // A partial line: read it again when it is complete.
                    let _ = r.seek(std::io::SeekFrom::Start(pos));
                    if finished.load(Ordering::SeqCst) {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        }
        summary.latencies(latencies);
        if let Some((tx, poster)) = hook {
            drop(tx);
            summary.webhook_failures = poster.join().unwrap_or(0);
        }
        (summary, kept)
    });
    Ok(Follower { done, handle })
}

impl Follower {
    /// Reads what is left after the build and returns the summary and the alerts.
    pub fn finish(self) -> (Summary, Vec<Alert>) {
        self.done.store(true, Ordering::SeqCst);
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
