//! Behaviour baselines: `build --monitor --learn` writes what each crate's build-time code did
//! (programs run, destinations contacted, names resolved) into a reviewable file in the
//! repository; later monitored builds alert on anything outside it, above all when a version
//! bump changes a crate's behaviour.

use super::{Alert, DNS_QUERY_ACTION};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub const FILE_NAME: &str = "reflex-baseline.toml";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    /// By crate name.
    #[serde(default, rename = "crate")]
    pub crates: BTreeMap<String, CrateBehaviour>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CrateBehaviour {
    /// The version whose behaviour this is.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub processes: BTreeSet<String>,
    #[serde(default)]
    pub destinations: BTreeSet<String>,
    #[serde(default)]
    pub domains: BTreeSet<String>,
    /// Files read (sensitive ones) or written outside the target directory.
    #[serde(default)]
    pub paths: BTreeSet<String>,
}

/// What an alert says a crate did: (`processes` | `destinations` | `domains` | `paths`, value).
fn behaviour(a: &Alert) -> Option<(&'static str, String)> {
    match a.action.as_str() {
        "exec" => Some((
            "processes",
            a.target.rsplit('/').next().unwrap_or(&a.target).to_string(),
        )),
        "connect" | "send" => Some(("destinations", a.target.clone())),
        DNS_QUERY_ACTION => Some(("domains", a.target.clone())),
        // Process ids change from build to build: `/proc/<pid>/environ`.
        "read" | "write" | "rename" | "link" => Some((
            "paths",
            a.target
                .split('/')
                .map(|c| {
                    if !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()) {
                        "<pid>"
                    } else {
                        c
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
        )),
        _ => None,
    }
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Option<Baseline>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, e)),
        };
        toml::from_str(&text).map(Some).map_err(|e| {
            Error::toml(path, &text, &e)
                .with_help("regenerate it with `cargo reflex build --monitor --learn`")
        })
    }

    /// The behaviour seen in `alerts`, by crate.
    pub fn learn(alerts: &[Alert]) -> Baseline {
        let mut b = Baseline {
            version: 1,
            ..Baseline::default()
        };
        for a in alerts {
            let (Some(krate), Some((kind, value))) = (a.actor.crate_name(), behaviour(a)) else {
                continue;
            };
            if a.actor.is_baseline() {
                continue;
            }
            let c = b.crates.entry(krate.to_string()).or_default();
            c.version = a.actor.version().map(str::to_string);
            match kind {
                "processes" => c.processes.insert(value),
                "destinations" => c.destinations.insert(value),
                "paths" => c.paths.insert(value),
                _ => c.domains.insert(value),
            };
        }
        b
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let body = toml::to_string_pretty(self).map_err(|e| Error::Usage(e.to_string(), None))?;
        let text = format!(
            "# Build-time behaviour per crate, learned by `cargo reflex build --monitor --learn`.\n# Review it like code: anything here is allowed to happen during the build.\n{body}"
        );
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }

    /// Why `a` is outside the baseline, if it is: new behaviour, or behaviour that changed with
    /// a new version of the crate.
    pub fn deviation(&self, a: &Alert) -> Option<String> {
        let krate = a.actor.crate_name()?;
        if a.actor.is_baseline() {
            return None;
        }
        let (kind, value) = behaviour(a)?;
        let Some(c) = self.crates.get(krate) else {
            return Some(format!(
                "{krate} has no baseline: it did nothing at build time before"
            ));
        };
        let known = match kind {
            "processes" => c.processes.contains(&value),
            "destinations" => c.destinations.contains(&value),
            "paths" => c.paths.contains(&value),
            _ => c.domains.contains(&value),
        };
        if known {
            return None;
        }
        let kind = match kind {
            "processes" => "process",
            "destinations" => "destination",
            "paths" => "path",
            _ => "domain",
        };
        Some(match (&c.version, a.actor.version()) {
            (Some(old), Some(new)) if old != new => {
                format!("{krate} {old} -> {new} changed behaviour: new {kind} {value}")
            }
            _ => format!("{krate} has a new {kind}: {value}"),
        })
    }
}
