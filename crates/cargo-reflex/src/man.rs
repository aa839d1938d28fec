//! `cargo reflex man`: roff manual pages (clap_mangen) for the command and every subcommand.

use clap::{Args, CommandFactory};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write one page per command (`cargo-reflex.1`, `cargo-reflex-audit.1`, ...) into this directory instead of printing them all
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: ManArgs) -> Result<u8, reflex::Error> {
    let pages = pages().map_err(|e| reflex::Error::io("<man page>", e))?;
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).map_err(|e| reflex::Error::io(&dir, e))?;
            for (file, page) in &pages {
                let path = dir.join(file);
                std::fs::write(&path, page).map_err(|e| reflex::Error::io(&path, e))?;
            }
        }
        None => {
            let all: Vec<u8> = pages.into_iter().flat_map(|(_, page)| page).collect();
            crate::output::write_stdout(&all)?;
        }
    }
    Ok(0)
}

/// Every page as (file name, roff), the top-level command first, then subcommands depth first.
pub fn pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut pages = Vec::new();
    collect(cmd, &mut pages)?;
    Ok(pages)
}

fn collect(cmd: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
    let subcommands: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let man = clap_mangen::Man::new(cmd);
    let mut page = Vec::new();
    man.render(&mut page)?;
    pages.push((man.get_filename(), page));
    for sub in subcommands {
        collect(sub, pages)?;
    }
    Ok(())
}
