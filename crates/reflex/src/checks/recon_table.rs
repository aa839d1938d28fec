//! The rows and figures `recon` reports, filled by its checks.

use serde::Serialize;

/// What recon knows about one crate of the graph.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CrateRow {
    pub name: String,
    pub version: String,
    pub source: String,
    /// Publish date of the locked version (from the index's `pubtime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Newest unyanked, non-prerelease version and its date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_released: Option<String>,
    /// Unyanked releases newer than the locked one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions_behind: Option<usize>,
    /// Days since the crate's last release of any version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_since_release: Option<i64>,
    pub stale: Option<bool>,
    /// Packages in the graph that depend on it, directly or not.
    pub dependents: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub popularity_rank: Option<u32>,
    /// How attractive a takeover target it is: reach in the graph times popularity times
    /// staleness; 0 for crates released within the last year.
    pub takeover_score: f64,
    /// Dependencies of the locked version as the registry index lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// Build-time code and unsafe, from the crate archive (absent when it was not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_script: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proc_macro: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_files: Option<usize>,
    /// Unsafe functions, blocks, impls, traits and extern blocks outside tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsafe_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forbids_unsafe: Option<bool>,
    /// Finding codes about this crate.
    pub flags: Vec<String>,
}

/// Project-level recon figures.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ReconMetrics {
    pub crates: usize,
    pub registry_crates: usize,
    /// Crates whose release dates are known.
    pub dated: usize,
    pub median_age_days: Option<i64>,
    pub stale: usize,
    pub stale_percent: Option<f64>,
    pub stale_after_days: i64,
    pub vulnerable: usize,
    pub unmaintained: usize,
    pub typosquat_suspects: usize,
    pub confusion_suspects: usize,
    /// Crate archives read (build-time code and unsafe are known for these).
    pub archives_read: usize,
    /// Crates with a build script or proc-macro.
    pub build_time_code: usize,
    pub with_unsafe: usize,
    pub forbid_unsafe: usize,
}
