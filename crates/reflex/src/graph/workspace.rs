//! The workspace as written in its manifests: members, their declared dependencies, `[patch]`
//! and `[replace]` entries. Read with `toml` only; cargo is never run.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DepKind {
    Normal,
    Dev,
    Build,
}

impl DepKind {
    pub fn table(self) -> &'static str {
        match self {
            DepKind::Normal => "dependencies",
            DepKind::Dev => "dev-dependencies",
            DepKind::Build => "build-dependencies",
        }
    }
}

/// Where a declared dependency comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepSource {
    /// A registry: `None` for crates.io, else the `registry = "name"` value.
    Registry(Option<String>),
    Path(String),
    Git {
        url: String,
        rev: Option<String>,
        branch: Option<String>,
        tag: Option<String>,
    },
}

/// One dependency as declared in a manifest (after `workspace = true` inheritance).
#[derive(Clone, Debug)]
pub struct DepDecl {
    /// The key in the manifest (the name the code uses).
    pub key: String,
    /// The package name on the registry (`package = "..."` or the key).
    pub package: String,
    pub kind: DepKind,
    pub target: Option<String>,
    pub req: Option<String>,
    pub source: DepSource,
    pub line: Option<u32>,
}

/// A `[patch.<source>]` or `[replace]` entry: redirects a crate to another source.
#[derive(Clone, Debug)]
pub struct PatchDecl {
    /// `crates-io`, a registry name or URL, or `replace`.
    pub patched_source: String,
    pub key: String,
    pub package: String,
    pub source: DepSource,
    pub line: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Manifest {
    pub path: PathBuf,
    pub text: String,
    pub table: Table,
    pub name: Option<String>,
    pub version: Option<String>,
    pub deps: Vec<DepDecl>,
    pub patches: Vec<PatchDecl>,
}

/// A workspace: its root, the manifests that could be read, and those that could not.
#[derive(Debug)]
pub struct Workspace {
    pub root: PathBuf,
    pub root_manifest: Manifest,
    /// Local packages (members and path dependencies) whose manifests were read.
    pub packages: Vec<Manifest>,
    /// Member or path-dependency manifests that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

impl Workspace {
    pub fn lockfile_path(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }

    /// Finds the workspace that `manifest_path` (or the nearest `Cargo.toml` above `cwd`)
    /// belongs to, and reads the manifests of its members and path dependencies.
    pub fn discover(manifest_path: Option<&Path>, cwd: &Path) -> Result<Workspace> {
        let manifest_path = match manifest_path {
            Some(p) => {
                if p.is_dir() {
                    p.join("Cargo.toml")
                } else {
                    p.to_path_buf()
                }
            }
            None => find_upwards(cwd).ok_or_else(|| {
                Error::Usage(
                    format!(
                        "could not find `Cargo.toml` in `{}` or any parent directory",
                        cwd.display()
                    ),
                    Some("run inside a Rust project, or pass --manifest-path or --file".into()),
                )
            })?,
        };
        let start = Manifest::load(&manifest_path)?;
        let start_dir = parent_dir(&manifest_path);
        let root_manifest = if start.table.contains_key("workspace") {
            start
        } else {
            let explicit = start
                .table
                .get("package")
                .and_then(|p| p.get("workspace"))
                .and_then(Value::as_str)
                .map(|w| start_dir.join(w).join("Cargo.toml"));
            match explicit {
                Some(path) => Manifest::load(&path)?,
                None => match find_workspace_root_above(&start_dir) {
                    Some(root) if root.includes(&start_dir) => root,
                    _ => start,
                },
            }
        };
        let root = parent_dir(&root_manifest.path);
        let mut ws = Workspace {
            root: root.clone(),
            root_manifest,
            packages: Vec::new(),
            unreadable: Vec::new(),
        };
        ws.load_members()?;
        Ok(ws)
    }

    /// Missing member manifests are recorded in `unreadable`; malformed ones are errors.
    fn load_members(&mut self) -> Result<()> {
        let mut seen = BTreeSet::new();
        let mut queue: Vec<PathBuf> = Vec::new();
        if self.root_manifest.name.is_some() {
            seen.insert(normalize(&self.root));
            self.packages.push(self.root_manifest.clone());
        }
        let ws = self
            .root_manifest
            .table
            .get("workspace")
            .and_then(Value::as_table);
        let strings = |key: &str| -> Vec<String> {
            ws.and_then(|w| w.get(key))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let exclude: Vec<PathBuf> = strings("exclude")
            .iter()
            .map(|e| normalize(&self.root.join(e)))
            .collect();
        for pattern in strings("members") {
            let full = self.root.join(&pattern);
            match glob::glob(&full.to_string_lossy()) {
                Ok(paths) => {
                    let mut matched = false;
                    for dir in paths.flatten() {
                        if dir.join("Cargo.toml").is_file() {
                            matched = true;
                            queue.push(dir);
                        }
                    }
                    if !matched {
                        if pattern.contains(['*', '?', '[']) {
                            self.unreadable
                                .push((full, "member pattern matched no package directory".into()));
                        } else {
                            queue.push(full);
                        }
                    }
                }
                Err(e) => self
                    .unreadable
                    .push((full, format!("invalid member pattern: {e}"))),
            }
        }
        for pkg in self.packages.clone() {
            queue.extend(path_deps(&pkg));
        }
        while let Some(dir) = queue.pop() {
            let dir = normalize(&dir);
            if exclude.iter().any(|e| dir.starts_with(e)) || !seen.insert(dir.clone()) {
                continue;
            }
            let manifest = dir.join("Cargo.toml");
            match Manifest::load_in(&manifest, Some(&self.root_manifest)) {
                Ok(m) => {
                    queue.extend(path_deps(&m));
                    self.packages.push(m);
                }
                Err(e @ Error::Parse(_)) => return Err(e),
                Err(Error::Io { source, .. }) => {
                    self.unreadable.push((manifest, source.to_string()))
                }
                Err(e) => self.unreadable.push((manifest, e.to_string())),
            }
        }
        Ok(())
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        Manifest::load_in(path, None)
    }

    /// Loads a manifest, resolving `workspace = true` fields against `root` when given.
    pub fn load_in(path: &Path, root: Option<&Manifest>) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Manifest::parse(path, text, root)
    }

    pub fn parse(path: &Path, text: String, root: Option<&Manifest>) -> Result<Manifest> {
        let table: Table = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
        let ws_table = root.map(|r| &r.table).unwrap_or(&table);
        // Paths in [workspace.dependencies] are relative to the workspace root.
        let ws_dir = root
            .map(|r| parent_dir(&r.path))
            .unwrap_or_else(|| parent_dir(path));
        let ws_deps = ws_table
            .get("workspace")
            .and_then(|w| w.get("dependencies"))
            .and_then(Value::as_table);
        let package = table.get("package").or_else(|| table.get("project"));
        let name = package
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let version = package
            .and_then(|p| p.get("version"))
            .and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Table(t) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                    ws_table
                        .get("workspace")
                        .and_then(|w| w.get("package"))
                        .and_then(|p| p.get("version"))
                        .and_then(Value::as_str)
                        .map(str::to_string)
                }
                _ => None,
            });
        let version = version.or_else(|| name.as_ref().map(|_| "0.0.0".to_string()));

        let mut deps = Vec::new();
        let mut collect = |t: &Table, target: Option<&str>| {
            for kind in [DepKind::Normal, DepKind::Dev, DepKind::Build] {
                let names: &[&str] = match kind {
                    DepKind::Normal => &["dependencies"],
                    DepKind::Dev => &["dev-dependencies", "dev_dependencies"],
                    DepKind::Build => &["build-dependencies", "build_dependencies"],
                };
                for table_name in names {
                    let Some(entries) = t.get(*table_name).and_then(Value::as_table) else {
                        continue;
                    };
                    for (key, spec) in entries {
                        let spec = inherit(key, spec, ws_deps, &ws_dir);
                        deps.push(dep_decl(key, &spec, kind, target, &text));
                    }
                }
            }
        };
        collect(&table, None);
        if let Some(targets) = table.get("target").and_then(Value::as_table) {
            for (cfg, t) in targets {
                if let Some(t) = t.as_table() {
                    collect(t, Some(cfg));
                }
            }
        }

        let mut patches = Vec::new();
        if let Some(patch) = table.get("patch").and_then(Value::as_table) {
            for (src, entries) in patch {
                for (key, spec) in entries.as_table().into_iter().flatten() {
                    let d = dep_decl(key, spec, DepKind::Normal, None, &text);
                    patches.push(PatchDecl {
                        patched_source: src.clone(),
                        key: key.clone(),
                        package: d.package,
                        source: d.source,
                        line: d.line,
                    });
                }
            }
        }
        if let Some(replace) = table.get("replace").and_then(Value::as_table) {
            for (key, spec) in replace {
                let d = dep_decl(key, spec, DepKind::Normal, None, &text);
                let package = key.split(':').next().unwrap_or(key).to_string();
                patches.push(PatchDecl {
                    patched_source: "replace".into(),
                    key: key.clone(),
                    package,
                    source: d.source,
                    line: find_key_line(&text, key),
                });
            }
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            text,
            table,
            name,
            version,
            deps,
            patches,
        })
    }

    /// Does this workspace root's `members` (minus `exclude`) include `dir`?
    fn includes(&self, dir: &Path) -> bool {
        let root = parent_dir(&self.path);
        let Some(ws) = self.table.get("workspace") else {
            return false;
        };
        let list = |k: &str| -> Vec<PathBuf> {
            ws.get(k)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .flat_map(|m| {
                    glob::glob(&root.join(m).to_string_lossy())
                        .ok()
                        .into_iter()
                        .flatten()
                        .flatten()
                })
                .map(|p| normalize(&p))
                .collect()
        };
        let dir = normalize(dir);
        list("members").contains(&dir) && !list("exclude").iter().any(|e| dir.starts_with(e))
    }
}

fn inherit(key: &str, spec: &Value, ws_deps: Option<&Table>, ws_dir: &Path) -> Value {
    let Some(t) = spec.as_table() else {
        return spec.clone();
    };
    if t.get("workspace").and_then(Value::as_bool) != Some(true) {
        return spec.clone();
    }
    let mut merged = match ws_deps.and_then(|w| w.get(key)) {
        Some(Value::String(req)) => {
            let mut m = Table::new();
            m.insert("version".into(), Value::String(req.clone()));
            m
        }
        Some(Value::Table(base)) => {
            let mut base = base.clone();
            if let Some(Value::String(p)) = base.get("path") {
                let joined = ws_dir.join(p).display().to_string();
                base.insert("path".into(), Value::String(joined));
            }
            base
        }
        _ => Table::new(),
    };
    for (k, v) in t {
        if k != "workspace" {
            merged.insert(k.clone(), v.clone());
        }
    }
    Value::Table(merged)
}

fn dep_decl(key: &str, spec: &Value, kind: DepKind, target: Option<&str>, text: &str) -> DepDecl {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_string);
    let (req, source) = match spec {
        Value::String(req) => (Some(req.clone()), DepSource::Registry(None)),
        _ => {
            let source = if let Some(url) = s("git") {
                DepSource::Git {
                    url,
                    rev: s("rev"),
                    branch: s("branch"),
                    tag: s("tag"),
                }
            } else if let Some(path) = s("path") {
                DepSource::Path(path)
            } else {
                DepSource::Registry(s("registry").or_else(|| s("registry-index")))
            };
            (s("version"), source)
        }
    };
    DepDecl {
        key: key.to_string(),
        package: s("package").unwrap_or_else(|| key.to_string()),
        kind,
        target: target.map(str::to_string),
        req,
        source,
        line: find_key_line(text, key),
    }
}

fn path_deps(m: &Manifest) -> Vec<PathBuf> {
    let dir = parent_dir(&m.path);
    m.deps
        .iter()
        .filter_map(|d| match &d.source {
            DepSource::Path(p) => Some(dir.join(p)),
            _ => None,
        })
        .collect()
}

/// 1-based line where `key` is assigned or opened as a table, if any.
pub fn find_key_line(text: &str, key: &str) -> Option<u32> {
    let quoted = format!("\"{key}\"");
    text.lines()
        .position(|line| {
            let t = line.trim_start();
            let rest = t
                .strip_prefix(key)
                .or_else(|| t.strip_prefix(quoted.as_str()));
            match rest {
                Some(r) => r.trim_start().starts_with('='),
                None => {
                    t.starts_with('[') && t.trim_end_matches(']').rsplit('.').next() == Some(key)
                }
            }
        })
        .and_then(|n| u32::try_from(n + 1).ok())
}

fn find_upwards(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())
}

fn find_workspace_root_above(dir: &Path) -> Option<Manifest> {
    dir.ancestors().skip(1).find_map(|d| {
        let path = d.join("Cargo.toml");
        let m = Manifest::load(&path).ok()?;
        m.table.contains_key("workspace").then_some(m)
    })
}

pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Lexical normalisation (`a/./b/../c` -> `a/c`), so the same directory compares equal.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}
