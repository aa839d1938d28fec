//! The three layers of a drill, and remediation, for one scenario.

use super::pipeline::read_alerts;
use super::scenario::Payload;
use super::{Layer, LayerResult, NOT_APPLICABLE, Play, Remediation, Remedy};
use crate::error::{Error, Result};
use crate::finding::Severity;
use crate::monitor::Alert;
use crate::monitor::codes as alert_codes;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

impl Play<'_> {
    fn result(&self, layer: Layer, status: &'static str, start: Instant) -> LayerResult {
        let e = &self.s.expect;
        let expected = match layer {
            Layer::Gate => e.blocked,
            Layer::Sandbox => e.contained,
            Layer::Monitor => e.detected,
        };
        LayerResult {
            layer,
            status,
            as_expected: status == NOT_APPLICABLE
                || ((status == layer.held()) == expected && status != "error"),
            codes: Vec::new(),
            evidence: Vec::new(),
            time_to_detect_ms: None,
            canary_decoded: None,
            seconds: start.elapsed().as_secs_f64(),
        }
    }

    /// Fortify: `gate --base HEAD` (which reviews the change) on the changed lockfile.
    pub(super) fn gate(&mut self) -> Result<LayerResult> {
        let start = Instant::now();
        if self.off(Layer::Gate) {
            let mut r = self.result(Layer::Gate, "off", start);
            r.evidence
                .push("switched off: the change was not reviewed".into());
            return Ok(r);
        }
        (self.progress)(&format!("{}: review and gate", self.s.name));
        let report = match self.gate_report() {
            Ok(report) => report,
            Err(e) => {
                let mut r = self.result(Layer::Gate, "error", start);
                r.evidence.push(format!("gate gave no report: error: {e}"));
                return Ok(r);
            }
        };
        let mut codes: Vec<String> = Vec::new();
        let mut evidence = Vec::new();
        for f in &report.findings {
            let name = f.package.as_ref().map_or("", |p| p.name.as_str());
            if f.denied && self.s.attack.iter().any(|a| a == name) {
                let code = f.code.to_string();
                if !codes.contains(&code) {
                    evidence.push(format!("{code}: {}", f.title));
                    codes.push(code);
                }
            }
        }
        let blocked = !report.summary.passed && !codes.is_empty();
        let mut r = self.result(
            Layer::Gate,
            if blocked { "blocked" } else { "missed" },
            start,
        );
        if !blocked {
            evidence.push(format!(
                "gate exited {} with no denied finding on {}",
                if report.summary.passed { 0 } else { 1 },
                self.s.attack.join(", ")
            ));
        }
        codes.sort();
        r.codes = codes;
        r.evidence = evidence;
        Ok(r)
    }

    /// Limit (`monitor == false`: `build`) or Expose (`build --monitor`), from a clean target
    /// directory. Without the sandbox layer the builds run unsandboxed.
    pub(super) fn build(&mut self, monitor: bool) -> Result<LayerResult> {
        let start = Instant::now();
        let layer = if monitor {
            Layer::Monitor
        } else {
            Layer::Sandbox
        };
        let run_time = self.s.payload == Payload::Run;
        if monitor && run_time {
            let mut r = self.result(layer, NOT_APPLICABLE, start);
            r.evidence.push(format!(
                "runs at run time: no build runs the payload of {}, so the monitor has nothing to see (only the gate can stop it)",
                self.s.attack.join(", ")
            ));
            return Ok(r);
        }
        if monitor && self.off(Layer::Monitor) {
            let mut r = self.result(layer, "off", start);
            r.evidence
                .push("switched off: the build was not monitored".into());
            return Ok(r);
        }
        let sandboxed = !self.off(Layer::Sandbox);
        (self.progress)(&format!(
            "{}: {}build{}",
            self.s.name,
            if sandboxed {
                "sandboxed "
            } else {
                "unsandboxed "
            },
            if monitor { " --monitor" } else { "" }
        ));
        let project = self.project();
        let _ = std::fs::remove_dir_all(project.join("target"));
        let watched = [self.dir.join("home"), project.clone()];
        let before = snapshot(&watched);
        let hits_before = self.sink.count();
        let alerts = self.dir.join(format!("alerts-{}.jsonl", layer.as_str()));
        let state = self.dir.join("monitor-state.sqlite");
        let mut args = vec!["build".to_string()];
        if monitor {
            args.extend([
                "--monitor".to_string(),
                "--alerts".into(),
                alerts.display().to_string(),
                "--state".into(),
                state.display().to_string(),
            ]);
        }
        if !sandboxed {
            args.extend(["--no-sandbox".to_string(), "--allow-unsandboxed".into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = self.reflex(&args)?;

        // What got out: the sinkhole, the markers, files outside the target directory, the
        // registry's unpacked sources.
        let mut evidence = Vec::new();
        for h in self.sink.since(hits_before) {
            evidence.push(format!("the sinkhole received ({}) {}", h.kind, h.what));
        }
        for m in list(&self.markers()) {
            evidence.push(format!("the payload ran outside the sandbox: marker {m}"));
        }
        let after = snapshot(&watched);
        for (path, bytes) in &after {
            match before.get(path) {
                None => evidence.push(format!("created {}", path.display())),
                Some(b) if b != bytes => evidence.push(format!("changed {}", path.display())),
                _ => {}
            }
        }
        evidence.extend(self.registry_tampering());
        // Later layers start from the state before this build.
        restore(&before, &after);
        let _ = std::fs::remove_dir_all(self.markers());
        let _ = std::fs::create_dir_all(self.markers());
        let _ = std::fs::remove_dir_all(self.cargo_home().join("registry/src"));
        let ran_ok = ran.code == Some(0) || (monitor && ran.code == Some(1));
        if !monitor {
            let status = if evidence.is_empty() && ran_ok && run_time {
                NOT_APPLICABLE
            } else if evidence.is_empty() && ran_ok {
                "contained"
            } else if evidence.is_empty() {
                "error"
            } else {
                "missed"
            };
            let mut r = self.result(layer, status, start);
            if status == "error" {
                r.evidence
                    .push(format!("build failed: {}", tail(&ran.stderr)));
            } else if status == NOT_APPLICABLE {
                r.evidence.push(format!(
                    "runs at run time: the build compiled {} into the program without running its payload (nothing reached the sinkhole, no marker, nothing outside the target directory changed); the sandbox cannot stop what runs later",
                    self.s.attack.join(", ")
                ));
            } else if status == "contained" {
                r.evidence.push(
                    "nothing reached the sinkhole, no marker, nothing outside the target directory changed"
                        .into(),
                );
            }
            if !sandboxed {
                r.evidence
                    .insert(0, "switched off: the build ran unsandboxed".into());
            }
            r.evidence.extend(evidence);
            return Ok(r);
        }
        self.judge_alerts(start, &alerts, &ran.stderr, sandboxed, evidence)
    }

    fn judge_alerts(
        &mut self,
        start: Instant,
        path: &Path,
        stderr: &str,
        sandboxed: bool,
        escaped: Vec<String>,
    ) -> Result<LayerResult> {
        let alerts = read_alerts(path);
        let mine: Vec<&Alert> = alerts
            .iter()
            .filter(|a| {
                let c = a.actor.crate_name().unwrap_or_default();
                self.s.attack.iter().any(|x| x == c) && a.severity >= Severity::High
            })
            .collect();
        let mut codes: Vec<String> = Vec::new();
        for a in &mine {
            if !codes.iter().any(|c| c == a.code) {
                codes.push(a.code.to_string());
            }
        }
        let missing: Vec<&String> = self
            .s
            .expect_alerts
            .iter()
            .filter(|c| !codes.contains(c))
            .collect();
        let detected = !mine.is_empty() && missing.is_empty();
        let mut r = self.result(
            Layer::Monitor,
            if detected { "detected" } else { "missed" },
            start,
        );
        let mut seen = std::collections::BTreeSet::new();
        for a in &mine {
            if seen.insert(a.message.clone()) && seen.len() <= 6 {
                r.evidence.push(a.message.clone());
            }
        }
        // The fullest decoded text of what left (its fragments decode too).
        let decoded = mine
            .iter()
            .filter(|a| a.code == alert_codes::SECRET_EXFILTRATION.code)
            .flat_map(|a| a.evidence.iter())
            .filter(|e| e.starts_with("decoded: "))
            .max_by_key(|e| e.len())
            .cloned();
        r.evidence.extend(decoded);
        if !missing.is_empty() {
            r.evidence.push(format!(
                "expected alerts not raised: {}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if mine.is_empty() {
            r.evidence.push(format!(
                "no high or critical alert on {} ({} alerts in all){}",
                self.s.attack.join(", "),
                alerts.len(),
                if alerts.is_empty() {
                    format!(": {}", tail(stderr))
                } else {
                    String::new()
                }
            ));
        }
        if !sandboxed {
            r.evidence
                .insert(0, "observe only: the sandbox was off".into());
            r.evidence.extend(escaped);
        }
        r.canary_decoded = Some(
            codes
                .iter()
                .any(|c| c == alert_codes::SECRET_EXFILTRATION.code),
        );
        codes.sort();
        r.codes = codes;
        // Time to detect: the fastest alert on the attack; remediation starts at the first
        // alert raised (event time plus its time to detect).
        let timed: Vec<(f64, jiff::Timestamp)> = mine
            .iter()
            .filter_map(|a| {
                let alerted = jiff::Timestamp::from_nanosecond(a.alerted_ns as i128).ok()?;
                Some((a.time_to_detect_ms(), alerted))
            })
            .collect();
        r.time_to_detect_ms = timed.iter().map(|t| t.0).min_by(f64::total_cmp);
        if let Some(alerted) = timed.iter().map(|t| t.1).min() {
            let ago = jiff::Timestamp::now().duration_since(alerted);
            self.first_alert_at = Instant::now().checked_sub(ago.unsigned_abs());
        }
        Ok(r)
    }

    /// Files in cargo's unpacked registry sources that differ from the published archives.
    fn registry_tampering(&self) -> Vec<String> {
        let mut out = Vec::new();
        let src = self.cargo_home().join("registry/src");
        for index in list_dirs(&src) {
            for pkg in list_dirs(&index) {
                let dir_name = pkg.file_name().map(|n| n.to_string_lossy().into_owned());
                let Some(spec) = self.s.crates.iter().find(|c| {
                    dir_name.as_deref() == Some(format!("{}-{}", c.name, c.version).as_str())
                }) else {
                    continue;
                };
                let mut files = BTreeMap::new();
                collect(&pkg, &pkg, &mut files);
                for (rel, text) in files {
                    if rel == ".cargo-ok" {
                        continue;
                    }
                    match spec.files.get(&rel) {
                        Some(orig) if self.fill(orig) == text => {}
                        Some(_) => out.push(format!(
                            "tampered with cargo's registry sources: {}",
                            pkg.join(&rel).display()
                        )),
                        None => out.push(format!(
                            "added to cargo's registry sources: {}",
                            pkg.join(&rel).display()
                        )),
                    }
                }
            }
        }
        out
    }

    /// Runs `respond`'s remedy for the attack crate (or the scenario's own when respond has
    /// no command) and checks the lockfile is free of it.
    pub(super) fn remediate(&mut self, since: Instant) -> Result<Remediation> {
        (self.progress)(&format!("{}: remediation", self.s.name));
        let (name, version) = self
            .attack_versions()
            .into_iter()
            .next()
            .ok_or_else(|| Error::Usage("no attack crate".into(), None))?;
        let query = format!("{name}@={version}");
        let remedy = self.respond_remedy(&query);
        let (command, source) = if remedy.starts_with("cargo update ") {
            let args: Vec<&str> = remedy.split_whitespace().skip(1).collect();
            self.cargo(&args)?;
            (remedy.clone(), "respond")
        } else {
            match &self.s.remedy {
                Some(Remedy::Named(n)) if n == "restore-manifest" => {
                    let p = self.project().join("Cargo.toml");
                    std::fs::write(&p, self.manifest(&self.s.project.dependencies))
                        .map_err(|e| Error::io(&p, e))?;
                    self.cargo(&["generate-lockfile"])?;
                    (
                        format!(
                            "restore the dependency declaration ({remedy}), then cargo generate-lockfile"
                        ),
                        "scenario",
                    )
                }
                Some(Remedy::Cargo(args)) => {
                    let a: Vec<&str> = args.iter().map(String::as_str).collect();
                    self.cargo(&a)?;
                    (format!("cargo {}", args.join(" ")), "scenario")
                }
                _ => {
                    return Ok(Remediation {
                        command: if remedy.is_empty() {
                            "respond found nothing to run".into()
                        } else {
                            remedy
                        },
                        source: "respond",
                        clean: false,
                        seconds: since.elapsed().as_secs_f64(),
                    });
                }
            }
        };
        let clean = self.attack_in_lockfile()?.is_empty();
        Ok(Remediation {
            command,
            source,
            clean,
            seconds: since.elapsed().as_secs_f64(),
        })
    }
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.trim().lines().collect();
    lines[lines.len().saturating_sub(3)..].join(" | ")
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn list_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for p in std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
    {
        if p.is_dir() {
            collect(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            let text = std::fs::read(&p).unwrap_or_default();
            out.insert(
                rel.to_string_lossy().into_owned(),
                String::from_utf8_lossy(&text).into_owned(),
            );
        }
    }
}

/// Content of every file under `roots` (but `target/` and `.git/objects`).
type Snapshot = BTreeMap<PathBuf, Vec<u8>>;

fn snapshot(roots: &[PathBuf]) -> Snapshot {
    fn walk(dir: &Path, out: &mut Snapshot) {
        for p in std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
        {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            if p.is_dir() {
                if matches!(name.as_deref(), Some("target") | Some("objects")) {
                    continue;
                }
                walk(&p, out);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.insert(p, bytes);
            }
        }
    }
    let mut out = Snapshot::new();
    for r in roots {
        walk(r, &mut out);
    }
    out
}

/// Puts back what a build changed (an unsandboxed run really does run the payload).
fn restore(before: &Snapshot, after: &Snapshot) {
    for (path, bytes) in after {
        match before.get(path) {
            None => {
                let _ = std::fs::remove_file(path);
            }
            Some(b) if b != bytes => {
                let _ = std::fs::write(path, b);
            }
            _ => {}
        }
    }
}
