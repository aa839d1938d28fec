//! cargo-reflex library: reads a Rust workspace as data (never runs its code), builds the
//! resolved dependency graph, enriches it from advisory databases, registry indexes and the
//! project's CI and cargo configuration, runs checks and returns a [`report::Report`].
//!
//! Data flow: workspace files -> [`graph`] -> [`sources`] -> [`checks`] -> [`report`].
//! The library never prints and never exits the process.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod build;
pub mod checks;
pub mod commands;
pub mod drill;
pub mod error;
pub mod finding;
pub mod graph;
pub mod init;
pub mod knowledge;
pub mod monitor;
pub mod parallel;
pub mod policy;
pub mod report;
pub mod respond;
pub mod review;
pub mod sbom;
pub mod sources;
pub mod state;
pub mod survey;
pub mod time;

pub use error::Error;
