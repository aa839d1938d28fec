//! Cargo configuration files that apply to a workspace: `.cargo/config.toml` (or the legacy
//! `.cargo/config`) in the workspace directory and every parent, then `$CARGO_HOME/config.toml`.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use toml::Table;

#[derive(Clone, Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub text: String,
    pub table: Table,
}

/// Reads every config file that cargo would read for `dir`, nearest first.
pub fn load_all(dir: &Path, cargo_home: Option<&Path>) -> Result<Vec<ConfigFile>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for d in dir.ancestors() {
        for name in ["config.toml", "config"] {
            let p = d.join(".cargo").join(name);
            if p.is_file() {
                paths.push(p);
                break;
            }
        }
    }
    if let Some(home) = cargo_home {
        for name in ["config.toml", "config"] {
            let p = home.join(name);
            if p.is_file() {
                if !paths.iter().any(|q| same_file(q, &p)) {
                    paths.push(p);
                }
                break;
            }
        }
    }
    paths.into_iter().map(|p| load(&p)).collect()
}

pub fn load(path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let table: Table = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
    Ok(ConfigFile {
        path: path.to_path_buf(),
        text,
        table,
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `[alias]` entries from all files, nearest file winning: name -> argument list.
pub fn aliases(files: &[ConfigFile]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for file in files {
        let Some(table) = file.table.get("alias").and_then(toml::Value::as_table) else {
            continue;
        };
        for (name, value) in table {
            if out.iter().any(|(n, _)| n == name) {
                continue;
            }
            let args = match value {
                toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
                toml::Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => continue,
            };
            out.push((name.clone(), args));
        }
    }
    out
}

/// The sparse index that replaces crates.io (`[source.crates-io] replace-with = "x"` and
/// `[source.x] registry = "sparse+https://..."`), nearest file first.
pub fn crates_io_replacement(files: &[ConfigFile]) -> Option<String> {
    let target = files.iter().find_map(|f| {
        f.table
            .get("source")?
            .get("crates-io")?
            .get("replace-with")?
            .as_str()
            .map(str::to_string)
    })?;
    files.iter().find_map(|f| {
        let src = f.table.get("source")?.get(&target)?;
        let url = src
            .get("registry")
            .and_then(toml::Value::as_str)
            .or_else(|| {
                // A replacement may name a registry defined under [registries].
                let reg = src.get("replace-with")?.as_str()?;
                f.table.get("registries")?.get(reg)?.get("index")?.as_str()
            })?;
        url.starts_with("sparse+").then(|| url.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ConfigFile {
        ConfigFile {
            path: "config.toml".into(),
            text: text.into(),
            table: toml::from_str(text).unwrap(),
        }
    }

    #[test]
    fn finds_the_sparse_mirror_that_replaces_crates_io() {
        let f = file(
            "[source.crates-io]\nreplace-with = \"m\"\n[source.m]\nregistry = \"sparse+https://mirror.example/index/\"\n",
        );
        assert_eq!(
            crates_io_replacement(&[f]).as_deref(),
            Some("sparse+https://mirror.example/index/")
        );
        let git = file(
            "[source.crates-io]\nreplace-with = \"m\"\n[source.m]\nregistry = \"https://mirror.example/git\"\n",
        );
        assert_eq!(
            crates_io_replacement(&[git]),
            None,
            "git mirrors are not fetched over the sparse protocol"
        );
        assert_eq!(
            crates_io_replacement(&[file("[alias]\nb = \"build\"\n")]),
            None
        );
    }
}
