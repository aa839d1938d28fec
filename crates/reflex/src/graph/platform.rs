//! Which locked packages this platform never builds: `Cargo.lock` holds every platform's
//! dependencies (the `windows_*` crates on Linux), but cargo builds a package only when some
//! path from a workspace member reaches it through dependencies declared for this platform.
//! Read from the manifests (the members' and each crate archive's); cargo and rustc never run.

use super::Graph;
use super::workspace::Workspace;
use cargo_platform::{Cfg, Platform};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::str::FromStr;

/// The target cargo-reflex was built for, and its cfg values (the default target of the
/// builds it judges).
pub fn host() -> (String, Vec<Cfg>) {
    let target = env!("REFLEX_HOST_TARGET").to_string();
    let mut cfgs = vec![
        format!("target_os = \"{}\"", std::env::consts::OS),
        format!("target_arch = \"{}\"", std::env::consts::ARCH),
        format!("target_family = \"{}\"", std::env::consts::FAMILY),
        format!("target_pointer_width = \"{}\"", usize::BITS),
        format!(
            "target_endian = \"{}\"",
            if cfg!(target_endian = "little") {
                "little"
            } else {
                "big"
            }
        ),
        std::env::consts::FAMILY.to_string(),
    ];
    let env = if cfg!(target_env = "gnu") {
        "gnu"
    } else if cfg!(target_env = "musl") {
        "musl"
    } else if cfg!(target_env = "msvc") {
        "msvc"
    } else {
        ""
    };
    cfgs.push(format!("target_env = \"{env}\""));
    let vendor = target.split('-').nth(1).unwrap_or("unknown").to_string();
    cfgs.push(format!("target_vendor = \"{vendor}\""));
    (
        target,
        cfgs.iter().filter_map(|c| Cfg::from_str(c).ok()).collect(),
    )
}

/// Whether a dependency declared for these platforms is built on `(target, cfgs)`. An
/// expression that does not parse counts as built (never hide what might run).
fn applies(platforms: &[String], target: &str, cfgs: &[Cfg]) -> bool {
    platforms.iter().any(|p| {
        Platform::from_str(p)
            .map(|p| p.matches(target, cfgs))
            .unwrap_or(true)
    })
}

/// Packages of `graph` that are never built on `(target, cfgs)`, each with the platform
/// condition that keeps it out ("cfg(windows) (windows-targets 0.52.6)"). `target_only` gives,
/// for a package, the dependencies its manifest declares only for some platforms; unknown
/// packages (archive not read) count as building all their dependencies.
pub fn not_built(
    graph: &Graph,
    workspace: Option<&Workspace>,
    target_only: &dyn Fn(usize) -> Option<Vec<(String, Vec<String>)>>,
    target: &str,
    cfgs: &[Cfg],
) -> BTreeMap<usize, String> {
    let n = graph.len();
    let packages = graph.packages();
    // The members' own platform-only dependencies, by member name.
    let mut members: HashMap<String, Vec<(String, Vec<String>)>> = HashMap::new();
    if let Some(ws) = workspace {
        for m in std::iter::once(&ws.root_manifest).chain(&ws.packages) {
            let Some(name) = &m.name else { continue };
            let mut only: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let always: Vec<&str> = m
                .deps
                .iter()
                .filter(|d| d.target.is_none())
                .map(|d| d.package.as_str())
                .collect();
            for d in m.deps.iter().filter(|d| d.target.is_some()) {
                if !always.contains(&d.package.as_str()) {
                    only.entry(d.package.clone())
                        .or_default()
                        .push(d.target.clone().unwrap_or_default());
                }
            }
            members.insert(name.clone(), only.into_iter().collect());
        }
    }
    let mut built = vec![false; n];
    let mut why: BTreeMap<usize, String> = BTreeMap::new();
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| packages[i].source.is_none()).collect();
    if queue.is_empty() {
        queue = (0..n).filter(|&i| graph.dependents(i).is_empty()).collect();
    }
    for &r in &queue {
        built[r] = true;
    }
    while let Some(i) = queue.pop_front() {
        let only = if packages[i].source.is_none() {
            members.get(packages[i].name.as_str()).cloned()
        } else {
            target_only(i)
        };
        for &j in graph.dependencies(i) {
            if built[j] {
                continue;
            }
            let name = packages[j].name.as_str();
            let platforms = only
                .as_ref()
                .and_then(|o| o.iter().find(|(d, _)| d == name).map(|(_, p)| p.clone()));
            match platforms {
                Some(p) if !applies(&p, target, cfgs) => {
                    why.entry(j)
                        .or_insert_with(|| format!("{} ({})", p.join(" or "), graph.label(i)));
                }
                _ => {
                    built[j] = true;
                    queue.push_back(j);
                }
            }
        }
    }
    why.retain(|j, _| !built[*j]);
    // Everything below a package that is not built is not built either.
    for (j, _) in built.iter().enumerate().filter(|(_, b)| !**b) {
        if !why.contains_key(&j) && graph.is_reachable(j) {
            why.insert(
                j,
                "only needed by packages this platform does not build".into(),
            );
        }
    }
    why
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_expressions_are_judged_for_this_host() {
        let (target, cfgs) = host();
        let here = format!("cfg(target_os = \"{}\")", std::env::consts::OS);
        assert!(applies(&[here], &target, &cfgs));
        assert!(applies(std::slice::from_ref(&target), &target, &cfgs));
        let elsewhere = if cfg!(windows) {
            "cfg(unix)"
        } else {
            "cfg(windows)"
        };
        assert!(!applies(&[elsewhere.to_string()], &target, &cfgs));
        assert!(applies(
            &[
                elsewhere.to_string(),
                "cfg(any())".into(),
                "not a platform(".into()
            ],
            &target,
            &cfgs
        ));
    }

    #[test]
    fn windows_crates_are_not_built_on_linux() {
        let lock = "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"windows-targets\", \"libc\"]\n\n[[package]]\nname = \"windows-targets\"\nversion = \"0.52.6\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\ndependencies = [\"windows_x86_64_msvc\", \"windows_x86_64_gnu\"]\n\n[[package]]\nname = \"windows_x86_64_msvc\"\nversion = \"0.52.6\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"windows_x86_64_gnu\"\nversion = \"0.52.6\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";
        let graph = Graph::parse(std::path::Path::new("Cargo.lock"), lock.into()).unwrap();
        let find = |n: &str| {
            graph
                .packages()
                .iter()
                .position(|p| p.name.as_str() == n)
                .unwrap()
        };
        let wt = find("windows-targets");
        let only = move |i: usize| {
            (i == wt).then(|| {
                vec![
                    (
                        "windows_x86_64_msvc".to_string(),
                        vec![
                            "cfg(all(target_arch = \"x86_64\", target_env = \"msvc\"))".to_string(),
                        ],
                    ),
                    (
                        "windows_x86_64_gnu".to_string(),
                        vec!["x86_64-pc-windows-gnu".to_string()],
                    ),
                ]
            })
        };
        let linux: Vec<Cfg> = [
            "unix",
            "target_os = \"linux\"",
            "target_arch = \"x86_64\"",
            "target_env = \"gnu\"",
        ]
        .iter()
        .map(|c| Cfg::from_str(c).unwrap())
        .collect();
        let out = not_built(&graph, None, &only, "x86_64-unknown-linux-gnu", &linux);
        let names: Vec<&str> = out
            .keys()
            .map(|&i| graph.packages()[i].name.as_str())
            .collect();
        assert_eq!(names.len(), 2, "{out:?}");
        assert!(names.contains(&"windows_x86_64_msvc") && names.contains(&"windows_x86_64_gnu"));
        assert!(
            out[&find("windows_x86_64_gnu")]
                .contains("x86_64-pc-windows-gnu (windows-targets 0.52.6)")
        );
        let msvc: Vec<Cfg> = [
            "windows",
            "target_os = \"windows\"",
            "target_arch = \"x86_64\"",
            "target_env = \"msvc\"",
        ]
        .iter()
        .map(|c| Cfg::from_str(c).unwrap())
        .collect();
        let out = not_built(&graph, None, &only, "x86_64-pc-windows-msvc", &msvc);
        assert_eq!(out.len(), 1, "the gnu crate only: {out:?}");
    }
}
