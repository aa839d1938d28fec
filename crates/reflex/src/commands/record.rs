//! `--record`: a finished run of `gate`, `audit` or `recon` as an inventory record (where it
//! ran, its verdict and finding counts, the locked graph it judged) for the state store.

use crate::error::{Error, Result};
use crate::graph::Graph;
use crate::report::Report;
use crate::state::{FindingCounts, InventoryPackage, InventoryRecord, StateStore};
use std::path::Path;
use std::process::Command;

/// Where a run ran; what is not given is detected (CI variables, then git).
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The repository's remote URL or a name.
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
}

/// A recorded run: its id, the record, and how long the store took to write it.
pub struct Recorded {
    pub id: i64,
    pub run: InventoryRecord,
    pub store_time: std::time::Duration,
}

/// Records `report` (judged in `cwd`) in `store`.
pub fn record(
    report: &Report,
    origin: &Origin,
    cwd: &Path,
    store: &dyn StateStore,
) -> Result<Recorded> {
    let run = inventory_record(report, origin, cwd)?;
    let started = std::time::Instant::now();
    let id = store.record_run(&run)?;
    Ok(Recorded {
        id,
        run,
        store_time: started.elapsed(),
    })
}

/// The inventory record of a finished run.
pub fn inventory_record(report: &Report, origin: &Origin, cwd: &Path) -> Result<InventoryRecord> {
    let lockfile = report
        .target
        .lockfile
        .as_deref()
        .filter(|l| *l != "-")
        .ok_or_else(|| {
            Error::Usage(
                "--record needs the lockfile on disk (not standard input)".into(),
                Some("run in the workspace, or give --file Cargo.lock".into()),
            )
        })?;
    let graph = Graph::load(Path::new(lockfile))?;
    let root = report
        .target
        .workspace_root
        .as_deref()
        .map(Path::new)
        .or_else(|| Path::new(lockfile).parent())
        .unwrap_or(cwd);
    let root = if root.as_os_str().is_empty() {
        cwd
    } else {
        root
    };
    let detected = detect(root, origin);
    let s = &report.summary;
    let mut codes = std::collections::BTreeMap::new();
    for f in &report.findings {
        *codes.entry(f.code.to_string()).or_insert(0i64) += 1;
    }
    let private_registry_packages = (0..graph.len())
        .filter(|&i| matches!(graph.origin(i), crate::graph::Origin::Registry(_)))
        .count();
    let details = serde_json::json!({
        "private_registry_packages": private_registry_packages,
        "metrics": report.metrics,
        "ci": report.ci,
        "policy": report.policy,
        "checks": report.checks,
        "lockfile": lockfile,
    });
    let packages: Vec<InventoryPackage> = graph
        .packages()
        .iter()
        .enumerate()
        .map(|(i, p)| InventoryPackage {
            name: p.name.to_string(),
            version: p.version.to_string(),
            source: p.source.as_ref().map(|s| s.to_string()),
            checksum: p.checksum.as_ref().map(|c| c.to_string()),
            via: graph.via(i),
            dependents: graph
                .dependents(i)
                .iter()
                .map(|&d| {
                    let q = &graph.packages()[d];
                    format!("{} {}", q.name, q.version)
                })
                .collect(),
        })
        .collect();
    Ok(InventoryRecord {
        id: None,
        repository: origin
            .repository
            .clone()
            .or(detected.repository)
            .unwrap_or_else(|| directory_name(root, cwd)),
        branch: origin
            .branch
            .clone()
            .or(detected.branch)
            .unwrap_or_else(|| "HEAD".into()),
        commit: origin.commit.clone().or(detected.commit),
        recorded_at: report.generated_at.clone(),
        command: report.command.to_string(),
        passed: s.passed,
        deny_level: s.deny_level.map(|d| d.as_str().to_string()),
        counts: FindingCounts {
            total: s.total as i64,
            critical: s.critical as i64,
            high: s.high as i64,
            medium: s.medium as i64,
            low: s.low as i64,
            info: s.info as i64,
            denied: s.denied as i64,
        },
        codes,
        details,
        package_count: packages.len() as i64,
        packages,
        tool_version: report.tool.version.to_string(),
    })
}

fn directory_name(root: &Path, cwd: &Path) -> String {
    let abs = if root.is_absolute() {
        root.to_path_buf()
    } else {
        cwd.join(root)
    };
    abs.canonicalize()
        .unwrap_or(abs)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "unnamed".into())
}

/// What `given` leaves out of the repository, branch and commit: from the CI's variables
/// (GitHub Actions, GitLab CI), else from git in `root`.
fn detect(root: &Path, given: &Origin) -> Origin {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let github = var("GITHUB_REPOSITORY").map(|r| {
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        format!("{}/{r}", server.trim_end_matches('/'))
    });
    let repository = given.repository.is_none().then(|| {
        github
            .or_else(|| var("CI_PROJECT_URL"))
            .or_else(|| git(&["config", "--get", "remote.origin.url"]))
            .map(|u| clean_remote(&u))
    });
    let branch = given.branch.is_none().then(|| {
        var("GITHUB_HEAD_REF")
            .or_else(|| var("GITHUB_REF_NAME").filter(|_| var("GITHUB_REPOSITORY").is_some()))
            .or_else(|| var("CI_COMMIT_REF_NAME"))
            .or_else(|| git(&["rev-parse", "--abbrev-ref", "HEAD"]))
    });
    let commit = given.commit.is_none().then(|| {
        var("GITHUB_SHA")
            .or_else(|| var("CI_COMMIT_SHA"))
            .or_else(|| git(&["rev-parse", "HEAD"]))
    });
    Origin {
        repository: repository.flatten(),
        branch: branch.flatten(),
        commit: commit.flatten(),
    }
}

/// A remote URL without credentials, in one spelling for https and ssh remotes of the same
/// repository: `https://token@github.com/o/r.git` and `git@github.com:o/r.git` are both
/// `https://github.com/o/r`.
pub fn clean_remote(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let (host_path, scheme) = if let Some((scheme, rest)) = url.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let scheme = if scheme == "ssh" || scheme == "git" {
            "https"
        } else {
            scheme
        };
        (rest.to_string(), scheme)
    } else if let Some((host, path)) = url.split_once(':')
        && !host.contains('/')
    {
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        (format!("{host}/{path}"), "https")
    } else {
        return url.to_string();
    };
    // An ssh port (`ssh://git@host:22/o/r`) is not part of the repository's name.
    let host_path = match host_path.split_once('/') {
        Some((host, path)) if scheme == "https" && host.contains(':') && url.starts_with("ssh") => {
            format!("{}/{path}", host.split(':').next().unwrap_or(host))
        }
        _ => host_path,
    };
    format!("{scheme}://{host_path}")
}

#[cfg(test)]
mod tests {
    use super::clean_remote;

    #[test]
    fn remotes_lose_their_credentials_and_spelling() {
        for u in [
            "https://x-access-token:ghp_secret@github.com/o/r.git",
            "git@github.com:o/r.git",
            "ssh://git@github.com:22/o/r",
            "https://github.com/o/r/",
        ] {
            assert_eq!(clean_remote(u), "https://github.com/o/r", "{u}");
        }
        assert_eq!(clean_remote("my-service"), "my-service");
    }
}
