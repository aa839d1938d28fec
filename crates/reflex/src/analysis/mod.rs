//! Source analysis of crate archives with `syn`: what build scripts and proc-macros can do,
//! and how much `unsafe` a crate contains. Code is parsed, never compiled or run.

pub mod behaviour;
pub mod capabilities;
pub mod crate_analysis;
pub mod parsing;
pub mod roles;
