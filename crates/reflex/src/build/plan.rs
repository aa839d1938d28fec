//! `build`: what the two stages run with. Stage 1 (`cargo fetch --locked`) gets the network and
//! the caller's environment minus every secret-looking variable; stage 2 (the cargo command
//! with `--offline --locked`) gets an allowlisted environment and a sandbox whose paths are
//! computed here. Pure data: [`super::run`] hands it to the sandbox crate.

use super::secrets;
use crate::error::{Error, Result};
use crate::graph::workspace::Workspace;
use crate::knowledge::paths;
use crate::knowledge::secrets::secret_reason;
use crate::policy::{Policy, SandboxAllow, SandboxRules};
use reflex_sandbox_contract::Profile;
use std::ffi::OsString;
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
    /// secret files hidden or cleaned ([`super::secrets`]).
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

/// Plans both stages of a build of the workspace `req` names.
pub fn plan(req: &BuildRequest<'_>) -> Result<BuildPlan> {
    if !CARGO_COMMANDS.contains(&req.command) {
        return Err(Error::Usage(
            format!("`--cargo {}` is not a build command", req.command),
            Some(format!("one of {}", CARGO_COMMANDS.join(", "))),
        ));
    }
    let ws = Workspace::discover(req.manifest_path, req.cwd)?;
    let var = |k: &str| req.var(k).map(OsString::from);
    let home = req.var("HOME").map(PathBuf::from);
    let cargo_home = paths::cargo_home_from(var);
    let rustup_home = paths::rustup_home_from(var);
    let target_dir = req
        .var("CARGO_TARGET_DIR")
        .map(|t| absolute(req.cwd, Path::new(&t)))
        .unwrap_or_else(|| ws.root.join("target"));
    let cargo = find_cargo(&req.env, cargo_home.as_deref()).ok_or_else(|| {
        Error::Usage(
            "cannot find `cargo` on PATH".into(),
            Some("install Rust with rustup, or put cargo on PATH".into()),
        )
    })?;
    let sandbox = req.policy.map(|p| &p.sandbox);
    let env = Environments::split(req, home.as_deref(), sandbox);
    let mut read_only = toolchain_paths(
        req,
        &ws.root,
        &cargo,
        cargo_home.as_deref(),
        rustup_home.as_deref(),
    );
    let scratch: Vec<PathBuf> = cargo_home.iter().cloned().collect();
    let homes = replaced_homes(req, home.as_ref());
    let mut writable = vec![target_dir.clone()];
    let mut granted = Vec::new();
    for a in sandbox.map(|s| s.allow.as_slice()).unwrap_or_default() {
        read_only.extend(a.read.iter().map(|p| absolute(&ws.root, p)));
        writable.extend(a.write.iter().map(|p| absolute(&ws.root, p)));
        granted.push(grant_text(a));
    }
    let expose = sandbox.map(|s| s.expose.as_slice()).unwrap_or_default();
    let secrets = secrets::find(
        &ws.root,
        &cargo_configs(req.cwd, &ws.root, cargo_home.as_deref()),
        expose,
    );
    let manifest_args: Vec<String> = req
        .manifest_path
        .map(|m| {
            vec![
                "--manifest-path".to_string(),
                absolute(req.cwd, m).display().to_string(),
            ]
        })
        .unwrap_or_default();
    let mut build_args = vec![
        req.command.to_string(),
        "--offline".into(),
        "--locked".into(),
    ];
    build_args.extend(manifest_args.iter().cloned());
    build_args.extend(req.args.iter().cloned());
    let mut fetch_args = vec!["fetch".to_string(), "--locked".into()];
    fetch_args.extend(manifest_args);
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
            env: env.build,
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
        fetch_env: env.fetch,
        fetch_dropped: env.fetch_dropped,
        build_dropped: env.build_dropped,
        granted,
        cargo_home,
    })
}

impl BuildRequest<'_> {
    /// The caller's variable `name`.
    fn var(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// The environments of the two stages, from the caller's.
struct Environments {
    fetch: Vec<(String, String)>,
    /// Names removed from stage 1's environment.
    fetch_dropped: Vec<String>,
    build: Vec<(String, String)>,
    /// Names stage 2 does not get.
    build_dropped: Vec<String>,
}

impl Environments {
    /// Stage 1 gets everything but secret-looking variables; stage 2 the allowlist (and the
    /// policy's `pass-env` and exceptions), never a token-shaped value under an allowlisted
    /// name, and a fixed `HOME`, `TMPDIR` and `CARGO_NET_OFFLINE`.
    fn split(
        req: &BuildRequest<'_>,
        home: Option<&Path>,
        sandbox: Option<&SandboxRules>,
    ) -> Environments {
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
        let mut env = Environments {
            fetch: Vec::new(),
            fetch_dropped: Vec::new(),
            build: Vec::new(),
            build_dropped: Vec::new(),
        };
        for (k, v) in &req.env {
            // Registry tokens too: cargo's credential providers still serve private registries.
            if secret_reason(k, v).is_some() {
                env.fetch_dropped.push(k.clone());
            } else {
                env.fetch.push((k.clone(), v.clone()));
            }
        }
        for (k, v) in &req.env {
            let allowed = KEEP.contains(&k.as_str())
                || KEEP_PREFIX.iter().any(|p| k.starts_with(p))
                || pass_env.contains(&k.as_str());
            // An allowlisted name never carries a secret in: token-shaped values stay out.
            let secret = secret_reason(k, v).is_some() && !pass_env.contains(&k.as_str());
            if allowed && !secret {
                env.build.push((k.clone(), v.clone()));
            } else {
                env.build_dropped.push(k.clone());
            }
        }
        if let Some(h) = home {
            env.build.push(("HOME".into(), h.display().to_string()));
        }
        env.build.push(("TMPDIR".into(), "/tmp".into()));
        env.build.push(("CARGO_NET_OFFLINE".into(), "true".into()));
        env.build.sort();
        env.build.dedup_by(|a, b| a.0 == b.0);
        env
    }
}

/// What stage 2 reads: the workspace, cargo's caches and configuration, the toolchain, and
/// the directories of the cargo and rustc binaries (rustup proxies, often in the home).
fn toolchain_paths(
    req: &BuildRequest<'_>,
    root: &Path,
    cargo: &Path,
    cargo_home: Option<&Path>,
    rustup_home: Option<&Path>,
) -> Vec<PathBuf> {
    let mut read_only = vec![root.to_path_buf()];
    if let Some(ch) = cargo_home {
        for keep in ["registry", "git", "bin", "config.toml", "config"] {
            read_only.push(ch.join(keep));
        }
    }
    if let Some(rh) = rustup_home {
        read_only.push(rh.to_path_buf());
    }
    // The cargo binary (a rustup proxy, often under the home directory) and what it links to.
    let binary_dirs = |b: PathBuf, out: &mut Vec<PathBuf>| {
        for c in [Some(b.clone()), b.canonicalize().ok()]
            .into_iter()
            .flatten()
        {
            if let Some(dir) = c.parent() {
                out.push(dir.to_path_buf());
            }
        }
    };
    binary_dirs(cargo.to_path_buf(), &mut read_only);
    // The rustc cargo will run (RUSTC, or the first on PATH: often a rustup proxy under the
    // home directory, elsewhere than a toolchain's cargo named by CARGO).
    let rustc = req.var("RUSTC").map(PathBuf::from).or_else(|| {
        std::env::split_paths(&req.var("PATH").unwrap_or_default())
            .map(|d| d.join("rustc"))
            .find(|c| c.is_file())
    });
    if let Some(r) = rustc {
        binary_dirs(r, &mut read_only);
    }
    read_only.sort();
    read_only.dedup();
    read_only
}

/// The directories stage 2 sees as empty: the caller's home, a CI runner's temporary
/// directory, `/root` and `/home`.
fn replaced_homes(req: &BuildRequest<'_>, home: Option<&PathBuf>) -> Vec<PathBuf> {
    let mut homes: Vec<PathBuf> = home.into_iter().cloned().collect();
    // A CI runner's temporary directory holds the job's credential files (actions/checkout's
    // git credentials, cloud logins) outside any home in container and self-hosted jobs.
    if let Some(t) = req
        .var("RUNNER_TEMP")
        .map(PathBuf::from)
        .filter(|t| t.is_dir())
    {
        homes.push(t);
    }
    for h in ["/root", "/home"] {
        if Path::new(h).is_dir() && !homes.iter().any(|x| x == Path::new(h)) {
            homes.push(PathBuf::from(h));
        }
    }
    homes
}

/// A policy exception as the user sees it: "openssl-sys: env OPENSSL_DIR (reason)".
fn grant_text(a: &SandboxAllow) -> String {
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
    format!("{}: {} ({})", a.krate, what.join("; "), a.reason)
}

/// Cargo's configuration files in use: its home's, and those of every directory above the
/// working directory and the workspace (secret files outside the replaced directories;
/// cargo's own credentials are gone with the rest of its home, a fresh tmpfs, and its
/// config.toml comes back without tokens).
fn cargo_configs(cwd: &Path, root: &Path, cargo_home: Option<&Path>) -> Vec<PathBuf> {
    let mut configs = Vec::new();
    if let Some(ch) = cargo_home {
        configs.extend(["config.toml", "config"].map(|c| ch.join(c)));
    }
    for dir in cwd.ancestors().chain(root.ancestors()) {
        configs.extend(["config.toml", "config"].map(|c| dir.join(".cargo").join(c)));
    }
    configs.sort();
    configs.dedup();
    configs
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
