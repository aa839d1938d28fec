//! The runner: a job checked out at a head of the fixture, and the action's steps run as a
//! runner runs a composite action.

use crate::common::*;
use crate::expr::{Contexts, Expr, entries, scalar, substitute};
use crate::fixture::{Fixture, cargo_home, git_out};
use saphyr::YamlOwned;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn action_yml(path: &Path) -> YamlOwned {
    yaml(&std::fs::read_to_string(path).unwrap())
}

#[derive(Debug)]
pub struct StepRun {
    pub name: String,
    /// "success", "failure" or "skipped", as `steps.<id>.outcome` says.
    pub outcome: &'static str,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

#[derive(Debug)]
pub struct ActionRun {
    pub steps: Vec<StepRun>,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
}

impl ActionRun {
    pub fn step(&self, name: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.name.starts_with(name))
            .unwrap_or_else(|| panic!("no step {name}: {:#?}", self.steps))
    }
    pub fn failed(&self) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.outcome == "failure")
    }
    pub fn out(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output {name}"))
    }
    pub fn count(&self, name: &str) -> u64 {
        self.out(name)
            .parse()
            .unwrap_or_else(|_| panic!("output {name} is not a number: {:?}", self.out(name)))
    }
    pub fn log(&self) -> String {
        self.steps
            .iter()
            .map(|s| {
                format!(
                    "== {} ({}, {:?})\n{}{}",
                    s.name, s.outcome, s.code, s.stdout, s.stderr
                )
            })
            .collect()
    }
}

/// Reads `name=value` and `name<<DELIMITER` blocks, as the runner reads GITHUB_OUTPUT.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// A job on a runner: its directories, environment and the pull_request event.
pub struct Job {
    pub tmp: tempfile::TempDir,
    pub workspace: PathBuf,
    pub env: Vec<(String, String)>,
    pub github: Value,
    pub install_log: PathBuf,
}

impl Job {
    /// A runner checked out at `head` of the fixture (`depth`: a shallow clone, as
    /// actions/checkout makes by default), for a pull request from `head` into the base.
    pub fn new(fx: &Fixture, head: &str, depth: Option<u32>) -> Job {
        let tmp = tempfile::tempdir_in(fx.tmp.path()).unwrap();
        let workspace = tmp.path().join("work/app");
        let url = format!("file://{}", fx.origin.display());
        let mut clone = vec!["clone", "-q", "--no-tags"];
        let depth_arg = depth.map(|d| format!("--depth={d}"));
        if let Some(d) = &depth_arg {
            clone.push(d);
        }
        let branch = if head == fx.clean { "clean" } else { "hostile" };
        clone.extend(["-b", branch, &url]);
        let ws = workspace.display().to_string();
        clone.push(&ws);
        git(fx.tmp.path(), &clone);
        assert_eq!(git_out(&workspace, &["rev-parse", "HEAD"]), head);
        for d in ["home", "temp", "tool-cache", "bin", "reflex-cache"] {
            std::fs::create_dir_all(tmp.path().join(d)).unwrap();
        }
        // The action as the runner downloads it: a snapshot of this repository's files (the
        // work tree may change under a running test).
        let action_path = tmp.path().join("action");
        for f in ["action.yml", "Cargo.toml", "Cargo.lock"] {
            std::fs::create_dir_all(&action_path).unwrap();
            std::fs::copy(repo().join(f), action_path.join(f)).unwrap();
        }
        for d in ["crates", "data"] {
            copy_dir(&repo().join(d), &action_path.join(d));
        }
        let event = json!({
            "action": "synchronize",
            "number": 7,
            "pull_request": {
                "number": 7,
                "base": { "ref": "main", "sha": fx.base },
                "head": { "ref": branch, "sha": head },
            },
        });
        let event_path = tmp.path().join("event.json");
        std::fs::write(&event_path, event.to_string()).unwrap();
        // `cargo install` stands in for the build of cargo-reflex: it records what it was
        // asked and links the binary under test where the real install would put it.
        let install_log = tmp.path().join("cargo-install.log");
        let fake = format!(
            "#!/bin/sh\nif [ \"$1\" = install ]; then\n  echo \"$*\" >> '{log}'\n  root=\n  while [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\n  mkdir -p \"$root/bin\" && ln -sf '{bin}' \"$root/bin/cargo-reflex\"\n  exit 0\nfi\nexec '{cargo}' \"$@\"\n",
            log = install_log.display(),
            bin = env!("CARGO_BIN_EXE_cargo-reflex"),
            cargo = cargo_program(),
        );
        let fake_path = tmp.path().join("bin/cargo");
        std::fs::write(&fake_path, fake).unwrap();
        Command::new("chmod")
            .arg("+x")
            .arg(&fake_path)
            .status()
            .unwrap();
        let cargo_home = cargo_home(&tmp.path().join("cargo-home"), &fx.registry);
        let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let path = |p: &str| tmp.path().join(p).display().to_string();
        let mut env = vec![
            (
                "PATH".to_string(),
                format!(
                    "{}:{}",
                    path("bin"),
                    std::env::var("PATH").unwrap_or_default()
                ),
            ),
            ("HOME".into(), path("home")),
            (
                "RUSTUP_HOME".into(),
                std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{real_home}/.rustup")),
            ),
            // The sandboxed build runs the real cargo, not the stand-in.
            ("CARGO".into(), cargo_program()),
            ("CARGO_HOME".into(), cargo_home.display().to_string()),
            ("CARGO_REFLEX_CACHE".into(), path("reflex-cache")),
            ("CARGO_REFLEX_CRATES_IO_INDEX".into(), fx.registry.clone()),
            (
                "CARGO_REFLEX_DB_URL".into(),
                "file:///nonexistent/advisory-db".into(),
            ),
            ("NO_COLOR".into(), "1".into()),
            ("CI".into(), "true".into()),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_EVENT_NAME".into(), "pull_request".into()),
            ("GITHUB_EVENT_PATH".into(), event_path.display().to_string()),
            ("GITHUB_WORKSPACE".into(), ws.clone()),
            (
                "GITHUB_ACTION_PATH".into(),
                action_path.display().to_string(),
            ),
            ("GITHUB_REPOSITORY".into(), "acme/app".into()),
            ("GITHUB_SHA".into(), head.into()),
            ("RUNNER_OS".into(), "Linux".into()),
            ("RUNNER_ARCH".into(), "X64".into()),
            ("RUNNER_TEMP".into(), path("temp")),
            ("RUNNER_TOOL_CACHE".into(), path("tool-cache")),
        ];
        if let Ok(t) = std::env::var("RUSTUP_TOOLCHAIN") {
            env.push(("RUSTUP_TOOLCHAIN".into(), t));
        }
        let github = json!({
            "event_name": "pull_request",
            "event": event,
            "workspace": ws,
            "action_path": action_path.display().to_string(),
            "action_ref": "",
            "repository": "acme/app",
            "sha": head,
        });
        Job {
            tmp,
            workspace,
            env,
            github,
            install_log,
        }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.tmp.path().join(p)
    }

    /// Runs one `run:` step: (outputs, outcome, exit code, stdout, stderr).
    fn run_script(
        &self,
        i: usize,
        name: &str,
        step: &YamlOwned,
        cx: &Contexts,
        env: &mut Vec<(String, String)>,
        summary: &mut String,
    ) -> (
        BTreeMap<String, String>,
        &'static str,
        Option<i32>,
        String,
        String,
    ) {
        let script = step["run"].as_str().unwrap();
        assert!(
            !script.contains("${{"),
            "step {name}: expressions reach scripts through env:, never spliced in"
        );
        assert_eq!(step["shell"].as_str(), Some("bash"), "step {name}");
        let mut step_env = env.clone();
        for (k, v) in entries(&step["env"]) {
            step_env.retain(|(n, _)| *n != k);
            step_env.push((k, substitute(&scalar(v).unwrap(), cx)));
        }
        let files = self.path(&format!("step-{i}"));
        std::fs::create_dir_all(&files).unwrap();
        for f in ["output", "summary", "path", "env"] {
            std::fs::write(files.join(f), "").unwrap();
        }
        step_env.extend([
            (
                "GITHUB_OUTPUT".into(),
                files.join("output").display().to_string(),
            ),
            (
                "GITHUB_STEP_SUMMARY".into(),
                files.join("summary").display().to_string(),
            ),
            (
                "GITHUB_PATH".into(),
                files.join("path").display().to_string(),
            ),
            ("GITHUB_ENV".into(), files.join("env").display().to_string()),
        ]);
        std::fs::write(files.join("script.sh"), script).unwrap();
        let cwd = match step.as_mapping_get("working-directory").and_then(scalar) {
            Some(d) => self.workspace.join(substitute(&d, cx)),
            None => self.workspace.clone(),
        };
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(files.join("script.sh"))
            .current_dir(cwd)
            .env_clear()
            .envs(step_env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let code = out.status.code().unwrap_or(-1);
        let read = |f: &str| std::fs::read_to_string(files.join(f)).unwrap();
        summary.push_str(&read("summary"));
        for dir in read("path").lines() {
            let p = env.iter_mut().find(|(k, _)| k == "PATH").unwrap();
            p.1 = format!("{dir}:{}", p.1);
        }
        for (k, v) in parse_outputs(&read("env")) {
            env.retain(|(n, _)| *n != k);
            env.push((k, v));
        }
        (
            parse_outputs(&read("output")),
            if code == 0 { "success" } else { "failure" },
            Some(code),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Runs the action's steps with these `with:` inputs, as a runner runs a composite action.
    pub fn run(&self, with: &[(&str, &str)]) -> ActionRun {
        let action = action_yml(&self.path("action/action.yml"));
        let mut inputs = BTreeMap::new();
        for (name, spec) in entries(&action["inputs"]) {
            inputs.insert(
                name,
                spec.as_mapping_get("default")
                    .and_then(scalar)
                    .unwrap_or_default(),
            );
        }
        for (k, v) in with {
            assert!(inputs.contains_key(*k), "the action has no input {k}");
            inputs.insert(k.to_string(), v.to_string());
        }
        let mut cx = Contexts {
            inputs,
            github: self.github.clone(),
            runner: json!({
                "os": "Linux",
                "arch": "X64",
                "temp": self.path("temp").display().to_string(),
                "tool_cache": self.path("tool-cache").display().to_string(),
            }),
            steps: BTreeMap::new(),
            failed: false,
        };
        let mut env = self.env.clone();
        let mut runs = Vec::new();
        let mut summary = String::new();
        let steps = action["runs"]["steps"].as_vec().unwrap();
        for (i, step) in steps.iter().enumerate() {
            let name = step
                .as_mapping_get("name")
                .and_then(scalar)
                .unwrap_or_else(|| format!("step {i}"));
            let id = step.as_mapping_get("id").and_then(scalar);
            let condition = step
                .as_mapping_get("if")
                .and_then(scalar)
                .unwrap_or_else(|| "success()".into());
            let condition = condition
                .trim()
                .strip_prefix("${{")
                .and_then(|c| c.strip_suffix("}}"))
                .map(str::to_string)
                .unwrap_or(condition);
            // A condition without a status function implies success().
            let has_status = ["success()", "failure()", "always()", "cancelled()"]
                .iter()
                .any(|f| condition.contains(f));
            let go = Expr::eval(&condition, &cx).truthy() && (has_status || !cx.failed);
            let (outputs, outcome, code, stdout, stderr) =
                if !go || step.as_mapping_get("uses").is_some() {
                    // `uses:` steps are not run here: actions from the network (the cache
                    // misses).
                    (
                        BTreeMap::new(),
                        "skipped",
                        None,
                        String::new(),
                        String::new(),
                    )
                } else {
                    self.run_script(i, &name, step, &cx, &mut env, &mut summary)
                };
            if code.is_some_and(|c| c != 0) {
                cx.failed = true;
            }
            if let Some(id) = &id {
                cx.steps.insert(id.clone(), (outputs, outcome));
            }
            runs.push(StepRun {
                name,
                outcome,
                code,
                stdout,
                stderr,
            });
        }
        let mut outputs = BTreeMap::new();
        for (name, spec) in entries(&action["outputs"]) {
            let value = spec.as_mapping_get("value").and_then(scalar).unwrap();
            outputs.insert(name, substitute(&value, &cx));
        }
        ActionRun {
            steps: runs,
            outputs,
            summary,
        }
    }
}
