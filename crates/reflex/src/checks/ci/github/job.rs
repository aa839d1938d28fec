//! One job of a workflow: the triggers it runs under, its steps in order, and the rules that
//! look at the job as a whole (secrets in job- and workflow-level `env:`, untrusted code
//! built under a privileged trigger).

use super::super::injection;
use super::super::yaml::{Node, Value};
use super::super::{CiStats, FileCtx, NAME, SECRET_IN_BUILD, Sink, UNTRUSTED_CHECKOUT};
use super::credentials::{cloud_env_keys, env_secrets, registry_tokens, uses_auth_action};
use super::release_caches::JobFacts;
use super::step::analyse_step;
use crate::finding::Finding;

/// What every job of a workflow shares.
pub(super) struct Workflow<'a> {
    pub file: &'a FileCtx<'a>,
    /// The workflow's triggers (`on:`).
    pub triggers: &'a [String],
    /// The workflow-level `env:`.
    pub env: Option<&'a Node>,
    /// The secrets the workflow-level `env:` names.
    pub secrets: Vec<String>,
}

/// One job as its steps see it.
pub(super) struct JobCtx<'a> {
    pub file: &'a FileCtx<'a>,
    pub name: &'a str,
    /// The job-level `env:`.
    pub env: Option<&'a Node>,
    /// The workflow-level `env:`.
    pub workflow_env: Option<&'a Node>,
    /// `strategy.matrix`.
    pub matrix: Option<&'a Node>,
    /// The privileged triggers the job runs under (see [`injection::PRIVILEGED_TRIGGERS`]).
    pub privileged: Vec<&'static str>,
    /// The job publishes through `rust-lang/crates-io-auth-action` (trusted publishing).
    pub auth_action: bool,
}

/// What the steps of a job have done so far, for the rules that depend on step order.
#[derive(Default)]
pub(super) struct JobProgress {
    /// An earlier step ran cargo on the dependency graph.
    pub compiled: bool,
    /// The line of the step that checked out or fetched untrusted code.
    pub untrusted_checkout: Option<u32>,
    /// A step after the untrusted checkout built or ran the checked-out code.
    pub builds_after_untrusted: bool,
}

/// Runs every rule on one job and returns what the release rules need to know about it.
pub(super) fn analyse_job(
    workflow: &Workflow<'_>,
    job_name: &str,
    job: &Node,
    out: &mut Sink,
    stats: &mut CiStats,
) -> JobFacts {
    let f = workflow.file;
    let effective = job_triggers(job, workflow.triggers);
    let ctx = JobCtx {
        file: f,
        name: job_name,
        env: job.get("env"),
        workflow_env: workflow.env,
        matrix: job.get("strategy").and_then(|s| s.get("matrix")),
        privileged: injection::PRIVILEGED_TRIGGERS
            .iter()
            .copied()
            .filter(|t| effective.iter().any(|e| e == t))
            .collect(),
        auth_action: uses_auth_action(job),
    };
    if !ctx.auth_action {
        registry_tokens(f, &format!("job `{job_name}`"), ctx.env, out);
    }
    let mut facts = JobFacts {
        needs: job_needs(job),
        ..JobFacts::default()
    };
    cloud_env_keys(f, job_name, ctx.env, out);
    let mut progress = JobProgress::default();
    for step in job.get("steps").map(Node::items).unwrap_or(&[]) {
        analyse_step(&ctx, step, &mut facts, &mut progress, out, stats);
    }
    if progress.compiled {
        secrets_in_build_env(&ctx, &workflow.secrets, out);
    }
    untrusted_code_built(&ctx, &effective, &progress, out);
    facts
}

/// Triggers under which the job actually runs: the workflow's, narrowed by a job `if:` that
/// requires `github.event_name == '...'` (every `||` branch naming one; any `!=` or other
/// alternative keeps them all).
fn job_triggers(job: &Node, workflow: &[String]) -> Vec<String> {
    let Some(cond) = job.get_str("if") else {
        return workflow.to_vec();
    };
    if cond.contains("!=") || cond.split("||").any(|part| !part.contains("event_name")) {
        return workflow.to_vec();
    }
    let named: Vec<String> = workflow
        .iter()
        .filter(|t| {
            cond.contains(&format!("event_name == '{t}'"))
                || cond.contains(&format!("event_name == \"{t}\""))
        })
        .cloned()
        .collect();
    if named.is_empty() {
        workflow.to_vec()
    } else {
        named
    }
}

/// The jobs named by `needs:`.
fn job_needs(job: &Node) -> Vec<String> {
    match job.get("needs").map(|n| &n.value) {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|n| n.str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `ci-secret-in-build` for job- and workflow-level `env:` of a job that runs cargo.
fn secrets_in_build_env(job: &JobCtx<'_>, workflow_secrets: &[String], out: &mut Sink) {
    let job_secrets = job.env.map(env_secrets).unwrap_or_default();
    for (scope, secrets, line) in [
        ("job", &job_secrets[..], job.env.map(|e| e.line)),
        (
            "workflow",
            workflow_secrets,
            job.workflow_env.map(|e| e.line),
        ),
    ] {
        if !secrets.is_empty() {
            out.push(
                Finding::new(NAME, &SECRET_IN_BUILD, format!("{scope}-level env exposes secrets {} to every step of job `{}`, which runs cargo", secrets.join(", "), job.name))
                    .at(job.file.path.clone(), line)
                    .evidence("every build script and proc-macro in the graph can read these variables")
                    .remedy("set secrets in `env:` of the single step that needs them"),
            );
        }
    }
}

/// `ci-untrusted-checkout`: the job checks out untrusted code under a trigger that runs with
/// the base repository's secrets, then builds or runs it.
fn untrusted_code_built(
    job: &JobCtx<'_>,
    effective: &[String],
    progress: &JobProgress,
    out: &mut Sink,
) {
    let dangerous = ["pull_request_target", "workflow_run", "issue_comment"]
        .into_iter()
        .find(|t| effective.iter().any(|e| e == t));
    if let (Some(trigger), Some(line), true) = (
        dangerous,
        progress.untrusted_checkout,
        progress.builds_after_untrusted,
    ) {
        let what = if trigger == "workflow_run" {
            "the triggering run's code (a fork's pull request can trigger it)"
        } else {
            "pull request code"
        };
        out.push(
            Finding::new(NAME, &UNTRUSTED_CHECKOUT, format!("job `{}` builds {what} under {trigger}", job.name))
                .at(job.file.path.clone(), Some(line))
                .evidence(format!("{trigger} runs with the base repository's secrets, its caches and a token that can write; the build scripts, tests and tools of the checked-out code run with them"))
                .remedy("build untrusted code under the `pull_request` trigger (no secrets, read-only token); keep the privileged workflow to commenting or labelling, and pass data through artifacts it only reads"),
        );
    }
}
