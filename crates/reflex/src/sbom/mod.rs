//! Software bill of materials of the locked graph: every package of Cargo.lock with its
//! package URL, SHA-256 checksum, declared license and dependencies, the workspace as the root
//! component, and (when asked) what the advisory database says about each package (VEX).
//!
//! [`inventory`] gathers the facts offline; [`cyclonedx`] and [`spdx`] render them with serde
//! types of our own, written against the official CycloneDX 1.6 and SPDX 2.3 JSON schemas
//! (the tests validate against both).

pub mod cyclonedx;
pub mod manifests;
pub mod purl;
pub mod spdx;
pub mod vex;

use crate::error::{Error, Result};
use crate::graph::workspace::Workspace;
use crate::graph::{Graph, Origin};
use crate::sources::advisory_db::DatabaseInfo;
use crate::sources::advisory_db::{self, Scope};
use manifests::{ManifestReader, MetaFrom, PackageMeta};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Component as PathPart, Path, PathBuf};

/// Everything that varies between runs is a parameter.
#[derive(Clone, Debug)]
pub struct SbomOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    /// Describe this lockfile (`-` for stdin) without a workspace.
    pub lockfile: Option<PathBuf>,
    /// Where cargo keeps downloaded archives and git checkouts (licenses are read there).
    pub cargo_home: Option<PathBuf>,
    /// cargo-reflex's cache: archive analyses, the fetched advisory database.
    pub cache_dir: Option<PathBuf>,
    /// Add VEX statements from this advisory database (`None`: the newest local one).
    pub vex: bool,
    pub advisory_db: Option<PathBuf>,
    pub created: jiff::Timestamp,
}

/// One package of the lockfile as the SBOM describes it.
#[derive(Clone, Debug)]
pub struct Component {
    pub name: String,
    pub version: String,
    pub origin: Origin,
    /// The lockfile's `source`, as written.
    pub source: Option<String>,
    pub purl: String,
    /// Unique within the document: the package URL, with a suffix if two packages share it.
    pub bom_ref: String,
    /// Lower-case hex SHA-256 of the `.crate`, from Cargo.lock.
    pub sha256: Option<String>,
    pub meta: Option<PackageMeta>,
    pub meta_from: MetaFrom,
    /// Local packages: the directory relative to the workspace root.
    pub local_dir: Option<String>,
    /// Indexes of the packages it depends on, in lockfile order.
    pub depends_on: Vec<usize>,
}

impl Component {
    pub fn license(&self) -> Option<&str> {
        self.meta.as_ref()?.license.as_deref()
    }

    pub fn is_application(&self) -> bool {
        self.meta.as_ref().is_some_and(|m| m.has_binary)
    }
}

/// The component the document is about: the workspace.
#[derive(Clone, Debug)]
pub enum Root {
    /// The workspace root is itself a package (or the lockfile has one top-level package).
    Package(usize),
    /// A virtual workspace: a component of its own, named after its directory.
    Workspace {
        name: String,
        version: Option<String>,
        license: Option<String>,
        description: Option<String>,
    },
}

/// The facts both renderers need.
#[derive(Clone, Debug)]
pub struct Inventory {
    pub components: Vec<Component>,
    pub root: Root,
    /// What the root depends on: its own dependencies and every other top-level local package.
    pub root_depends_on: Vec<usize>,
    /// `Some` when VEX was asked for.
    pub vex: Option<Vec<vex::Statement>>,
    pub database: Option<DatabaseInfo>,
    pub created: jiff::Timestamp,
    /// SHA-256 of the lockfile text: with the time and format, it seeds the serial number.
    pub lockfile_sha256: String,
}

impl Inventory {
    pub fn root_name(&self) -> &str {
        match &self.root {
            Root::Package(i) => &self.components[*i].name,
            Root::Workspace { name, .. } => name,
        }
    }

    /// Packages whose license the SBOM cannot state, with the reason.
    pub fn unknown_licenses(&self) -> Vec<(&Component, &str)> {
        self.components
            .iter()
            .filter(|c| c.license().is_none())
            .map(|c| {
                let why = match &c.meta_from {
                    MetaFrom::Unavailable(why) => why.as_str(),
                    _ if c.meta.as_ref().is_some_and(|m| m.license_file.is_some()) => {
                        "the license is only in a file"
                    }
                    _ => "the manifest declares no license",
                };
                (c, why)
            })
            .collect()
    }

    /// A UUID derived from the inputs: the same lockfile, time and format give the same
    /// document, so SBOMs are reproducible under a fixed `SOURCE_DATE_EPOCH`.
    pub fn serial(&self, format: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            format,
            &self.lockfile_sha256,
            &self.created.to_string(),
            if self.vex.is_some() { "vex" } else { "" },
            env!("CARGO_PKG_VERSION"),
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
        // RFC 9562 version 8 (custom), variant 10.
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    /// `2026-11-25T10:00:00Z`.
    pub fn created_rfc3339(&self) -> String {
        self.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
    }
}

/// Reads the workspace (or a lone lockfile) and gathers what the SBOM states. Offline.
pub fn inventory(opts: &SbomOptions) -> Result<Inventory> {
    let resolve = |p: &Path| {
        if p == Path::new("-") || p.is_absolute() {
            p.to_path_buf()
        } else {
            opts.cwd.join(p)
        }
    };
    let (workspace, graph) = match &opts.lockfile {
        Some(path) => (None, Graph::load_as(&resolve(path), path)?),
        None => {
            let manifest = opts.manifest_path.as_deref().map(resolve);
            let ws = Workspace::discover(manifest.as_deref(), &opts.cwd)?;
            let lock = ws.lockfile_path();
            if !lock.is_file() {
                return Err(Error::Usage(
                    format!("no lockfile: {} does not exist", lock.display()),
                    Some(
                        "an SBOM describes the locked graph: run `cargo generate-lockfile` and commit Cargo.lock"
                            .into(),
                    ),
                ));
            }
            let graph = Graph::load(&lock)?;
            (Some(ws), graph)
        }
    };
    let reader = ManifestReader {
        workspace: workspace.as_ref(),
        cargo_home: opts.cargo_home.as_deref(),
        cache_dir: opts.cache_dir.as_deref(),
    };
    let mut components: Vec<Component> = (0..graph.len())
        .map(|i| component(&graph, i, &reader, workspace.as_ref()))
        .collect();
    unique_refs(&mut components);

    let root = root(&graph, workspace.as_ref(), &components);
    let root_index = match root {
        Root::Package(i) => Some(i),
        Root::Workspace { .. } => None,
    };
    // Top-level local packages: those no other local package depends on.
    let tops = (0..graph.len()).filter(|&i| {
        graph.origin(i) == Origin::Local
            && Some(i) != root_index
            && !graph
                .dependents(i)
                .iter()
                .any(|&d| graph.origin(d) == Origin::Local)
    });
    let mut root_depends_on: Vec<usize> = root_index
        .map(|i| components[i].depends_on.clone())
        .unwrap_or_default();
    for t in tops {
        if !root_depends_on.contains(&t) {
            root_depends_on.push(t);
        }
    }
    root_depends_on.sort_unstable();

    let (vex, database) = if opts.vex {
        let names: BTreeSet<String> = graph
            .packages()
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        let db = advisory_db::select(
            opts.advisory_db.as_deref(),
            opts.cache_dir.as_deref(),
            Scope::Crates(&names),
        )?;
        (Some(vex::statements(&graph, &db)), Some(db.info()))
    } else {
        (None, None)
    };
    Ok(Inventory {
        components,
        root,
        root_depends_on,
        vex,
        database,
        created: opts.created,
        lockfile_sha256: crate::sources::crate_archive::sha256_hex(graph.text.as_bytes()),
    })
}

fn component(
    graph: &Graph,
    i: usize,
    reader: &ManifestReader<'_>,
    workspace: Option<&Workspace>,
) -> Component {
    let pkg = &graph.packages()[i];
    let (name, version) = (pkg.name.to_string(), pkg.version.to_string());
    let origin = graph.origin(i);
    let source = pkg.source.as_ref().map(ToString::to_string);
    let local_dir = (origin == Origin::Local)
        .then(|| {
            let ws = workspace?;
            let m = ws.packages.iter().find(|m| {
                m.name.as_deref() == Some(name.as_str())
                    && m.version.as_deref() == Some(version.as_str())
            })?;
            Some(relative(&ws.root, m.path.parent()?))
        })
        .flatten();
    let vcs = purl::vcs_locator(&origin);
    let qualifier = match &origin {
        Origin::CratesIo => purl::Qualifier::None,
        Origin::Git { .. } => purl::Qualifier::VcsUrl(vcs.as_deref().unwrap_or_default()),
        // Without a workspace the directory is unknown, but the package is still not the
        // crates.io package of that name: an empty `file://` says so.
        Origin::Local => purl::Qualifier::LocalPath(local_dir.as_deref().unwrap_or("")),
        Origin::Registry(_) | Origin::Other(_) => {
            purl::Qualifier::RepositoryUrl(purl::registry_url(source.as_deref().unwrap_or("")))
        }
    };
    let purl = purl::cargo(&name, &version, qualifier);
    // Hostile input is normal input: only a well-formed digest is stated.
    let sha256 = pkg
        .checksum
        .as_ref()
        .map(|c| c.to_string().to_ascii_lowercase())
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let (meta, meta_from) = reader.read(graph, i);
    let mut depends_on: Vec<usize> = graph.dependencies(i).to_vec();
    depends_on.sort_unstable();
    depends_on.dedup();
    Component {
        bom_ref: purl.clone(),
        name,
        version,
        origin,
        source,
        purl,
        sha256,
        meta,
        meta_from,
        local_dir,
        depends_on,
    }
}

/// Two packages can share a package URL (two path packages with one name and version in a
/// lone lockfile): the later ones get a `#n` suffix in their reference.
fn unique_refs(components: &mut [Component]) {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    for c in components.iter_mut() {
        let n = seen.entry(c.bom_ref.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            c.bom_ref = format!("{}#{}", c.bom_ref, n);
        }
    }
}

fn root(graph: &Graph, workspace: Option<&Workspace>, components: &[Component]) -> Root {
    if let Some(ws) = workspace {
        let root_pkg = ws
            .root_manifest
            .name
            .as_deref()
            .zip(ws.root_manifest.version.as_deref())
            .and_then(|(n, v)| {
                graph
                    .find(n, v)
                    .filter(|&i| graph.origin(i) == Origin::Local)
            });
        if let Some(i) = root_pkg {
            return Root::Package(i);
        }
        let field = |k: &str| {
            ws.root_manifest
                .table
                .get("workspace")
                .and_then(|w| w.get("package"))
                .and_then(|p| p.get(k))
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        };
        return Root::Workspace {
            name: dir_name(&ws.root),
            version: field("version"),
            license: field("license"),
            description: field("description"),
        };
    }
    // A lone lockfile: one top-level local package is the root, else the lockfile's directory.
    let tops: Vec<usize> = (0..graph.len())
        .filter(|&i| {
            components[i].origin == Origin::Local
                && !graph
                    .dependents(i)
                    .iter()
                    .any(|&d| components[d].origin == Origin::Local)
        })
        .collect();
    if let [only] = tops[..] {
        return Root::Package(only);
    }
    let dir = graph
        .path
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && graph.path != Path::new("<stdin>"))
        .map(dir_name)
        .unwrap_or_else(|| "workspace".into());
    Root::Workspace {
        name: dir,
        version: None,
        license: None,
        description: None,
    }
}

fn dir_name(dir: &Path) -> String {
    std::path::absolute(dir)
        .ok()
        .map(|d| crate::graph::workspace::normalize(&d))
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "workspace".into())
}

/// `dir` relative to `base` (`.` for the same directory, `../x` outside), with `/` separators.
fn relative(base: &Path, dir: &Path) -> String {
    let abs = |p: &Path| {
        crate::graph::workspace::normalize(&std::path::absolute(p).unwrap_or_else(|_| p.into()))
    };
    let (base, dir) = (abs(base), abs(dir));
    let b: Vec<PathPart<'_>> = base.components().collect();
    let d: Vec<PathPart<'_>> = dir.components().collect();
    let common = b.iter().zip(&d).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".into(); b.len() - common];
    parts.extend(
        d[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside_or_climb_out() {
        assert_eq!(relative(Path::new("/w"), Path::new("/w")), ".");
        assert_eq!(
            relative(Path::new("/w"), Path::new("/w/crates/a")),
            "crates/a"
        );
        assert_eq!(relative(Path::new("/w/x"), Path::new("/w/y/z")), "../y/z");
    }

    #[test]
    fn serial_is_a_uuid_that_follows_the_inputs() {
        let inv = |created: &str| Inventory {
            components: Vec::new(),
            root: Root::Workspace {
                name: "w".into(),
                version: None,
                license: None,
                description: None,
            },
            root_depends_on: Vec::new(),
            vex: None,
            database: None,
            created: created.parse().unwrap(),
            lockfile_sha256: "00".into(),
        };
        let a = inv("2026-11-25T00:00:00Z").serial("cyclonedx");
        assert_eq!(a, inv("2026-11-25T00:00:00Z").serial("cyclonedx"));
        assert_ne!(a, inv("2026-11-26T00:00:00Z").serial("cyclonedx"));
        assert_ne!(a, inv("2026-11-25T00:00:00Z").serial("spdx"));
        let shape: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(shape, [8, 4, 4, 4, 12]);
        assert_eq!(&a[14..15], "8");
    }
}
