//! A fast reader for lockfiles exactly as cargo writes them (formats v3 and v4: a `version`
//! line, then `[[package]]` tables of `name`, `version`, `source`, `checksum` and a one-entry-
//! a-line `dependencies` array). It builds the same `cargo_lock::Lockfile` the TOML parser
//! does, without the general TOML machinery and with dependencies resolved through a map
//! instead of a scan per entry, which makes reading thousands of lockfiles (`respond`) several
//! times faster. Anything else (older formats, hand edits, `replace`, patches, escapes,
//! unresolvable entries) returns `None` and goes to the full parser, which also gives the
//! precise error.

use rustsec::cargo_lock::{
    Checksum, Dependency, Lockfile, Name, Package, ResolveVersion, SourceId, Version,
};
use std::collections::HashMap;
use std::str::FromStr;

/// A `"..."` value without escapes.
fn quoted(v: &str) -> Option<&str> {
    let inner = v.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains(['"', '\\'])).then_some(inner)
}

struct Raw<'a> {
    name: Option<&'a str>,
    version: Option<&'a str>,
    source: Option<&'a str>,
    checksum: Option<&'a str>,
    deps: Vec<&'a str>,
}

pub(super) fn read(text: &str) -> Option<Lockfile> {
    let mut version = None;
    let mut raws: Vec<Raw<'_>> = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[[package]]" {
            raws.push(Raw {
                name: None,
                version: None,
                source: None,
                checksum: None,
                deps: Vec::new(),
            });
            continue;
        }
        let (key, value) = line.split_once(" = ")?;
        let Some(p) = raws.last_mut() else {
            // Before the first package: only the format version.
            if key != "version" || version.is_some() {
                return None;
            }
            version = Some(match value {
                "3" => ResolveVersion::V3,
                "4" => ResolveVersion::V4,
                _ => return None,
            });
            continue;
        };
        let slot = match key {
            "name" => &mut p.name,
            "version" => &mut p.version,
            "source" => &mut p.source,
            "checksum" => &mut p.checksum,
            "dependencies" if value == "[" && p.deps.is_empty() => {
                loop {
                    let l = lines.next()?.trim();
                    if l == "]" {
                        break;
                    }
                    p.deps.push(quoted(l.strip_suffix(',')?)?);
                }
                continue;
            }
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some(quoted(value)?);
    }
    let version = version?;

    let mut sources: HashMap<&str, SourceId> = HashMap::new();
    let mut packages = Vec::with_capacity(raws.len());
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in raws.iter().enumerate() {
        let source = match r.source {
            Some(s) => Some(match sources.get(s) {
                Some(id) => id.clone(),
                None => {
                    let id = SourceId::from_url(s).ok()?;
                    sources.insert(s, id.clone());
                    id
                }
            }),
            None => None,
        };
        packages.push(Package {
            name: Name::from_str(r.name?).ok()?,
            version: Version::parse(r.version?).ok()?,
            source,
            checksum: match r.checksum {
                Some(c) => Some(Checksum::from_str(c).ok()?),
                None => None,
            },
            dependencies: Vec::new(),
            replace: None,
        });
        by_name.entry(r.name?).or_default().push(i);
    }
    // Dependencies: `name`, `name version` or `name version (source)`, each naming one package.
    for (i, r) in raws.iter().enumerate() {
        let mut deps = Vec::with_capacity(r.deps.len());
        for d in &r.deps {
            let mut parts = d.splitn(3, ' ');
            let name = parts.next()?;
            let want_version = parts.next();
            let want_source = match parts.next() {
                Some(s) => Some(s.strip_prefix('(')?.strip_suffix(')')?),
                None => None,
            };
            let mut found = by_name.get(name)?.iter().copied().filter(|j| {
                want_version.is_none_or(|v| raws[*j].version == Some(v))
                    && want_source.is_none_or(|s| raws[*j].source == Some(s))
            });
            let j = found.next()?;
            if found.next().is_some() {
                return None;
            }
            let target = &packages[j];
            deps.push(Dependency {
                name: target.name.clone(),
                version: target.version.clone(),
                source: target.source.clone(),
            });
        }
        packages[i].dependencies = deps;
    }
    Some(Lockfile {
        version,
        packages,
        root: None,
        metadata: Default::default(),
        patch: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast reader and the TOML parser agree on every corpus lockfile the reader takes,
    /// and it takes most of them.
    #[test]
    fn agrees_with_the_full_parser_on_the_corpus() {
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus");
        let mut read_fast = 0;
        let mut left = Vec::new();
        for e in std::fs::read_dir(&corpus).unwrap().flatten() {
            let path = e.path().join("Cargo.lock");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let full: Lockfile = toml::from_str(&text).unwrap();
            match read(&text) {
                Some(fast) => {
                    read_fast += 1;
                    assert_eq!(fast.version, full.version, "{}", path.display());
                    assert_eq!(fast.packages, full.packages, "{}", path.display());
                }
                None => left.push(path.display().to_string()),
            }
        }
        // rust-analyzer's lockfile has a path package and a registry package of the same name
        // and version, named without a source: the parser decides.
        assert!(
            read_fast >= 8 && left.len() <= 3,
            "{read_fast} fast; left: {left:?}"
        );
    }

    #[test]
    fn anything_unusual_goes_to_the_full_parser() {
        let ok = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\n \"b\",\n]\n\n[[package]]\nname = \"b\"\nversion = \"0.1.0\"\n";
        let l = read(ok).unwrap();
        assert_eq!(l.packages[0].dependencies[0].name.as_str(), "b");
        for bad in [
            ok.replace("version = 4", "version = 2"),
            ok.replace("version = 4\n", ""),
            ok.replace(" \"b\",\n", " \"c\",\n"),
            ok.replace("name = \"b\"", "name = \"b\\u0062\""),
            ok.replace("dependencies = [\n \"b\",\n]", "dependencies = [\"b\"]"),
            format!("{ok}\n[[patch.unused]]\nname = \"x\"\nversion = \"1.0.0\"\n"),
            ok.replace(
                "version = \"0.1.0\"",
                "version = \"0.1.0\"\nversion = \"0.2.0\"",
            ),
            ok.replace("name = \"a\"\n", ""),
            format!("{ok}replace = \"b 0.1.0\"\n"),
        ] {
            assert!(read(&bad).is_none(), "{bad}");
        }
    }
}
