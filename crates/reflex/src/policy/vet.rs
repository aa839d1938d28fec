//! Trust records from cargo-vet `audits.toml` files: a full audit trusts that version; a delta
//! audit `A -> B` trusts `B` when `A` is trusted (chains are followed).

use super::TrustRecord;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Deserialize)]
struct AuditsFile {
    #[serde(default)]
    audits: BTreeMap<String, Vec<Audit>>,
}

#[derive(Deserialize)]
struct Audit {
    #[serde(default)]
    who: Who,
    criteria: Criteria,
    version: Option<String>,
    delta: Option<String>,
    notes: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Who {
    #[default]
    Nobody,
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Criteria {
    One(String),
    Many(Vec<String>),
}

/// Reads `path` and returns a trust record for each version audited for one of `criteria`.
pub fn import(path: &Path, criteria: &[String]) -> Result<Vec<TrustRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(
            format!("cannot read the cargo-vet audits {}: {e}", path.display()),
            Some("`[trust-import] audits` paths are relative to reflex.toml".into()),
        )
    })?;
    let file: AuditsFile = toml::from_str(&text).map_err(|e| Error::toml(path, &text, &e))?;
    let source = path.display().to_string();
    let mut out = Vec::new();
    for (name, audits) in file.audits {
        let wanted: Vec<&Audit> = audits
            .iter()
            .filter(|a| match &a.criteria {
                Criteria::One(c) => criteria.contains(c),
                Criteria::Many(cs) => cs.iter().any(|c| criteria.contains(c)),
            })
            .collect();
        let mut trusted: BTreeMap<String, &Audit> = wanted
            .iter()
            .filter_map(|a| a.version.as_ref().map(|v| (v.trim().to_string(), *a)))
            .collect();
        let deltas: Vec<(String, String, &Audit)> = wanted
            .iter()
            .filter_map(|a| {
                let (from, to) = a.delta.as_deref()?.split_once("->")?;
                Some((from.trim().to_string(), to.trim().to_string(), *a))
            })
            .collect();
        loop {
            let before = trusted.len();
            for (from, to, a) in &deltas {
                if trusted.contains_key(from) && !trusted.contains_key(to) {
                    trusted.insert(to.clone(), a);
                }
            }
            if trusted.len() == before {
                break;
            }
        }
        for (version, a) in trusted {
            let by = match &a.who {
                Who::Nobody => "cargo-vet audit".to_string(),
                Who::One(w) => w.clone(),
                Who::Many(ws) => ws.join(", "),
            };
            out.push(TrustRecord {
                krate: name.clone(),
                version,
                by,
                note: a.notes.clone(),
                source: source.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_audits_and_delta_chains_are_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audits.toml");
        std::fs::write(
            &path,
            r#"
[[audits.foo]]
who = "Alice <alice@example.com>"
criteria = "safe-to-deploy"
version = "1.0.0"

[[audits.foo]]
who = "Bob"
criteria = ["safe-to-run", "safe-to-deploy"]
delta = "1.0.0 -> 1.1.0"

[[audits.foo]]
who = "Bob"
criteria = "safe-to-deploy"
delta = "1.1.0 -> 1.2.0"

[[audits.foo]]
who = "Eve"
criteria = "safe-to-deploy"
delta = "0.9.0 -> 2.0.0"

[[audits.bar]]
who = "Carol"
criteria = "safe-to-run"
version = "0.1.0"
"#,
        )
        .unwrap();
        let records = import(&path, &["safe-to-deploy".into()]).unwrap();
        let got: Vec<String> = records
            .iter()
            .map(|r| format!("{}@{} by {}", r.krate, r.version, r.by))
            .collect();
        assert_eq!(
            got,
            vec![
                "foo@1.0.0 by Alice <alice@example.com>",
                "foo@1.1.0 by Bob",
                "foo@1.2.0 by Bob",
            ],
            "the delta from an unaudited 0.9.0 and the safe-to-run audit do not count"
        );
    }
}
