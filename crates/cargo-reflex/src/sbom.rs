//! `cargo reflex sbom`: a software bill of materials of the locked graph.

use clap::{Args, ValueEnum};
use reflex::knowledge::paths::{cache_dir, cargo_home};
use reflex::sbom::{self, SbomOptions};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON
    Cyclonedx,
    /// SPDX 2.3 JSON
    Spdx,
}

#[derive(Args, Debug)]
pub struct SbomArgs {
    /// Document format
    #[arg(long, value_enum, default_value_t = SbomFormat::Cyclonedx)]
    pub format: SbomFormat,

    /// Add what the advisory database says about each package: CycloneDX `vulnerabilities` with an analysis state (VEX); SPDX security references
    #[arg(long)]
    pub vex: bool,

    /// Write the document to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Path to Cargo.toml of the workspace (default: the nearest one above the current directory)
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Describe only this lockfile (no workspace); `-` reads standard input
    #[arg(long = "file", short = 'f', value_name = "Cargo.lock")]
    pub file: Option<PathBuf>,

    /// RustSec-format advisory database directory for --vex (default: fetched clone if newer, else the embedded snapshot)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,

    /// cargo-reflex's cache: archive analyses and the fetched advisory database [default: $CARGO_REFLEX_CACHE, $XDG_CACHE_HOME/cargo-reflex or ~/.cache/cargo-reflex]
    #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
    pub cache_dir: Option<PathBuf>,

    /// Cargo home whose download cache and git checkouts hold the dependencies' manifests [default: $CARGO_HOME or ~/.cargo]
    #[arg(long, value_name = "DIR")]
    pub cargo_home: Option<PathBuf>,

    /// Print nothing on stderr but errors (no notes on unreadable licenses or advisory counts)
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// Accepted for cargo compatibility: `sbom` never uses the network
    #[arg(long, hide = true)]
    pub offline: bool,

    /// Accepted for cargo compatibility: cargo-reflex never writes Cargo.lock
    #[arg(long, hide = true)]
    pub locked: bool,

    /// Creation time (RFC 3339 or YYYY-MM-DD) [default: $SOURCE_DATE_EPOCH, else now]
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,
}

pub fn run(args: SbomArgs) -> Result<u8, reflex::Error> {
    let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
    let opts = SbomOptions {
        cwd,
        manifest_path: args.manifest_path.clone(),
        lockfile: args.file.clone(),
        cargo_home: args.cargo_home.clone().or_else(cargo_home),
        cache_dir: args.cache_dir.clone().or_else(cache_dir),
        vex: args.vex,
        advisory_db: args.advisory_db.clone(),
        created: created(args.now.as_deref())?,
    };
    let inv = sbom::inventory(&opts)?;
    let text = match args.format {
        SbomFormat::Cyclonedx => sbom::cyclonedx::render(&inv),
        SbomFormat::Spdx => sbom::spdx::render(&inv),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &text).map_err(|e| reflex::Error::io(path, e))?,
        None => crate::output::write_stdout(text.as_bytes())?,
    }
    if !args.quiet {
        notes(&inv);
    }
    Ok(0)
}

/// `--now`, else `SOURCE_DATE_EPOCH` (reproducible builds), else the clock.
fn created(now: Option<&str>) -> Result<jiff::Timestamp, reflex::Error> {
    if let Some(text) = now {
        return reflex::time::Clock::fixed(text)
            .map(|c| c.now())
            .ok_or_else(|| {
                reflex::Error::Usage(
                    format!("--now: `{text}` is not a date or RFC 3339 time"),
                    None,
                )
            });
    }
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(epoch) if !epoch.trim().is_empty() => epoch
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .ok_or_else(|| {
                reflex::Error::Usage(
                    format!("SOURCE_DATE_EPOCH: `{epoch}` is not a number of seconds"),
                    None,
                )
            }),
        _ => Ok(jiff::Timestamp::now()),
    }
}

/// What the document could not state says so on stderr: an SBOM missing licenses is not silent.
fn notes(inv: &sbom::Inventory) {
    let mut err = std::io::stderr().lock();
    let unknown = inv.unknown_licenses();
    if !unknown.is_empty() {
        let unread = unknown
            .iter()
            .filter(|(c, _)| matches!(c.meta_from, sbom::manifests::MetaFrom::Unavailable(_)))
            .count();
        let _ = writeln!(
            err,
            "note: {} of {} packages have no license in the SBOM ({unread} manifests not readable offline)",
            unknown.len(),
            inv.components.len()
        );
        for (c, why) in unknown.iter().take(5) {
            let _ = writeln!(err, "  {} {}: {why}", c.name, c.version);
        }
        if unknown.len() > 5 {
            let _ = writeln!(err, "  ... and {} more", unknown.len() - 5);
        }
        if unread > 0 {
            let _ = writeln!(
                err,
                "  help: `cargo fetch --locked` fills cargo's download cache (no dependency code runs); then run sbom again"
            );
        }
    }
    if let (Some(db), Some(vex)) = (&inv.database, &inv.vex) {
        let affected = vex.iter().filter(|s| s.state.affected()).count();
        let _ = writeln!(
            err,
            "note: {} advisory statements ({affected} affecting the locked versions) from the {} advisory database{}",
            vex.len(),
            db.origin,
            db.last_updated
                .as_deref()
                .map(|d| format!(" of {d}"))
                .unwrap_or_default()
        );
    }
}
