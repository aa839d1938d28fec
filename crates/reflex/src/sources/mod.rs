//! Data the checks draw on, all read as data: the advisory database, the registry index and
//! the project's CI and cargo configuration files.

pub mod advisory_db;
pub mod cargo_config;
pub mod crate_archive;
pub mod crate_store;
pub mod popularity;
pub mod registry_index;
