//! `drill`: plays benign imitations of real supply-chain attacks against the pipeline, end to
//! end, with real cargo and a real sparse registry on loopback, and reports which layer stopped
//! each one (the gate: blocked), which contained it (the sandbox: nothing reached the sinkhole,
//! nothing outside the target directory changed), which saw it (the monitor: alerted,
//! attributed to the right crate, the canary decoded) and how fast, then remediates with
//! `respond`'s remedy and times that too.
//!
//! Everything happens under one scratch directory: the sample projects, cargo's and the
//! tool's homes, the markers the payloads leave. Payloads talk only to the drill's sinkhole on
//! loopback.

mod layers;
mod pipeline;
pub mod registry;
pub mod render;
pub mod scenario;
pub mod sinkhole;
pub mod tabletop;

use crate::error::{Error, Result};
use crate::state::DrillRecord;
use registry::{Publish, Registry};
use scenario::{Remedy, Scenario, Stage};
use serde::Serialize;
use sinkhole::Sinkhole;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The layers a drill exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// `review` + `gate` on the lockfile change (Fortify).
    Gate,
    /// `build` in the sandbox (Limit).
    Sandbox,
    /// `build --monitor` (Expose).
    Monitor,
}

/// The status of a layer that does not apply to the scenario: a build never runs a
/// run-time payload, so neither the sandbox nor the monitor can stop or see it.
pub const NOT_APPLICABLE: &str = "not applicable";

impl Layer {
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Gate => "gate",
            Layer::Sandbox => "sandbox",
            Layer::Monitor => "monitor",
        }
    }

    pub fn parse(s: &str) -> Option<Layer> {
        match s {
            "gate" | "review" | "fortify" => Some(Layer::Gate),
            "sandbox" | "limit" => Some(Layer::Sandbox),
            "monitor" | "expose" => Some(Layer::Monitor),
            _ => None,
        }
    }

    /// The word for success at this layer.
    fn held(self) -> &'static str {
        match self {
            Layer::Gate => "blocked",
            Layer::Sandbox => "contained",
            Layer::Monitor => "detected",
        }
    }
}

/// How to run the pipeline.
pub struct Options {
    /// cargo-reflex itself (the drill runs the real builds).
    pub exe: PathBuf,
    /// Real cargo.
    pub cargo: PathBuf,
    /// Where everything is written (created; must be empty or absent).
    pub scratch: PathBuf,
    /// Variables passed through to every command (PATH, RUSTUP_HOME, RUSTUP_TOOLCHAIN).
    pub pass_env: Vec<(String, String)>,
    /// Layers switched off: the gate and the monitor are not run; without the sandbox the
    /// builds run unsandboxed (as a pipeline without it would).
    pub off: Vec<Layer>,
    /// The team's policy file (default: what `init` writes for the sample project).
    pub policy: Option<PathBuf>,
    pub now: jiff::Timestamp,
}

#[derive(Clone, Debug, Serialize)]
pub struct LayerResult {
    pub layer: Layer,
    /// `blocked`, `contained`, `detected`, `missed`, `off`, `error`, or `not applicable` (the
    /// sandbox and the monitor, for a payload that runs at run time).
    pub status: &'static str,
    /// Whether the status is what the scenario expects.
    pub as_expected: bool,
    /// Finding or alert codes that decided it.
    pub codes: Vec<String>,
    pub evidence: Vec<String>,
    /// Monitor: from the payload's action to the alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_to_detect_ms: Option<f64>,
    /// Monitor: whether a canary was found (decoded) in what the payload sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_decoded: Option<bool>,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Remediation {
    pub command: String,
    /// `respond` (its remedy) or `scenario` (respond had no command to run).
    pub source: &'static str,
    /// Whether the lockfile is free of the attack afterwards.
    pub clean: bool,
    /// From the first alert (or the gate's verdict) to the clean lockfile.
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub title: String,
    pub imitates: String,
    pub attack: Vec<String>,
    /// When the payload runs: `build` or `run` (then the sandbox and the monitor are not
    /// applicable).
    pub payload: &'static str,
    pub layers: Vec<LayerResult>,
    /// Every layer did what the scenario expects.
    pub passed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<Remediation>,
    /// The drill itself could not play the scenario.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ScenarioResult {
    pub fn layer(&self, l: Layer) -> Option<&LayerResult> {
        self.layers.iter().find(|r| r.layer == l)
    }

    /// The monitor's time to detect, when it detected.
    pub fn time_to_detect_ms(&self) -> Option<f64> {
        self.layer(Layer::Monitor).and_then(|m| m.time_to_detect_ms)
    }

    /// The time to remediate, when the lockfile came out clean.
    pub fn time_to_remediate_s(&self) -> Option<f64> {
        self.remediation
            .as_ref()
            .filter(|m| m.clean)
            .map(|m| m.seconds)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Scorecard {
    pub version: u32,
    pub started: String,
    pub layers_off: Vec<Layer>,
    pub scenarios: Vec<ScenarioResult>,
    pub passed: usize,
    pub total: usize,
    /// Passed scenarios over all, in percent.
    pub success_rate: f64,
    pub median_time_to_detect_ms: Option<f64>,
    pub median_time_to_remediate_s: Option<f64>,
    pub seconds: f64,
}

impl Scorecard {
    /// The rows the state store keeps of this drill: one per scenario.
    pub fn records(&self) -> Vec<DrillRecord> {
        let status =
            |r: &ScenarioResult, l: Layer| r.layer(l).map_or("error", |x| x.status).to_string();
        self.scenarios
            .iter()
            .map(|r| DrillRecord {
                started: self.started.clone(),
                scenario: r.name.clone(),
                passed: r.passed,
                gate: status(r, Layer::Gate),
                sandbox: status(r, Layer::Sandbox),
                monitor: status(r, Layer::Monitor),
                time_to_detect_ms: r.time_to_detect_ms(),
                time_to_remediate_s: r.time_to_remediate_s(),
            })
            .collect()
    }
}

/// Plays `scenarios`; `progress` hears what is happening.
pub fn run(
    scenarios: &[Scenario],
    opts: &Options,
    progress: &mut dyn FnMut(&str),
) -> Result<Scorecard> {
    let start = Instant::now();
    std::fs::create_dir_all(&opts.scratch).map_err(|e| Error::io(&opts.scratch, e))?;
    let registry = Registry::start()?;
    let sink = Sinkhole::start()?;
    let mut results = Vec::new();
    for s in scenarios {
        progress(&format!("{}: {}", s.name, s.title));
        let mut r = ScenarioResult {
            name: s.name.clone(),
            title: s.title.clone(),
            imitates: s.imitates.clone(),
            attack: s.attack.clone(),
            payload: s.payload.as_str(),
            layers: Vec::new(),
            passed: false,
            remediation: None,
            error: None,
        };
        let mut play = Play {
            s,
            opts,
            registry: &registry,
            sink: &sink,
            dir: opts.scratch.join(&s.name),
            progress,
            first_alert_at: None,
        };
        if let Err(e) = play.run(&mut r) {
            r.error = Some(e.to_string());
        }
        r.passed = r.error.is_none()
            && [Layer::Gate, Layer::Sandbox, Layer::Monitor]
                .iter()
                .all(|l| r.layer(*l).is_some_and(|x| x.as_expected));
        results.push(r);
    }
    let passed = results.iter().filter(|r| r.passed).count();
    let total = results.len();
    let ttd: Vec<f64> = results
        .iter()
        .filter_map(|r| r.time_to_detect_ms())
        .collect();
    let ttr: Vec<f64> = results
        .iter()
        .filter_map(|r| r.time_to_remediate_s())
        .collect();
    Ok(Scorecard {
        version: 1,
        started: opts.now.to_string(),
        layers_off: opts.off.clone(),
        scenarios: results,
        passed,
        total,
        success_rate: if total == 0 {
            0.0
        } else {
            (passed as f64 * 1000.0 / total as f64).round() / 10.0
        },
        median_time_to_detect_ms: median(ttd),
        median_time_to_remediate_s: median(ttr),
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// Fake secrets the drill hands to every command it runs (what a CI job would carry).
pub const DRILL_SECRETS: &[(&str, &str)] = &[
    (
        "AWS_SECRET_ACCESS_KEY",
        "drillK7wJalrXUtnFEMIK7MDENGbPxRfiCYDRILLKEY",
    ),
    ("GITHUB_TOKEN", "ghp_drill0000000000000000000000000000000"),
    (
        "CARGO_REGISTRY_TOKEN",
        "cio_drill00000000000000000000000000000",
    ),
];

struct Play<'a> {
    s: &'a Scenario,
    opts: &'a Options,
    registry: &'a Registry,
    sink: &'a Sinkhole,
    dir: PathBuf,
    progress: &'a mut dyn FnMut(&str),
    /// When the monitor's first alert on the attack was raised.
    first_alert_at: Option<Instant>,
}

impl Play<'_> {
    fn project(&self) -> PathBuf {
        self.dir.join("project")
    }

    fn markers(&self) -> PathBuf {
        self.dir.join("markers")
    }

    fn cargo_home(&self) -> PathBuf {
        self.dir.join("cargo-home")
    }

    fn env(&self) -> Vec<(String, String)> {
        let d = |p: &str| self.dir.join(p).display().to_string();
        let mut env: Vec<(String, String)> = self.opts.pass_env.clone();
        for (k, v) in [
            ("HOME", d("home")),
            ("CARGO_HOME", d("cargo-home")),
            ("CARGO_REFLEX_CACHE", d("cache")),
            (
                "CARGO_REFLEX_CRATES_IO_INDEX",
                self.registry.url().to_string(),
            ),
            ("CARGO_NET_RETRY", "0".into()),
            ("CARGO_TERM_COLOR", "never".into()),
            ("NO_COLOR", "1".into()),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("GIT_AUTHOR_NAME", "drill".into()),
            ("GIT_AUTHOR_EMAIL", "drill@example.invalid".into()),
            ("GIT_COMMITTER_NAME", "drill".into()),
            ("GIT_COMMITTER_EMAIL", "drill@example.invalid".into()),
        ] {
            env.push((k.to_string(), v));
        }
        env.extend(
            DRILL_SECRETS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }

    fn cargo(&self, args: &[&str]) -> Result<()> {
        let r = self.command_in_project(&self.opts.cargo, args)?;
        if !r.status.success() {
            return Err(Error::Usage(
                format!(
                    "{}: cargo {} failed: {}",
                    self.s.name,
                    args.join(" "),
                    String::from_utf8_lossy(&r.stderr).trim()
                ),
                None,
            ));
        }
        Ok(())
    }

    fn git(&self, args: &[&str]) -> Result<()> {
        let r = self.command_in_project(Path::new("git"), args)?;
        if !r.status.success() {
            return Err(Error::Usage(
                format!(
                    "git {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&r.stderr).trim()
                ),
                Some(
                    "the drill keeps the sample project in git (review compares with HEAD)".into(),
                ),
            ));
        }
        Ok(())
    }

    fn off(&self, l: Layer) -> bool {
        self.opts.off.contains(&l)
    }

    /// The versions a registry holds at `stage` (the attack adds to what was there).
    fn published(&self, attack: bool) -> Vec<Publish> {
        let long_ago = self.opts.now - jiff::SignedDuration::from_hours(24 * 400);
        let hours_ago = self.opts.now - jiff::SignedDuration::from_hours(2);
        self.s
            .crates
            .iter()
            .filter(|c| attack || c.stage == Stage::Before)
            .map(|c| Publish {
                name: c.name.clone(),
                version: c.version.clone(),
                registry: c.registry.clone(),
                files: c
                    .files
                    .iter()
                    .map(|(k, v)| (k.clone(), self.fill(v)))
                    .collect(),
                // Whole seconds, as registries write it.
                pubtime: match c.published_days_ago {
                    Some(days) => {
                        self.opts.now - jiff::SignedDuration::from_hours(24 * i64::from(days))
                    }
                    None if c.stage == Stage::Before => long_ago,
                    None => hours_ago,
                }
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
            })
            .collect()
    }

    /// The payloads' placeholders: the sinkhole, the marker directory, the drill's domain.
    fn fill(&self, text: &str) -> String {
        text.replace("@SINK_TCP@", &self.sink.tcp)
            .replace("@SINK_DNS@", &self.sink.dns)
            .replace("@SINK_UDP@", &self.sink.dns)
            .replace("@MARKER@", &self.markers().display().to_string())
            .replace("@DOMAIN@", &format!("{}.drill.invalid", self.s.name))
    }

    fn manifest(&self, deps: &str) -> String {
        format!(
            "[package]\nname = \"drill-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\n{}\n",
            deps.trim()
        )
    }

    fn attack_versions(&self) -> Vec<(String, String)> {
        self.s
            .crates
            .iter()
            .filter(|c| c.stage == Stage::Attack && self.s.attack.contains(&c.name))
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect()
    }

    /// Attack crates the lockfile holds.
    fn attack_in_lockfile(&self) -> Result<Vec<String>> {
        let path = self.project().join("Cargo.lock");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Ok(self
            .attack_versions()
            .into_iter()
            .filter(|(n, v)| text.contains(&format!("name = \"{n}\"\nversion = \"{v}\"")))
            .map(|(n, v)| format!("{n} {v}"))
            .collect())
    }

    fn run(&mut self, r: &mut ScenarioResult) -> Result<()> {
        let _ = std::fs::remove_dir_all(&self.dir);
        for d in ["home", "cargo-home", "cache", "project/src", "markers"] {
            let p = self.dir.join(d);
            std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
        }
        self.write_cargo_config()?;
        let project = self.project();
        let write =
            |p: PathBuf, text: String| std::fs::write(&p, text).map_err(|e| Error::io(&p, e));
        write(
            project.join("Cargo.toml"),
            self.manifest(&self.s.project.dependencies),
        )?;
        write(project.join("src/main.rs"), "fn main() {}\n".into())?;
        write(project.join(".gitignore"), "/target\n".into())?;

        // Before: the registry as it was; the lockfile, the policy and a commit.
        self.registry.publish(&self.published(false))?;
        self.cargo(&["generate-lockfile"])?;
        match &self.opts.policy {
            Some(p) => {
                std::fs::copy(p, project.join("reflex.toml")).map_err(|e| Error::io(p, e))?;
            }
            None => self.init_policy()?,
        }
        self.git(&["init", "-q", "-b", "main"])?;
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "-m", "before the attack"])?;

        // The attack: the registry now holds the attacker's release; the change takes it.
        (self.progress)(&format!("{}: the change arrives", self.s.name));
        self.registry.publish(&self.published(true))?;
        if let Some(after) = &self.s.project.dependencies_after {
            write(project.join("Cargo.toml"), self.manifest(after))?;
        }
        let update: Vec<&str> = self.s.update.iter().map(String::as_str).collect();
        self.cargo(&update)?;
        let arrived = self.attack_in_lockfile()?;
        if arrived.is_empty() {
            return Err(Error::Usage(
                format!(
                    "`cargo {}` did not bring in {}",
                    self.s.update.join(" "),
                    self.s.attack.join(", ")
                ),
                Some("check the scenario's crates and `update`".into()),
            ));
        }

        let gate_done = Instant::now();
        r.layers.push(self.gate()?);
        r.layers.push(self.build(false)?);
        let monitor = self.build(true)?;
        // Remediation is timed from the alert (or, without one, the gate's verdict).
        let since = match monitor.time_to_detect_ms {
            Some(_) => self.first_alert_at.take(),
            None => None,
        }
        .unwrap_or(gate_done);
        r.layers.push(monitor);
        r.remediation = Some(self.remediate(since)?);
        Ok(())
    }

    fn write_cargo_config(&self) -> Result<()> {
        let mut cfg = format!(
            "[source.crates-io]\nreplace-with = \"drill\"\n\n[source.drill]\nregistry = \"sparse+{}\"\n\n[net]\nretry = 0\n",
            self.registry.url()
        );
        let mut private: Vec<&str> = self
            .s
            .crates
            .iter()
            .filter_map(|c| c.registry.as_deref())
            .collect();
        private.sort();
        private.dedup();
        for p in private {
            cfg.push_str(&format!(
                "\n[registries.{p}]\nindex = \"sparse+{}\"\n",
                self.registry.private_url(p)
            ));
        }
        let path = self.cargo_home().join("config.toml");
        std::fs::write(&path, cfg).map_err(|e| Error::io(&path, e))
    }
}
