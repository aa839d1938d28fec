//! The evasion scene: `fixtures/evasion` (a build script and a proc-macro that try to blind or
//! frame the monitor, a victim crate, a benign crate running the C compiler) copied with its
//! switch turned on, an empty home (the sandbox plants its decoys there) and cargo home.

use super::escape::Scene;
use super::*;
use std::path::Path;

/// A copy of the evasion workspace, switched on, with a home and a cargo home beside it
/// (`<dir>/ws`, `<dir>/home`, `<dir>/cargo-home`, as the escape scene lays them out).
pub fn scene(dir: &Path) -> Scene {
    let s = Scene::at(dir);
    copy_dir(&fixture("evasion"), &s.ws);
    std::fs::write(s.ws.join("evasion.conf"), "enabled=1\n").unwrap();
    for d in [&s.home, &s.cargo_home] {
        std::fs::create_dir_all(d).unwrap();
    }
    s
}

/// The alerts of one actor (`build-script`, `proc-macro`) and crate.
pub fn of<'a>(
    alerts: &'a [serde_json::Value],
    kind: &str,
    krate: &str,
) -> Vec<&'a serde_json::Value> {
    alerts
        .iter()
        .filter(|a| {
            a["cargo_reflex"]["actor"]["kind"] == kind && a["cargo_reflex"]["crate"] == krate
        })
        .collect()
}

/// A field of an alert as text ("" when absent).
pub fn text<'a>(a: &'a serde_json::Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(a, |v, k| &v[*k])
        .as_str()
        .unwrap_or_default()
}

/// The file name a path ends with.
pub fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
