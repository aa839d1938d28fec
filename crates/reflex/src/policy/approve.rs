//! `cargo reflex approve`: records the approval that clears a finding in `reflex.toml`, edited
//! in place with its comments and layout kept (`toml_edit`), and parsed back through the
//! policy parser before it is written.
//!
//! Two kinds of approval clear different findings: a `[[trust]]` record for one exact version
//! covers what a review of that version settles (the catalog's `trust_covers`); a
//! `[[build-time.allow]]` entry lets a crate (every version) run a build script or be a
//! proc-macro (`build-script-not-approved`, `proc-macro-not-approved`). [`command_for`] names
//! the one that clears a finding, for remedies.

use super::{BuildTimeKind, FILE_NAME, Policy, SCHEMA_VERSION};
use crate::error::{Error, Result};
use crate::finding::{Approval, Catalog, CodeSpec};
use crate::graph::Graph;
use std::path::{Path, PathBuf};
use toml_edit::{ArrayOfTables, DocumentMut, InlineTable, Item, Table, Value};

/// The command that records a trust record for this exact version.
pub fn trust_command(name: &str, version: &str) -> String {
    format!("cargo reflex approve {name}@{version} --reason \"...\"")
}

/// The command that lets every version of a crate run this kind of build-time code.
pub fn allow_command(name: &str, kind: BuildTimeKind) -> String {
    format!(
        "cargo reflex approve {name} --kind {} --reason \"...\"",
        kind.as_str()
    )
}

/// The command recording the approval that clears a finding of `spec` about `name@version`:
/// a build-time allow for the allowlist codes, a trust record for what a review covers.
/// Remedies call this only for codes an approval clears.
pub fn command_for(spec: &CodeSpec, name: &str, version: &str) -> String {
    match spec.approval {
        Approval::BuildTime(kind) => allow_command(name, BuildTimeKind::parse(kind)),
        Approval::Trust => trust_command(name, version),
        Approval::None => {
            debug_assert!(
                false,
                "no approval clears `{}`: its remedy must not suggest one",
                spec.code
            );
            trust_command(name, version)
        }
    }
}

/// What the user asked for, before the lockfile is consulted.
#[derive(Clone, Debug)]
pub struct Request {
    /// `name` or `name@version`.
    pub spec: String,
    /// `Some`: a build-time allow entry; `None`: a trust record.
    pub kind: Option<BuildTimeKind>,
    pub reason: String,
    /// Who reviewed it (a trust record's `by`; a comment above an allow entry).
    pub by: String,
}

/// One entry to add to the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Trust {
        krate: String,
        version: String,
        by: String,
        note: String,
    },
    BuildTime {
        krate: String,
        kind: BuildTimeKind,
        reason: String,
        by: String,
    },
}

impl Entry {
    /// Checks the request and resolves the version to trust: the one given, else the only one
    /// locked. A name the lockfile does not hold needs an explicit version (a typo would
    /// otherwise approve nothing).
    pub fn resolve(request: &Request, lockfile: Option<&Graph>) -> Result<Entry> {
        let usage = |msg: String, help: &str| Error::Usage(msg, Some(help.to_string()));
        if request.reason.trim().is_empty() {
            return Err(usage(
                "an approval needs a reason".into(),
                "say what was reviewed and why it is safe: --reason \"read build.rs: only probes rustc\"",
            ));
        }
        if request.by.trim().is_empty() {
            return Err(usage(
                "an approval needs a reviewer".into(),
                "pass --by you@example.com",
            ));
        }
        let (name, version) = match request.spec.split_once('@') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (request.spec.trim(), None),
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(usage(
                format!("`{}` is not a crate name", request.spec),
                "write `name` or `name@1.2.3`",
            ));
        }
        if let Some(v) = version
            && semver::Version::parse(v).is_err()
        {
            return Err(usage(
                format!("`{v}` is not a version"),
                "write `name@1.2.3`, the exact version that was reviewed",
            ));
        }
        let locked: Vec<String> = lockfile
            .map(|g| {
                g.packages()
                    .iter()
                    .filter(|p| p.name.as_str() == name)
                    .map(|p| p.version.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let version = match (version, locked.as_slice()) {
            (Some(v), _) => Some(v.to_string()),
            (None, []) => {
                let why = match lockfile {
                    Some(g) => format!("`{name}` is not in {}", g.path.display()),
                    None => format!("no Cargo.lock to look `{name}` up in"),
                };
                return Err(usage(
                    why,
                    "check the name, or give the reviewed version: `name@1.2.3`",
                ));
            }
            (None, [one]) => Some(one.clone()),
            (None, several) => match request.kind {
                // An allow entry covers every version: which one is locked does not matter.
                Some(_) => None,
                None => {
                    return Err(usage(
                        format!(
                            "{} versions of `{name}` are locked: {}",
                            several.len(),
                            several.join(", ")
                        ),
                        &format!(
                            "name the one you reviewed: `cargo reflex approve {name}@{}`",
                            several[several.len() - 1]
                        ),
                    ));
                }
            },
        };
        let (krate, reason, by) = (
            name.to_string(),
            request.reason.trim().to_string(),
            request.by.trim().to_string(),
        );
        Ok(match request.kind {
            Some(kind) => Entry::BuildTime {
                krate,
                kind,
                reason,
                by,
            },
            None => Entry::Trust {
                krate,
                version: version.expect("a trust record has a version"),
                by,
                note: reason,
            },
        })
    }

    /// The entry as TOML that can be pasted into a policy file as it is.
    pub fn to_toml(&self) -> String {
        let mut doc = DocumentMut::new();
        add(&mut doc, self);
        doc.to_string().trim_start().to_string()
    }

    fn table(&self) -> Table {
        let mut t = Table::new();
        match self {
            Entry::Trust {
                krate,
                version,
                by,
                note,
            } => {
                t.insert("crate", toml_edit::value(krate.as_str()));
                t.insert("version", toml_edit::value(version.as_str()));
                t.insert("by", toml_edit::value(by.as_str()));
                t.insert("note", toml_edit::value(note.as_str()));
                t.decor_mut().set_prefix("\n");
            }
            Entry::BuildTime {
                krate,
                kind,
                reason,
                by,
            } => {
                t.insert("crate", toml_edit::value(krate.as_str()));
                t.insert("kind", toml_edit::value(kind.as_str()));
                t.insert("reason", toml_edit::value(reason.as_str()));
                // The allow entry has no reviewer field: who approved it is a comment.
                let by = by.replace(['\n', '\r'], " ");
                t.decor_mut().set_prefix(format!("\n# approved by {by}\n"));
            }
        }
        t
    }
}

/// What [`approve`] did.
#[derive(Debug)]
pub struct Approved {
    pub path: PathBuf,
    /// The file did not exist and was created.
    pub created: bool,
    /// `false`: the policy already held an equivalent approval; nothing was written.
    pub changed: bool,
    pub entry: Entry,
}

/// Adds `entry` to the policy file at `path` (created with `version = 1` when missing),
/// keeping everything else as it was. Refuses a policy that does not parse.
pub fn approve(path: &Path, entry: &Entry, catalog: &Catalog) -> Result<Approved> {
    let (text, created) = match std::fs::read_to_string(path) {
        Ok(t) => (t, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            (format!("version = {SCHEMA_VERSION}\n"), true)
        }
        Err(e) => return Err(Error::io(path, e)),
    };
    let new = edit(path, &text, entry, catalog)?;
    let changed = new.is_some() || created;
    if let Some(new) = new.or_else(|| created.then_some(text)) {
        std::fs::write(path, new).map_err(|e| Error::io(path, e))?;
    }
    Ok(Approved {
        path: path.to_path_buf(),
        created,
        changed,
        entry: entry.clone(),
    })
}

/// The policy text with `entry` added, or `None` when it already holds an equivalent one.
/// Both the old and the new text must pass the policy parser.
pub fn edit(path: &Path, text: &str, entry: &Entry, catalog: &Catalog) -> Result<Option<String>> {
    let before = Policy::parse(path, text, catalog)?;
    let present = match entry {
        Entry::Trust { krate, version, .. } => before.trusted(krate, version).is_some(),
        Entry::BuildTime { krate, kind, .. } => before.build_time.allows(krate, *kind),
    };
    if present {
        return Ok(None);
    }
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
        Error::parse_at(path, text, None, e.to_string(), None)
    })?;
    add(&mut doc, entry);
    let mut new = doc.to_string();
    if !new.ends_with('\n') {
        new.push('\n');
    }
    // A bug here must not leave a policy the gate cannot read.
    Policy::parse(path, &new, catalog).map_err(|e| {
        Error::Usage(
            format!("the edited {FILE_NAME} would not parse ({e}); nothing was written"),
            Some(format!("add this by hand:\n{}", entry.to_toml())),
        )
    })?;
    Ok(Some(new))
}

/// Appends the entry to its array, in the style (`[[...]]` or inline) the file uses.
fn add(doc: &mut DocumentMut, entry: &Entry) {
    let table = entry.table();
    match entry {
        Entry::Trust { .. } => push(doc.as_table_mut(), "trust", table),
        Entry::BuildTime { .. } => {
            let root = doc.as_table_mut();
            let build_time = root.entry("build-time").or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
            match build_time {
                Item::Table(t) => push(t, "allow", table),
                Item::Value(Value::InlineTable(t)) => {
                    let allow = t
                        .entry("allow")
                        .or_insert_with(|| Value::Array(toml_edit::Array::new()));
                    if let Value::Array(a) = allow {
                        a.push(Value::InlineTable(inline(table)));
                    }
                }
                _ => {}
            }
        }
    }
}

fn push(parent: &mut Table, key: &str, table: Table) {
    match parent
        .entry(key)
        .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()))
    {
        Item::ArrayOfTables(a) => a.push(table),
        Item::Value(Value::Array(a)) => a.push(Value::InlineTable(inline(table))),
        _ => {}
    }
}

fn inline(table: Table) -> InlineTable {
    let mut t = table.into_inline_table();
    t.decor_mut().clear();
    t.fmt();
    t
}

/// Who approves, from git's identity in the workspace (`user.email`, else `user.name`).
pub fn git_identity(dir: &Path) -> Option<String> {
    ["user.email", "user.name"].iter().find_map(|key| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["config", "--get", key])
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .ok()?;
        let value = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !value.is_empty()).then_some(value)
    })
}

#[cfg(test)]
mod tests;
