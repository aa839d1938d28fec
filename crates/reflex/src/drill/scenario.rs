//! Drill scenarios: a sample project, the crates a registry holds before the attack and what
//! the attack publishes, the change that brings it in, and what each layer should make of it.
//! Built-in scenarios and users' own use the same format (`scenario.toml`); users' crates may
//! live in directories next to it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub title: String,
    /// Which real attack it imitates.
    #[serde(default)]
    pub imitates: String,
    /// Crates the attack brings in or changes: the layers must name one of them.
    pub attack: Vec<String>,
    /// Cargo arguments that take the change (run with real cargo against the drill's registry).
    pub update: Vec<String>,
    /// Alert codes the monitor must raise for one of the attack crates.
    #[serde(default)]
    pub expect_alerts: Vec<String>,
    /// How to remediate when `respond` has no command: `restore-manifest` (the dependency
    /// declaration before the change, then `cargo generate-lockfile`) or cargo arguments.
    #[serde(default)]
    pub remedy: Option<Remedy>,
    /// Scenario-specific clean-up steps for the tabletop checklist.
    #[serde(default)]
    pub tabletop: Vec<String>,
    /// What each layer should do (default: blocked, contained, detected).
    #[serde(default)]
    pub expect: Expect,
    /// When the attack's payload runs: `build` (a build script or proc-macro, default) or
    /// `run` (library code, when the program runs). A build never runs a run-time payload, so
    /// for it the sandbox and the monitor are not applicable and only the gate can stop it.
    #[serde(default)]
    pub payload: Payload,
    pub project: Project,
    #[serde(rename = "crate")]
    pub crates: Vec<CrateSpec>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Remedy {
    Named(String),
    Cargo(Vec<String>),
}

/// When a scenario's payload runs.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Payload {
    /// While the crate builds (a build script, a proc-macro): every layer applies.
    #[default]
    Build,
    /// When the program runs (library code): only the gate applies.
    Run,
}

impl Payload {
    pub fn as_str(self) -> &'static str {
        match self {
            Payload::Build => "build",
            Payload::Run => "run",
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expect {
    #[serde(default = "yes")]
    pub blocked: bool,
    #[serde(default = "yes")]
    pub contained: bool,
    #[serde(default = "yes")]
    pub detected: bool,
}

fn yes() -> bool {
    true
}

impl Default for Expect {
    fn default() -> Expect {
        Expect {
            blocked: true,
            contained: true,
            detected: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Project {
    /// The `[dependencies]` table of the sample application (TOML).
    pub dependencies: String,
    /// The table after the change, when the change edits the manifest.
    #[serde(default)]
    pub dependencies_after: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CrateSpec {
    pub name: String,
    pub version: String,
    /// `before` (in the registry from the start) or `attack` (appears with the change).
    pub stage: Stage,
    /// How long ago it was published, in days (the index's `pubtime`). Default: 400 for
    /// `before`, two hours for `attack`; an attack crate published months ago is one the
    /// cooldown lets through.
    #[serde(default)]
    pub published_days_ago: Option<u32>,
    /// The private registry that holds it (`None`: the public one).
    #[serde(default)]
    pub registry: Option<String>,
    /// Its files inline ...
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// ... or a directory (relative to the scenario file) holding them.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    Before,
    Attack,
}

const BUILTIN: &[(&str, &str)] = &[
    ("takeover", include_str!("../../drill/takeover.toml")),
    (
        "proc-macro-lookalike",
        include_str!("../../drill/proc-macro-lookalike.toml"),
    ),
    (
        "dependency-confusion",
        include_str!("../../drill/dependency-confusion.toml"),
    ),
    (
        "second-stage",
        include_str!("../../drill/second-stage.toml"),
    ),
    ("persistence", include_str!("../../drill/persistence.toml")),
    (
        "runtime-lookalike",
        include_str!("../../drill/runtime-lookalike.toml"),
    ),
    (
        "obfuscated-build-script",
        include_str!("../../drill/obfuscated-build-script.toml"),
    ),
];

/// The built-in scenarios, in order.
pub fn builtin() -> Vec<Scenario> {
    BUILTIN
        .iter()
        .map(|(name, text)| {
            let mut s: Scenario = toml::from_str(text)
                .unwrap_or_else(|e| panic!("built-in drill scenario {name}: {e}"));
            s.name = name.to_string();
            s
        })
        .collect()
}

/// Scenarios from a directory: `scenario.toml` in it, or in each of its subdirectories.
pub fn load_dir(dir: &Path) -> Result<Vec<Scenario>> {
    let direct = dir.join("scenario.toml");
    let mut files = Vec::new();
    if direct.is_file() {
        files.push(direct);
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
        for e in entries.flatten() {
            let f = e.path().join("scenario.toml");
            if f.is_file() {
                files.push(f);
            }
        }
        files.sort();
    }
    if files.is_empty() {
        return Err(Error::Usage(
            format!("{} holds no scenario.toml", dir.display()),
            Some(
                "a scenario is a directory with a scenario.toml (see the README's drill section)"
                    .into(),
            ),
        ));
    }
    files.iter().map(|f| load(f)).collect()
}

fn load(file: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let mut s: Scenario = toml::from_str(&text).map_err(|e| Error::toml(file, &text, &e))?;
    let base = file.parent().unwrap_or(Path::new("."));
    for c in &mut s.crates {
        if let Some(dir) = &c.path {
            let dir = base.join(dir);
            read_tree(&dir, &dir, &mut c.files)?;
        }
        if !c.files.contains_key("Cargo.toml") {
            return Err(Error::Usage(
                format!(
                    "{}: crate {} {} has no Cargo.toml",
                    file.display(),
                    c.name,
                    c.version
                ),
                Some("give `files.\"Cargo.toml\"` or a `path` to a directory holding one".into()),
            ));
        }
    }
    if s.attack.is_empty() {
        return Err(Error::Usage(
            format!("{}: `attack` names no crate", file.display()),
            None,
        ));
    }
    if s.payload == Payload::Run && !s.expect_alerts.is_empty() {
        return Err(Error::Usage(
            format!(
                "{}: `expect-alerts` with `payload = \"run\"`: the build never runs a run-time payload, so the monitor raises nothing",
                file.display()
            ),
            Some("drop `expect-alerts`, or say `payload = \"build\"`".into()),
        ));
    }
    Ok(s)
}

fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            read_tree(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(
                rel,
                std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_scenarios_parse_and_name_their_attack_crates() {
        let all = builtin();
        assert_eq!(all.len(), 7);
        for s in &all {
            for a in &s.attack {
                assert!(
                    s.crates
                        .iter()
                        .any(|c| &c.name == a && c.stage == Stage::Attack),
                    "{}: {a} is published by the attack",
                    s.name
                );
            }
            assert!(s.crates.iter().all(|c| c.files.contains_key("Cargo.toml")));
            assert!(s.payload == Payload::Build || s.expect_alerts.is_empty());
        }
        // The old attack crates: published months ago, past any cooldown.
        let old = |name: &str| {
            let s = all.iter().find(|s| s.name == name).unwrap();
            let c = s.crates.iter().find(|c| c.stage == Stage::Attack).unwrap();
            (s.payload, c.published_days_ago)
        };
        assert_eq!(old("runtime-lookalike"), (Payload::Run, Some(180)));
        assert_eq!(old("obfuscated-build-script"), (Payload::Build, Some(150)));
        assert_eq!(old("takeover"), (Payload::Build, None));
    }

    #[test]
    fn a_run_time_payload_expects_no_alert() {
        let dir = tempfile::tempdir().unwrap();
        let text = include_str!("../../drill/runtime-lookalike.toml").replacen(
            "payload = \"run\"\n",
            "payload = \"run\"\nexpect-alerts = [\"process-exec\"]\n",
            1,
        );
        std::fs::write(dir.path().join("scenario.toml"), text).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("`expect-alerts` with `payload = \"run\"`"),
            "{e}"
        );
    }
}
