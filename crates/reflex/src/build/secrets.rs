//! Secret files the build sandbox must not show as they are, besides the home directories it
//! replaces: password hashes and host keys in `/etc`, the project's `.env` files, cloud
//! credentials CI actions write into the workspace (`gha-creds-*.json`), registry tokens in
//! cargo's `config.toml`, and the job token that `actions/checkout` leaves in `.git/config`.
//! Files are hidden (an empty file mounted over them) or, where the build needs the rest of
//! the file, replaced by a copy without the secret. Pure data: the sandbox does the mounting.

use crate::knowledge::secrets::{SYSTEM_SECRET_FILES, is_project_secret_file};
use std::path::{Path, PathBuf};

/// What the sandbox hides and what it shows cleaned.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SecretFiles {
    pub hide: Vec<PathBuf>,
    pub replace: Vec<(PathBuf, String)>,
}

/// Directories not searched for project secrets.
const SKIP: &[&str] = &["target", ".git", "node_modules"];

/// How deep the project is searched (the workspace root is depth 0).
const DEPTH: usize = 4;

/// Finds the secret files for a build of the workspace at `root`: `cargo_configs` are cargo's
/// configuration files in use (its home's and the project's), `expose` the policy's
/// exceptions (relative to `root` or absolute).
pub fn find(root: &Path, cargo_configs: &[PathBuf], expose: &[PathBuf]) -> SecretFiles {
    let exposed = |p: &Path| {
        expose.iter().any(|e| {
            if e.is_absolute() {
                e == p
            } else {
                root.join(e) == p
            }
        })
    };
    let mut out = SecretFiles::default();
    // Absent ones are skipped by the sandbox.
    for s in SYSTEM_SECRET_FILES {
        out.hide.push(PathBuf::from(s));
    }
    if let Ok(dir) = std::fs::read_dir("/etc/ssh") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("ssh_host_") && name.ends_with("_key") {
                out.hide.push(e.path());
            }
        }
    }
    walk(root, 0, &mut |p| out.hide.push(p.to_path_buf()));
    // The repository around a workspace in a subdirectory (`mono/rust`) holds secrets too.
    if let Some(top) = repository_root(root)
        && top != root
    {
        walk(&top, 0, &mut |p| out.hide.push(p.to_path_buf()));
    }
    for c in cargo_configs {
        if let Ok(text) = std::fs::read_to_string(c)
            && let Some(clean) = without_registry_tokens(&text)
        {
            out.replace.push((c.clone(), clean));
        }
    }
    if let Some(config) = git_config(root) {
        git_secrets(&config, &mut out);
    }
    out.hide.retain(|p| !exposed(p) && p.is_file());
    out.replace.retain(|(p, _)| !exposed(p));
    out.hide.sort();
    out.hide.dedup();
    out
}

fn walk(dir: &Path, depth: usize, found: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            if depth < DEPTH && !SKIP.contains(&name.as_str()) {
                walk(&e.path(), depth + 1, found);
            }
        } else if kind.is_file() && is_project_secret_file(&name) {
            found(&e.path());
        }
    }
}

/// The top of the git repository holding `root`.
fn repository_root(root: &Path) -> Option<PathBuf> {
    root.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// A repository's configuration files without credentials: `.git/config`, the files it
/// includes (actions/checkout v6 keeps the job token in an included file under
/// `$RUNNER_TEMP`: hidden whole), submodules' and linked worktrees' configs.
fn git_secrets(config: &Path, out: &mut SecretFiles) {
    let git_dir = config.parent().unwrap_or(Path::new("."));
    let mut configs = vec![config.to_path_buf()];
    for sub in ["modules", "worktrees"] {
        collect_configs(&git_dir.join(sub), 0, &mut configs);
    }
    for c in configs {
        let Ok(text) = std::fs::read_to_string(&c) else {
            continue;
        };
        for included in includes(&text) {
            let p = if included.is_absolute() {
                included
            } else {
                c.parent().unwrap_or(git_dir).join(included)
            };
            if p.is_file() {
                out.hide.push(p);
            }
        }
        if let Some(clean) = without_git_credentials(&text) {
            out.replace.push((c, clean));
        }
    }
}

fn collect_configs(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() && depth < 6 {
            collect_configs(&p, depth + 1, out);
        } else if name == "config" || name.starts_with("config.") {
            out.push(p);
        }
    }
}

/// `path = ...` entries of `[include]` and `[includeIf ...]` sections.
fn includes(text: &str) -> Vec<PathBuf> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            section = l.to_ascii_lowercase();
            continue;
        }
        if (section.starts_with("[include]") || section.starts_with("[includeif"))
            && let Some((k, v)) = l.split_once('=')
            && k.trim().eq_ignore_ascii_case("path")
        {
            let v = v.trim().trim_matches('"');
            let v = match (v.strip_prefix("~/"), std::env::var("HOME")) {
                (Some(rest), Ok(home)) => format!("{home}/{rest}"),
                _ => v.to_string(),
            };
            out.push(PathBuf::from(v));
        }
    }
    out
}

/// The `.git/config` of the repository holding `root` (a worktree's `.git` file points to it).
fn git_config(root: &Path) -> Option<PathBuf> {
    for dir in root.ancestors() {
        let dot_git = dir.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git.join("config")).filter(|c| c.is_file());
        }
        if dot_git.is_file() {
            let text = std::fs::read_to_string(&dot_git).ok()?;
            let gitdir = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
            let gitdir = if gitdir.is_absolute() {
                gitdir
            } else {
                dir.join(gitdir)
            };
            // A linked worktree keeps its config in the common directory.
            let common = std::fs::read_to_string(gitdir.join("commondir"))
                .map(|c| gitdir.join(c.trim()))
                .unwrap_or(gitdir);
            return Some(common.join("config")).filter(|c| c.is_file());
        }
    }
    None
}

/// Cargo configuration without `token` and `secret-key` entries (registry credentials); `None`
/// when there is none to remove. Unparsable configuration is shown empty (cargo would refuse
/// it anyway).
pub fn without_registry_tokens(text: &str) -> Option<String> {
    if !text.contains("token") && !text.contains("secret-key") && !text.contains('@') {
        return None;
    }
    let Ok(mut table) = text.parse::<toml::Table>() else {
        return Some(String::new());
    };
    fn strip(t: &mut toml::Table) -> bool {
        let before = t.len();
        t.retain(|k, _| k != "token" && k != "secret-key");
        let mut removed = t.len() != before;
        for (_, v) in t.iter_mut() {
            match v {
                toml::Value::Table(inner) => removed |= strip(inner),
                // `[http] proxy = "http://user:password@proxy"`.
                toml::Value::String(u) => {
                    if let Some(clean) = without_userinfo(u) {
                        *u = clean;
                        removed = true;
                    }
                }
                _ => {}
            }
        }
        removed
    }
    strip(&mut table).then(|| toml::to_string(&table).unwrap_or_default())
}

/// A URL without `user:password@`, if it had some.
fn without_userinfo(url: &str) -> Option<String> {
    let scheme = url.find("://")?;
    let rest = &url[scheme + 3..];
    let host_end = rest.find('/').unwrap_or(rest.len());
    let at = rest[..host_end].rfind('@')?;
    Some(format!("{}{}", &url[..scheme + 3], &rest[at + 1..]))
}

/// Git configuration without `extraheader` entries (the job token `actions/checkout` stores)
/// and without user information in URLs; `None` when there is none.
pub fn without_git_credentials(text: &str) -> Option<String> {
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let key = line
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if key == "extraheader" {
            changed = true;
            continue;
        }
        let mut l = line.to_string();
        if let Some(clean) = without_userinfo(&l) {
            l = clean;
            changed = true;
        }
        out.push_str(&l);
        out.push('\n');
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tokens_go_and_the_rest_stays() {
        let text = "[registry]\ntoken = \"cio_secret\"\n[registries.corp]\nindex = \"sparse+https://r.invalid/\"\ntoken = \"t2\"\n[build]\njobs = 2\n";
        let clean = without_registry_tokens(text).unwrap();
        assert!(
            !clean.contains("cio_secret") && !clean.contains("t2"),
            "{clean}"
        );
        assert!(clean.contains("sparse+https://r.invalid/") && clean.contains("jobs = 2"));
        assert_eq!(without_registry_tokens("[build]\njobs = 2\n"), None);
        let proxy =
            without_registry_tokens("[http]\nproxy = \"http://ci:s3cret@proxy.invalid:3128\"\n")
                .unwrap();
        assert!(
            !proxy.contains("s3cret") && proxy.contains("proxy.invalid:3128"),
            "{proxy}"
        );
        assert_eq!(without_registry_tokens("token = [").as_deref(), Some(""));
    }

    #[test]
    fn checkout_tokens_and_url_credentials_go() {
        let text = "[core]\n\tbare = false\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic eC1hY2Nlc3M=\n[remote \"origin\"]\n\turl = https://x-access-token:ghs_abc@github.com/o/r\n";
        let clean = without_git_credentials(text).unwrap();
        assert!(
            !clean.contains("eC1hY2Nlc3M") && !clean.contains("ghs_abc"),
            "{clean}"
        );
        assert!(clean.contains("url = https://github.com/o/r") && clean.contains("bare = false"));
        assert_eq!(without_git_credentials("[core]\n\tbare = false\n"), None);
    }

    #[test]
    fn project_secrets_are_found_and_exposed_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            ".env",
            ".env.production",
            ".env.example",
            "gha-creds-1a2b.json",
            "sub/.npmrc",
            "target/.env",
            "src/lib.rs",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x").unwrap();
        }
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(
            root.join(".git/config"),
            "[http]\n\textraheader = AUTHORIZATION: basic x\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join(".git/modules/sub")).unwrap();
        std::fs::write(
            root.join(".git/modules/sub/config"),
            "[http]\n\textraheader = AUTHORIZATION: basic y\n",
        )
        .unwrap();
        let runner_temp = root.join("_temp/git-credentials-1.config");
        std::fs::create_dir_all(runner_temp.parent().unwrap()).unwrap();
        std::fs::write(
            &runner_temp,
            "[http]\n\textraheader = AUTHORIZATION: basic z\n",
        )
        .unwrap();
        let mut cfg = std::fs::read_to_string(root.join(".git/config")).unwrap();
        cfg.push_str(&format!(
            "[includeIf \"gitdir:{}/\"]\n\tpath = {}\n",
            root.display(),
            runner_temp.display()
        ));
        std::fs::write(root.join(".git/config"), cfg).unwrap();
        let config = root.join("cargo-config.toml");
        std::fs::write(&config, "[registry]\ntoken = \"t\"\n").unwrap();
        let found = find(
            root,
            std::slice::from_ref(&config),
            &[PathBuf::from(".env")],
        );
        let hidden: Vec<String> = found
            .hide
            .iter()
            .filter_map(|p| p.strip_prefix(root).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            hidden,
            vec![
                ".env.production",
                "_temp/git-credentials-1.config",
                "gha-creds-1a2b.json",
                "sub/.npmrc"
            ]
        );
        assert_eq!(
            found.hide.contains(&PathBuf::from("/etc/shadow")),
            Path::new("/etc/shadow").is_file()
        );
        let replaced: Vec<&PathBuf> = found.replace.iter().map(|(p, _)| p).collect();
        assert_eq!(
            replaced,
            vec![
                &config,
                &root.join(".git/config"),
                &root.join(".git/modules/sub/config")
            ]
        );
        assert!(
            found.hide.contains(&runner_temp),
            "the included credential file"
        );
    }
}
