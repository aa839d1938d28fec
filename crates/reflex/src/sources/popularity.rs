//! The popularity corpus: crates ranked by downloads, the targets typosquatters imitate.
//! Embedded by default (the top 20,000 of 2024-03-18 with their repositories, and the top
//! 2,412 of 2026-08); `--popular <file>` replaces it with a CSV (`rank,name,...,repository`) or
//! a plain list of names, most popular first.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

const RANKED_2024: &str =
    include_str!("../../../../data/popularity/top_crates_by_downloads_2024-03-18_ranked.csv");
const TOP_2026: &str = include_str!(
    "../../../../data/popularity/lockvet__crates_top2500_by_downloads_len4plus_2026-08-06.txt"
);

/// One popular crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Popular {
    pub name: String,
    /// 1 is the most downloaded; crates known only from an unranked list share the rank of
    /// the list's size.
    pub rank: u32,
    /// False for names from an unranked list, whose `rank` is the list's size.
    pub ranked: bool,
    /// `owner/repo` on GitHub, or a URL, when the list carries it.
    pub repository: Option<String>,
    /// Its newest version when the list was made (`max_version`), when the list carries it.
    pub max_version: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Popularity {
    entries: Vec<Popular>,
    /// Canonical name (lowercase, `_` for `-`) to index in `entries`.
    by_canonical: HashMap<String, usize>,
    pub source: String,
}

/// crates.io treats `-` and `_` and case as the same name.
pub fn canonical(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

impl Popularity {
    pub fn embedded() -> Popularity {
        let mut p = Popularity {
            source: "embedded (top 20,000 of 2024-03-18 and top 2,412 of 2026-08)".into(),
            ..Default::default()
        };
        p.add_csv(RANKED_2024);
        let unranked = TOP_2026.lines().filter(|l| !l.trim().is_empty()).count() as u32;
        for name in TOP_2026.lines().map(str::trim).filter(|l| !l.is_empty()) {
            p.insert(Popular {
                name: name.to_string(),
                rank: unranked,
                ranked: false,
                repository: None,
                max_version: None,
            });
        }
        p
    }

    /// A CSV with a header naming `name` (and optionally `rank`, `repository`), or one name
    /// per line, most popular first.
    pub fn load(path: &Path) -> Result<Popularity> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut p = Popularity {
            source: path.display().to_string(),
            ..Default::default()
        };
        if text
            .lines()
            .next()
            .is_some_and(|h| h.split(',').any(|c| c.trim() == "name"))
        {
            p.add_csv(&text);
        } else {
            for (i, name) in text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .enumerate()
            {
                p.insert(Popular {
                    name: name.to_string(),
                    rank: i as u32 + 1,
                    ranked: true,
                    repository: None,
                    max_version: None,
                });
            }
        }
        if p.entries.is_empty() {
            return Err(Error::Usage(
                format!("{}: no crate names found", path.display()),
                Some("one name per line, or a CSV with a `name` column".into()),
            ));
        }
        Ok(p)
    }

    /// A corpus of the given names, most popular first.
    pub fn from_names(names: &[&str]) -> Popularity {
        let mut p = Popularity {
            source: "given names".into(),
            ..Default::default()
        };
        for (i, n) in names.iter().enumerate() {
            p.insert(Popular {
                name: n.to_string(),
                rank: i as u32 + 1,
                ranked: true,
                repository: None,
                max_version: None,
            });
        }
        p
    }

    fn add_csv(&mut self, text: &str) {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .collect();
        let col = |n: &str| header.iter().position(|h| *h == n);
        let (Some(name_col), rank_col, repo_col) = (col("name"), col("rank"), col("repository"))
        else {
            return;
        };
        let version_col = col("max_version");
        for (i, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let Some(name) = cells.get(name_col).filter(|n| !n.is_empty()) else {
                continue;
            };
            let rank = rank_col
                .and_then(|c| cells.get(c)?.parse().ok())
                .unwrap_or(i as u32 + 1);
            let repository = repo_col
                .and_then(|c| cells.get(c))
                .filter(|r| !r.is_empty())
                .map(|r| r.to_string());
            let max_version = version_col
                .and_then(|c| cells.get(c))
                .filter(|v| !v.is_empty())
                .map(|v| v.to_string());
            self.insert(Popular {
                name: name.to_string(),
                rank,
                ranked: true,
                repository,
                max_version,
            });
        }
    }

    fn insert(&mut self, entry: Popular) {
        let key = canonical(&entry.name);
        match self.by_canonical.get(&key) {
            Some(&i) => {
                let e = &mut self.entries[i];
                if entry.ranked && (!e.ranked || entry.rank < e.rank) {
                    e.rank = entry.rank;
                    e.ranked = true;
                }
                if e.repository.is_none() {
                    e.repository = entry.repository;
                }
                if e.max_version.is_none() {
                    e.max_version = entry.max_version;
                }
            }
            None => {
                self.by_canonical.insert(key, self.entries.len());
                self.entries.push(entry);
            }
        }
    }

    /// The entry for `name`, compared the way crates.io compares names.
    pub fn get(&self, name: &str) -> Option<&Popular> {
        self.by_canonical
            .get(&canonical(name))
            .map(|&i| &self.entries[i])
    }

    /// The entry for a name already in canonical form (see [`canonical`]): no allocation, for
    /// callers probing many variants of a name.
    pub fn get_canonical(&self, key: &str) -> Option<&Popular> {
        self.by_canonical.get(key).map(|&i| &self.entries[i])
    }

    /// The entry spelled exactly `name` (ignoring case): `url-parse` is not `url_parse` here.
    pub fn get_exact(&self, name: &str) -> Option<&Popular> {
        self.get(name).filter(|p| p.name.eq_ignore_ascii_case(name))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Popular> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_corpus_has_ranks_and_repositories() {
        let p = Popularity::embedded();
        assert!(p.len() > 20_000);
        let serde = p.get("serde").unwrap();
        assert_eq!(serde.rank, 9);
        assert_eq!(serde.repository.as_deref(), Some("serde-rs/serde"));
        assert_eq!(p.get("rust-decimal").unwrap().name, "rust_decimal");
        assert!(p.get("definitely-not-a-crate-xyz").is_none());
    }
}
