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
use crate::finding::{Approval, Catalog, CodeSpec};
use crate::error::{Error, Result};
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
mod tests {
    use super::*;
    use crate::finding::{Finding, PackageRef};
    use crate::report::Report;

    const POLICY: &str = r#"# Our supply-chain policy: reviewed by the platform team.
version = 1

[gate]
deny-level = "high"   # fail on high and critical

[build-time]
require-approval = true
# Crates that may run code at build time.
[[build-time.allow]]
crate = "cc"
kind = "build-script"
reason = "compiler driver"

# Versions someone read.
[[trust]]
crate = "url"
version = "2.5.4"
by = "alice@acme.example"

[ci]
require-locked = true
# end of policy
"#;

    fn trust(name: &str, version: &str) -> Entry {
        Entry::Trust {
            krate: name.into(),
            version: version.into(),
            by: "bob@acme.example".into(),
            note: "read it all".into(),
        }
    }

    fn allow(name: &str, kind: BuildTimeKind) -> Entry {
        Entry::BuildTime {
            krate: name.into(),
            kind,
            reason: "links libfoo".into(),
            by: "bob@acme.example".into(),
        }
    }

    fn edited(text: &str, entry: &Entry) -> String {
        edit(Path::new("reflex.toml"), text, entry, crate::checks::catalog())
            .unwrap()
            .expect("changed")
    }

    fn lock(packages: &[(&str, &str)]) -> Graph {
        let mut text = String::from("version = 4\n");
        for (n, v) in packages {
            text.push_str(&format!(
                "\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
                "0".repeat(64)
            ));
        }
        Graph::parse(Path::new("Cargo.lock"), text).unwrap()
    }

    fn request(spec: &str, kind: Option<BuildTimeKind>) -> Request {
        Request {
            spec: spec.into(),
            kind,
            reason: "read build.rs".into(),
            by: "bob".into(),
        }
    }

    #[test]
    fn a_trust_record_lands_after_the_last_one_with_every_comment_kept() {
        let new = edited(POLICY, &trust("url-parse", "0.1.0"));
        let expect = POLICY.replace(
            "by = \"alice@acme.example\"\n",
            "by = \"alice@acme.example\"\n\n[[trust]]\ncrate = \"url-parse\"\nversion = \"0.1.0\"\nby = \"bob@acme.example\"\nnote = \"read it all\"\n",
        );
        assert_eq!(new, expect);
        let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
        assert_eq!(policy.trust.len(), 2);
        assert_eq!(
            policy.trusted("url-parse", "0.1.0").unwrap().by,
            "bob@acme.example"
        );
    }

    #[test]
    fn an_allow_entry_lands_after_the_last_one_with_its_reviewer_as_a_comment() {
        let new = edited(POLICY, &allow("openssl-sys", BuildTimeKind::BuildScript));
        let expect = POLICY.replace(
            "reason = \"compiler driver\"\n",
            "reason = \"compiler driver\"\n\n# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"openssl-sys\"\nkind = \"build-script\"\nreason = \"links libfoo\"\n",
        );
        assert_eq!(new, expect);
        let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
        assert!(
            policy
                .build_time
                .allows("openssl-sys", BuildTimeKind::BuildScript)
        );
        assert!(
            !policy
                .build_time
                .allows("openssl-sys", BuildTimeKind::ProcMacro)
        );
    }

    #[test]
    fn new_sections_go_at_the_end_and_the_top_of_the_file_stays() {
        let text = "# policy\nversion = 1 # schema\n\n[gate]\ndeny-level = \"medium\"\n";
        let new = edited(text, &allow("serde_derive", BuildTimeKind::ProcMacro));
        assert_eq!(
            new,
            format!(
                "{text}\n# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"serde_derive\"\nkind = \"proc-macro\"\nreason = \"links libfoo\"\n"
            )
        );
        let new = edited(&new, &trust("syn", "2.0.1"));
        assert!(new.starts_with(text), "{new}");
        assert!(new.ends_with("[[trust]]\ncrate = \"syn\"\nversion = \"2.0.1\"\nby = \"bob@acme.example\"\nnote = \"read it all\"\n"), "{new}");
        Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
    }

    #[test]
    fn inline_arrays_stay_inline() {
        let text = "version = 1\ntrust = [{ crate = \"a\", version = \"1.0.0\", by = \"x\" }]\n[build-time]\nallow = [{ crate = \"b\", reason = \"r\" }]\n";
        let new = edited(text, &trust("c", "1.0.0"));
        let new = edited(&new, &allow("d", BuildTimeKind::BuildScript));
        let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
        assert!(policy.trusted("c", "1.0.0").is_some());
        assert!(policy.build_time.allows("d", BuildTimeKind::BuildScript));
        assert!(!new.contains("[["), "{new}");
    }

    #[test]
    fn approving_twice_changes_nothing() {
        let once = edited(POLICY, &trust("url-parse", "0.1.0"));
        let twice = edit(
            Path::new("reflex.toml"),
            &once,
            &trust("url-parse", "0.1.0"),
        )
        .unwrap();
        assert_eq!(twice, None);
        // Already trusted by someone else, or allowed with `kind = "any"`: nothing to add.
        assert_eq!(
            edit(Path::new("reflex.toml"), POLICY, &trust("url", "2.5.4")).unwrap(),
            None
        );
        let any =
            "version = 1\n[[build-time.allow]]\ncrate = \"ring\"\nkind = \"any\"\nreason = \"r\"\n";
        assert_eq!(
            edit(
                Path::new("reflex.toml"),
                any,
                &allow("ring", BuildTimeKind::ProcMacro)
            )
            .unwrap(),
            None
        );
        // Another version or kind is another approval.
        assert!(
            edit(Path::new("reflex.toml"), POLICY, &trust("url", "2.5.5"))
                .unwrap()
                .is_some()
        );
        assert!(
            edit(
                Path::new("reflex.toml"),
                POLICY,
                &allow("cc", BuildTimeKind::ProcMacro)
            )
            .unwrap()
            .is_some()
        );
    }

    #[test]
    fn a_missing_policy_is_created_and_a_broken_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let done = approve(&path, &trust("url-parse", "0.1.0")).unwrap();
        assert!(done.created && done.changed);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("version = 1\n\n[[trust]]\n"), "{text}");
        let again = approve(&path, &trust("url-parse", "0.1.0")).unwrap();
        assert!(!again.created && !again.changed);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

        std::fs::write(&path, "version = 1\n[gate]\ndeny-levle = \"high\"\n").unwrap();
        let err = approve(&path, &trust("a", "1.0.0")).unwrap_err();
        assert!(matches!(err, Error::Policy(_)), "{err:?}");
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("deny-levle")
        );
    }

    #[test]
    fn the_version_comes_from_the_argument_or_the_lockfile() {
        let g = lock(&[("url", "2.5.4"), ("syn", "1.0.109"), ("syn", "2.0.90")]);
        let e = Entry::resolve(&request("url", None), Some(&g)).unwrap();
        assert!(matches!(e, Entry::Trust { ref version, .. } if version == "2.5.4"));
        let e = Entry::resolve(&request("url@2.5.5", None), Some(&g)).unwrap();
        assert!(matches!(e, Entry::Trust { ref version, .. } if version == "2.5.5"));
        let e = Entry::resolve(&request("not-locked@1.0.0", None), Some(&g)).unwrap();
        assert!(matches!(e, Entry::Trust { ref krate, .. } if krate == "not-locked"));

        let Err(Error::Usage(msg, help)) = Entry::resolve(&request("syn", None), Some(&g)) else {
            panic!("several versions")
        };
        assert_eq!(msg, "2 versions of `syn` are locked: 1.0.109, 2.0.90");
        assert!(help.unwrap().contains("syn@2.0.90"));
        // An allow entry is for every version.
        let e = Entry::resolve(&request("syn", Some(BuildTimeKind::ProcMacro)), Some(&g)).unwrap();
        assert!(matches!(
            e,
            Entry::BuildTime {
                kind: BuildTimeKind::ProcMacro,
                ..
            }
        ));

        for (spec, kind, lockfile, msg) in [
            ("serd", None, Some(&g), "`serd` is not in Cargo.lock"),
            (
                "serd",
                Some(BuildTimeKind::BuildScript),
                Some(&g),
                "`serd` is not in Cargo.lock",
            ),
            ("url", None, None, "no Cargo.lock to look `url` up in"),
            ("url@two", None, Some(&g), "`two` is not a version"),
            (
                "url crate",
                None,
                Some(&g),
                "`url crate` is not a crate name",
            ),
        ] {
            let Err(Error::Usage(got, _)) = Entry::resolve(&request(spec, kind), lockfile) else {
                panic!("{spec} accepted")
            };
            assert_eq!(got, msg);
        }
    }

    #[test]
    fn an_empty_reason_or_reviewer_is_refused() {
        for (reason, by, msg) in [
            ("", "bob", "an approval needs a reason"),
            ("  \n", "bob", "an approval needs a reason"),
            ("ok", " ", "an approval needs a reviewer"),
        ] {
            let r = Request {
                reason: reason.into(),
                by: by.into(),
                ..request("url@1.0.0", None)
            };
            let Err(Error::Usage(got, _)) = Entry::resolve(&r, None) else {
                panic!("{reason:?} {by:?} accepted")
            };
            assert_eq!(got, msg);
        }
    }

    #[test]
    fn shown_entries_are_valid_toml_as_shown() {
        for e in [trust("a", "1.0.0"), allow("b", BuildTimeKind::BuildScript)] {
            let text = format!("version = 1\n{}", e.to_toml());
            Policy::parse(Path::new("reflex.toml"), &text, crate::checks::catalog()).unwrap();
        }
        assert_eq!(
            allow("b", BuildTimeKind::BuildScript).to_toml(),
            "# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"b\"\nkind = \"build-script\"\nreason = \"links libfoo\"\n"
        );
    }

    /// Every remedy command names the approval that clears its finding: applying what the
    /// command writes drops the finding.
    #[test]
    fn each_suggested_approval_clears_its_finding() {
        let lockfile = lock(&[("foo", "1.2.3")]);
        let approvable = crate::checks::catalog()
            .iter()
            .map(|(_, s)| s)
            .filter(|s| s.approval != Approval::None);
        for spec in approvable {
            let code = spec.code;
            let command = command_for(spec, "foo", "1.2.3");
            let args: Vec<&str> = command.split_whitespace().collect();
            let kind = args
                .iter()
                .position(|a| *a == "--kind")
                .map(|i| match args[i + 1] {
                    "build-script" => BuildTimeKind::BuildScript,
                    _ => BuildTimeKind::ProcMacro,
                });
            let entry = Entry::resolve(
                &Request {
                    spec: args[3].into(),
                    kind,
                    reason: "r".into(),
                    by: "me".into(),
                },
                Some(&lockfile),
            );
            let text = edited("version = 1\n", &entry.unwrap());
            let policy = Policy::parse(Path::new("reflex.toml"), &text, crate::checks::catalog()).unwrap();
            match kind {
                // The allowlist check consults the entries itself.
                Some(k) => assert!(policy.build_time.allows("foo", k), "{code}: {command}"),
                None => {
                    let mut findings = vec![Finding::new("x", spec, "t").package(PackageRef {
                        name: "foo".into(),
                        version: "1.2.3".into(),
                        source: String::new(),
                    })];
                    policy.apply(
                        &mut findings,
                        crate::checks::catalog(),
                        jiff::civil::date(2026, 1, 1),
                    );
                    assert!(findings.is_empty(), "{code}: {command}");
                }
            }
        }
    }
}
