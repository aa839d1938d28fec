//! Which crate a process works for: the build script whose executable is among its ancestors
//! (`target/*/build/<crate>-<hash>/build-script-*`), or the proc-macros loaded by the rustc
//! that runs it (`--extern name=...lib<name>-<hash>.so`), else cargo or rustc themselves.

use reflex_sandbox_contract::ChainLink;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Actor {
    BuildScript {
        #[serde(rename = "crate")]
        krate: String,
        version: Option<String>,
        script: String,
    },
    ProcMacro {
        #[serde(rename = "crate")]
        krate: String,
        version: Option<String>,
        /// Other proc-macros loaded by the same rustc (it cannot tell them apart).
        also_loaded: Vec<String>,
        /// The crate being compiled.
        compiling: String,
    },
    /// rustc itself (or the linker it runs): the baseline.
    Rustc { compiling: String },
    /// cargo itself: the baseline.
    Cargo,
    /// No known ancestor (a double-forked daemon whose parents are gone).
    Unknown,
}

impl Actor {
    pub fn is_baseline(&self) -> bool {
        matches!(self, Actor::Cargo | Actor::Rustc { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Actor::BuildScript { .. } => "build-script",
            Actor::ProcMacro { .. } => "proc-macro",
            Actor::Rustc { .. } => "rustc",
            Actor::Cargo => "cargo",
            Actor::Unknown => "unknown",
        }
    }

    pub fn crate_name(&self) -> Option<&str> {
        match self {
            Actor::BuildScript { krate, .. } | Actor::ProcMacro { krate, .. } => Some(krate),
            Actor::Rustc { compiling } => Some(compiling),
            _ => None,
        }
    }

    pub fn version(&self) -> Option<&str> {
        match self {
            Actor::BuildScript { version, .. } | Actor::ProcMacro { version, .. } => {
                version.as_deref()
            }
            _ => None,
        }
    }

    /// "build script of url-parse 0.1.0", "proc-macro serd 0.1.0 (expanding in app)".
    pub fn describe(&self) -> String {
        let v = |n: &str, v: &Option<String>| match v {
            Some(v) => format!("{n} {v}"),
            None => n.to_string(),
        };
        match self {
            Actor::BuildScript { krate, version, .. } => {
                format!("build script of {}", v(krate, version))
            }
            Actor::ProcMacro {
                krate,
                version,
                compiling,
                ..
            } => {
                format!(
                    "proc-macro {} (expanding in {compiling})",
                    v(krate, version)
                )
            }
            Actor::Rustc { compiling } => format!("rustc compiling {compiling}"),
            Actor::Cargo => "cargo".into(),
            Actor::Unknown => "an unattributed process".into(),
        }
    }
}

const LINKERS: &[&str] = &[
    "cc", "gcc", "clang", "c++", "g++", "ld", "ld.lld", "lld", "rust-lld", "ld.gold", "ld.bfd",
    "mold",
];

/// Attributes a process from its ancestry (nearest first).
pub fn attribute(chain: &[ChainLink], versions: &HashMap<String, String>) -> Actor {
    let version = |name: &str| {
        versions
            .get(name)
            .or_else(|| versions.get(&name.replace('_', "-")))
            .cloned()
    };
    for (i, link) in chain.iter().enumerate() {
        let argv = &link.argv;
        let Some(exe) = link.exe.as_ref().or(argv.first()) else {
            continue;
        };
        let base = exe.rsplit('/').next().unwrap_or(exe);
        if base.starts_with("build-script-") && exe.contains("/build/") {
            let dir = exe.rsplit('/').nth(1).unwrap_or("");
            let krate = match dir.rsplit_once('-') {
                Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => {
                    name.to_string()
                }
                _ => dir.to_string(),
            };
            return Actor::BuildScript {
                version: version(&krate),
                krate,
                script: exe.clone(),
            };
        }
        if base == "rustc" || argv.iter().any(|a| a == "--crate-name") {
            let compiling = argv
                .iter()
                .position(|a| a == "--crate-name")
                .and_then(|p| argv.get(p + 1))
                .cloned()
                .unwrap_or_else(|| "?".into());
            let macros: Vec<String> = argv
                .windows(2)
                .filter(|w| w[0] == "--extern")
                .filter_map(|w| w[1].split_once('='))
                .filter(|(_, path)| {
                    path.ends_with(".so") || path.ends_with(".dylib") || path.ends_with(".dll")
                })
                .map(|(name, _)| name.to_string())
                .collect();
            // The linker rustc runs, or rustc itself without proc-macros: the baseline.
            let linker = i > 0
                && chain[0]
                    .exe
                    .as_ref()
                    .or(chain[0].argv.first())
                    .map(|e| e.rsplit('/').next().unwrap_or(e))
                    .is_some_and(|b| LINKERS.contains(&b) || b.ends_with("-ld"));
            if macros.is_empty() || linker {
                return Actor::Rustc { compiling };
            }
            let krate = macros[0].replace('_', "-");
            let krate = if versions.contains_key(&krate) {
                krate
            } else {
                macros[0].clone()
            };
            return Actor::ProcMacro {
                version: version(&krate),
                krate,
                also_loaded: macros[1..].to_vec(),
                compiling,
            };
        }
        // cargo, and cargo-reflex's sandbox init that starts it.
        if base == "cargo" || argv.iter().any(|a| a == "__reflex-sandbox-init") {
            return Actor::Cargo;
        }
    }
    Actor::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(parts: &[&[&str]]) -> Vec<ChainLink> {
        parts
            .iter()
            .enumerate()
            .map(|(i, a)| ChainLink {
                pid: 100 + i as u32,
                exe: a.first().map(|s| s.to_string()),
                argv: a.iter().map(|s| s.to_string()).collect(),
            })
            .collect()
    }

    #[test]
    fn build_scripts_proc_macros_and_the_baseline() {
        let versions: HashMap<String, String> =
            [("url-parse", "0.1.0"), ("hostile-macro", "0.2.0")]
                .into_iter()
                .map(|(a, b)| (a.into(), b.into()))
                .collect();
        let script = "/w/target/debug/build/url-parse-0123abcd4567ef89/build-script-build";
        let a = attribute(
            &chain(&[&["sh", "-c", "curl x"], &[script], &["cargo", "build"]]),
            &versions,
        );
        assert_eq!(a.describe(), "build script of url-parse 0.1.0");
        let rustc: &[&str] = &[
            "/r/bin/rustc",
            "--crate-name",
            "app",
            "--extern",
            "hostile_macro=/w/target/debug/deps/libhostile_macro-1a2b.so",
            "--extern",
            "serde=/w/target/debug/deps/libserde-9f.rlib",
        ];
        let a = attribute(&chain(&[rustc, &["cargo"]]), &versions);
        assert_eq!(
            a.describe(),
            "proc-macro hostile-macro 0.2.0 (expanding in app)"
        );
        let a = attribute(&chain(&[&["curl", "x"], rustc, &["cargo"]]), &versions);
        assert_eq!(a.kind(), "proc-macro", "a child of a macro-loading rustc");
        let a = attribute(
            &chain(&[&["cc", "-o", "app"], rustc, &["cargo"]]),
            &versions,
        );
        assert_eq!(
            a,
            Actor::Rustc {
                compiling: "app".into()
            },
            "the linker is baseline"
        );
        assert_eq!(
            attribute(&chain(&[&["cargo", "build"]]), &versions),
            Actor::Cargo
        );
        assert_eq!(
            attribute(&chain(&[&["sleep", "9"]]), &versions),
            Actor::Unknown
        );
    }
}
