//! `cargo reflex approve`.

use clap::{Args, ValueEnum};
use reflex::graph::Graph;
use reflex::graph::workspace::Workspace;
use reflex::policy::BuildTimeKind;
use reflex::policy::approve::{self, Entry, Request};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// The crate may run its build script (`build-script-not-approved`)
    BuildScript,
    /// The crate may run as a proc-macro (`proc-macro-not-approved`)
    ProcMacro,
}

#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The crate, with the exact version reviewed (`name@1.2.3`); without a version, the one locked in Cargo.lock
    #[arg(value_name = "CRATE[@VERSION]")]
    pub krate: String,

    /// What was reviewed and why it is safe
    #[arg(long, value_name = "TEXT")]
    pub reason: String,

    /// Who reviewed it [default: git's user.email (or user.name) in the workspace, else $USER]
    #[arg(long, value_name = "WHO")]
    pub by: Option<String>,

    /// Let the crate (every version) run this kind of build-time code: a `[[build-time.allow]]` entry instead of a `[[trust]]` record for one version
    #[arg(long, value_enum, value_name = "KIND")]
    pub kind: Option<Kind>,

    /// Policy file to edit [default: reflex.toml at the workspace root, created if missing]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Path to Cargo.toml of the workspace (default: the nearest one above the current directory)
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

pub fn run(args: ApproveArgs) -> Result<u8, reflex::Error> {
    let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
    let manifest = args.manifest_path.as_ref().map(|p| cwd.join(p));
    let ws = Workspace::discover(manifest.as_deref(), &cwd)?;
    let lock = ws.lockfile_path();
    let graph = if lock.is_file() {
        Some(Graph::load(&lock)?)
    } else {
        None
    };
    let by = args
        .by
        .clone()
        .or_else(|| approve::git_identity(&ws.root))
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_default();
    let request = Request {
        spec: args.krate.clone(),
        kind: args.kind.map(|k| match k {
            Kind::BuildScript => BuildTimeKind::BuildScript,
            Kind::ProcMacro => BuildTimeKind::ProcMacro,
        }),
        reason: args.reason.clone(),
        by,
    };
    let entry = Entry::resolve(&request, graph.as_ref())?;
    let path = match &args.policy {
        Some(p) => cwd.join(p),
        None => ws.root.join(reflex::policy::FILE_NAME),
    };
    let done = approve::approve(&path, &entry, reflex::checks::catalog())?;
    let shown = shown(&done.path, &cwd);
    let mut err = std::io::stderr().lock();
    if !done.changed {
        let _ = writeln!(
            err,
            "{shown} already has this approval ({}); nothing written",
            what(&entry)
        );
        return Ok(0);
    }
    let _ = writeln!(
        err,
        "{} {shown}: {}",
        if done.created { "created" } else { "updated" },
        what(&entry)
    );
    std::io::stdout()
        .lock()
        .write_all(entry.to_toml().as_bytes())
        .map_err(|e| reflex::Error::io("<stdout>", e))?;
    let _ = writeln!(
        err,
        "note: commit {shown} on its own and have it reviewed before the change that needs it: \
         the gate does not apply approvals a change grants itself (`gate --base` reports them as policy-loosened)"
    );
    Ok(0)
}

fn what(entry: &Entry) -> String {
    match entry {
        Entry::Trust { krate, version, .. } => {
            format!("{krate} {version} trusted (this exact version)")
        }
        Entry::BuildTime { krate, kind, .. } => {
            let code = match kind {
                BuildTimeKind::ProcMacro => "run as a proc-macro",
                _ => "run its build script",
            };
            format!("{krate} may {code} (every version)")
        }
    }
}

/// The path as the user would type it: relative to the current directory when inside it.
fn shown(path: &Path, cwd: &Path) -> String {
    path.strip_prefix(cwd).unwrap_or(path).display().to_string()
}
