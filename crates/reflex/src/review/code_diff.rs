//! What changed in the code between two `.crate` archives (read in memory, checksums verified):
//! files added, removed and changed with line counts, and the unified diff of build-time code
//! (the build script and its directory, proc-macro sources).

use crate::sources::crate_archive::CrateArchive;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Diffs longer than this many lines are cut (the rest is counted, not shown).
const MAX_DIFF_LINES: usize = 400;

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CodeChanges {
    pub files_added: Vec<String>,
    pub files_removed: Vec<String>,
    /// (path, lines added, lines removed); binary files count 0/0.
    pub files_changed: Vec<FileChange>,
    /// Unified diffs of build scripts and proc-macro sources.
    pub diffs: Vec<FileDiff>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FileChange {
    pub path: String,
    pub added: usize,
    pub removed: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FileDiff {
    pub path: String,
    /// Why it is shown in full: `build script` or `proc-macro source`.
    pub role: &'static str,
    pub unified: String,
    /// Lines not shown because the diff was longer than the limit.
    pub truncated_lines: usize,
}

impl CodeChanges {
    pub fn is_empty(&self) -> bool {
        self.files_added.is_empty()
            && self.files_removed.is_empty()
            && self.files_changed.is_empty()
    }

    pub fn lines(&self) -> (usize, usize) {
        self.files_changed
            .iter()
            .fold((0, 0), |(a, r), f| (a + f.added, r + f.removed))
    }
}

/// Which files of a crate are build-time code, by their path inside the crate.
#[derive(Clone, Debug, Default)]
pub struct BuildTimeFiles {
    pub build_script: Option<String>,
    pub proc_macro: bool,
}

impl BuildTimeFiles {
    fn role(&self, path: &str) -> Option<&'static str> {
        if let Some(script) = &self.build_script {
            let dir = script.rsplit_once('/').map(|(d, _)| d);
            if path == script
                || dir.is_some_and(|d| path.starts_with(&format!("{d}/")) && d != "src")
            {
                return Some("build script");
            }
        }
        (self.proc_macro && path.ends_with(".rs") && path.starts_with("src/"))
            .then_some("proc-macro source")
    }
}

/// Compares two archives; `old` is `None` for a crate new to the graph (every file is added,
/// build-time code is shown in full).
pub fn compare(
    old: Option<&CrateArchive>,
    new: &CrateArchive,
    old_roles: &BuildTimeFiles,
    new_roles: &BuildTimeFiles,
) -> CodeChanges {
    let files = |a: &CrateArchive| -> BTreeMap<String, (Option<String>, u64)> {
        a.files
            .iter()
            .filter(|f| f.path != "Cargo.toml.orig" && f.path != ".cargo_vcs_info.json")
            .map(|f| (f.path.clone(), (f.text.clone(), f.size)))
            .collect()
    };
    let before = old.map(files).unwrap_or_default();
    let after = files(new);
    let mut out = CodeChanges::default();
    for (path, (text, _)) in &after {
        let role = new_roles.role(path).or_else(|| old_roles.role(path));
        match before.get(path) {
            None => {
                out.files_added.push(path.clone());
                if let (Some(role), Some(text)) = (role, text) {
                    out.diffs.push(diff(path, role, "", text));
                }
            }
            Some((old_text, old_size)) => {
                let same = match (old_text, text) {
                    (Some(a), Some(b)) => a == b,
                    _ => {
                        *old_size == after[path].1
                            && old.and_then(|o| o.file(path)).map(|f| f.size) == Some(after[path].1)
                    }
                };
                if same {
                    continue;
                }
                let (added, removed) = match (old_text, text) {
                    (Some(a), Some(b)) => count(a, b),
                    _ => (0, 0),
                };
                out.files_changed.push(FileChange {
                    path: path.clone(),
                    added,
                    removed,
                });
                if let (Some(role), Some(a), Some(b)) = (role, old_text, text) {
                    out.diffs.push(diff(path, role, a, b));
                }
            }
        }
    }
    for (path, (text, _)) in &before {
        if !after.contains_key(path) {
            out.files_removed.push(path.clone());
            if let (Some(role), Some(text)) = (old_roles.role(path), text) {
                out.diffs.push(diff(path, role, text, ""));
            }
        }
    }
    out
}

fn count(a: &str, b: &str) -> (usize, usize) {
    let d = similar::TextDiff::configure()
        .timeout(Duration::from_millis(200))
        .diff_lines(a, b);
    let mut added = 0;
    let mut removed = 0;
    for op in d.ops() {
        for change in d.iter_changes(op) {
            match change.tag() {
                similar::ChangeTag::Insert => added += 1,
                similar::ChangeTag::Delete => removed += 1,
                similar::ChangeTag::Equal => {}
            }
        }
    }
    (added, removed)
}

fn diff(path: &str, role: &'static str, a: &str, b: &str) -> FileDiff {
    let d = similar::TextDiff::configure()
        .timeout(Duration::from_millis(500))
        .diff_lines(a, b);
    let text = d
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let total = text.lines().count();
    let (unified, truncated_lines) = if total > MAX_DIFF_LINES {
        let kept: Vec<&str> = text.lines().take(MAX_DIFF_LINES).collect();
        (kept.join("\n") + "\n", total - MAX_DIFF_LINES)
    } else {
        (text, 0)
    };
    FileDiff {
        path: path.to_string(),
        role,
        unified,
        truncated_lines,
    }
}

/// What one phase of an upgrade's code newly does: a kind of behaviour (a bucket) its
/// predecessor's same phase never showed, with the new facts showing it.
#[derive(Debug)]
pub struct Gain<'a> {
    pub what: &'static str,
    /// Serious enough to be high by itself (network, shells, secrets, decoding, gates...).
    pub serious: bool,
    pub facts: Vec<&'a crate::analysis::behaviour::Fact>,
}

/// The bucket of behaviour a fact shows, and whether it is serious by itself.
fn bucket(f: &crate::analysis::behaviour::Fact) -> Option<(&'static str, bool)> {
    use crate::analysis::behaviour::Kind;
    let secret = |n: &str| crate::knowledge::secrets::secret_reason(n, "x").is_some();
    Some(match f.kind {
        Kind::Network => ("uses the network", true),
        Kind::Exec => match f.class.as_str() {
            "shell" | "interpreter" => ("runs shells or interpreters", true),
            "download-tool" => ("runs download tools", true),
            "shipped-file" | "written-file" | "downloaded" => {
                ("runs shipped or written files", true)
            }
            c if crate::analysis::behaviour::patterns::ordinary_tool(c) || c == "from-env" => {
                return None;
            }
            _ if f.computed || f.decoded.is_some() => {
                ("runs programs whose names are computed or decoded", true)
            }
            _ => ("runs programs", false),
        },
        Kind::EnvDump => ("reads the whole environment", true),
        Kind::EnvRead if secret(&f.subject) && !f.subject.starts_with("CARGO_") => {
            ("reads secret variables", true)
        }
        Kind::SecretFile => ("names credential files", false),
        Kind::Decode => ("decodes what it runs, reaches or reads", true),
        Kind::DownloadExec => ("downloads and runs", true),
        Kind::EnvGate => (
            "acts only in some environments (CI, host, user, date)",
            true,
        ),
        Kind::KeySearch => ("searches for key material", true),
        Kind::Endpoint => ("names messenger, paste or webhook endpoints", true),
        Kind::EmbeddedExe => ("embeds executables", true),
        Kind::TlsOff => ("turns TLS verification off", false),
        Kind::FileWrite if f.role.build_time() => ("writes files outside OUT_DIR", false),
        _ => return None,
    })
}

/// What the `build_time` (or run-time) code of `new` newly does compared with `old`.
pub fn gained_behaviour<'a>(
    old: &crate::analysis::behaviour::Behaviour,
    new: &'a crate::analysis::behaviour::Behaviour,
    build_time: bool,
) -> Vec<Gain<'a>> {
    let before: std::collections::BTreeSet<&str> = old
        .phase(build_time)
        .filter_map(|f| bucket(f).map(|(b, _)| b))
        .collect();
    let mut gains: Vec<Gain<'a>> = Vec::new();
    for f in new.phase(build_time) {
        let Some((what, serious)) = bucket(f) else {
            continue;
        };
        if before.contains(what) {
            continue;
        }
        match gains.iter_mut().find(|g| g.what == what) {
            Some(g) => g.facts.push(f),
            None => gains.push(Gain {
                what,
                serious,
                facts: vec![f],
            }),
        }
    }
    gains
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::crate_archive::{self, Limits, tests::build};

    fn archive(entries: &[(&str, &[u8], u32)]) -> CrateArchive {
        crate_archive::read(&build(entries), "c", "1.0.0", None, Limits::default())
    }

    #[test]
    fn new_build_script_is_shown_in_full_and_other_files_summarised() {
        let old = archive(&[
            ("c-1.0.0/Cargo.toml", b"[package]\nname = \"c\"\n", 0o644),
            ("c-1.0.0/src/lib.rs", b"pub fn a() {}\n", 0o644),
            ("c-1.0.0/README.md", b"old\n", 0o644),
        ]);
        let new = archive(&[
            ("c-1.0.0/Cargo.toml", b"[package]\nname = \"c\"\n", 0o644),
            (
                "c-1.0.0/src/lib.rs",
                b"pub fn a() {}\npub fn b() {}\n",
                0o644,
            ),
            (
                "c-1.0.0/build.rs",
                b"fn main() {\n    let _ = std::env::var(\"AWS_SECRET_ACCESS_KEY\");\n}\n",
                0o644,
            ),
        ]);
        let roles = BuildTimeFiles {
            build_script: Some("build.rs".into()),
            proc_macro: false,
        };
        let c = compare(Some(&old), &new, &BuildTimeFiles::default(), &roles);
        assert_eq!(c.files_added, vec!["build.rs"]);
        assert_eq!(c.files_removed, vec!["README.md"]);
        assert_eq!(
            c.files_changed,
            vec![FileChange {
                path: "src/lib.rs".into(),
                added: 1,
                removed: 0
            }]
        );
        assert_eq!(c.diffs.len(), 1);
        assert_eq!(c.diffs[0].role, "build script");
        assert!(c.diffs[0].unified.contains("+++ b/build.rs"));
        assert!(
            c.diffs[0]
                .unified
                .contains("+    let _ = std::env::var(\"AWS_SECRET_ACCESS_KEY\");")
        );
    }
}
