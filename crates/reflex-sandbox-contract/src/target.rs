//! The layout of a cargo target directory, as far as the monitor needs it (one definition for
//! the supervisor, which decides which writes to record, and the library, which judges them):
//! where a write lands ([`area`]), which files a rustc invocation writes itself
//! ([`rustc_writes`]: its outputs are named after `--crate-name` and `-C extra-filename`), and
//! whether a process makes the file it writes there ([`makes`]).

use crate::ChainLink;
use std::path::{Component, Path, PathBuf};

/// Where in a target directory a file lies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Area {
    /// `<profile>/build/<crate>-<hash>/...`: a crate's compiled build script, its `OUT_DIR`
    /// and the output cargo keeps of its run. `dir` is `<profile>/build/<crate>-<hash>`.
    BuildOutput { krate: String, dir: PathBuf },
    /// `<profile>/deps/...` and `<profile>/examples/...`: compiled crates and programs.
    Deps,
    /// A file directly in `<profile>/`: the programs and libraries cargo puts there.
    Final,
    /// Elsewhere: fingerprints, incremental caches, documentation, `tmp`, cargo's lock.
    Other,
}

impl Area {
    /// Build outputs and artifacts: what the next build or run executes or links.
    pub fn is_guarded(&self) -> bool {
        !matches!(self, Area::Other)
    }
}

/// `x86_64-unknown-linux-gnu`, `wasm32-unknown-unknown`: a target triple's directory.
fn is_triple(name: &str) -> bool {
    name.matches('-').count() >= 2
}

/// Directories directly in `<profile>/` that hold neither build outputs nor artifacts.
const PROFILE_OTHER: &[&str] = &["incremental", ".fingerprint", "build", "deps", "examples"];
/// Directories directly in a target directory that are not profiles.
const NOT_PROFILES: &[&str] = &["doc", "package", "tmp", "reflex-monitor", "debian"];

/// `name-0123456789abcdef` -> `name` (cargo's per-unit directories).
pub fn unit_name(dir: &str) -> Option<&str> {
    let (name, hash) = dir.rsplit_once('-')?;
    (hash.len() >= 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty())
        .then_some(name)
}

/// Where `path` (absolute, lexically normal) lies in the target directory `target`; `None`
/// when it is outside.
pub fn area(target: &Path, path: &Path) -> Option<Area> {
    let rel = path.strip_prefix(target).ok()?;
    let c: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    // `<profile>/<kind>/...` or `<triple>/<profile>/<kind>/...`.
    for i in [1usize, 2] {
        if i == 2 && !c.first().is_some_and(|t| is_triple(t)) {
            continue;
        }
        if c.len() <= i + 1 || NOT_PROFILES.contains(&c[0]) {
            continue;
        }
        match c[i] {
            "build" => {
                let Some(krate) = unit_name(c[i + 1]) else {
                    return Some(Area::Other);
                };
                if c.len() == i + 2 {
                    // The unit's directory itself.
                    return Some(Area::Other);
                }
                return Some(Area::BuildOutput {
                    krate: krate.to_string(),
                    dir: c[..=i + 1]
                        .iter()
                        .fold(target.to_path_buf(), |p, s| p.join(s)),
                });
            }
            "deps" | "examples" => return Some(Area::Deps),
            _ => {}
        }
    }
    let file = c.last().copied().unwrap_or("");
    let final_file = match c.len() {
        2 => !NOT_PROFILES.contains(&c[0]) && !c[0].starts_with('.'),
        3 => is_triple(c[0]) && !PROFILE_OTHER.contains(&c[1]) && !c[1].starts_with('.'),
        _ => false,
    };
    Some(if final_file && !file.starts_with('.') {
        Area::Final
    } else {
        Area::Other
    })
}

/// The value of a rustc option given as `--opt value`, `--opt=value`, or for `-C`,
/// `-C key=value` / `-Ckey=value`.
fn option<'a>(argv: &'a [String], name: &str) -> Option<&'a str> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == name {
            return it.next().map(String::as_str);
        }
        if let Some(v) = a.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

/// A codegen option (`-C extra-filename=-abc`).
fn codegen<'a>(argv: &'a [String], key: &str) -> Option<&'a str> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let kv = if a == "-C" {
            it.next().map(String::as_str)
        } else {
            a.strip_prefix("-C")
        };
        if let Some(v) = kv.and_then(|kv| kv.strip_prefix(key)?.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

/// The crate a rustc invocation compiles (`--crate-name`).
pub fn rustc_crate(argv: &[String]) -> Option<&str> {
    option(argv, "--crate-name")
}

/// `--crate-name` followed by `-C extra-filename`: how every output of the invocation starts
/// (`app-1a2b3c`, and `libapp-1a2b3c` for libraries).
pub fn rustc_stem(argv: &[String]) -> Option<String> {
    Some(format!(
        "{}{}",
        rustc_crate(argv)?,
        codegen(argv, "extra-filename").unwrap_or("")
    ))
}

/// Whether the rustc invocation `argv` writes `path` itself: a file in its `--out-dir` named
/// after its crate and hash (`lib<name>-<hash>.rlib`, `<name>-<hash>.d`, `<name>-<hash>.<cgu>
/// .rcgu.o`, the program `<name>-<hash>` its linker writes, the linker's temporary
/// `<name>-<hash>.tmp...`), its temporary `rustc*` directories there, its `-o` file, or anything
/// in the build-script directory it compiles a build script into. Its children (the linker)
/// write the same files.
pub fn rustc_writes(argv: &[String], path: &Path) -> bool {
    let Some(stem) = rustc_stem(argv) else {
        return false;
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let named = |name: &str| {
        name.starts_with(&stem)
            || name
                .strip_prefix("lib")
                .is_some_and(|n| n.starts_with(&stem))
    };
    if let Some(o) = option(argv, "-o").map(Path::new) {
        let o_name = o.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if path.parent() == o.parent() && !o_name.is_empty() && name.starts_with(o_name) {
            return true;
        }
    }
    let Some(out) = option(argv, "--out-dir").map(Path::new) else {
        return false;
    };
    if out
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|b| b == "build")
    {
        // `--crate-name build_script_build --out-dir <profile>/build/<crate>-<hash>`.
        return path.starts_with(out);
    }
    if path.parent() == Some(out) {
        return named(name);
    }
    // `<out-dir>/rustcXXXXXX/...`, `rmetaXXXXXX/`, `.tmpXXXXXX.temp-archive/`: rustc's
    // temporary directories (cargo makes no directories in `deps/`, nothing loads from them).
    path.starts_with(out)
}

/// rustc (or rustdoc), or rustup's proxy that cargo started as rustc.
pub fn runs_rustc(link: &ChainLink) -> bool {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    let exe = link.exe.as_deref().map(base).unwrap_or_default();
    let prog = if exe == "rustup" {
        link.argv.first().map(|a| base(a)).unwrap_or_default()
    } else {
        exe
    };
    prog == "rustc" || prog == "rustdoc"
}

/// A fork that has not exec'd: the same program, no arguments of its own (or its parent's).
pub fn is_fork(link: &ChainLink, parent: &ChainLink) -> bool {
    link.exe.is_some()
        && link.exe == parent.exe
        && (link.argv.is_empty() || link.argv == parent.argv)
}

/// Whether the process (its ancestry, nearest first, as the supervisor records it: ending
/// with the command, or with pid 0 when it was lost) makes the file `path` in `area` of a
/// target directory itself: cargo anywhere (build-script output, uplifted artifacts); a
/// build script and what it starts in its own crate's build directories (its `OUT_DIR`);
/// rustc and what it starts (the linker, its proc-macros) its own outputs ([`rustc_writes`])
/// and the `OUT_DIR` of the crate it compiles. Roles are taken from the top (the command)
/// down: only cargo's own children can be rustc or a build script, whatever a process deeper
/// down is called or says.
pub fn makes(chain: &[ChainLink], area: &Area, path: &Path) -> bool {
    enum Role<'a> {
        Cargo,
        Script(&'a str),
        Rustc(&'a [String]),
        Other,
    }
    if chain.last().is_none_or(|l| l.pid == 0) {
        return false;
    }
    let mut role = Role::Cargo;
    for i in (0..chain.len() - 1).rev() {
        let (link, parent) = (&chain[i], &chain[i + 1]);
        if is_fork(link, parent) {
            continue;
        }
        if let Role::Cargo = role {
            let exe = link.exe.as_deref().unwrap_or("");
            role = if let Some(k) = build_script_crate(exe) {
                Role::Script(k)
            } else if runs_rustc(link) {
                Role::Rustc(&link.argv)
            } else {
                Role::Other
            };
        }
    }
    let same = |a: &str, b: &str| a.replace('_', "-") == b.replace('_', "-");
    match (role, area) {
        (Role::Cargo, _) => true,
        (Role::Script(k), Area::BuildOutput { krate, .. }) => same(k, krate),
        (Role::Rustc(argv), Area::BuildOutput { krate, dir })
            if rustc_crate(argv).is_some_and(|c| same(c, krate))
                && path.starts_with(dir.join("out")) =>
        {
            true
        }
        (Role::Rustc(argv), _) => rustc_writes(argv, path),
        _ => false,
    }
}

/// Whether `exe` is a compiled build script (`<profile>/build/<crate>-<hash>/build-script-*`)
/// and of which crate. Anywhere, not only in a known target directory: cargo names them so.
pub fn build_script_crate(exe: &str) -> Option<&str> {
    let mut parts = exe.rsplit('/');
    let file = parts.next()?;
    let dir = parts.next()?;
    let build = parts.next()?;
    (file.starts_with("build-script-") && build == "build")
        .then(|| unit_name(dir))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn areas_of_a_target_directory() {
        let t = Path::new("/w/target");
        let a = |p: &str| area(t, Path::new(p));
        assert_eq!(a("/w/src/lib.rs"), None);
        assert_eq!(
            a("/w/target/debug/build/victim-0123456789abcdef/build-script-build"),
            Some(Area::BuildOutput {
                krate: "victim".into(),
                dir: "/w/target/debug/build/victim-0123456789abcdef".into()
            })
        );
        assert_eq!(
            a("/w/target/x86_64-unknown-linux-gnu/release/build/my-sys-0123456789abcdef/out/a.o"),
            Some(Area::BuildOutput {
                krate: "my-sys".into(),
                dir: "/w/target/x86_64-unknown-linux-gnu/release/build/my-sys-0123456789abcdef"
                    .into()
            })
        );
        assert_eq!(
            a("/w/target/debug/deps/libserde-0123456789abcdef.rlib"),
            Some(Area::Deps)
        );
        assert_eq!(
            a("/w/target/debug/deps/rustcAbCdEf/symbols.o"),
            Some(Area::Deps)
        );
        assert_eq!(a("/w/target/debug/app"), Some(Area::Final));
        assert_eq!(a("/w/target/release/libapp.rlib"), Some(Area::Final));
        assert_eq!(
            a("/w/target/x86_64-unknown-linux-gnu/debug/app"),
            Some(Area::Final)
        );
        for other in [
            "/w/target/debug/.cargo-lock",
            "/w/target/.rustc_info.json",
            "/w/target/CACHEDIR.TAG",
            "/w/target/debug/.fingerprint/app-0123456789abcdef/bin-app",
            "/w/target/debug/incremental/app-1x/s-abc/query-cache.bin",
            "/w/target/tmp/test-file",
            "/w/target/doc/app/index.html",
            "/w/target/reflex-monitor/events.jsonl",
            "/w/target/debug/build/victim-0123456789abcdef",
        ] {
            assert_eq!(a(other), Some(Area::Other), "{other}");
        }
        assert!(Area::Final.is_guarded() && !Area::Other.is_guarded());
    }

    #[test]
    fn what_rustc_writes_itself() {
        let lib = s(&[
            "/r/bin/rustc",
            "--crate-name",
            "serde",
            "--edition=2021",
            "-C",
            "extra-filename=-0123456789abcdef",
            "--out-dir",
            "/w/target/debug/deps",
        ]);
        let yes = |argv: &[String], p: &str| rustc_writes(argv, Path::new(p));
        assert!(yes(
            &lib,
            "/w/target/debug/deps/libserde-0123456789abcdef.rlib"
        ));
        assert!(yes(
            &lib,
            "/w/target/debug/deps/libserde-0123456789abcdef.rmeta"
        ));
        assert!(yes(&lib, "/w/target/debug/deps/serde-0123456789abcdef.d"));
        assert!(yes(
            &lib,
            "/w/target/debug/deps/serde-0123456789abcdef.serde.a1b2-cgu.0.rcgu.o"
        ));
        assert!(yes(&lib, "/w/target/debug/deps/rustcX1y2Z3/symbols.o"));
        assert!(!yes(
            &lib,
            "/w/target/debug/deps/libvictim-0123456789abcdef.rlib"
        ));
        assert!(!yes(
            &lib,
            "/w/target/debug/deps/libserde-fedcba9876543210.rlib"
        ));
        assert!(!yes(&lib, "/w/target/debug/app"));
        let script = s(&[
            "rustc",
            "--crate-name",
            "build_script_build",
            "-Cextra-filename=-1111111111111111",
            "--out-dir=/w/target/debug/build/victim-1111111111111111",
        ]);
        assert!(yes(
            &script,
            "/w/target/debug/build/victim-1111111111111111/build_script_build-1111111111111111"
        ));
        assert!(!yes(
            &script,
            "/w/target/debug/build/other-1111111111111111/build-script-build"
        ));
        let o = s(&["rustc", "--crate-name", "probe", "-o", "/w/out/probe"]);
        assert!(yes(&o, "/w/out/probe"));
        assert!(yes(&o, "/w/out/probe.tmp123"));
        assert!(!yes(&o, "/w/out/other"));
        assert!(!yes(&s(&["rustc", "-vV"]), "/w/target/debug/deps/x"));
        assert_eq!(rustc_stem(&lib).as_deref(), Some("serde-0123456789abcdef"));
    }

    fn link(pid: u32, exe: &str, argv: &[&str]) -> ChainLink {
        ChainLink {
            pid,
            exe: Some(exe.into()),
            argv: s(argv),
        }
    }

    #[test]
    fn only_rustc_and_build_scripts_make_target_outputs() {
        let cargo = link(2, "/t/bin/cargo", &["cargo", "build"]);
        let script = link(
            10,
            "/w/target/debug/build/evasion-build-0123456789abcdef/build-script-build",
            &["/w/target/debug/build/evasion-build-0123456789abcdef/build-script-build"],
        );
        let rustc = link(
            11,
            "/t/bin/rustc",
            &[
                "rustc",
                "--crate-name",
                "evasion_app",
                "-C",
                "extra-filename=-1111111111111111",
                "--out-dir",
                "/w/target/debug/deps",
            ],
        );
        let own_out = Area::BuildOutput {
            krate: "evasion-build".into(),
            dir: "/w/target/debug/build/evasion-build-fedcba9876543210".into(),
        };
        let victim = Area::BuildOutput {
            krate: "victim".into(),
            dir: "/w/target/debug/build/victim-fedcba9876543210".into(),
        };
        let p = Path::new("/w/target/debug/build/x/out/f");
        assert!(
            makes(std::slice::from_ref(&cargo), &Area::Final, p),
            "cargo uplifts"
        );
        assert!(makes(&[script.clone(), cargo.clone()], &own_out, p));
        assert!(!makes(&[script.clone(), cargo.clone()], &victim, p));
        assert!(!makes(&[script.clone(), cargo.clone()], &Area::Deps, p));
        // A copy of rustc (or anything named so) under a build script is the build script.
        let fake = link(
            12,
            "/w/target/debug/build/evasion-build-0123456789abcdef/out/rustc",
            &[
                "rustc",
                "--crate-name",
                "victim",
                "--out-dir",
                "/w/target/debug/deps",
            ],
        );
        assert!(!makes(
            &[fake, script.clone(), cargo.clone()],
            &Area::Deps,
            Path::new("/w/target/debug/deps/victim")
        ));
        // rustc's linker writes rustc's program; nothing else.
        let cc = link(13, "/usr/bin/x86_64-linux-gnu-gcc-12", &["cc", "-o", "x"]);
        let app = Path::new("/w/target/debug/deps/evasion_app-1111111111111111");
        assert!(makes(
            &[cc.clone(), rustc.clone(), cargo.clone()],
            &Area::Deps,
            app
        ));
        assert!(!makes(
            &[cc, rustc.clone(), cargo.clone()],
            &Area::Deps,
            Path::new("/w/target/debug/deps/libvictim-2222222222222222.rlib")
        ));
        // Its proc-macros may fill the OUT_DIR of the crate it compiles, not other crates'.
        let app_out = Area::BuildOutput {
            krate: "evasion-app".into(),
            dir: "/w/target/debug/build/evasion-app-3333333333333333".into(),
        };
        let fork = link(14, "/t/bin/rustc", &[]);
        assert!(makes(
            &[fork.clone(), rustc.clone(), cargo.clone()],
            &app_out,
            Path::new("/w/target/debug/build/evasion-app-3333333333333333/out/gen.rs")
        ));
        assert!(!makes(
            &[fork.clone(), rustc.clone(), cargo.clone()],
            &app_out,
            Path::new("/w/target/debug/build/evasion-app-3333333333333333/build-script-build")
        ));
        assert!(!makes(&[fork, rustc, cargo.clone()], &victim, p));
        // An ancestry that lost the command is nobody's.
        assert!(!makes(
            &[link(15, "/t/bin/cargo", &["cargo"]), ChainLink::default()],
            &Area::Final,
            p
        ));
    }

    #[test]
    fn build_scripts_by_their_path() {
        assert_eq!(
            build_script_crate(
                "/w/target/debug/build/url-parse-0123abcd4567ef89/build-script-build"
            ),
            Some("url-parse")
        );
        assert_eq!(
            build_script_crate("/w/target/debug/build/url-parse-0123abcd4567ef89/out/cargo"),
            None
        );
        assert_eq!(build_script_crate("/tmp/build-script-build"), None);
    }
}
