//! Everything recon learns from one `.crate` archive: archive problems, build-time code
//! (build script, proc-macro, native links and binaries), what that code can do, and unsafe.

use super::behaviour::{Behaviour, Role};
use super::capabilities::{self, Capabilities};
use super::parsing::{
    Src, analyze_behaviour, embeds_an_executable, file_roles, lexical_pass, tests_live,
};
use crate::graph::Graph;
use crate::knowledge::unsafe_count::{self, UnsafeCounts};
use crate::sources::crate_archive::{self, CrateArchive, FileKind, Limits, Problem};
use crate::sources::crate_store::{CrateStore, Fetched};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CrateAnalysis {
    /// Where the archive came from.
    pub from: String,
    pub problems: Vec<Problem>,
    /// Path of the build script inside the crate, if it has one.
    pub build_script: Option<String>,
    pub proc_macro: bool,
    /// `links = "..."`: the native library it links.
    pub links: Option<String>,
    /// Native binaries and scripts shipped in the archive: (path, kind).
    pub native_files: Vec<(String, FileKind)>,
    /// What the build script or proc-macro source can do.
    pub capabilities: Option<Capabilities>,
    pub unsafe_counts: UnsafeCounts,
    pub forbids_unsafe: bool,
    pub rust_files: usize,
    /// Rust files syn could not parse (their unsafe is not counted).
    pub unparsed_files: usize,
    /// Manifest metadata, for impersonation checks.
    #[serde(default)]
    pub repository: Option<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// SPDX license expression from the packaged manifest.
    #[serde(default)]
    pub license: Option<String>,
    #[serde(default)]
    pub license_file: Option<String>,
    /// Dependencies (registry names) the manifest declares only under `[target.'cfg(..)']`
    /// tables, with those platform expressions: they are not built on other platforms.
    #[serde(default)]
    pub target_only_deps: Vec<(String, Vec<String>)>,
    /// What the archive says it is and where it came from (impersonation checks).
    #[serde(default)]
    pub identity: Identity,
    /// What all of the crate's code does (build script, proc-macro, library, binaries).
    #[serde(default)]
    pub behaviour: Option<Behaviour>,
}

/// The packaged crate's identity: its own name and version, `.cargo_vcs_info.json`, what its
/// README names, and a digest of every file (content cloned from another crate).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub name: Option<String>,
    pub version: Option<String>,
    /// `None`: the archive has no `.cargo_vcs_info.json` (packaged outside a repository, or
    /// the file was removed).
    pub vcs: Option<crate_archive::VcsInfo>,
    /// Digest of the README with whitespace and case folded, when it has one.
    pub readme_digest: Option<String>,
    /// Crate names the README points at (`crates.io/crates/<name>`, `docs.rs/<name>`, its
    /// first heading), at most a few.
    pub readme_names: Vec<String>,
    /// (path, digest) of every file but cargo's generated ones.
    pub files: Vec<(String, String)>,
}

/// Analyses one archive.
pub fn analyze(archive: &CrateArchive, from: &str) -> CrateAnalysis {
    analyze_with(archive, from, true)
}

/// What the packaged manifest says (links, metadata, identity, proc-macro, build script):
/// recorded in `a`; the manifest and the library's path are returned.
fn read_manifest(archive: &CrateArchive, a: &mut CrateAnalysis) -> (toml::Table, String) {
    let manifest: toml::Table = archive
        .file("Cargo.toml")
        .and_then(|f| f.text.as_deref())
        .and_then(|t| toml::from_str(t).ok())
        .unwrap_or_default();
    let package = manifest.get("package");
    let lib = manifest.get("lib");
    a.links = package
        .and_then(|p| p.get("links"))
        .and_then(|l| l.as_str())
        .map(str::to_string);
    let field = |k: &str| {
        package
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    a.repository = field("repository");
    a.homepage = field("homepage");
    a.description = field("description");
    a.license = field("license");
    a.license_file = field("license-file");
    a.target_only_deps = target_only_deps(&manifest);
    a.identity = identity(archive, package);
    a.proc_macro = lib
        .and_then(|l| l.get("proc-macro").or_else(|| l.get("proc_macro")))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    a.build_script = match package.and_then(|p| p.get("build")) {
        Some(toml::Value::String(p)) => Some(p.trim_start_matches("./").to_string()),
        Some(toml::Value::Boolean(false)) => None,
        _ => archive.file("build.rs").map(|_| "build.rs".to_string()),
    };
    let lib_path = lib
        .and_then(|l| l.get("path"))
        .and_then(|p| p.as_str())
        .unwrap_or("src/lib.rs")
        .trim_start_matches("./")
        .to_string();
    (manifest, lib_path)
}

/// [`analyze`]; `prefilter` off parses every file (the reference the lexical pass is checked
/// against).
pub fn analyze_with(archive: &CrateArchive, from: &str, prefilter: bool) -> CrateAnalysis {
    let mut a = CrateAnalysis {
        from: from.to_string(),
        problems: archive.problems.clone(),
        ..Default::default()
    };
    let (manifest, lib_path) = read_manifest(archive, &mut a);
    a.native_files = archive
        .files
        .iter()
        .filter(|f| f.kind.is_native() || (f.kind == FileKind::Shebang && f.executable))
        .map(|f| (f.path.clone(), f.kind))
        .collect();

    let build_dir = a
        .build_script
        .as_deref()
        .and_then(|b| b.rsplit_once('/').map(|(d, _)| format!("{d}/")))
        .unwrap_or_default();
    let mut caps = Capabilities::default();
    let mut build_time_code = false;
    // Parsed once: unsafe counts, build-time capabilities, then the behaviour of all code.
    let mut sources: Vec<Src<'_>> = Vec::new();
    let shipped: Vec<String> = archive
        .files
        .iter()
        .filter(|f| f.kind != FileKind::Rust)
        .map(|f| f.path.clone())
        .collect();
    let started = std::time::Instant::now();
    let mut found = Behaviour::default();
    let mut inert: Vec<Src<'_>> = Vec::new();
    let mut held = 0usize;
    let roles = file_roles(archive, &a, &lib_path, &manifest, &build_dir);
    let live = tests_live(&a);
    // Analyses what is held so far (see `parsing::analyze_behaviour`).
    let analyze_part = |sources: &mut _, inert: &mut _, found: &mut _| {
        analyze_behaviour(sources, inert, &shipped, started, found, live)
    };
    let role_of = |path: &str| roles.get(path).copied().unwrap_or((Role::Library, false));
    let mut scans = if prefilter {
        lexical_pass(archive, &role_of, live)
    } else {
        HashMap::new()
    };
    for f in archive.files.iter().filter(|f| f.kind == FileKind::Rust) {
        let (role, in_tests) = role_of(&f.path);
        let is_build = role == Role::BuildScript;
        let runs_at_build_time = role.build_time();
        if let Some(counts) = &f.large_unsafe {
            if !in_tests {
                a.rust_files += 1;
                a.unsafe_counts.add(counts);
                sources.push(Src {
                    path: &f.path,
                    role,
                    text: None,
                    parsed: None,
                    scan: None,
                    order: a.rust_files,
                    generation: 0,
                });
            }
            continue;
        }
        let Some(text) = &f.text else { continue };
        if in_tests && !runs_at_build_time {
            continue;
        }
        a.rust_files += 1;
        // Build-time code is parsed whole (capabilities); the roots always (`forbid`).
        let root = f.path == lib_path || f.path == "src/main.rs";
        let scan = scans.remove(f.path.as_str());
        let lexical_unsafe = |counts: &mut UnsafeCounts| {
            if unsafe_count::may_have_unsafe(text) {
                counts.add(&unsafe_count::lex_count(text));
            }
        };
        if scan.as_ref().is_some_and(|s| !s.worth_parsing() && !root) {
            lexical_unsafe(&mut a.unsafe_counts);
            inert.push(Src {
                path: &f.path,
                role,
                text: Some(text),
                parsed: None,
                scan,
                order: a.rust_files,
                generation: 0,
            });
            continue;
        }
        let (parsed, part) = Src::parse(text, scan.as_ref());
        match &parsed {
            // Items were left out: their unsafe is counted lexically, as for the whole file.
            Some(_) if part => lexical_unsafe(&mut a.unsafe_counts),
            Some(file) => {
                if !is_build && unsafe_count::may_have_unsafe(text) {
                    a.unsafe_counts.add(&unsafe_count::count(file));
                }
            }
            None => a.unparsed_files += 1,
        }
        if let Some(file) = &parsed {
            if root {
                a.forbids_unsafe |= unsafe_count::forbids_unsafe(file);
            }
            if runs_at_build_time {
                build_time_code = true;
                caps.merge(capabilities::scan(file));
            }
        }
        sources.push(Src {
            path: &f.path,
            role,
            text: Some(text),
            parsed,
            // Parsed whole (nothing left out, or the blanked text did not parse): nothing to
            // pull later.
            scan: scan.filter(|_| part),
            order: a.rust_files,
            generation: 0,
        });
        held += text.len();
        // Syntax trees are many times their text: big crates are analysed in parts.
        if held > HELD_TEXT {
            analyze_part(&mut sources, &mut inert, &mut found);
            held = 0;
        }
    }
    analyze_part(&mut sources, &mut inert, &mut found);
    // Files the lexical pass read and found nothing in (and nothing that names what the
    // analysis found doing something) are read.
    found.files_read += inert.len();
    found.facts.retain(|f| embeds_an_executable(archive, f));
    a.behaviour = Some(found);
    if build_time_code {
        a.capabilities = Some(caps);
    }
    a
}

/// The archive's identity (see [`Identity`]).
pub fn identity(archive: &CrateArchive, package: Option<&toml::Value>) -> Identity {
    let text = |k: &str| {
        package
            .and_then(|p| p.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let readme_path = text("readme");
    let readme = archive
        .files
        .iter()
        .filter(|f| f.text.is_some())
        .find(|f| {
            readme_path.as_deref().map(|r| r.trim_start_matches("./")) == Some(f.path.as_str())
                || (!f.path.contains('/') && f.path.to_ascii_lowercase().starts_with("readme"))
        })
        .and_then(|f| f.text.as_deref());
    let generated = [
        "Cargo.toml",
        "Cargo.toml.orig",
        ".cargo_vcs_info.json",
        "Cargo.lock",
    ];
    Identity {
        name: text("name"),
        version: text("version"),
        vcs: archive.vcs_info(),
        readme_digest: readme.map(crate::sources::crate_archive::text_digest),
        readme_names: readme.map(readme_names).unwrap_or_default(),
        files: archive
            .files
            .iter()
            // Tiny files (empty modules, one-line configs) say nothing about a copy.
            .filter(|f| !generated.contains(&f.path.as_str()) && f.size >= 64)
            .map(|f| (f.path.clone(), f.digest.clone()))
            .collect(),
    }
}

/// Crate names a README points at: crates.io and docs.rs links, and its first heading.
pub fn readme_names(readme: &str) -> Vec<String> {
    let valid = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let mut names: Vec<String> = Vec::new();
    let mut add = |n: &str| {
        let n = n.trim().to_ascii_lowercase();
        let noise = ["crate", "crates", "releases", "badge", "latest", "v"];
        if valid(&n) && !noise.contains(&n.as_str()) && !names.contains(&n) && names.len() < 8 {
            names.push(n);
        }
    };
    if let Some(h) = readme.lines().map(str::trim).find(|l| l.starts_with('#')) {
        let h = h.trim_start_matches('#').trim().trim_matches('`');
        add(h.split_whitespace().next().unwrap_or(""));
    }
    for marker in [
        "crates.io/crates/",
        "docs.rs/crate/",
        "docs.rs/",
        "lib.rs/crates/",
        "shields.io/crates/v/",
    ] {
        for (at, _) in readme.match_indices(marker) {
            let rest = &readme[at + marker.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            add(&rest[..end]);
        }
    }
    names
}

/// Source text whose syntax trees are held at once for the behaviour analysis.
const HELD_TEXT: usize = 2 << 20;

/// Fetches and analyses the archive of every registry package of the graph on `workers`
/// threads. Keys are package indexes; errors say why an archive is unavailable.
pub fn analyze_graph(
    graph: &Graph,
    store: &CrateStore,
    cache_dir: Option<&std::path::Path>,
    workers: usize,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> HashMap<usize, Result<CrateAnalysis, String>> {
    let wanted: Vec<usize> = (0..graph.len())
        .filter(|&i| graph.registry(i).is_some())
        .collect();
    // Downloads may run wide; decoding and parsing (CPU and memory) run one per core.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let parsing = (Mutex::new(0usize), std::sync::Condvar::new());
    let analyses = crate::parallel::map(&wanted, workers, progress, |&i| {
        let pkg = &graph.packages()[i];
        let name = pkg.name.as_str();
        let version = pkg.version.to_string();
        let checksum = pkg.checksum.as_ref().map(|c| c.to_string());
        let cached_path = cache_path(cache_dir, name, &version, checksum.as_deref());
        if let Some(a) = cached_path.as_deref().and_then(load) {
            return Ok(a);
        }
        match store.get(name, &version, checksum.as_deref()) {
            Fetched::Bytes { bytes, from } => {
                let _permit = Permit::acquire(&parsing, cores);
                let archive = crate_archive::read(
                    &bytes,
                    name,
                    &version,
                    checksum.as_deref(),
                    Limits::default(),
                );
                let analysis = analyze(&archive, &from);
                if let (Some(path), false) = (&cached_path, archive.tampered()) {
                    save(path, &analysis);
                }
                Ok(analysis)
            }
            Fetched::Unavailable(why) => Err(why),
        }
    });
    wanted.into_iter().zip(analyses).collect()
}

/// A parsing slot, taken when fewer than `max` are in use and returned when dropped.
struct Permit<'a>(&'a (Mutex<usize>, std::sync::Condvar));

impl<'a> Permit<'a> {
    fn acquire(slots: &'a (Mutex<usize>, std::sync::Condvar), max: usize) -> Permit<'a> {
        let (count, wake) = slots;
        let mut busy = wake
            .wait_while(count.lock().unwrap_or_else(|e| e.into_inner()), |n| {
                *n >= max
            })
            .unwrap_or_else(|e| e.into_inner());
        *busy += 1;
        Permit(slots)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let (count, wake) = self.0;
        *count.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        wake.notify_one();
    }
}

/// Where the analysis of an archive with this checksum is cached: the same archive always
/// gives the same answer.
pub fn cache_path(
    cache_dir: Option<&std::path::Path>,
    name: &str,
    version: &str,
    checksum: Option<&str>,
) -> Option<std::path::PathBuf> {
    let dir = cache_dir?.join(concat!("analysis-v12-", env!("CARGO_PKG_VERSION")));
    let sum = checksum?;
    Some(dir.join(format!(
        "{name}-{version}-{}.json",
        &sum[..sum.len().min(16)]
    )))
}

pub fn load(path: &std::path::Path) -> Option<CrateAnalysis> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<CrateAnalysis>(&b).ok())
}

pub fn save(path: &std::path::Path, analysis: &CrateAnalysis) {
    if let Ok(json) = serde_json::to_vec(analysis) {
        crate::sources::write_atomically(path, &json);
    }
}

/// Dependencies declared only in `[target.<platform>.(build-)dependencies]` (dev-dependencies
/// are never built for dependents), by registry name, with their platforms.
pub fn target_only_deps(manifest: &toml::Table) -> Vec<(String, Vec<String>)> {
    let names = |t: Option<&toml::Value>| -> Vec<String> {
        t.and_then(|t| t.as_table())
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        v.get("package")
                            .and_then(|p| p.as_str())
                            .unwrap_or(k)
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut always: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for table in ["dependencies", "build-dependencies", "build_dependencies"] {
        always.extend(names(manifest.get(table)));
    }
    let mut only: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    if let Some(targets) = manifest.get("target").and_then(|t| t.as_table()) {
        for (platform, t) in targets {
            for table in ["dependencies", "build-dependencies", "build_dependencies"] {
                for n in names(t.get(table)) {
                    if !always.contains(&n) {
                        only.entry(n).or_default().push(platform.clone());
                    }
                }
            }
        }
    }
    only.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::crate_archive::tests::build;

    #[test]
    fn finds_build_time_code_and_unsafe() {
        let bytes = build(&[
            (
                "evil-0.1.0/Cargo.toml",
                b"[package]\nname = \"evil\"\nversion = \"0.1.0\"\nlinks = \"z\"\n",
                0o644,
            ),
            (
                "evil-0.1.0/build.rs",
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../fixtures/analysis/evil_build.rs.txt"
                )),
                0o644,
            ),
            (
                "evil-0.1.0/src/lib.rs",
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../fixtures/analysis/evil_lib.rs.txt"
                )),
                0o644,
            ),
            (
                "evil-0.1.0/tests/t.rs",
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../fixtures/analysis/evil_test.rs.txt"
                )),
                0o644,
            ),
            ("evil-0.1.0/payload.so", b"\x7fELF....", 0o755),
        ]);
        let a = analyze(
            &crate_archive::read(&bytes, "evil", "0.1.0", None, Limits::default()),
            "test",
        );
        assert_eq!(a.build_script.as_deref(), Some("build.rs"));
        assert_eq!(a.links.as_deref(), Some("z"));
        assert!(!a.proc_macro);
        assert_eq!(
            a.native_files,
            vec![("payload.so".to_string(), FileKind::Elf)]
        );
        let caps = a.capabilities.unwrap();
        assert_eq!(caps.secret_reads(), vec!["GITHUB_TOKEN"]);
        assert!(!caps.network.is_empty());
        assert_eq!(a.unsafe_counts.blocks, 1);
        assert_eq!(a.unsafe_counts.functions, 0, "tests/ is not counted");
    }

    #[test]
    fn proc_macro_sources_are_build_time_code() {
        let bytes = build(&[
            (
                "pm-1.0.0/Cargo.toml",
                b"[package]\nname = \"pm\"\nbuild = false\n[lib]\nproc-macro = true\n",
                0o644,
            ),
            (
                "pm-1.0.0/src/lib.rs",
                include_bytes!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../../fixtures/analysis/proc_macro_lib.rs.txt"
                )),
                0o644,
            ),
        ]);
        let a = analyze(
            &crate_archive::read(&bytes, "pm", "1.0.0", None, Limits::default()),
            "test",
        );
        assert!(a.proc_macro && a.build_script.is_none() && a.forbids_unsafe);
        assert!(
            a.capabilities
                .unwrap()
                .processes
                .iter()
                .any(|p| p.contains("sh"))
        );
    }

    #[test]
    fn readme_names_the_crates_it_points_at() {
        let readme = "# Serde &emsp; [![crates](https://img.shields.io/crates/v/serde.svg)](https://crates.io/crates/serde)\n\
                      See [docs](https://docs.rs/serde_json/latest) and https://docs.rs/crate/serde_derive.\n";
        assert_eq!(
            readme_names(readme),
            ["serde", "serde_derive", "serde_json"]
        );
    }
}
