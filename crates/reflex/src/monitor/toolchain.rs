//! Compilers and linkers: the programs rustc may run as the baseline of a build, recognised
//! by the executable actually run and where it is installed (never by what a process calls
//! itself).

use std::path::Path;

/// Compilers, linkers and the programs they run, by the name of the executable actually run
/// (after a target prefix and a version suffix are taken off: `x86_64-linux-gnu-gcc-12`).
const TOOLCHAIN: &[&str] = &[
    "cc",
    "c++",
    "gcc",
    "g++",
    "clang",
    "clang++",
    "cc1",
    "cc1plus",
    "collect2",
    "lto-wrapper",
    "lto1",
    "as",
    "ld",
    "ld.bfd",
    "ld.gold",
    "ld.lld",
    "ld64.lld",
    "lld",
    "rust-lld",
    "wasm-ld",
    "mold",
    "ar",
    "rustc",
];

/// The file name of an executable's path.
pub(super) fn base(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether `name` (an executable's file name) is a compiler or linker.
pub fn is_toolchain_name(name: &str) -> bool {
    // `gcc-12`, `clang-17`, `x86_64-linux-gnu-gcc-12`: a version suffix off first.
    let unversioned = match name.rsplit_once('-') {
        Some((n, v)) if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.') => n,
        _ => name,
    };
    TOOLCHAIN.contains(&name)
        || TOOLCHAIN.contains(&unversioned)
        || unversioned
            .rsplit_once('-')
            .is_some_and(|(_, tool)| TOOLCHAIN.contains(&tool))
}

/// Places a build can write to or fill: no compiler run from there is trusted.
const BUILD_REACH: &[&str] = &["/tmp/", "/var/tmp/", "/dev/shm/", "/run/", "/proc/"];

/// The target directory a rustc invocation writes into (from its `--out-dir`).
fn target_of(rustc_argv: &[String]) -> Option<&Path> {
    let out = rustc_argv
        .iter()
        .position(|a| a == "--out-dir")
        .and_then(|i| rustc_argv.get(i + 1))
        .map(Path::new)?;
    let profile = out
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "deps" || n == "build"))?
        .parent()?;
    let t = profile.parent()?;
    // `target/<triple>/<profile>`.
    match t.file_name().and_then(|n| n.to_str()) {
        Some(n) if n.matches('-').count() >= 2 => t.parent(),
        _ => Some(t),
    }
}

/// Whether the program a link runs is a compiler or linker installed outside the build's
/// reach: by the executable actually run (not `argv[0]`), not a memfd, not in a temporary
/// directory, cargo's source caches or the target directory of the rustc that started it.
pub fn is_toolchain(exe: Option<&str>, rustc_argv: &[String]) -> bool {
    let Some(exe) = exe else {
        return false;
    };
    if !exe.starts_with('/')
        || exe.ends_with(" (deleted)")
        || BUILD_REACH.iter().any(|p| exe.starts_with(p))
        || exe.contains("/registry/src/")
        || exe.contains("/git/checkouts/")
        || target_of(rustc_argv).is_some_and(|t| Path::new(exe).starts_with(t))
    {
        return false;
    }
    is_toolchain_name(base(exe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compilers_and_linkers_by_name() {
        for n in [
            "cc",
            "x86_64-linux-gnu-gcc-12",
            "gcc-12",
            "clang-17",
            "collect2",
            "cc1",
            "ld.bfd",
            "ld.lld",
            "rust-lld",
            "x86_64-linux-gnu-ld.bfd",
            "lto-wrapper",
        ] {
            assert!(is_toolchain_name(n), "{n}");
        }
        for n in [
            "sh",
            "dash",
            "curl",
            "cargo",
            "python3",
            "build-script-build",
        ] {
            assert!(!is_toolchain_name(n), "{n}");
        }
    }
}
