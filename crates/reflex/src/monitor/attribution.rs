//! Which crate a process works for, from the ancestry the supervisor recorded (the executable
//! the kernel ran and the arguments it was started with, never what a process says later).
//!
//! Roles are assigned from the top down. The top of a complete ancestry is the command the
//! sandbox started: cargo. Only cargo's own children can be rustc (the toolchain's, or
//! rustup's proxy started as rustc) or a build script (`target/*/build/<crate>-<hash>/
//! build-script-*`); everything a build script starts is the build script's. rustc's children
//! are its linker only when the program actually run is a compiler or linker installed outside
//! the build's reach (`x86_64-linux-gnu-gcc-12`, `collect2`, `ld.lld`, `rust-lld`, ...), and
//! so are the compilers and linkers those start; anything else a rustc starts is the work of
//! the proc-macros it loads (`--extern name=...lib<name>-<hash>.so`). A process named `cargo`
//! or `cc`, or one that rewrote its command line, is whatever its place in the tree says.

use super::toolchain::{base, is_toolchain};
use reflex_sandbox_contract::ChainLink;
use reflex_sandbox_contract::target::{
    build_script_crate, is_fork, runs_rustc, rustc_crate, unit_name,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
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
    /// A crate's own compiled code: a test or program cargo runs, or code that compiled a
    /// secret into its artifact.
    CrateCode {
        #[serde(rename = "crate")]
        krate: String,
        version: Option<String>,
    },
    /// rustc itself (or the linker it runs): the baseline.
    Rustc { compiling: String },
    /// cargo itself: the baseline.
    Cargo,
    /// No known ancestor (a process adopted by the init before it was first seen) or a
    /// process nothing explains (something rustc started without proc-macros loaded).
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
            Actor::CrateCode { .. } => "crate-code",
            Actor::Rustc { .. } => "rustc",
            Actor::Cargo => "cargo",
            Actor::Unknown => "unknown",
        }
    }

    pub fn crate_name(&self) -> Option<&str> {
        match self {
            Actor::BuildScript { krate, .. }
            | Actor::ProcMacro { krate, .. }
            | Actor::CrateCode { krate, .. } => Some(krate),
            Actor::Rustc { compiling } => Some(compiling),
            _ => None,
        }
    }

    pub fn version(&self) -> Option<&str> {
        match self {
            Actor::BuildScript { version, .. }
            | Actor::ProcMacro { version, .. }
            | Actor::CrateCode { version, .. } => version.as_deref(),
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
                also_loaded,
            } if also_loaded.is_empty() => {
                format!(
                    "proc-macro {} (expanding in {compiling})",
                    v(krate, version)
                )
            }
            // One rustc process runs every proc-macro it loads: which one acted cannot be told.
            Actor::ProcMacro {
                krate,
                version,
                compiling,
                also_loaded,
            } => format!(
                "proc-macro {} or {} (loaded together by the rustc expanding in {compiling}; which one acted cannot be told)",
                v(krate, version),
                also_loaded.join(" or ")
            ),
            Actor::CrateCode { krate, version } => format!("the code of {}", v(krate, version)),
            Actor::Rustc { compiling } => format!("rustc compiling {compiling}"),
            Actor::Cargo => "cargo".into(),
            Actor::Unknown => "an unattributed process".into(),
        }
    }
}

/// A process's role, from the top of its ancestry down.
#[derive(Clone, Debug, PartialEq)]
enum Role<'a> {
    Cargo,
    Script(&'a ChainLink, &'a str),
    /// A program cargo runs from `deps/` (a test, `cargo run`): that crate's code.
    Program(&'a str),
    Rustc(&'a [String]),
    /// A compiler or linker rustc started (with rustc's arguments).
    Linker(&'a [String]),
    /// Something else rustc (or its linker) started (with rustc's arguments).
    Spawned(&'a [String]),
    Other,
}

fn role(chain: &[ChainLink]) -> Role<'_> {
    // The supervisor ends an ancestry it lost with pid 0: never cargo.
    match chain.last() {
        Some(top) if top.pid != 0 => {}
        _ => return Role::Other,
    }
    let mut role = Role::Cargo;
    for i in (0..chain.len() - 1).rev() {
        let (link, parent) = (&chain[i], &chain[i + 1]);
        if is_fork(link, parent) {
            continue;
        }
        role = match role {
            Role::Cargo => {
                let exe = link.exe.as_deref().unwrap_or("");
                if let Some(k) = build_script_crate(exe) {
                    Role::Script(link, k)
                } else if runs_rustc(link) {
                    Role::Rustc(&link.argv)
                } else if let Some(k) = Path::new(exe)
                    .parent()
                    .filter(|d| d.file_name().is_some_and(|n| n == "deps"))
                    .and_then(|_| unit_name(base(exe)))
                {
                    Role::Program(k)
                } else {
                    Role::Other
                }
            }
            Role::Rustc(argv) | Role::Linker(argv) => {
                if is_toolchain(link.exe.as_deref(), argv) {
                    Role::Linker(argv)
                } else {
                    Role::Spawned(argv)
                }
            }
            r => r,
        };
    }
    role
}

/// The proc-macro libraries a rustc invocation loads (`--extern name=path.so`).
fn macros(argv: &[String]) -> Vec<String> {
    argv.windows(2)
        .filter(|w| w[0] == "--extern")
        .filter_map(|w| w[1].split_once('='))
        .filter(|(_, path)| {
            path.ends_with(".so") || path.ends_with(".dylib") || path.ends_with(".dll")
        })
        .map(|(name, _)| name.to_string())
        .collect()
}

/// Version lookups tolerate `-` and `_`.
pub(crate) fn version_of(versions: &HashMap<String, String>, name: &str) -> Option<String> {
    versions
        .get(name)
        .or_else(|| versions.get(&name.replace('_', "-")))
        .cloned()
}

/// The crate a rustc invocation compiles, as the lockfile spells it: `--crate-name`, or for a
/// build script (`build_script_build`) the crate whose `build/<crate>-<hash>` it goes to.
pub(crate) fn compiled_crate(argv: &[String], versions: &HashMap<String, String>) -> String {
    let name = rustc_crate(argv).unwrap_or("?");
    if name.starts_with("build_script_") {
        let unit = argv
            .windows(2)
            .find(|w| w[0] == "--out-dir")
            .map(|w| w[1].as_str())
            .or_else(|| argv.iter().find_map(|a| a.strip_prefix("--out-dir=")))
            .and_then(|d| Path::new(d).file_name()?.to_str())
            .and_then(unit_name);
        if let Some(k) = unit {
            return lock_name(versions, k);
        }
    }
    lock_name(versions, name)
}

/// The crate's name as the lockfile spells it (rustc uses `_`).
fn lock_name(versions: &HashMap<String, String>, name: &str) -> String {
    let dashed = name.replace('_', "-");
    if versions.contains_key(&dashed) {
        dashed
    } else {
        name.to_string()
    }
}

/// The proc-macros a rustc loads, as the actor of what happens inside it; rustc itself when
/// it loads none.
fn rustc_actor(argv: &[String], versions: &HashMap<String, String>, baseline: bool) -> Actor {
    let compiling = compiled_crate(argv, versions);
    let m = macros(argv);
    if m.is_empty() {
        return if baseline {
            Actor::Rustc { compiling }
        } else {
            Actor::Unknown
        };
    }
    let krate = lock_name(versions, &m[0]);
    Actor::ProcMacro {
        version: version_of(versions, &krate),
        krate,
        also_loaded: m[1..].iter().map(|n| lock_name(versions, n)).collect(),
        compiling,
    }
}

/// Attributes what a process does from its ancestry (nearest first). A compiler or linker
/// rustc runs is rustc (the baseline) unless the rustc loads proc-macros: what such a
/// linker process does that the monitor records (a write outside the target directory, a
/// secret read, a connection) is no part of linking.
pub fn attribute(chain: &[ChainLink], versions: &HashMap<String, String>) -> Actor {
    match role(chain) {
        Role::Cargo => Actor::Cargo,
        Role::Script(link, k) => Actor::BuildScript {
            version: version_of(versions, k),
            krate: k.to_string(),
            script: link.exe.clone().unwrap_or_default(),
        },
        Role::Program(k) => {
            let krate = lock_name(versions, k);
            Actor::CrateCode {
                version: version_of(versions, &krate),
                krate,
            }
        }
        Role::Rustc(argv) | Role::Linker(argv) => rustc_actor(argv, versions, true),
        Role::Spawned(argv) => rustc_actor(argv, versions, false),
        Role::Other => Actor::Unknown,
    }
}

/// Attributes an exec: who starts `target` (the resolved executable) from the caller's
/// ancestry. rustc (or the compiler it runs) starting a compiler or linker is the link, the
/// baseline, whatever proc-macros that rustc loads; cargo starting rustc or a build script is
/// cargo.
pub fn attribute_exec(
    chain: &[ChainLink],
    target: Option<&str>,
    versions: &HashMap<String, String>,
) -> Actor {
    match role(chain) {
        Role::Rustc(argv) | Role::Linker(argv) if is_toolchain(target, argv) => Actor::Rustc {
            compiling: compiled_crate(argv, versions),
        },
        _ => attribute(chain, versions),
    }
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
                argv: a.iter().skip(1).map(|s| s.to_string()).collect(),
            })
            .collect()
    }

    const CARGO: &[&str] = &["/t/bin/cargo", "cargo", "build"];
    const SCRIPT: &str = "/w/target/debug/build/url-parse-0123abcd4567ef89/build-script-build";
    const RUSTC: &[&str] = &[
        "/t/bin/rustc",
        "/t/bin/rustc",
        "--crate-name",
        "app",
        "--extern",
        "hostile_macro=/w/target/debug/deps/libhostile_macro-1a2b.so",
        "--extern",
        "serde=/w/target/debug/deps/libserde-9f.rlib",
        "--out-dir",
        "/w/target/debug/deps",
    ];
    const GCC: &[&str] = &["/usr/bin/x86_64-linux-gnu-gcc-12", "cc", "-o", "app"];

    fn versions() -> HashMap<String, String> {
        [("url-parse", "0.1.0"), ("hostile-macro", "0.2.0")]
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect()
    }

    #[test]
    fn build_scripts_proc_macros_and_the_baseline() {
        let v = versions();
        let a = attribute(
            &chain(&[
                &["/usr/bin/dash", "sh", "-c", "curl x"],
                &[SCRIPT, SCRIPT],
                CARGO,
            ]),
            &v,
        );
        assert_eq!(a.describe(), "build script of url-parse 0.1.0");
        let a = attribute(&chain(&[RUSTC, CARGO]), &v);
        assert_eq!(
            a.describe(),
            "proc-macro hostile-macro 0.2.0 (expanding in app)"
        );
        let a = attribute(&chain(&[&["/usr/bin/curl", "curl", "x"], RUSTC, CARGO]), &v);
        assert_eq!(a.kind(), "proc-macro", "a child of a macro-loading rustc");
        assert_eq!(attribute(&chain(&[CARGO]), &v), Actor::Cargo);
        assert_eq!(
            attribute(&chain(&[&["/t/bin/cargo"], CARGO]), &v),
            Actor::Cargo,
            "a fork of cargo"
        );
        assert_eq!(
            attribute(
                &chain(&[&["/w/target/debug/deps/app-0123456789abcdef"], CARGO]),
                &v
            )
            .describe(),
            "the code of app",
            "a test or program cargo runs"
        );
    }

    #[test]
    fn two_macros_in_one_rustc_are_both_named() {
        let v = versions();
        let mut two: Vec<&str> = RUSTC.to_vec();
        two.extend([
            "--extern",
            "url_parse=/w/target/debug/deps/liburl_parse-3c4d.so",
        ]);
        let a = attribute(&chain(&[&["/usr/bin/curl", "curl", "x"], &two, CARGO]), &v);
        assert_eq!(
            a.describe(),
            "proc-macro hostile-macro 0.2.0 or url-parse (loaded together by the rustc expanding in app; which one acted cannot be told)"
        );
        assert!(
            matches!(a, Actor::ProcMacro { ref also_loaded, .. } if also_loaded == &["url-parse"])
        );
    }

    #[test]
    fn the_link_is_rustc_whoever_loads_macros() {
        let v = versions();
        let link = attribute_exec(
            &chain(&[&["/t/bin/rustc"], RUSTC, CARGO]),
            Some("/usr/bin/x86_64-linux-gnu-gcc-12"),
            &v,
        );
        assert_eq!(
            link,
            Actor::Rustc {
                compiling: "app".into()
            },
            "rustc's fork starting the linker"
        );
        let collect2 = attribute_exec(
            &chain(&[GCC, RUSTC, CARGO]),
            Some("/usr/lib/gcc/x86_64-linux-gnu/12/collect2"),
            &v,
        );
        assert!(collect2.is_baseline());
        let lld = attribute_exec(
            &chain(&[
                &["/usr/lib/gcc/x86_64-linux-gnu/12/collect2", "collect2"],
                GCC,
                RUSTC,
                CARGO,
            ]),
            Some("/t/lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld"),
            &v,
        );
        assert!(lld.is_baseline());
        // What the linker does beyond linking, in a rustc that loads a macro, is the macro's.
        assert_eq!(
            attribute(&chain(&[GCC, RUSTC, CARGO]), &v).kind(),
            "proc-macro"
        );
        let no_macro: &[&str] = &["/t/bin/rustc", "rustc", "--crate-name", "lib"];
        assert!(attribute(&chain(&[GCC, no_macro, CARGO]), &v).is_baseline());
        // The rustup proxy started as rustc hands over to rustc.
        let proxy: &[&str] = &["/h/.cargo/bin/rustup", "/h/.cargo/bin/rustc", "-vV"];
        assert!(attribute_exec(&chain(&[proxy, CARGO]), Some("/t/bin/rustc"), &v).is_baseline());
    }

    #[test]
    fn names_do_not_make_cargo_rustc_or_a_linker() {
        let v = versions();
        // argv[0] = "cc", and a rewritten command line: the executable run decides.
        let fake_cc: &[&str] = &["/usr/bin/dash", "cc", "-c", "curl x"];
        assert_eq!(
            attribute(&chain(&[fake_cc, RUSTC, CARGO]), &v).kind(),
            "proc-macro"
        );
        assert_eq!(
            attribute_exec(&chain(&[fake_cc, RUSTC, CARGO]), Some("/usr/bin/curl"), &v).kind(),
            "proc-macro"
        );
        let sh_under_gcc = attribute(&chain(&[&["/usr/bin/dash", "sh"], GCC, RUSTC, CARGO]), &v);
        assert_eq!(
            sh_under_gcc.kind(),
            "proc-macro",
            "cc started by rustc runs sh"
        );
        // A copy named cc, or cargo, or rustc, in the build's reach.
        for fake in [
            "/w/target/debug/build/app-0123456789abcdef/out/cc",
            "/tmp/x/cc",
            "/memfd:cc (deleted)",
        ] {
            assert!(
                !is_toolchain(Some(fake), &chain(&[RUSTC])[0].argv),
                "{fake}"
            );
            assert_eq!(
                attribute_exec(&chain(&[&["/t/bin/rustc"], RUSTC, CARGO]), Some(fake), &v).kind(),
                "proc-macro",
                "{fake}"
            );
        }
        for name in [
            "/w/target/debug/build/url-parse-0123abcd4567ef89/out/cargo",
            "/t/bin/cargo",
        ] {
            let a = attribute(
                &chain(&[&[name, "cargo", "build"], &[SCRIPT, SCRIPT], CARGO]),
                &v,
            );
            assert_eq!(a.kind(), "build-script", "{name} started by a build script");
            let a = attribute(&chain(&[&[name, "cargo", "build"], RUSTC, CARGO]), &v);
            assert_eq!(a.kind(), "proc-macro", "{name} started by a proc-macro");
        }
        let rustc_by_script = attribute(&chain(&[RUSTC, &[SCRIPT, SCRIPT], CARGO]), &v);
        assert_eq!(rustc_by_script.kind(), "build-script");
        // Without the command at the top (lost ancestry), nothing is cargo.
        let lost = ChainLink::default();
        let mut orphan = chain(&[CARGO]);
        orphan.push(lost);
        assert_eq!(attribute(&orphan, &v), Actor::Unknown);
        assert_eq!(attribute(&[], &v), Actor::Unknown);
        // Something a rustc without proc-macros starts is not the baseline.
        let no_macro: &[&str] = &["/t/bin/rustc", "rustc", "--crate-name", "lib"];
        assert_eq!(
            attribute(&chain(&[&["/usr/bin/dash", "sh"], no_macro, CARGO]), &v),
            Actor::Unknown
        );
    }
}
