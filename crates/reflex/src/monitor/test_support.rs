//! What the monitor's unit tests share: an analyzer with one canary, and the process chains
//! of a build script and of rustc compiling its crate.

use super::analyzer::Analyzer;
use super::canary::{Canaries, Canary};
use reflex_sandbox_contract::ChainLink;

pub fn link(pid: u32, exe: &str, argv: &[&str]) -> ChainLink {
    ChainLink {
        pid,
        exe: Some(exe.into()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
    }
}

pub const SCRIPT: &str = "/w/target/debug/build/evasion-build-0123456789abcdef/build-script-build";

pub fn analyzer() -> Analyzer {
    Analyzer {
        canaries: Canaries(vec![Canary::new(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )]),
        versions: [("evasion-build", "0.1.0")]
            .into_iter()
            .map(|(a, b)| (a.into(), b.into()))
            .collect(),
        sandboxed: true,
    }
}

pub fn script_chain() -> Vec<ChainLink> {
    vec![
        link(10, SCRIPT, &[SCRIPT]),
        link(2, "/t/bin/cargo", &["cargo", "build"]),
    ]
}

pub const RUSTC_PRELOAD: &[&str] = &[
    "rustc",
    "--crate-name",
    "evasion_build",
    "--edition=2021",
    "-C",
    "extra-filename=-0123456789abcdef",
    "--out-dir",
    "/w/target/debug/deps",
];

pub fn rustc_chain() -> Vec<ChainLink> {
    vec![
        link(20, "/t/bin/rustc", RUSTC_PRELOAD),
        link(2, "/t/bin/cargo", &["cargo", "build"]),
    ]
}
