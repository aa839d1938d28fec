//! GitHub Actions workflows.

mod action_refs;
mod credentials;
mod job;
mod permissions;
mod release_caches;
mod step;
mod template_injection;
mod untrusted_code;

use super::yaml::{Node, Value};
use super::{CiStats, FileCtx, Sink, release};
use action_refs::action_ref_rules;
use credentials::{env_secrets, registry_tokens, uses_auth_action};
use job::{Workflow, analyse_job};
use permissions::permissions;
use release_caches::{JobFacts, cache_rules};

pub(super) fn analyse(f: &FileCtx<'_>, doc: &Node, out: &mut Sink, stats: &mut CiStats) {
    let trig = release::triggers(doc);
    let wf_env = doc.get("env");
    // A composite action (`runs.steps`) is analysed as one job named after the action.
    let composite = composite_action_job(doc);
    let jobs = if composite.is_empty() {
        doc.get("jobs").map(Node::entries).unwrap_or(&[])
    } else {
        &composite[..]
    };
    if composite.is_empty() {
        permissions(f, doc, jobs, out);
    }
    let workflow = Workflow {
        file: f,
        triggers: &trig.names,
        env: wf_env,
        secrets: wf_env.map(env_secrets).unwrap_or_default(),
    };
    action_ref_rules(f, jobs, out);
    let any_auth_action = jobs.iter().any(|(_, j)| uses_auth_action(j));
    if !any_auth_action {
        registry_tokens(f, "every job of the workflow", wf_env, out);
    }
    let facts: Vec<(String, JobFacts)> = jobs
        .iter()
        .map(|(job_name, job)| {
            let facts = analyse_job(&workflow, job_name, job, out, stats);
            (job_name.clone(), facts)
        })
        .collect();
    cache_rules(f, &trig, &facts, out);
}

/// A composite action's `runs.steps` as one job named after the action (no jobs when the
/// file is a workflow).
fn composite_action_job(doc: &Node) -> Vec<(String, Node)> {
    match doc.get("runs").and_then(|r| r.get("steps")) {
        Some(steps) => {
            let name = doc.get_str("name").unwrap_or("composite action");
            let job = Node {
                value: Value::Map(vec![("steps".into(), steps.clone())]),
                line: steps.line,
            };
            vec![(format!("action {name}"), job)]
        }
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
