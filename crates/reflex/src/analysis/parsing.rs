//! What of a crate's Rust files is given to `syn`: every item the lexical pass
//! ([`behaviour::prefilter`]) found may hold a fact, and the items that name what the analysis
//! of those found doing something. The other items are blanked (positions kept), files with
//! none are not parsed at all. Parsing and walking syntax trees are most of the analysis'
//! time; most items of most crates name nothing the detectors read.

use super::behaviour::{self, Behaviour, Fact, Kind, Role, prefilter};
use super::crate_analysis::CrateAnalysis;
use crate::sources::crate_archive::{CrateArchive, FileKind};
use std::collections::{HashMap, HashSet};

/// One Rust file of the crate for the behaviour analysis.
pub struct Src<'a> {
    pub path: &'a str,
    pub role: Role,
    /// The text, or `None` when it was too large to keep.
    pub text: Option<&'a str>,
    pub parsed: Option<syn::File>,
    /// The items the lexical pass found (`None`: the file is parsed whole).
    pub scan: Option<prefilter::Scan<'a>>,
    /// Its place in the archive.
    pub order: usize,
    /// Bumped when items are pulled in (see `behaviour::Source::generation`).
    pub generation: u32,
}

impl<'a> Src<'a> {
    /// Parses what `scan` keeps of `text` (all of it without a scan): the syntax tree, and
    /// whether items were left out. A text whose blanked form does not parse is parsed whole.
    pub fn parse(text: &str, scan: Option<&prefilter::Scan<'_>>) -> (Option<syn::File>, bool) {
        if let Some(masked) = scan.and_then(|s| s.masked(text))
            && let Some(file) = parse_text(&masked)
        {
            return (Some(file), true);
        }
        (parse_text(text), false)
    }

    /// Keeps the items that name one of `active` and parses them; whether any was added.
    /// Only what was added is parsed and put among the items parsed before, in the file's
    /// order (the last constant of a name is its value); if that does not parse, the file is
    /// parsed again as it is now kept.
    fn pull(&mut self, active: &HashSet<String>, constants: &HashSet<String>) -> bool {
        let (Some(scan), Some(text)) = (self.scan.as_mut(), self.text) else {
            return false;
        };
        let before = scan.keep();
        if !scan.pull(active, constants) {
            return false;
        }
        self.generation += 1;
        if let Some(file) = self.parsed.as_mut()
            && let Some(more) = parse_text(&scan.added_since(text, &before))
        {
            file.items.extend(more.items);
            file.items.sort_by_cached_key(behaviour::item_start);
            return true;
        }
        self.parsed = Src::parse(text, Some(scan)).0;
        true
    }
}

/// `syn`'s tree of `text`, unless it nests too deep for a recursive parser or does not parse.
fn parse_text(text: &str) -> Option<syn::File> {
    if behaviour::too_deep(text) {
        None
    } else {
        syn::parse_file(text).ok()
    }
}

/// Each Rust file's role and whether it is test code: reached only through `#[cfg(test)]`
/// declarations, or in a tests/benches/examples directory no target reaches. A file's role is
/// what reaches it (see `roles`); the directory rule is for the rest.
pub fn file_roles<'a>(
    archive: &'a CrateArchive,
    a: &CrateAnalysis,
    lib_path: &str,
    manifest: &toml::Table,
    build_dir: &str,
) -> HashMap<&'a str, (Role, bool)> {
    let reached = super::roles::reached_roles(archive, a, lib_path, manifest);
    archive
        .files
        .iter()
        .filter(|f| f.kind == FileKind::Rust)
        .map(|f| {
            let path = f.path.as_str();
            let by_reach = reached.roles.get(path).copied();
            // Test code no target compiles, unless a computed `include!` could reach it.
            let in_tests = by_reach.is_none()
                && !reached.computed_include
                && ((reached.test_only.contains(path) && !tests_live(a))
                    || ["tests/", "test/", "benches/", "examples/", "fuzz/"]
                        .iter()
                        .any(|d| path.starts_with(d)));
            let role = by_reach.unwrap_or_else(|| super::roles::directory_role(path, a, build_dir));
            (path, (role, in_tests))
        })
        .collect()
}

/// Whether `cfg(test)` code may be compiled into a dependent: a build script can turn it on
/// (`cargo:rustc-cfg=test`, a string it may assemble at run time), so with one, test-only
/// code is read as code.
pub fn tests_live(a: &CrateAnalysis) -> bool {
    a.build_script.is_some()
}

/// The lexical pass over every run-time file (see `behaviour::prefilter`), constants named
/// anywhere in the crate kept; test-only items are read as code when `tests_live`.
pub fn lexical_pass<'a>(
    archive: &'a CrateArchive,
    role_of: &dyn Fn(&str) -> (Role, bool),
    tests_live: bool,
) -> HashMap<&'a str, behaviour::prefilter::Scan<'a>> {
    let mut scans = HashMap::new();
    for f in archive.files.iter().filter(|f| f.kind == FileKind::Rust) {
        let (role, in_tests) = role_of(&f.path);
        if let (Some(text), false, false) = (&f.text, in_tests, role.build_time()) {
            let mut scan = behaviour::prefilter::scan(text);
            if tests_live {
                scan.items.iter_mut().for_each(|i| i.test = false);
            }
            scans.insert(f.path.as_str(), scan);
        }
    }
    behaviour::prefilter::keep_named_constants(&mut scans.values_mut().collect::<Vec<_>>());
    scans
}

/// Runs the behaviour analysis on `sources` (then emptied) within what is left of the crate's
/// time budget, and adds what it found to `found`. Files of `inert` and items of `sources`
/// left out that name a function or constant the analysis found doing something are parsed
/// and the part analysed again, until nothing more is named.
pub fn analyze_behaviour<'a>(
    sources: &mut Vec<Src<'a>>,
    inert: &mut Vec<Src<'a>>,
    shipped: &[String],
    started: std::time::Instant,
    found: &mut Behaviour,
    tests_live: bool,
) {
    if sources.is_empty() {
        return;
    }
    let mut memo = behaviour::Memo::default();
    let part = loop {
        let budget = behaviour::Budget::default();
        let budget = behaviour::Budget {
            crate_time: budget.crate_time.saturating_sub(started.elapsed()),
            max_files: budget.max_files.saturating_sub(found.files_read),
            max_facts: budget.max_facts.saturating_sub(found.facts.len()),
        };
        let inputs: Vec<behaviour::Source<'_>> = sources
            .iter()
            .map(|s| behaviour::Source {
                path: s.path,
                role: s.role,
                text: s.text,
                parsed: s.parsed.as_ref(),
                tests_live,
                generation: s.generation,
            })
            .collect();
        let (part, active) = behaviour::analyze_part(&inputs, shipped, budget, &mut memo);
        drop(inputs);
        if !part.partial.is_empty() {
            break part;
        }
        for s in sources.iter_mut().chain(inert.iter_mut()) {
            if let Some(scan) = s.scan.as_mut() {
                scan.mark_sinks(&active);
            }
        }
        let constants = behaviour::prefilter::named_constants(
            sources
                .iter()
                .chain(inert.iter())
                .filter_map(|s| s.scan.as_ref()),
        );
        let mut pulled = false;
        for s in sources.iter_mut() {
            pulled |= s.pull(&active, &constants);
        }
        let mut i = 0;
        while i < inert.len() {
            if inert[i].pull(&active, &constants) {
                sources.push(inert.remove(i));
                pulled = true;
            } else {
                i += 1;
            }
        }
        if !pulled {
            break part;
        }
        // In the archive's order, as without the lexical pass (the last constant of a name
        // is its value).
        sources.sort_by_key(|s| s.order);
    };
    sources.clear();
    // Positions of the files just parsed are no longer needed on this thread.
    proc_macro2::extra::invalidate_current_thread_spans();
    found.facts.extend(part.facts);
    found.files_read += part.files_read;
    found.lexed.extend(part.lexed);
    found.partial.extend(part.partial);
}

/// Whether a fact stands: an `include_bytes!` of a file the crate ships is an embedded
/// executable only when the file is one (by its first bytes, not its name: `testdata/x.bin`);
/// one of a relative path the crate does not ship cannot compile. Generated files
/// (`$OUT_DIR/..`) and other facts stand.
pub fn embeds_an_executable(archive: &CrateArchive, f: &Fact) -> bool {
    if f.kind != Kind::EmbeddedExe
        || f.class != "include_bytes"
        || f.subject.starts_with(['$', '/'])
    {
        return true;
    }
    let dir = f.file.rsplit_once('/').map_or("", |(d, _)| d);
    let path = super::roles::normalize(&format!("{dir}/{}", f.subject));
    archive
        .file(&path)
        .is_some_and(|file| file.kind.is_native() || file.kind == FileKind::Shebang)
}

#[cfg(test)]
mod tests {
    use crate::analysis::crate_analysis::analyze_with;
    use crate::sources::crate_archive::Limits;
    use crate::sources::crate_dir::read_dir;

    /// Every fixture crate (reconstructed malware, red-team evasions, controls): the lexical
    /// pass leaves out nothing the analysis of every file finds.
    #[test]
    fn an_included_file_is_an_executable_by_its_bytes_not_its_name() {
        let lib = b"pub static A: &[u8] = include_bytes!(\"../testdata/prf.bin\");\npub static B: &[u8] = include_bytes!(\"../assets/helper.bin\");\npub static C: &[u8] = include_bytes!(\"../missing/gone.bin\");\n";
        let bytes = crate::sources::crate_archive::tests::build(&[
            (
                "inc-0.1.0/Cargo.toml",
                b"[package]\nname = \"inc\"\nversion = \"0.1.0\"\n",
                0o644,
            ),
            ("inc-0.1.0/src/lib.rs", lib, 0o644),
            (
                "inc-0.1.0/testdata/prf.bin",
                b"\x00\x01\x02 test vector",
                0o644,
            ),
            (
                "inc-0.1.0/assets/helper.bin",
                b"\x7fELF\x02\x01\x01\x00",
                0o644,
            ),
        ]);
        let a = crate::analysis::crate_analysis::analyze(
            &crate::sources::crate_archive::read(&bytes, "inc", "0.1.0", None, Limits::default()),
            "test",
        );
        let embedded: Vec<String> = a
            .behaviour
            .expect("analysed")
            .facts
            .iter()
            .filter(|f| f.kind == crate::analysis::behaviour::Kind::EmbeddedExe)
            .map(|f| f.subject.clone())
            .collect();
        assert_eq!(embedded, ["../assets/helper.bin"]);
    }

    #[test]
    fn the_lexical_pass_finds_what_parsing_everything_finds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/malware");
        let mut dirs = Vec::new();
        for group in [root.clone(), root.join("redteam"), root.join("controls")] {
            for entry in std::fs::read_dir(&group).expect("fixtures") {
                let path = entry.expect("entry").path();
                if path.join("Cargo.toml").is_file() {
                    dirs.push(path);
                }
            }
        }
        assert!(dirs.len() > 60, "fixture crates: {}", dirs.len());
        let mut with_facts = 0;
        for dir in dirs {
            let archive = read_dir(&dir, Limits::default());
            let facts = |prefilter: bool| {
                let a = analyze_with(&archive, "test", prefilter);
                let mut facts = a.behaviour.expect("analysed").facts;
                facts.sort_by(|x, y| (&x.file, x.line, x.kind).cmp(&(&y.file, y.line, y.kind)));
                facts
            };
            let all = facts(false);
            with_facts += usize::from(!all.is_empty());
            assert_eq!(facts(true), all, "{}", dir.display());
        }
        assert!(with_facts > 40, "crates with facts: {with_facts}");
    }
}
