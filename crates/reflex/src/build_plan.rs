//! `build`: what the two stages run with. Stage 1 (`cargo fetch --locked`) gets the network and
//! the caller's environment minus every secret-looking variable; stage 2 (the cargo command
//! with `--offline --locked`) gets an allowlisted environment and a sandbox whose paths are
//! computed here. Pure data: the binary hands it to the sandbox crate.

use crate::checks::build_env::secret_reason;
use crate::error::{Error, Result};
use crate::graph::workspace::Workspace;
use crate::policy::Policy;
use reflex_sandbox_contract::Profile;
use std::path::{Path, PathBuf};

/// Cargo commands that `build` runs in the sandbox.
pub const CARGO_COMMANDS: &[&str] = &["build", "check", "test", "clippy", "doc", "run", "bench"];

/// Variables the build stage keeps (exact names).
const KEEP: &[&str] = &[
    "PATH",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TERM",
    "TZ",
    "COLORTERM",
    "NO_COLOR",
    "CARGO_HOME",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_MIN_STACK",
    "RUST_TEST_THREADS",
    "CC",
    "CXX",
    "AR",
    "LD",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "PKG_CONFIG_PATH",
    "PKG_CONFIG_SYSROOT_DIR",
    "CMAKE",
    "MAKEFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_JOBS",
    "CARGO_INCREMENTAL",
    "CARGO_TERM_COLOR",
    "CARGO_TERM_VERBOSE",
    "CARGO_TERM_PROGRESS_WHEN",
    "CARGO_PROFILE_RELEASE_DEBUG",
    "CARGO_BUILD_TARGET",
    "SOURCE_DATE_EPOCH",
];
/// Prefixes the build stage keeps (cargo's own settings, locales).
const KEEP_PREFIX: &[&str] = &[
    "LC_",
    "CARGO_PROFILE_",
    "CARGO_TARGET_",
    "CARGO_BUILD_",
    "CARGO_TERM_",
];

/// Everything both stages need. Stage 2 is a sandbox [`Profile`] (the contract with the
/// sandbox crate), not a copy of one.
#[derive(Clone, Debug, PartialEq)]
pub struct BuildPlan {
    pub cargo: PathBuf,
    pub workspace_root: PathBuf,
    pub target_dir: PathBuf,
    /// Stage 1: `cargo fetch --locked`.
    pub fetch_args: Vec<String>,
    pub fetch_env: Vec<(String, String)>,
    /// Names removed from stage 1's environment (never the values).
    pub fetch_dropped: Vec<String>,
    /// Stage 2: the cargo command (offline, locked) in the sandbox: the allowlisted
    /// environment; `$HOME`, `/root`, `/home` replaced by empty read-only directories; the
    /// workspace, cargo's caches and config and the toolchain put back read-only; the target
    /// directory and the policy's `write` paths writable; cargo's home a throw-away tmpfs;
    /// secret files hidden or cleaned ([`crate::build_secrets`]).
    pub sandbox: Profile,
    /// Names of the caller's variables stage 2 does not get.
    pub build_dropped: Vec<String>,
    /// Policy exceptions granted, for the user to see: "openssl-sys: env OPENSSL_DIR (reason)".
    pub granted: Vec<String>,
    /// Cargo's home (for decoy credentials when monitoring).
    pub cargo_home: Option<PathBuf>,
}

/// Inputs that vary: the caller's environment and paths, the command.
pub struct BuildRequest<'a> {
    pub cwd: &'a Path,
    pub manifest_path: Option<&'a Path>,
    pub env: Vec<(String, String)>,
    /// `build`, `test`, ...
    pub command: &'a str,
    pub args: Vec<String>,
    pub policy: Option<&'a Policy>,
}

pub fn plan(req: &BuildRequest<'_>) -> Result<BuildPlan> {
    if !CARGO_COMMANDS.contains(&req.command) {
        return Err(Error::Usage(
            format!("`--cargo {}` is not a build command", req.command),
            Some(format!("one of {}", CARGO_COMMANDS.join(", "))),
        ));
    }
    let ws = Workspace::discover(req.manifest_path, req.cwd)?;
    let get = |k: &str| req.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let home = get("HOME").map(PathBuf::from);
    let cargo_home = get("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cargo")));
    let rustup_home = get("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".rustup")));
    let target_dir = get("CARGO_TARGET_DIR")
        .map(|t| absolute(req.cwd, Path::new(&t)))
        .unwrap_or_else(|| ws.root.join("target"));
    let cargo = find_cargo(&req.env, cargo_home.as_deref()).ok_or_else(|| {
        Error::Usage(
            "cannot find `cargo` on PATH".into(),
            Some("install Rust with rustup, or put cargo on PATH".into()),
        )
    })?;
    let sandbox = req.policy.map(|p| &p.sandbox);
    let pass_env: Vec<&str> = sandbox
        .map(|s| {
            s.pass_env
                .iter()
                .map(String::as_str)
                .chain(
                    s.allow
                        .iter()
                        .flat_map(|a| a.env.iter().map(String::as_str)),
                )
                .collect()
        })
        .unwrap_or_default();

    let mut fetch_env = Vec::new();
    let mut fetch_dropped = Vec::new();
    for (k, v) in &req.env {
        // Registry tokens too: cargo's credential providers still serve private registries.
        if secret_reason(k, v).is_some() {
            fetch_dropped.push(k.clone());
        } else {
            fetch_env.push((k.clone(), v.clone()));
        }
    }
    let mut build_env = Vec::new();
    let mut build_dropped = Vec::new();
    for (k, v) in &req.env {
        let allowed = KEEP.contains(&k.as_str())
            || KEEP_PREFIX.iter().any(|p| k.starts_with(p))
            || pass_env.contains(&k.as_str());
        // An allowlisted name never carries a secret in: token-shaped values stay out.
        let secret = secret_reason(k, v).is_some() && !pass_env.contains(&k.as_str());
        if allowed && !secret {
            build_env.push((k.clone(), v.clone()));
        } else {
            build_dropped.push(k.clone());
        }
    }
    if let Some(h) = &home {
        build_env.push(("HOME".into(), h.display().to_string()));
    }
    build_env.push(("TMPDIR".into(), "/tmp".into()));
    build_env.push(("CARGO_NET_OFFLINE".into(), "true".into()));
    build_env.sort();
    build_env.dedup_by(|a, b| a.0 == b.0);

    let mut read_only = vec![ws.root.clone()];
    let mut scratch = Vec::new();
    if let Some(ch) = &cargo_home {
        scratch.push(ch.clone());
        for keep in ["registry", "git", "bin", "config.toml", "config"] {
            read_only.push(ch.join(keep));
        }
    }
    if let Some(rh) = &rustup_home {
        read_only.push(rh.clone());
    }
    // The cargo binary (a rustup proxy, often under the home directory) and what it links to.
    for c in [Some(cargo.clone()), cargo.canonicalize().ok()]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = c.parent() {
            read_only.push(dir.to_path_buf());
        }
    }
    // The rustc cargo will run (RUSTC, or the first on PATH: often a rustup proxy under the
    // home directory, elsewhere than a toolchain's cargo named by CARGO).
    let get = |k: &str| req.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let rustc = get("RUSTC").map(PathBuf::from).or_else(|| {
        std::env::split_paths(&get("PATH").unwrap_or_default())
            .map(|d| d.join("rustc"))
            .find(|c| c.is_file())
    });
    for c in [rustc.clone(), rustc.and_then(|r| r.canonicalize().ok())]
        .into_iter()
        .flatten()
    {
        if let Some(dir) = c.parent() {
            read_only.push(dir.to_path_buf());
        }
    }
    read_only.sort();
    read_only.dedup();
    let mut homes: Vec<PathBuf> = home.iter().cloned().collect();
    // A CI runner's temporary directory holds the job's credential files (actions/checkout's
    // git credentials, cloud logins) outside any home in container and self-hosted jobs.
    if let Some(t) = get("RUNNER_TEMP").map(PathBuf::from).filter(|t| t.is_dir()) {
        homes.push(t);
    }
    for h in ["/root", "/home"] {
        if Path::new(h).is_dir() && !homes.iter().any(|x| x == Path::new(h)) {
            homes.push(PathBuf::from(h));
        }
    }
    let mut writable = vec![target_dir.clone()];
    let mut granted = Vec::new();
    for a in sandbox.map(|s| s.allow.as_slice()).unwrap_or_default() {
        read_only.extend(a.read.iter().map(|p| absolute(&ws.root, p)));
        writable.extend(a.write.iter().map(|p| absolute(&ws.root, p)));
        let mut what = Vec::new();
        if !a.env.is_empty() {
            what.push(format!("env {}", a.env.join(", ")));
        }
        for r in &a.read {
            what.push(format!("read {}", r.display()));
        }
        for w in &a.write {
            what.push(format!("write {}", w.display()));
        }
        granted.push(format!("{}: {} ({})", a.krate, what.join("; "), a.reason));
    }
    // Secret files outside the replaced directories (cargo's own credentials are gone with
    // the rest of its home: a fresh tmpfs; its config.toml comes back without tokens).
    let mut cargo_configs = Vec::new();
    if let Some(ch) = &cargo_home {
        cargo_configs.extend(["config.toml", "config"].map(|c| ch.join(c)));
    }
    for dir in req.cwd.ancestors().chain(ws.root.ancestors()) {
        cargo_configs.extend(["config.toml", "config"].map(|c| dir.join(".cargo").join(c)));
    }
    cargo_configs.sort();
    cargo_configs.dedup();
    let expose = sandbox.map(|s| s.expose.as_slice()).unwrap_or_default();
    let secrets = crate::build_secrets::find(&ws.root, &cargo_configs, expose);
    let mut build_args = vec![
        req.command.to_string(),
        "--offline".into(),
        "--locked".into(),
    ];
    if let Some(m) = req.manifest_path {
        build_args.push("--manifest-path".into());
        build_args.push(absolute(req.cwd, m).display().to_string());
    }
    build_args.extend(req.args.iter().cloned());
    let mut fetch_args = vec!["fetch".to_string(), "--locked".into()];
    if let Some(m) = req.manifest_path {
        fetch_args.push("--manifest-path".into());
        fetch_args.push(absolute(req.cwd, m).display().to_string());
    }
    let unix_sockets = sandbox
        .map(|s| {
            s.unix_sockets
                .iter()
                .map(|p| absolute(&ws.root, p))
                .collect()
        })
        .unwrap_or_default();
    Ok(BuildPlan {
        sandbox: Profile {
            program: cargo.clone(),
            args: build_args,
            cwd: req.cwd.to_path_buf(),
            env: build_env,
            read_only,
            writable,
            homes,
            scratch,
            hide: secrets.hide,
            replace: secrets.replace,
            unix_sockets,
            ..Profile::default()
        },
        cargo,
        workspace_root: ws.root.clone(),
        target_dir,
        fetch_args,
        fetch_env,
        fetch_dropped,
        build_dropped,
        granted,
        cargo_home,
    })
}

fn absolute(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// `cargo` as the caller would run it: `$CARGO`, then PATH, then cargo's home.
fn find_cargo(env: &[(String, String)], cargo_home: Option<&Path>) -> Option<PathBuf> {
    let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if let Some(c) = get("CARGO").map(PathBuf::from).filter(|c| c.is_file()) {
        return Some(c);
    }
    let path = get("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("cargo"))
        .chain(cargo_home.map(|h| h.join("bin/cargo")))
        .find(|c| c.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_get_different_environments_and_secrets_reach_neither() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
        )
        .unwrap();
        let cargo = dir.path().join("bin/cargo");
        std::fs::create_dir_all(cargo.parent().unwrap()).unwrap();
        std::fs::write(&cargo, "").unwrap();
        let env: Vec<(String, String)> = [
            ("PATH", dir.path().join("bin").display().to_string()),
            ("HOME", "/home/u".into()),
            (
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            ),
            (
                "GITHUB_TOKEN",
                "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            ),
            (
                "CARGO_REGISTRY_TOKEN",
                "cio_abcdefabcdefabcdefabcdef".into(),
            ),
            ("RUSTFLAGS", "-Dwarnings".into()),
            ("EDITOR", "vim".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let p = plan(&BuildRequest {
            cwd: dir.path(),
            manifest_path: None,
            env,
            command: "test",
            args: vec!["--workspace".into()],
            policy: None,
        })
        .unwrap();
        let names = |e: &[(String, String)]| e.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(
            p.fetch_dropped,
            vec![
                "AWS_SECRET_ACCESS_KEY",
                "GITHUB_TOKEN",
                "CARGO_REGISTRY_TOKEN"
            ]
        );
        assert!(names(&p.fetch_env).contains(&"RUSTFLAGS".to_string()));
        let build = names(&p.sandbox.env);
        for gone in [
            "AWS_SECRET_ACCESS_KEY",
            "GITHUB_TOKEN",
            "CARGO_REGISTRY_TOKEN",
            "EDITOR",
        ] {
            assert!(
                !build.contains(&gone.to_string()),
                "{gone} reached the build"
            );
        }
        assert!(build.contains(&"RUSTFLAGS".to_string()) && build.contains(&"HOME".to_string()));
        assert_eq!(
            p.sandbox.args,
            vec!["test", "--offline", "--locked", "--workspace"]
        );
        assert_eq!(p.target_dir, dir.path().join("target"));
        assert!(p.sandbox.scratch.contains(&PathBuf::from("/home/u/.cargo")));
        assert!(
            p.sandbox
                .read_only
                .contains(&PathBuf::from("/home/u/.cargo/registry"))
        );
        assert!(
            !p.sandbox
                .read_only
                .iter()
                .any(|r| r.ends_with("credentials.toml"))
        );
        assert_eq!(p.cargo, cargo);
        assert!(
            plan(&BuildRequest {
                cwd: dir.path(),
                manifest_path: None,
                env: vec![],
                command: "publish",
                args: vec![],
                policy: None,
            })
            .is_err()
        );
    }
}

/// Clears the set-user-ID and set-group-ID bits of every file under `dir` (symlinks are not
/// followed) and returns the files that had one: build code may have left a set-uid program
/// in `target/` for someone to run on the host.
pub fn clear_set_id_bits(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() && meta.permissions().mode() & 0o6000 != 0 {
                let mode = meta.permissions().mode() & !0o6000;
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode));
                found.push(e.path());
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod set_id_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn set_id_bits_are_found_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("debug/build/x-1/out/su");
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, "x").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o4755)).unwrap();
        let fine = dir.path().join("debug/app");
        std::fs::write(&fine, "x").unwrap();
        std::fs::set_permissions(&fine, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(clear_set_id_bits(dir.path()), vec![bad.clone()]);
        let mode = std::fs::metadata(&bad).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755);
        assert!(clear_set_id_bits(dir.path()).is_empty());
    }
}
