//! `cargo reflex init`.

use crate::audit::options;
use crate::cli::CommonArgs;
use clap::{Args, ValueEnum};
use reflex::init::{self, Hardening};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// The starter reflex.toml with today's baseline
    Policy,
    /// A hardened .cargo/config.toml
    CargoConfig,
    /// A GitHub Actions workflow: pinned actions, cargo-reflex from a pinned commit, the gate, then build and test in the monitored sandbox
    Ci,
    /// A Kubernetes NetworkPolicy for build pods
    NetworkPolicy,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Print one generated file to standard output instead of writing files
    #[arg(long, value_enum, value_name = "WHAT")]
    pub emit: Option<Emit>,

    /// Also write the hardened files: .cargo/config.toml, .github/workflows/reflex-build.yml, deploy/reflex-build-networkpolicy.yaml
    #[arg(long)]
    pub write_hardened: bool,

    /// Overwrite files that exist
    #[arg(long)]
    pub force: bool,

    /// Name prefix of your organisation's internal crates (repeatable)
    #[arg(long = "internal-prefix", value_name = "PREFIX")]
    pub internal_prefixes: Vec<String>,

    /// Name of the private registry
    #[arg(long, value_name = "NAME", default_value = "internal")]
    pub registry_name: String,

    /// Sparse index URL of the private registry; with it, the registry is declared and becomes the default for publishing (without it, the default registry stays crates.io)
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,

    /// Mirror that replaces crates.io (source replacement)
    #[arg(long, value_name = "URL")]
    pub mirror_url: Option<String>,

    /// CIDR of the registry or its proxy that build pods may reach (repeatable)
    #[arg(long = "registry-cidr", value_name = "CIDR")]
    pub registry_cidrs: Vec<String>,

    /// Full commit SHA of cargo-reflex's repository that the generated workflow installs [default: the commit this binary was built from, when known]
    #[arg(long, value_name = "SHA", value_parser = parse_rev)]
    pub reflex_rev: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: InitArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    let mut opts = options(c)?;
    opts.internal_prefixes = args.internal_prefixes.clone();
    let hardening = Hardening {
        internal_prefixes: args.internal_prefixes.clone(),
        registry_name: args.registry_name.clone(),
        registry_url: args.registry_url.clone(),
        mirror_url: args.mirror_url.clone(),
        registry_cidrs: args.registry_cidrs.clone(),
    }
    .with_defaults();
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock<'_>, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|e| reflex::Error::io("<stdout>", e))
    };
    match args.emit {
        Some(Emit::CargoConfig) => {
            return print(&mut out, &init::cargo_config(&hardening)).map(|_| 0);
        }
        Some(Emit::Ci) => {
            let rev = reflex_rev(&args);
            warn_placeholder(rev.as_deref());
            return print(&mut out, &init::ci_workflow(rev.as_deref())).map(|_| 0);
        }
        Some(Emit::NetworkPolicy) => {
            return print(&mut out, &init::network_policy(&hardening)).map(|_| 0);
        }
        _ => {}
    }
    let starter = init::starter_policy(&opts, &|_, _, _| {})?;
    if args.emit == Some(Emit::Policy) {
        return print(&mut out, &starter.policy_text).map(|_| 0);
    }
    let root = match &c.manifest_path {
        Some(m) => m.parent().map(Path::to_path_buf).unwrap_or_default(),
        None => reflex::graph::workspace::Workspace::discover(None, &opts.cwd)?.root,
    };
    let mut files = vec![(
        root.join(reflex::policy::FILE_NAME),
        starter.policy_text.clone(),
    )];
    if args.write_hardened {
        files.push((
            root.join(".cargo/config.toml"),
            init::cargo_config(&hardening),
        ));
        let rev = reflex_rev(&args);
        warn_placeholder(rev.as_deref());
        files.push((
            root.join(".github/workflows/reflex-build.yml"),
            init::ci_workflow(rev.as_deref()),
        ));
        files.push((
            root.join("deploy/reflex-build-networkpolicy.yaml"),
            init::network_policy(&hardening),
        ));
    }
    // All or nothing: refuse before writing anything.
    if let Some((path, _)) = files.iter().find(|(p, _)| p.exists() && !args.force) {
        return Err(reflex::Error::Usage(
            format!("{} exists", path.display()),
            Some("pass --force to overwrite, or --emit to print instead".into()),
        ));
    }
    let mut written = Vec::new();
    for (path, text) in &files {
        written.push(write(path, text)?);
    }
    let mut err = std::io::stderr().lock();
    for w in &written {
        let _ = writeln!(err, "wrote {}", w.display());
    }
    let _ = writeln!(
        err,
        "baseline: {} build-time approvals, {} cooldown exemptions, {} exceptions (reason \"baseline\"); `cargo reflex gate` now passes and fails on anything new",
        starter.approvals, starter.cooldown_exempt, starter.exceptions
    );
    if !starter.baselined_advisories.is_empty() {
        let _ = writeln!(
            err,
            "{} known advisories accepted into the baseline (they fail the gate again when the exception expires; fix them before):",
            starter.baselined_advisories.len()
        );
        for a in &starter.baselined_advisories {
            let _ = writeln!(err, "  {a}");
        }
    }
    for r in &starter.not_baselined {
        let _ = writeln!(err, "not accepted into the baseline (fix it): {r}");
    }
    if !args.write_hardened {
        let _ = writeln!(
            err,
            "hardened configuration: `cargo reflex init --emit ci|cargo-config|network-policy`, or --write-hardened"
        );
    }
    Ok(if starter.not_baselined.is_empty() {
        0
    } else {
        1
    })
}

/// The commit the generated workflow installs: `--reflex-rev`, else the one this binary was
/// built from (`CARGO_REFLEX_REV` at build time, which the GitHub Action sets when it is pinned
/// by commit).
fn reflex_rev(args: &InitArgs) -> Option<String> {
    args.reflex_rev.clone().or_else(|| {
        option_env!("CARGO_REFLEX_REV")
            .filter(|r| init::is_commit(r))
            .map(str::to_string)
    })
}

fn parse_rev(s: &str) -> Result<String, String> {
    let rev = s.trim().to_ascii_lowercase();
    if init::is_commit(&rev) {
        Ok(rev)
    } else {
        Err(format!(
            "`{s}` is not a full commit SHA (40 hex digits): a branch or tag can be moved"
        ))
    }
}

fn warn_placeholder(rev: Option<&str>) {
    if rev.is_none() {
        let _ = writeln!(
            std::io::stderr().lock(),
            "note: this cargo-reflex does not know the commit it was built from: the workflow's CARGO_REFLEX_REV is a placeholder its install step refuses. Pass --reflex-rev <full commit SHA of {}> (one you reviewed).",
            init::REPOSITORY
        );
    }
}

fn write(path: &PathBuf, text: &str) -> Result<PathBuf, reflex::Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| reflex::Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| reflex::Error::io(path, e))?;
    Ok(path.clone())
}
