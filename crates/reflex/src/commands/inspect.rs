//! `inspect`: one crate before anyone adds it, from the registry (`name[@version]`, newest
//! when no version is given), a `.crate` file or a source directory. Files and directories are
//! read as data with the limits of an archive, never built or run. The inputs are a
//! one-package graph (a crates.io package of that name and version), its analysis, and the
//! archives of the crates it may imitate (references for impersonation).

use super::load::{self, Inputs};
use super::{CommandOptions, Progress};
use crate::analysis::crate_analysis::{self, CrateAnalysis, analyze};
use crate::checks::Needs;
use crate::checks::impersonation::{reference_names, repo_key};
use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::sources::crate_archive::{self, CrateArchive, Limits, Problem};
use crate::sources::crate_store::{CrateStore, Fetched};
use crate::sources::popularity::Popularity;
use crate::sources::registry_index::{Lookup, RegistryIndex};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What `inspect` looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InspectTarget {
    /// `name[@version]` from the registry; the newest release when no version is given.
    Registry {
        name: String,
        version: Option<String>,
    },
    /// A `.crate` archive on disk.
    Archive(PathBuf),
    /// A crate's source directory (its `Cargo.toml` and files).
    Directory(PathBuf),
}

/// `.crate` files larger than this are refused (crates.io allows 10 MiB).
const MAX_ARCHIVE: u64 = 256 << 20;

impl InspectTarget {
    /// A directory or file when `arg` names one that exists, else `name[@version]`; an
    /// argument that looks like a path but names nothing is an error.
    pub fn parse(arg: &str, cwd: &Path) -> Result<InspectTarget> {
        let path = load::resolve(cwd, Path::new(arg));
        if path.is_dir() {
            return Ok(InspectTarget::Directory(PathBuf::from(arg)));
        }
        if path.is_file() {
            return Ok(InspectTarget::Archive(PathBuf::from(arg)));
        }
        let looks_like_path = arg.ends_with(".crate")
            || arg.contains(['/', '\\'])
            || arg.starts_with('.')
            || arg.starts_with('~');
        if looks_like_path {
            return Err(Error::Usage(
                format!("{arg}: no such file or directory"),
                Some("give a .crate file, a crate's directory, or name[@version]".into()),
            ));
        }
        let (name, version) = match arg.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (arg, None),
        };
        if !valid_name(name) {
            return Err(Error::Usage(
                format!("`{name}` is not a crate name, a .crate file or a directory"),
                Some("crate names are ASCII letters, digits, `-` and `_`".into()),
            ));
        }
        if let Some(v) = version
            && semver::Version::parse(v).is_err()
        {
            return Err(Error::Usage(
                format!("`{v}` is not a version (name@1.2.3)"),
                None,
            ));
        }
        Ok(InspectTarget::Registry {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// Whether the target is read from disk (no registry needed).
    pub fn is_local(&self) -> bool {
        !matches!(self, InspectTarget::Registry { .. })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The crate under inspection, read.
struct Read {
    name: String,
    version: String,
    /// How the report names it (the file or directory as given, or `name@version`).
    display: PathBuf,
    archive: CrateArchive,
    from: String,
}

pub fn load(needs: Needs, opts: &CommandOptions, progress: Progress<'_>) -> Result<Inputs> {
    let target = opts.inspect.as_ref().ok_or_else(|| {
        Error::Usage(
            "inspect needs a crate: name[@version], a .crate file or a directory".into(),
            None,
        )
    })?;
    let config = load::index_config(opts, needs, &[]);
    let crates_io = RegistryIndex::new(config.clone(), None);
    let store = load::store(opts, &config);
    progress("crate archive", 0, 1);
    let mut read = match target {
        InspectTarget::Registry { name, version } => {
            from_registry(name, version.as_deref(), &crates_io, &store, opts)?
        }
        InspectTarget::Archive(path) => from_file(path, opts)?,
        InspectTarget::Directory(path) => from_directory(path, opts)?,
    };
    let graph = one_package_graph(&read)?;
    // The index: yanked, publish dates, and the checksum the registry has for this release.
    let (index, index_unavailable) = match target {
        InspectTarget::Directory(_) => (
            None,
            Some("a directory is not a registry release".to_string()),
        ),
        _ if !opts.check_yanked || !needs.any_index() => {
            (None, Some("the registry index is not used".to_string()))
        }
        _ => (
            Some(load::load_index(&graph, None, needs, &config, progress)),
            None,
        ),
    };
    if let (InspectTarget::Archive(_), Some(lookup)) =
        (target, index.as_ref().and_then(|i| i.get(None, &read.name)))
        && let Some(sum) = checksum_of(lookup, &read.version)
        && !sum.eq_ignore_ascii_case(&read.archive.sha256)
    {
        read.archive.problems.push(Problem::ChecksumMismatch {
            expected: sum,
            actual: read.archive.sha256.clone(),
        });
    }
    let mut analysis = analysis_of(&read, opts);
    if let InspectTarget::Directory(dir) = target {
        local_vcs(&mut analysis, &load::resolve(&opts.cwd, dir));
    }
    progress("crate archive", 1, 1);
    let (db, db_refresh_error) = load::load_advisories(opts, Some(&graph), progress)?;
    let popularity = match (needs.contains(Needs::POPULARITY), &opts.popular) {
        (false, _) => None,
        (true, Some(path)) => Some(Arc::new(Popularity::load(&load::resolve(&opts.cwd, path))?)),
        (true, None) => Some(Arc::new(Popularity::embedded())),
    };
    let references = match &popularity {
        Some(p) if needs.contains(Needs::ARCHIVES) => Some(references(
            &analysis, &read.name, p, &crates_io, &store, opts,
        )),
        _ => None,
    };
    let analyses: load::Analyses = HashMap::from([(0, Ok(analysis))]);
    Ok(Inputs {
        workspace: None,
        graph: Some(graph),
        db,
        db_refresh_error,
        configs: Vec::new(),
        ci_root: None,
        index,
        index_unavailable,
        analyses: Some(analyses),
        review: None,
        popularity,
        policy: None,
        policy_loosened: Vec::new(),
        incoming: None,
        scoped: false,
        internal_prefixes: opts.internal_prefixes.clone(),
        references,
    })
}

/// `name[@version]`: the release from the index (newest unyanked when no version is given),
/// its archive from cargo's cache, cargo-reflex's cache or the registry.
fn from_registry(
    name: &str,
    version: Option<&str>,
    index: &RegistryIndex,
    store: &CrateStore,
    opts: &CommandOptions,
) -> Result<Read> {
    let offline_help = || {
        Some(if opts.index.online {
            "check the name on https://crates.io".to_string()
        } else {
            "run online, or inspect a .crate file or a directory".to_string()
        })
    };
    let lookup = lookup(index, name);
    let versions = match &lookup {
        Lookup::Found { versions, .. } => versions,
        Lookup::Missing => {
            return Err(Error::Usage(
                format!("`{name}` is not on the registry"),
                offline_help(),
            ));
        }
        Lookup::Unknown(why) => {
            return Err(Error::Usage(
                format!("cannot find `{name}` in the registry index: {why}"),
                offline_help(),
            ));
        }
    };
    let version = match version {
        Some(v) => versions
            .iter()
            .find(|x| x.version == v)
            .map(|x| x.version.clone())
            .ok_or_else(|| {
                Error::Usage(
                    format!("`{name}` has no version {v} in the registry index"),
                    Some(format!(
                        "{} versions are listed; omit @version for the newest",
                        versions.len()
                    )),
                )
            })?,
        None => newest(versions).ok_or_else(|| {
            Error::Usage(
                format!("every release of `{name}` is yanked"),
                Some(format!("inspect one explicitly: {name}@<version>")),
            )
        })?,
    };
    let checksum = checksum_of(&lookup, &version);
    let bytes_from = match store.get(name, &version, checksum.as_deref()) {
        Fetched::Bytes { bytes, from } => (bytes, from),
        Fetched::Unavailable(why) => {
            return Err(Error::Usage(
                format!("cannot read the archive of {name} {version}: {why}"),
                offline_help(),
            ));
        }
    };
    let (bytes, from) = bytes_from;
    let archive = crate_archive::read(&bytes, name, &version, checksum.as_deref(), limits());
    Ok(Read {
        name: name.to_string(),
        display: PathBuf::from(format!("{name}@{version}")),
        version,
        archive,
        from,
    })
}

/// One index lookup (the network when the index is online, else cargo's cache).
fn lookup(index: &RegistryIndex, name: &str) -> Lookup {
    index
        .lookup_many(&[name.to_string()], &|_, _| {})
        .remove(name)
        .unwrap_or(Lookup::Unknown("not looked up".into()))
}

/// The newest unyanked release, stable ones first.
fn newest(versions: &[crate::sources::registry_index::IndexedVersion]) -> Option<String> {
    let parsed = versions
        .iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| Some((semver::Version::parse(&v.version).ok()?, &v.version)));
    parsed
        .max_by_key(|(v, _)| (v.pre.is_empty(), v.clone()))
        .map(|(_, v)| v.clone())
}

/// The checksum the registry lists for `version` (the index line's `cksum`).
fn checksum_of(lookup: &Lookup, version: &str) -> Option<String> {
    lookup.version(version)?.checksum.clone()
}

fn limits() -> Limits {
    Limits::default()
}

/// A `.crate` file: its name and version from the packaged manifest.
fn from_file(path: &Path, opts: &CommandOptions) -> Result<Read> {
    let full = load::resolve(&opts.cwd, path);
    let size = std::fs::metadata(&full)
        .map_err(|e| Error::io(path, e))?
        .len();
    if size > MAX_ARCHIVE {
        return Err(Error::Usage(
            format!(
                "{}: {} MiB is larger than any crate archive (at most {} MiB)",
                path.display(),
                size >> 20,
                MAX_ARCHIVE >> 20
            ),
            None,
        ));
    }
    let bytes = std::fs::read(&full).map_err(|e| Error::io(path, e))?;
    let top = crate_archive::top_directory(&bytes).map_err(|why| {
        Error::Usage(
            format!("{} is not a .crate archive: {why}", path.display()),
            Some("a .crate is a gzip-compressed tarball as `cargo package` writes it".into()),
        )
    })?;
    let archive = crate_archive::read_with_top(&bytes, &top, None, limits());
    let (name, version) = identity(&archive, path, Some(&top))?;
    Ok(Read {
        name,
        version,
        display: path.to_path_buf(),
        archive,
        from: format!("the file {}", path.display()),
    })
}

/// A crate's source directory, read as data with an archive's limits.
fn from_directory(path: &Path, opts: &CommandOptions) -> Result<Read> {
    let full = load::resolve(&opts.cwd, path);
    if !full.join("Cargo.toml").is_file() {
        return Err(Error::Usage(
            format!("{}: no Cargo.toml in this directory", path.display()),
            Some("give the directory of one crate (where its Cargo.toml is)".into()),
        ));
    }
    let archive = crate::sources::crate_dir::read_dir(&full, limits());
    let (name, version) = identity(&archive, path, None)?;
    Ok(Read {
        name,
        version,
        display: path.to_path_buf(),
        archive,
        from: format!("the directory {}", path.display()),
    })
}

/// Name and version from the packaged manifest (a directory's version may be inherited from
/// a workspace: `0.0.0` then); an archive's top directory must agree with them.
fn identity(archive: &CrateArchive, path: &Path, top: Option<&str>) -> Result<(String, String)> {
    let bad = |what: String| {
        Error::Usage(
            format!("{}: {what}", path.display()),
            Some("inspect reads one crate: its Cargo.toml needs [package] name".into()),
        )
    };
    let text = archive
        .file("Cargo.toml")
        .and_then(|f| f.text.as_deref())
        .ok_or_else(|| bad("no Cargo.toml in the crate".into()))?;
    let manifest: toml::Table =
        toml::from_str(text).map_err(|e| Error::toml(path.join("Cargo.toml"), text, &e))?;
    let package = manifest
        .get("package")
        .ok_or_else(|| bad("Cargo.toml has no [package] (a workspace root?)".into()))?;
    let name = package
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|n| valid_name(n))
        .ok_or_else(|| bad("Cargo.toml has no valid [package] name".into()))?;
    let version = package
        .get("version")
        .and_then(|v| v.as_str())
        .filter(|v| semver::Version::parse(v).is_ok())
        .unwrap_or("0.0.0");
    if let Some(top) = top
        && top != format!("{name}-{version}")
    {
        return Err(bad(format!(
            "the archive's directory {top}/ does not match its manifest ({name} {version})"
        )));
    }
    Ok((name.to_string(), version.to_string()))
}

/// A directory without `.cargo_vcs_info.json` inside a git work tree whose remote is the
/// repository the crate claims: its place there is what cargo records as `path_in_vcs` when it
/// packages the crate.
fn local_vcs(analysis: &mut CrateAnalysis, dir: &Path) {
    let claimed = analysis.repository.as_deref().and_then(repo_key);
    let (None, Some(claimed), Ok(dir)) = (&analysis.identity.vcs, claimed, dir.canonicalize())
    else {
        return;
    };
    let Some(root) = dir.ancestors().find(|d| d.join(".git").exists()) else {
        return;
    };
    let config = std::fs::File::open(root.join(".git").join("config"))
        .map(|f| {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::Read::take(f, 1 << 20), &mut text);
            text
        })
        .unwrap_or_default();
    let remote = |line: &str| {
        let url = line
            .trim()
            .strip_prefix("url")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        // `git@github.com:owner/repo.git`
        let url = match url.strip_prefix("git@") {
            Some(rest) => format!("https://{}", rest.replacen(':', "/", 1)),
            None => url.to_string(),
        };
        repo_key(&url)
    };
    if config.lines().filter_map(remote).any(|k| k == claimed) {
        let path = dir.strip_prefix(root).unwrap_or(Path::new(""));
        analysis.identity.vcs = Some(crate_archive::VcsInfo {
            path_in_vcs: Some(path.to_string_lossy().replace('\\', "/")),
            sha1: None,
            dirty: false,
        });
    }
}

/// The analysis of the crate, cached by checksum for archives.
fn analysis_of(read: &Read, opts: &CommandOptions) -> CrateAnalysis {
    let cached = (!read.archive.sha256.is_empty())
        .then(|| {
            crate_analysis::cache_path(
                opts.cache_dir.as_deref(),
                &read.name,
                &read.version,
                Some(&read.archive.sha256),
            )
        })
        .flatten();
    if let Some(a) = cached.as_deref().and_then(crate_analysis::load)
        && read.archive.problems.is_empty()
    {
        return CrateAnalysis {
            from: read.from.clone(),
            ..a
        };
    }
    let analysis = analyze(&read.archive, &read.from);
    if let (Some(path), false) = (&cached, read.archive.tampered()) {
        crate_analysis::save(path, &analysis);
    }
    analysis
}

/// A lockfile of one crates.io package: what every check understands.
fn one_package_graph(read: &Read) -> Result<Graph> {
    let text = format!(
        "version = 4\n\n[[package]]\nname = \"{}\"\nversion = \"{}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
        read.name, read.version
    );
    Graph::parse(&read.display, text)
}

/// The archives of the crates the inspected one may imitate, from cargo's cache, our cache,
/// or (online) the registry: newest local version first.
fn references(
    analysis: &CrateAnalysis,
    name: &str,
    popularity: &Arc<Popularity>,
    index: &RegistryIndex,
    store: &CrateStore,
    opts: &CommandOptions,
) -> BTreeMap<String, CrateAnalysis> {
    let mut out = BTreeMap::new();
    for other in reference_names(analysis, name, popularity) {
        let local = local_versions(opts, &other).into_iter().max();
        let (version, checksum) = match local {
            Some(v) => (v.to_string(), None),
            None if store.online() => {
                let lookup = lookup(index, &other);
                let Some(v) = (match &lookup {
                    Lookup::Found { versions, .. } => newest(versions),
                    _ => None,
                }) else {
                    continue;
                };
                let sum = checksum_of(&lookup, &v);
                (v, sum)
            }
            None => continue,
        };
        let Fetched::Bytes { bytes, from } = store.get(&other, &version, checksum.as_deref())
        else {
            continue;
        };
        let archive = crate_archive::read(&bytes, &other, &version, None, limits());
        let read = Read {
            name: other.clone(),
            version,
            display: PathBuf::new(),
            archive,
            from,
        };
        out.insert(other, analysis_of(&read, opts));
    }
    out
}

/// Versions of `name` whose archives are in cargo's download cache or cargo-reflex's cache.
fn local_versions(opts: &CommandOptions, name: &str) -> Vec<semver::Version> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(home) = &opts.index.cargo_home {
        dirs.extend(
            std::fs::read_dir(home.join("registry").join("cache"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|d| d.path()),
        );
    }
    if let Some(cache) = &opts.cache_dir {
        dirs.push(cache.join("crates"));
    }
    let prefix = format!("{name}-");
    let mut out = Vec::new();
    for d in dirs {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(v) = file
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(".crate"))
                .and_then(|v| semver::Version::parse(v).ok())
            {
                out.push(v);
            }
        }
    }
    out
}
