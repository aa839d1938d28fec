//! Shared knowledge: facts about the world that several parts of cargo-reflex need and that
//! belong to none of them. What a secret looks like ([`secrets`]), how versions relate
//! ([`versions`]), where cargo's and cargo-reflex's files live ([`paths`]), what unsafe
//! Rust looks like ([`unsafe_count`]).
//!
//! Leaf modules: they depend on nothing in the crate but [`crate::finding`], [`crate::error`]
//! and [`crate::time`] (and on external crates and the sandbox contract), so checks, sources,
//! the build planner, the monitor and the drill can all use them without depending on each
//! other.

pub mod paths;
pub mod secrets;
pub mod unsafe_count;
pub mod versions;
