//! What changed between two lockfiles: every package added, removed, upgraded, downgraded or
//! moved to another source, and why it moved (the changed package that pulled it in).

use crate::graph::Graph;
use crate::knowledge::versions::semver_compatible;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Added,
    Removed,
    Upgraded,
    Downgraded,
    SourceChanged,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Upgraded => "upgraded",
            ChangeKind::Downgraded => "downgraded",
            ChangeKind::SourceChanged => "source changed",
        }
    }
}

/// Semver size of a version change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bump {
    Major,
    Minor,
    Patch,
    Pre,
}

impl Bump {
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::Major => "major",
            Bump::Minor => "minor",
            Bump::Patch => "patch",
            Bump::Pre => "pre",
        }
    }
}

/// One side of a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Side {
    pub version: String,
    pub source: String,
    /// Package index in its graph.
    #[serde(skip)]
    pub index: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Change {
    pub name: String,
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Side>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bump: Option<Bump>,
    /// Changed packages that depend on it and dragged it in ("rust-utilities-v2 2.1.0 -> 2.1.1").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub moved_by: Vec<String>,
    /// The workspace members' direct dependencies it comes through.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub direct: Vec<String>,
    /// Crates this change newly brings into the graph ("url-parse 0.1.0").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub introduces: Vec<String>,
    /// The workspace member it is reached from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
}

impl Change {
    /// `name 1.0.0 -> 1.0.1`, `name 1.0.0 (added)`.
    pub fn label(&self) -> String {
        match (&self.from, &self.to) {
            (Some(a), Some(b)) if a.version == b.version => {
                format!(
                    "{} {} ({} -> {})",
                    self.name,
                    a.version,
                    short(&a.source),
                    short(&b.source)
                )
            }
            (Some(a), Some(b)) => format!("{} {} -> {}", self.name, a.version, b.version),
            (None, Some(b)) => format!("{} {}", self.name, b.version),
            (Some(a), None) => format!("{} {}", self.name, a.version),
            (None, None) => self.name.clone(),
        }
    }
}

fn short(source: &str) -> String {
    if source.contains("crates.io-index") || source.contains("index.crates.io") {
        "crates.io".into()
    } else if source.is_empty() {
        "path".into()
    } else {
        source.split('#').next().unwrap_or(source).to_string()
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LockfileDelta {
    pub changes: Vec<Change>,
}

impl LockfileDelta {
    pub fn between(base: &Graph, head: &Graph) -> LockfileDelta {
        let group = |g: &Graph| {
            let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (i, p) in g.packages().iter().enumerate() {
                m.entry(p.name.to_string()).or_default().push(i);
            }
            m
        };
        let (old, new) = (group(base), group(head));
        let key = |g: &Graph, i: usize| {
            let p = &g.packages()[i];
            (p.version.clone(), p.source.as_ref().map(|s| s.to_string()))
        };
        let side = |g: &Graph, i: usize| Side {
            version: g.packages()[i].version.to_string(),
            source: g.packages()[i]
                .source
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            index: i,
        };
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        let mut changes = Vec::new();
        for name in names {
            let b: Vec<usize> = old.get(name).cloned().unwrap_or_default();
            let h: Vec<usize> = new.get(name).cloned().unwrap_or_default();
            let mut b: Vec<usize> = b
                .into_iter()
                .filter(|&i| !h.iter().any(|&j| key(head, j) == key(base, i)))
                .collect();
            let mut h: Vec<usize> = h
                .into_iter()
                .filter(|&j| {
                    !old.get(name)
                        .into_iter()
                        .flatten()
                        .any(|&i| key(base, i) == key(head, j))
                })
                .collect();
            b.sort_by(|&x, &y| base.packages()[x].version.cmp(&base.packages()[y].version));
            h.sort_by(|&x, &y| head.packages()[x].version.cmp(&head.packages()[y].version));
            // Pair versions of the same semver line first, then the rest in order.
            let mut pairs = Vec::new();
            let mut unpaired = Vec::new();
            for j in h {
                let hv = &head.packages()[j].version;
                match b
                    .iter()
                    .position(|&i| semver_compatible(&base.packages()[i].version, hv))
                {
                    Some(pos) => pairs.push((b.remove(pos), j)),
                    None => unpaired.push(j),
                }
            }
            let mut h = unpaired;
            while !b.is_empty() && !h.is_empty() {
                pairs.push((b.remove(0), h.remove(0)));
            }
            for (i, j) in pairs {
                let (from, to) = (side(base, i), side(head, j));
                let (bv, hv) = (&base.packages()[i].version, &head.packages()[j].version);
                let kind = if from.source != to.source {
                    ChangeKind::SourceChanged
                } else if hv > bv {
                    ChangeKind::Upgraded
                } else {
                    ChangeKind::Downgraded
                };
                changes.push(Change {
                    name: name.clone(),
                    kind,
                    bump: bump(bv, hv),
                    from: Some(from),
                    to: Some(to),
                    moved_by: Vec::new(),
                    direct: Vec::new(),
                    introduces: Vec::new(),
                    member: None,
                });
            }
            for i in b {
                changes.push(Change {
                    name: name.clone(),
                    kind: ChangeKind::Removed,
                    from: Some(side(base, i)),
                    to: None,
                    bump: None,
                    moved_by: Vec::new(),
                    direct: Vec::new(),
                    introduces: Vec::new(),
                    member: None,
                });
            }
            for j in h {
                changes.push(Change {
                    name: name.clone(),
                    kind: ChangeKind::Added,
                    from: None,
                    to: Some(side(head, j)),
                    bump: None,
                    moved_by: Vec::new(),
                    direct: Vec::new(),
                    introduces: Vec::new(),
                    member: None,
                });
            }
        }
        explain(&mut changes, base, head);
        LockfileDelta { changes }
    }

    /// Head package indexes of everything that arrives: added, or a new version or source.
    pub fn incoming(&self) -> BTreeSet<usize> {
        self.changes
            .iter()
            .filter_map(|c| c.to.as_ref().map(|s| s.index))
            .collect()
    }
}

fn bump(a: &semver::Version, b: &semver::Version) -> Option<Bump> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    if lo == hi {
        None
    } else if !semver_compatible(lo, hi) {
        // Before 1.0 the leftmost non-zero part is the breaking one, as cargo treats it.
        Some(Bump::Major)
    } else if lo.minor != hi.minor {
        Some(Bump::Minor)
    } else if lo.patch != hi.patch {
        Some(Bump::Patch)
    } else {
        Some(Bump::Pre)
    }
}

/// Fills `moved_by`, `direct` and `introduces` from the head graph's edges.
fn explain(changes: &mut [Change], base: &Graph, head: &Graph) {
    let changed_head: BTreeMap<usize, String> = changes
        .iter()
        .filter_map(|c| c.to.as_ref().map(|t| (t.index, c.label())))
        .collect();
    let added: BTreeMap<usize, String> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .filter_map(|c| c.to.as_ref().map(|t| (t.index, c.label())))
        .collect();
    for c in changes.iter_mut() {
        let (graph, i) = match (&c.to, &c.from) {
            (Some(t), _) => (head, t.index),
            (None, Some(f)) => (base, f.index),
            _ => continue,
        };
        let via = graph.via(i);
        if via.len() >= 3 {
            c.direct.push(via[1].clone());
        }
        if via.len() >= 2 {
            c.member = Some(via[0].clone());
        }
        if c.to.is_some() {
            c.moved_by = graph
                .dependents(i)
                .iter()
                .filter_map(|d| changed_head.get(d).cloned())
                .collect();
            c.introduces = graph
                .dependencies(i)
                .iter()
                .filter_map(|d| added.get(d).cloned())
                .collect();
        } else {
            // A removed package: which changed packages stopped depending on it.
            c.moved_by = graph
                .dependents(i)
                .iter()
                .filter_map(|&d| {
                    let p = &graph.packages()[d];
                    changes_label_for(&changed_head, head, p.name.as_str())
                })
                .collect();
        }
        c.moved_by.sort();
        c.moved_by.dedup();
    }
}

fn changes_label_for(
    changed: &BTreeMap<usize, String>,
    head: &Graph,
    name: &str,
) -> Option<String> {
    changed
        .iter()
        .find(|(i, _)| head.packages()[**i].name.as_str() == name)
        .map(|(_, l)| l.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    fn lock(packages: &[(&str, &str, Option<&str>, &[&str])]) -> Graph {
        let mut text = String::from("version = 4\n");
        for (name, version, source, deps) in packages {
            text.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n"
            ));
            if let Some(s) = source {
                text.push_str(&format!("source = \"{s}\"\n"));
            }
            if !deps.is_empty() {
                let list: Vec<String> = deps.iter().map(|d| format!("\"{d}\"")).collect();
                text.push_str(&format!("dependencies = [{}]\n", list.join(", ")));
            }
        }
        Graph::parse(Path::new("Cargo.lock"), text).unwrap()
    }

    #[test]
    fn every_kind_of_change_with_why_it_moved() {
        let git = "git+https://github.com/acme/gitdep?branch=main#0123456789abcdef0123456789abcdef01234567";
        let base = lock(&[
            (
                "app",
                "0.1.0",
                None,
                &["utils", "old-dep", "serde", "gitdep", "time"],
            ),
            ("utils", "2.1.0", Some(CRATES_IO), &[]),
            ("old-dep", "1.0.0", Some(CRATES_IO), &[]),
            ("serde", "1.0.100", Some(CRATES_IO), &[]),
            ("gitdep", "0.3.0", Some(CRATES_IO), &[]),
            ("time", "0.1.45", Some(CRATES_IO), &[]),
        ]);
        let head = lock(&[
            ("app", "0.1.0", None, &["utils", "serde", "gitdep", "time"]),
            ("utils", "2.1.1", Some(CRATES_IO), &["url-parse"]),
            ("url-parse", "0.1.0", Some(CRATES_IO), &[]),
            ("serde", "1.0.99", Some(CRATES_IO), &[]),
            ("gitdep", "0.3.0", Some(git), &[]),
            ("time", "0.3.36", Some(CRATES_IO), &[]),
        ]);
        let delta = LockfileDelta::between(&base, &head);
        let got: Vec<String> = delta
            .changes
            .iter()
            .map(|c| {
                format!(
                    "{} {:?} {:?} moved_by={:?} introduces={:?}",
                    c.label(),
                    c.kind,
                    c.bump,
                    c.moved_by,
                    c.introduces
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                "gitdep 0.3.0 (crates.io -> git+https://github.com/acme/gitdep?branch=main) SourceChanged None moved_by=[] introduces=[]",
                "old-dep 1.0.0 Removed None moved_by=[] introduces=[]",
                "serde 1.0.100 -> 1.0.99 Downgraded Some(Patch) moved_by=[] introduces=[]",
                "time 0.1.45 -> 0.3.36 Upgraded Some(Major) moved_by=[] introduces=[]",
                "url-parse 0.1.0 Added None moved_by=[\"utils 2.1.0 -> 2.1.1\"] introduces=[]",
                "utils 2.1.0 -> 2.1.1 Upgraded Some(Patch) moved_by=[] introduces=[\"url-parse 0.1.0\"]",
            ]
        );
        assert_eq!(
            delta.incoming().len(),
            5,
            "everything but the removal arrives"
        );
    }

    #[test]
    fn two_versions_of_a_crate_pair_by_semver_line() {
        let base = lock(&[
            ("app", "0.1.0", None, &["rand 0.7.3", "rand 0.8.4"]),
            ("rand", "0.7.3", Some(CRATES_IO), &[]),
            ("rand", "0.8.4", Some(CRATES_IO), &[]),
        ]);
        let head = lock(&[
            ("app", "0.1.0", None, &["rand 0.7.3", "rand 0.8.5"]),
            ("rand", "0.7.3", Some(CRATES_IO), &[]),
            ("rand", "0.8.5", Some(CRATES_IO), &[]),
        ]);
        let delta = LockfileDelta::between(&base, &head);
        assert_eq!(delta.changes.len(), 1);
        assert_eq!(delta.changes[0].label(), "rand 0.8.4 -> 0.8.5");
        assert_eq!(delta.changes[0].bump, Some(Bump::Patch));
        assert_eq!(
            bump(&"1.2.3".parse().unwrap(), &"1.3.0".parse().unwrap()),
            Some(Bump::Minor)
        );
        assert_eq!(
            bump(&"0.0.1".parse().unwrap(), &"0.0.2".parse().unwrap()),
            Some(Bump::Major)
        );
        assert_eq!(
            bump(&"0.3.1".parse().unwrap(), &"0.3.2".parse().unwrap()),
            Some(Bump::Patch)
        );
        assert_eq!(
            bump(&"1.0.0-rc.1".parse().unwrap(), &"1.0.0".parse().unwrap()),
            Some(Bump::Pre)
        );
    }
}
