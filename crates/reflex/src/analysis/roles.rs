//! Which code a file is: the module tree of each target of the crate (its build script, its
//! library or proc-macro, its binaries), followed through `mod` declarations (with `#[path]`,
//! also inside `cfg_attr`) and `include!`, so that a file's role is what reaches it, not the
//! directory it lies in. A build script that pulls its payload from `tests/support.rs` with
//! `#[path]`, a proc-macro whose `[lib] path` is outside `src/`, a `mod support;` beside
//! `build.rs`: each is read as what runs it. The scan is lexical (a file that does not parse
//! is still followed); files no target reaches keep the directory rule in `crate_analysis`.

use super::behaviour::Role;
use super::crate_analysis::CrateAnalysis;
use crate::sources::crate_archive::{CrateArchive, FileKind};
use std::collections::{HashMap, HashSet, VecDeque};

/// The roots of a crate's module trees.
pub struct Targets<'a> {
    pub build: Option<&'a str>,
    pub lib: &'a str,
    pub proc_macro: bool,
    /// `[[bin]]` paths from the manifest (auto-discovered binaries are added here).
    pub bins: Vec<String>,
}

/// What the targets of a crate reach.
#[derive(Default)]
pub struct Reach {
    /// The role of every Rust file a target reaches.
    pub roles: HashMap<String, Role>,
    /// Run-time files reached only through test-only declarations (`#[cfg(test)] mod
    /// tests;`): compiled into the crate's own tests, never into a dependent. Empty when a
    /// file is included through a computed path (`include!(concat!(env!(..), ..))`), which
    /// could reach any of them.
    pub test_only: HashSet<String>,
    /// Some `include!` has a path the scan cannot read (not from `OUT_DIR`).
    pub computed_include: bool,
}

/// The role of every Rust file a target reaches. A file reached from the build script (or a
/// proc-macro) and from run-time code is build-time code: it runs then.
pub fn reached(texts: &HashMap<&str, &str>, t: &Targets<'_>) -> Reach {
    let mut roots: Vec<(String, Role)> = Vec::new();
    if let Some(b) = t.build {
        roots.push((b.to_string(), Role::BuildScript));
    }
    let lib_role = if t.proc_macro {
        Role::ProcMacro
    } else {
        Role::Library
    };
    roots.push((t.lib.to_string(), lib_role));
    let mut bins = t.bins.clone();
    for p in texts.keys() {
        let auto = *p == "src/main.rs"
            || (p.starts_with("src/bin/")
                && (p.matches('/').count() == 2
                    || p.ends_with("/main.rs") && p.matches('/').count() == 3));
        if auto {
            bins.push(p.to_string());
        }
    }
    bins.sort();
    bins.dedup();
    roots.extend(bins.into_iter().map(|b| (b, Role::Binary)));
    let mut out = Reach::default();
    // Test-only declarations of run-time code, followed once every target is.
    let mut tests: VecDeque<(String, bool)> = VecDeque::new();
    for (root, role) in roots {
        let mut seen: HashSet<String> = HashSet::new();
        let mut queue = VecDeque::from([(root, true)]);
        while let Some((path, mod_rs)) = queue.pop_front() {
            let Some(text) = texts.get(path.as_str()) else {
                continue;
            };
            if !seen.insert(path.clone()) || seen.len() > 5_000 {
                continue;
            }
            out.roles.entry(path.clone()).or_insert(role);
            for (c, child_mod_rs, test) in existing_children(&path, mod_rs, text, texts, &mut out) {
                match (test, role.build_time()) {
                    (true, false) => tests.push_back((c, child_mod_rs)),
                    _ => queue.push_back((c, child_mod_rs)),
                }
            }
        }
    }
    let mut seen: HashSet<String> = HashSet::new();
    while let Some((path, mod_rs)) = tests.pop_front() {
        let Some(text) = texts.get(path.as_str()) else {
            continue;
        };
        if out.roles.contains_key(&path) || !seen.insert(path.clone()) || seen.len() > 5_000 {
            continue;
        }
        for (c, child_mod_rs, _) in existing_children(&path, mod_rs, text, texts, &mut out) {
            tests.push_back((c, child_mod_rs));
        }
    }
    if !out.computed_include {
        out.test_only = seen;
    }
    out
}

/// The files `path` declares that the crate has: each path, whether it is a mod-rs file and
/// whether it was declared for tests only. A computed `include!` is recorded in `out`.
fn existing_children(
    path: &str,
    mod_rs: bool,
    text: &str,
    texts: &HashMap<&str, &str>,
    out: &mut Reach,
) -> Vec<(String, bool, bool)> {
    let mut found = Vec::new();
    for child in children(path, mod_rs, text) {
        out.computed_include |= child.computed_include;
        if let Some(c) = child
            .paths
            .into_iter()
            .find(|c| texts.contains_key(c.as_str()))
        {
            found.push((c, child.mod_rs, child.test));
        }
    }
    found
}

/// One declaration of a child file.
struct Child {
    /// Candidate paths, the first that exists wins.
    paths: Vec<String>,
    /// The child is a mod-rs file (its own children sit beside it).
    mod_rs: bool,
    /// Declared under a test-only attribute.
    test: bool,
    /// An `include!` whose path is computed (nothing is found for it).
    computed_include: bool,
}

/// The files `path` declares (with `text`), in order.
fn children(path: &str, mod_rs: bool, text: &str) -> Vec<Child> {
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    let stem = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".rs");
    let own = if mod_rs || matches!(stem, "mod" | "lib" | "main") {
        dir.to_string()
    } else {
        join(dir, stem)
    };
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    // Only lines with a declaration are read (most lines of most files have none); the
    // attributes that apply to one are the attribute lines right above it.
    let mut starts: Vec<usize> = memchr::memmem::find_iter(bytes, b"mod ")
        .chain(memchr::memmem::find_iter(bytes, b"include!("))
        .map(|at| memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |n| n + 1))
        .collect();
    starts.sort_unstable();
    starts.dedup();
    for start in starts {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |n| start + n);
        let line = code_of(&text[start..end]);
        if line.is_empty() || (line.starts_with('#') && line.ends_with(']')) {
            continue;
        }
        let (mut pending, mut pending_test) = attributes_above(text, start);
        if line.starts_with("#[") || line.starts_with("#![") {
            if let Some(p) = path_attribute(line) {
                pending = Some(p);
            }
            pending_test |= line.starts_with("#[") && test_attribute_line(line);
        }
        if let Some(name) = mod_declaration(line) {
            let (paths, mod_rs) = match pending {
                Some(p) => (vec![normalize(&join(dir, &p))], true),
                None => (
                    vec![
                        normalize(&join(&own, &format!("{name}.rs"))),
                        normalize(&join(&own, &format!("{name}/mod.rs"))),
                    ],
                    false,
                ),
            };
            out.push(Child {
                paths,
                mod_rs,
                test: pending_test,
                computed_include: false,
            });
        }
        for inc in includes(line) {
            let computed = inc.is_none() && {
                // `include!(concat!(env!("OUT_DIR"), ..))` is generated code; any other
                // computed path could name any file.
                let next = text[end..].trim_start_matches(['\r', '\n']).lines().next();
                !line.contains("OUT_DIR") && !next.unwrap_or("").contains("OUT_DIR")
            };
            out.push(Child {
                paths: inc
                    .map(|p| vec![normalize(&join(dir, &p))])
                    .unwrap_or_default(),
                mod_rs: true,
                test: false,
                computed_include: computed,
            });
        }
    }
    out
}

/// A line without its `//` comment, trimmed.
fn code_of(raw: &str) -> &str {
    match memchr::memchr(b'/', raw.as_bytes()) {
        Some(_) => raw.split("//").next().unwrap_or(""),
        None => raw,
    }
    .trim()
}

/// The attributes on the lines right above the line at `start` (blank and comment lines
/// skipped): the `#[path]` nearest to it, and whether one marks test-only code.
fn attributes_above(text: &str, start: usize) -> (Option<String>, bool) {
    let (mut path, mut test) = (None, false);
    let mut end = start;
    while end > 0 {
        let line_start = memchr::memrchr(b'\n', &text.as_bytes()[..end - 1]).map_or(0, |n| n + 1);
        let line = code_of(&text[line_start..end - 1]);
        end = line_start;
        if line.is_empty() {
            continue;
        }
        if !((line.starts_with("#[") || line.starts_with("#![")) && line.ends_with(']')) {
            break;
        }
        if path.is_none() {
            path = path_attribute(line);
        }
        test |= line.starts_with("#[") && test_attribute_line(line);
    }
    (path, test)
}

/// Whether the attributes on a line mark test-only code (`#[cfg(test)]`).
fn test_attribute_line(line: &str) -> bool {
    let mut rest = line;
    while let Some(at) = rest.find("#[") {
        let body = &rest[at + 2..];
        let Some(end) = body.find(']') else { break };
        let attr: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        // `cfg(all(test, x))` holds a `]` only inside strings, which test attributes lack.
        if super::behaviour::patterns::test_attribute(&attr) {
            return true;
        }
        rest = &body[end..];
    }
    false
}

/// `#[path = "x.rs"]`, `#[cfg_attr(unix, path = "x.rs")]`: the path.
fn path_attribute(line: &str) -> Option<String> {
    let at = line.find("path")?;
    let rest = line[at + 4..].trim_start().strip_prefix('=')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// `mod name;` with any visibility and attributes on the same line: the name.
fn mod_declaration(line: &str) -> Option<&str> {
    let line = line.rsplit(']').next().unwrap_or(line).trim();
    let at = line.find("mod ")?;
    let before = line[..at].trim();
    let visibility = before.is_empty() || before.starts_with("pub");
    let rest = line[at + 4..].trim();
    let name = rest.strip_suffix(';')?.trim();
    (visibility && !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_'))
        .then_some(name.trim_start_matches("r#"))
}

/// `include!(..)` calls on a line: the literal path, or `None` for a computed one
/// (`include_str!`/`include_bytes!` are data).
fn includes(line: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("include!(") {
        let before = rest[..at].chars().next_back();
        let after = rest[at + 9..].trim_start();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            match after.strip_prefix('"') {
                Some(lit) => out.push(lit.find('"').map(|end| lit[..end].to_string())),
                None => out.push(None),
            }
        }
        rest = &rest[at + 9..];
    }
    out
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() || rel.starts_with('/') {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// `a/./b/../c` → `a/c` (a path leaving the archive keeps its `..` and matches no file).
pub(super) fn normalize(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// The role of every file a target of the crate reaches.
pub fn reached_roles(
    archive: &CrateArchive,
    a: &CrateAnalysis,
    lib_path: &str,
    manifest: &toml::Table,
) -> Reach {
    let texts: std::collections::HashMap<&str, &str> = archive
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Rust)
        .filter_map(|f| Some((f.path.as_str(), f.text.as_deref()?)))
        .collect();
    reached(
        &texts,
        &Targets {
            build: a.build_script.as_deref(),
            lib: lib_path,
            proc_macro: a.proc_macro,
            bins: bin_paths(manifest),
        },
    )
}

/// The role of a file no target reaches, by where it lies.
pub fn directory_role(path: &str, a: &CrateAnalysis, build_dir: &str) -> Role {
    let beside_build = a.build_script.as_deref() == Some(path)
        || (!build_dir.is_empty() && path.starts_with(build_dir) && !path.starts_with("src/"));
    if beside_build {
        Role::BuildScript
    } else if a.proc_macro && path.starts_with("src/") {
        Role::ProcMacro
    } else if path == "src/main.rs" || path.starts_with("src/bin/") {
        Role::Binary
    } else {
        Role::Library
    }
}

/// `[[bin]] path = ...` entries of a manifest.
fn bin_paths(manifest: &toml::Table) -> Vec<String> {
    manifest
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| {
            bins.iter()
                .filter_map(|b| b.get("path")?.as_str())
                .map(|p| p.trim_start_matches("./").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(
        files: &[(&str, &str)],
        build: Option<&str>,
        lib: &str,
        pm: bool,
    ) -> Vec<(String, Role)> {
        let texts: HashMap<&str, &str> = files.iter().copied().collect();
        let t = Targets {
            build,
            lib,
            proc_macro: pm,
            bins: Vec::new(),
        };
        let mut v: Vec<(String, Role)> = reached(&texts, &t).roles.into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn a_build_script_reaching_into_tests_makes_that_file_build_time() {
        let got = roles(
            &[
                (
                    "build.rs",
                    "#[path = \"tests/support.rs\"]\nmod support;\nfn main() {}",
                ),
                ("tests/support.rs", "pub fn run() {}"),
                ("tests/other.rs", "fn t() {}"),
                (
                    "src/lib.rs",
                    "mod a;\npub mod b;\n#[cfg(test)]\nmod tests { }",
                ),
                ("src/a.rs", "mod inner;"),
                ("src/a/inner.rs", ""),
                ("src/b/mod.rs", "include!(\"gen.rs\");"),
                ("src/b/gen.rs", ""),
                ("support.rs", ""),
            ],
            Some("build.rs"),
            "src/lib.rs",
            false,
        );
        assert_eq!(
            got,
            vec![
                ("build.rs".into(), Role::BuildScript),
                ("src/a.rs".into(), Role::Library),
                ("src/a/inner.rs".into(), Role::Library),
                ("src/b/gen.rs".into(), Role::Library),
                ("src/b/mod.rs".into(), Role::Library),
                ("src/lib.rs".into(), Role::Library),
                ("tests/support.rs".into(), Role::BuildScript),
            ]
        );
    }

    #[test]
    fn a_proc_macro_outside_src_and_a_module_beside_build_rs() {
        let got = roles(
            &[
                (
                    "macro/lib.rs",
                    "#[cfg_attr(unix, path = \"../helpers/run.rs\")]\nmod run;",
                ),
                ("helpers/run.rs", ""),
                ("build.rs", "mod support;"),
                ("support.rs", ""),
            ],
            Some("build.rs"),
            "macro/lib.rs",
            true,
        );
        assert_eq!(
            got,
            vec![
                ("build.rs".into(), Role::BuildScript),
                ("helpers/run.rs".into(), Role::ProcMacro),
                ("macro/lib.rs".into(), Role::ProcMacro),
                ("support.rs".into(), Role::BuildScript),
            ]
        );
    }

    #[test]
    fn files_declared_for_tests_only_are_test_code_unless_an_include_is_computed() {
        let files = [
            (
                "src/lib.rs",
                "mod a;\n#[cfg(test)]\nmod tests;\n#[cfg(all(test, unix))] mod unix_tests;\n#[cfg(not(test))]\nmod real;",
            ),
            (
                "src/a.rs",
                "#[cfg(test)]\n#[path = \"gen/table.rs\"]\nmod table;",
            ),
            ("src/tests.rs", "mod helpers;"),
            ("src/tests/helpers.rs", ""),
            ("src/unix_tests.rs", ""),
            ("src/real.rs", ""),
            ("src/gen/table.rs", ""),
        ];
        let texts: HashMap<&str, &str> = files.iter().copied().collect();
        let t = Targets {
            build: None,
            lib: "src/lib.rs",
            proc_macro: false,
            bins: Vec::new(),
        };
        let r = reached(&texts, &t);
        let mut test_only: Vec<&str> = r.test_only.iter().map(String::as_str).collect();
        test_only.sort();
        assert_eq!(
            test_only,
            [
                "src/gen/table.rs",
                "src/tests.rs",
                "src/tests/helpers.rs",
                "src/unix_tests.rs"
            ]
        );
        assert!(r.roles.contains_key("src/real.rs") && !r.computed_include);

        // A test attribute on a one-line item is that item's, not the next declaration's.
        let same_line: HashMap<&str, &str> = [
            ("src/lib.rs", "#[cfg(test)] fn fixture() {}\nmod report;\n"),
            ("src/report.rs", ""),
        ]
        .into_iter()
        .collect();
        let r = reached(&same_line, &t);
        assert!(r.roles.contains_key("src/report.rs") && r.test_only.is_empty());

        // A computed include could compile any file: nothing is test code then.
        let mut texts = texts;
        texts.insert(
            "src/real.rs",
            "include!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/src/tests.rs\"));",
        );
        let r = reached(&texts, &t);
        assert!(r.computed_include && r.test_only.is_empty());
        // Generated code from OUT_DIR is not such a path.
        texts.insert(
            "src/real.rs",
            "include!(concat!(env!(\"OUT_DIR\"), \"/bindings.rs\"));",
        );
        assert!(!reached(&texts, &t).computed_include);
    }

    #[test]
    fn declarations_read_lexically() {
        assert_eq!(mod_declaration("pub(crate) mod x;"), Some("x"));
        assert_eq!(mod_declaration("#[cfg(unix)] mod y;"), Some("y"));
        assert_eq!(mod_declaration("mod tests {"), None);
        assert_eq!(mod_declaration("let mod_x = 1;"), None);
        assert_eq!(normalize("a/./b/../c.rs"), "a/c.rs");
        assert_eq!(
            path_attribute("#[path = \"x.rs\"]").as_deref(),
            Some("x.rs")
        );
    }
}
