//! `cargo reflex gate`.

use crate::audit::options;
use crate::cli::CommonArgs;
use crate::output;
use clap::Args;
use reflex::commands::gate;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct GateArgs {
    /// Policy file [default: reflex.toml at the workspace root; without one, the default policy]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Also review the change from this revision (`BASE`, `BASE..HEAD`, `BASE...HEAD`); cooldown then applies to incoming versions only
    #[arg(long, value_name = "RANGE", conflicts_with = "base_file")]
    pub base: Option<String>,

    /// Also review the change from this lockfile
    #[arg(long, value_name = "Cargo.lock")]
    pub base_file: Option<PathBuf>,

    /// With --base-file: the policy file the change started from (with --base it is read from that revision); what the change's own policy loosens does not apply to it
    #[arg(long, value_name = "FILE", requires = "base_file")]
    pub base_policy: Option<PathBuf>,

    /// Append a Markdown summary to this file (for example "$GITHUB_STEP_SUMMARY")
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,

    /// Name prefix of your organisation's internal crates (repeatable), added to the policy's
    #[arg(long = "internal-prefix", value_name = "PREFIX")]
    pub internal_prefixes: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub record: crate::record::RecordArgs,
}

pub fn run(args: GateArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    let mut opts = options(c)?;
    opts.policy = args.policy.clone();
    opts.internal_prefixes = args.internal_prefixes.clone();
    opts.base_policy = args.base_policy.clone();
    if args.base.is_some() || args.base_file.is_some() {
        opts.compare = Some(crate::review::comparison(
            args.base.as_deref(),
            args.base_file.as_ref(),
            None,
            &mut opts,
        )?);
    }
    let store = args.record.open()?;
    let report = crate::audit::with_progress(c, |progress| gate(&opts, progress))?;
    if let Some(path) = &args.summary {
        let text = reflex::report::markdown::render(&report);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| reflex::Error::io(path, e))?;
    }
    if report.policy.as_ref().is_some_and(|p| p.path.is_none()) && !c.quiet {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "note: no reflex.toml found; applying the default policy (findings at or above high are denied). `cargo reflex init` writes a starter policy."
        );
    }
    output::emit(&output::render(&report, c), c)?;
    args.record.save(store.as_deref(), &report, c.quiet)?;
    Ok(if report.summary.passed { 0 } else { 1 })
}
