//! What each package's manifest declares (license, description, links), read offline: the
//! workspace's own manifests, cargo-reflex's cache of archive analyses, the packaged
//! `Cargo.toml` inside cargo's download cache (checksum verified), and cargo's git checkouts.

use crate::analysis::crate_analysis;
use crate::graph::workspace::{Manifest, Workspace};
use crate::graph::{Graph, Origin};
use crate::sources::crate_archive;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// The manifest fields an SBOM carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackageMeta {
    /// The `license` field as written (an SPDX expression, or cargo's older `MIT/Apache-2.0`).
    pub license: Option<String>,
    pub license_file: Option<String>,
    pub description: Option<String>,
    pub repository: Option<String>,
    pub homepage: Option<String>,
    /// The package has a binary target (local packages only).
    pub has_binary: bool,
}

/// Where a package's manifest was read, or why it could not be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaFrom {
    Workspace,
    AnalysisCache,
    DownloadCache,
    GitCheckout,
    Unavailable(String),
}

/// Reads manifests from the places cargo and cargo-reflex keep them; never the network.
pub struct ManifestReader<'a> {
    pub workspace: Option<&'a Workspace>,
    pub cargo_home: Option<&'a Path>,
    pub cache_dir: Option<&'a Path>,
}

impl ManifestReader<'_> {
    pub fn read(&self, graph: &Graph, i: usize) -> (Option<PackageMeta>, MetaFrom) {
        let pkg = &graph.packages()[i];
        let (name, version) = (pkg.name.as_str(), pkg.version.to_string());
        match graph.origin(i) {
            Origin::Local => match self.local(name, &version) {
                Some((m, root)) => (
                    Some(meta(&m.table, root, m.path.parent())),
                    MetaFrom::Workspace,
                ),
                None => (
                    None,
                    MetaFrom::Unavailable(if self.workspace.is_some() {
                        "its manifest is not among the workspace's readable manifests".into()
                    } else {
                        "a lone lockfile names no manifests".into()
                    }),
                ),
            },
            Origin::Git { url, commit } => match self.git(name, commit.as_deref()) {
                Some(m) => (Some(m), MetaFrom::GitCheckout),
                None => (
                    None,
                    MetaFrom::Unavailable(format!(
                        "no checkout of {url} at {} in cargo's git cache",
                        commit.as_deref().unwrap_or("the locked commit")
                    )),
                ),
            },
            _ => {
                let Some(sum) = pkg.checksum.as_ref().map(|c| c.to_string()) else {
                    return (
                        None,
                        MetaFrom::Unavailable("Cargo.lock has no checksum for it".into()),
                    );
                };
                self.registry(name, &version, &sum)
            }
        }
    }

    /// The local manifest with this name and version, and the workspace root manifest that
    /// `workspace = true` fields inherit from.
    fn local(&self, name: &str, version: &str) -> Option<(&Manifest, Option<&Table>)> {
        let ws = self.workspace?;
        let m = ws
            .packages
            .iter()
            .find(|m| m.name.as_deref() == Some(name) && m.version.as_deref() == Some(version))?;
        Some((m, Some(&ws.root_manifest.table)))
    }

    fn registry(&self, name: &str, version: &str, sum: &str) -> (Option<PackageMeta>, MetaFrom) {
        // An analysis is cached under the archive's checksum, so it speaks for this archive.
        let cached = crate_analysis::cache_path(self.cache_dir, name, version, Some(sum))
            .and_then(|p| crate_analysis::load(&p));
        if let Some(a) = cached {
            let m = PackageMeta {
                license: a.license,
                license_file: a.license_file,
                description: a.description,
                repository: a.repository,
                homepage: a.homepage,
                has_binary: false,
            };
            return (Some(m), MetaFrom::AnalysisCache);
        }
        let Some(home) = self.cargo_home else {
            return (
                None,
                MetaFrom::Unavailable("no cargo home to read the download cache from".into()),
            );
        };
        let file = format!("{name}-{version}.crate");
        let mut why = "not in cargo's download cache".to_string();
        let caches = std::fs::read_dir(home.join("registry").join("cache"))
            .into_iter()
            .flatten()
            .flatten();
        for dir in caches {
            let Ok(bytes) = std::fs::read(dir.path().join(&file)) else {
                continue;
            };
            match crate_archive::manifest(&bytes, name, version, sum) {
                Ok(text) => match toml::from_str::<Table>(&text) {
                    Ok(table) => {
                        let m = meta(&table, None, None);
                        return (Some(m), MetaFrom::DownloadCache);
                    }
                    Err(e) => why = format!("its packaged Cargo.toml is not TOML: {}", e.message()),
                },
                Err(e) => why = format!("{}: {e}", dir.path().join(&file).display()),
            }
        }
        (None, MetaFrom::Unavailable(why))
    }

    /// Cargo checks a git dependency out at `git/checkouts/<repo>-<hash>/<short commit>/`; the
    /// package is the manifest with its name, a few directories deep at most.
    fn git(&self, name: &str, commit: Option<&str>) -> Option<PackageMeta> {
        let commit = commit?;
        let checkouts = self.cargo_home?.join("git").join("checkouts");
        for repo in std::fs::read_dir(checkouts).ok()?.flatten() {
            for rev in std::fs::read_dir(repo.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let short = rev.file_name().to_string_lossy().into_owned();
                if short.len() < 7 || !commit.starts_with(&short) {
                    continue;
                }
                let root = rev.path();
                if let Some(m) = find_package(&root, name) {
                    return Some(m);
                }
            }
        }
        None
    }
}

/// Breadth-first search for `name`'s manifest under a checkout, bounded in depth and count.
fn find_package(root: &Path, name: &str) -> Option<PackageMeta> {
    const MAX_DEPTH: usize = 4;
    const MAX_DIRS: usize = 2_000;
    let mut queue = std::collections::VecDeque::from([(root.to_path_buf(), 0usize)]);
    let mut seen = 0;
    let mut manifests: Vec<(PathBuf, Table)> = Vec::new();
    while let Some((dir, depth)) = queue.pop_front() {
        seen += 1;
        if seen > MAX_DIRS {
            break;
        }
        let path = dir.join("Cargo.toml");
        if let Some(table) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| toml::from_str::<Table>(&t).ok())
        {
            manifests.push((path, table));
        }
        if depth == MAX_DEPTH {
            continue;
        }
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                !n.starts_with('.') && n != "target"
            })
            .map(|e| e.path())
            .collect();
        subdirs.sort();
        queue.extend(subdirs.into_iter().map(|d| (d, depth + 1)));
    }
    let (path, table) = manifests.iter().find(|(_, t)| {
        t.get("package")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            == Some(name)
    })?;
    // The nearest manifest above (or at) the package with a `[workspace]` is its root.
    let ws = manifests
        .iter()
        .filter(|(p, t)| {
            t.contains_key("workspace") && p.parent().is_some_and(|d| path.starts_with(d))
        })
        .max_by_key(|(p, _)| p.components().count())
        .map(|(_, t)| t);
    Some(meta(table, ws, path.parent()))
}

/// The fields of `[package]`, with `field.workspace = true` taken from `[workspace.package]`;
/// `dir` (the package's directory on disk) tells whether it has a `src/main.rs`.
fn meta(table: &Table, root: Option<&Table>, dir: Option<&Path>) -> PackageMeta {
    let package = table.get("package").or_else(|| table.get("project"));
    let inherited = |key: &str| {
        root.unwrap_or(table)
            .get("workspace")
            .and_then(|w| w.get("package"))
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let field = |key: &str| {
        let value = match package.and_then(|p| p.get(key))? {
            Value::String(s) => Some(s.clone()),
            Value::Table(t) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                inherited(key)
            }
            _ => None,
        };
        value
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let has_binary = table
        .get("bin")
        .and_then(Value::as_array)
        .is_some_and(|b| !b.is_empty())
        || dir.is_some_and(|d| d.join("src").join("main.rs").is_file());
    PackageMeta {
        license: field("license"),
        license_file: field("license-file"),
        description: field("description"),
        repository: field("repository"),
        homepage: field("homepage"),
        has_binary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_fields_are_inherited() {
        let root: Table = toml::from_str(
            "[workspace.package]\nlicense = \"MIT OR Apache-2.0\"\nrepository = \"https://example.org/r\"\n",
        )
        .unwrap();
        let member: Table = toml::from_str(
            "[package]\nname = \"m\"\nlicense.workspace = true\nrepository = { workspace = true }\ndescription = \"  \"\n",
        )
        .unwrap();
        let m = meta(&member, Some(&root), Some(Path::new("/nonexistent/m")));
        assert_eq!(m.license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(m.repository.as_deref(), Some("https://example.org/r"));
        assert_eq!(m.description, None);
        assert!(!m.has_binary);
    }

    #[test]
    fn git_checkout_package_is_found_below_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("crates/inner/src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n[workspace.package]\nlicense = \"ISC\"\n",
        )
        .unwrap();
        std::fs::write(
            root.join("crates/inner/Cargo.toml"),
            "[package]\nname = \"inner\"\nlicense.workspace = true\n",
        )
        .unwrap();
        std::fs::write(
            root.join("target/debug/Cargo.toml"),
            "[package]\nname = \"decoy\"\n",
        )
        .unwrap();
        let m = find_package(root, "inner").unwrap();
        assert_eq!(m.license.as_deref(), Some("ISC"));
        assert!(find_package(root, "decoy").is_none());
    }
}
