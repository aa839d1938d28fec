//! `build --monitor`: what every build script and proc-macro did, attributed to its crate, and
//! the alerts that follow. The sandbox records raw events (exec, connect, send, DNS queries,
//! sensitive reads, writes outside the expected places or into other crates' build outputs);
//! this module attributes them ([`attribution`]), decodes DNS names and payloads, looks for the
//! planted canary secrets ([`canary`]) in what happened and, after the build, in what it
//! produced ([`artifacts`]), and produces alerts in a form compatible with the Elastic Common
//! Schema ([`Alert::to_ecs`]). Every alert carries what became of the call: allowed, denied by
//! the sandbox, or failed; and one of the [`codes`].

mod alert;
mod analyzer;
pub mod artifacts;
pub mod attribution;
pub mod baseline;
pub mod canary;
pub mod codes;
pub mod dns;
mod export;
mod follow_up;
mod judge_exec;
mod judge_files;
mod judge_network;
pub mod normal;
mod summary;
#[cfg(test)]
mod test_support;
pub mod toolchain;

pub use alert::{Alert, DNS_QUERY_ACTION, outcome_text};
pub use analyzer::{Analyzer, Reported};
pub use export::{post_webhook, sarif, webhook_agent};
pub use follow_up::follow_up;
pub use reflex_sandbox_contract::{CallOutcome, ChainLink, MonitorEvent};
pub use summary::{Summary, render_summary};

use crate::finding::CodeSpec;

/// Every code a monitored build's alerts carry, with its usual severity and one line.
pub fn codes() -> &'static [CodeSpec] {
    codes::ALL
}
