//! One step of a job: the cargo it runs, the scripts it pastes expressions into, what it
//! publishes or caches, the credentials it is given, and the code it checks out.

use super::super::yaml::{Node, Value};
use super::super::{
    CiStats, FileCtx, NAME, SECRET_AFTER_BUILD, SECRET_IN_BUILD, Sink, release, secret_refs, shell,
};
use super::credentials::{cloud_action, cloud_env_keys, registry_tokens, static_token_finding};
use super::job::{JobCtx, JobProgress};
use super::release_caches::JobFacts;
use super::template_injection::injections;
use super::untrusted_code::{runs_repository_code, untrusted_fetch, untrusted_ref};
use crate::finding::Finding;

/// Where the names a step's scripts use resolve: the step's `env:`, then the job's and the
/// workflow's, and the job's matrix.
pub(super) struct StepScope<'a> {
    pub job: &'a JobCtx<'a>,
    /// The step-level `env:`.
    pub env: Option<&'a Node>,
}

impl StepScope<'_> {
    fn envs(&self) -> impl Iterator<Item = &Node> {
        [self.env, self.job.env, self.job.workflow_env]
            .into_iter()
            .flatten()
    }

    /// The value a variable or expression gives cargo's flags, when it can be known: a matrix
    /// key that agrees on `--locked`, or an `env:` value that is no expression (or one that
    /// carries `--locked` anyway).
    pub fn cargo_flags(&self, name: &str) -> Option<String> {
        let name = name.strip_prefix("env.").unwrap_or(name);
        if let Some(key) = name.strip_prefix("matrix.") {
            return matrix_value(self.job.matrix?, key);
        }
        self.envs()
            .find_map(|e| e.get_str(name))
            .filter(|v| !v.contains("${{") || v.contains("--locked"))
            .map(str::to_string)
    }

    /// The `env:` value of `name` as written.
    pub fn env_value(&self, name: &str) -> Option<String> {
        self.envs()
            .find_map(|e| e.get_str(name))
            .map(str::to_string)
    }
}

/// Runs every rule on one step, in order, and records what it does in `facts` and
/// `progress`.
pub(super) fn analyse_step(
    job: &JobCtx<'_>,
    step: &Node,
    facts: &mut JobFacts,
    progress: &mut JobProgress,
    out: &mut Sink,
    stats: &mut CiStats,
) {
    let f = job.file;
    let scope = StepScope {
        job,
        env: step.get("env"),
    };
    let uses = step.get_str("uses").unwrap_or("");
    let with = step.get("with");
    let label = step
        .get_str("name")
        .map(str::to_string)
        .unwrap_or_else(|| format!("step at line {}", step.line));
    let mut compiles = false;
    let mut runs_code = false;
    if let Some(run) = step.get("run").filter(|r| r.str().is_some()) {
        let script = run.str().unwrap_or("");
        compiles = run_script(&scope, &label, run, out, stats);
        runs_code = runs_repository_code(script);
        // `gh pr checkout` and friends: this script's own build steps count too.
        if progress.untrusted_checkout.is_none() && untrusted_fetch(script) {
            progress.untrusted_checkout = Some(step.line);
        }
    }
    github_script(&scope, &label, uses, with, out);
    record_release_facts(f, step, uses, with, facts);
    if !job.auth_action {
        publish_crates_token(job, uses, with, out);
        registry_tokens(
            f,
            &format!("job `{}` step `{label}`", job.name),
            scope.env,
            out,
        );
    }
    if uses.starts_with("actions-rs/cargo@") || uses.starts_with("actions-rs/clippy-check@") {
        compiles |= actions_rs_cargo(&scope, step.line, uses, with, out, stats);
    }
    let local_action = uses.starts_with("./") || uses.starts_with("$/");
    if progress.untrusted_checkout.is_some() && (compiles || runs_code || local_action) {
        progress.builds_after_untrusted = true;
    }
    if uses.starts_with("actions/checkout@") && progress.untrusted_checkout.is_none() {
        let r = with.and_then(|w| w.get_str("ref")).unwrap_or("");
        let repo = with.and_then(|w| w.get_str("repository")).unwrap_or("");
        if untrusted_ref(r) || untrusted_ref(repo) {
            progress.untrusted_checkout = Some(step.line);
        }
    }
    step_secrets(&scope, step, &label, with, compiles, progress.compiled, out);
    cloud_action(f, job.name, uses, with, step.line, out);
    cloud_env_keys(f, job.name, scope.env, out);
    progress.compiled |= compiles;
}

/// The rules on a `run:` script: its cargo calls, tool installs and downloads, tokens on the
/// command line, template injection. Returns whether it runs cargo on the dependency graph.
fn run_script(
    scope: &StepScope<'_>,
    label: &str,
    run: &Node,
    out: &mut Sink,
    stats: &mut CiStats,
) -> bool {
    let (f, job_name) = (scope.job.file, scope.job.name);
    let script = run.str().unwrap_or("");
    let start = f.script_start(run.line);
    let lookup = |name: &str| scope.cargo_flags(name);
    let mut compiles = false;
    for call in shell::cargo_calls(script, &lookup, f.aliases) {
        compiles |= call.subcommand != "fetch";
        let line = start + u32::try_from(call.line).unwrap_or(0);
        f.count_call(job_name, &call.command, &call.locked, line, out, stats);
    }
    let commands = f.tool_rules(job_name, script, start, &lookup, out);
    if !scope.job.auth_action {
        for call in commands
            .iter()
            .filter(|c| release::token_on_command_line(c))
        {
            out.push(static_token_finding(
                f,
                &format!(
                    "`cargo {}` in job `{job_name}` passes a stored secret",
                    call.subcommand
                ),
                start + u32::try_from(call.line).unwrap_or(0),
            ));
        }
    }
    injections(scope, label, script, start, out);
    compiles
}

/// `actions/github-script` pastes expressions into JavaScript: template injection.
fn github_script(
    scope: &StepScope<'_>,
    label: &str,
    uses: &str,
    with: Option<&Node>,
    out: &mut Sink,
) {
    if uses.starts_with("actions/github-script@")
        && let Some(js) = with
            .and_then(|w| w.get("script"))
            .filter(|n| n.str().is_some())
    {
        let start = scope.job.file.script_start(js.line);
        injections(scope, label, js.str().unwrap_or(""), start, out);
    }
}

/// What the step publishes, the caches it restores and whether it uploads artifacts.
fn record_release_facts(
    f: &FileCtx<'_>,
    step: &Node,
    uses: &str,
    with: Option<&Node>,
    facts: &mut JobFacts,
) {
    let script = step.get("run").and_then(Node::str);
    if facts.publishes.is_none()
        && let Some(what) = release::publishes(uses, with, script)
    {
        facts.publishes = Some((what, step.line));
    }
    if let Some(what) = release::restores_cache(uses, with, f.text) {
        facts.caches.push((what, step.line));
    }
    facts.uploads_artifacts |= uses.starts_with("actions/upload-artifact@");
}

/// `katyo/publish-crates` given a stored `registry-token`.
fn publish_crates_token(job: &JobCtx<'_>, uses: &str, with: Option<&Node>, out: &mut Sink) {
    if uses
        .to_ascii_lowercase()
        .starts_with("katyo/publish-crates@")
        && let Some(t) = with.and_then(|w| w.get("registry-token"))
        && t.str().is_some_and(|v| v.contains("secrets."))
    {
        out.push(static_token_finding(
            job.file,
            &format!(
                "job `{}` gives katyo/publish-crates a stored token",
                job.name
            ),
            t.line,
        ));
    }
}

/// `actions-rs/cargo` and `actions-rs/clippy-check`: the cargo command their inputs make, with
/// the same rules as a `run:` script. Returns whether it runs cargo on the dependency graph.
fn actions_rs_cargo(
    scope: &StepScope<'_>,
    line: u32,
    uses: &str,
    with: Option<&Node>,
    out: &mut Sink,
    stats: &mut CiStats,
) -> bool {
    let (f, job_name) = (scope.job.file, scope.job.name);
    let lookup = |name: &str| scope.cargo_flags(name);
    let command = with
        .and_then(|w| w.get_str("command"))
        .unwrap_or(if uses.contains("clippy") {
            "clippy"
        } else {
            ""
        });
    let args = with.and_then(|w| w.get_str("args")).unwrap_or("");
    let script = format!("cargo {command} {args}");
    let mut compiles = false;
    for call in shell::cargo_calls(&script, &lookup, f.aliases) {
        compiles |= call.subcommand != "fetch";
        f.count_call(job_name, &call.command, &call.locked, line, out, stats);
    }
    f.tool_rules(job_name, &script, line, &lookup, out);
    compiles
}

/// `ci-secret-in-build` for a step that runs cargo with secrets in its `env:` or `with:`, and
/// `ci-secret-after-build` for one that uses secrets after an earlier step ran cargo.
fn step_secrets(
    scope: &StepScope<'_>,
    step: &Node,
    label: &str,
    with: Option<&Node>,
    compiles: bool,
    compiled_before: bool,
    out: &mut Sink,
) {
    let (f, job_name) = (scope.job.file, scope.job.name);
    let mut step_secrets: Vec<String> = Vec::new();
    for node in [scope.env, with].into_iter().flatten() {
        for (s, _) in node.strings() {
            for name in secret_refs(s) {
                if !step_secrets.contains(&name) {
                    step_secrets.push(name);
                }
            }
        }
    }
    if compiles && !step_secrets.is_empty() {
        out.push(
            Finding::new(NAME, &SECRET_IN_BUILD, format!("job `{job_name}` step `{label}` runs cargo with secrets {}", step_secrets.join(", ")))
                .at(f.path.clone(), Some(step.line))
                .evidence("every build script and proc-macro in the graph can read these variables")
                .remedy("move the secret to a separate step or job that does not compile, or build with `cargo reflex build`"),
        );
    } else if compiled_before && !step_secrets.is_empty() {
        out.push(
            Finding::new(NAME, &SECRET_AFTER_BUILD, format!("job `{job_name}` step `{label}` uses secrets {} after dependency code ran", step_secrets.join(", ")))
                .at(f.path.clone(), Some(step.line))
                .evidence("an earlier step of this job compiled dependencies; a build script can leave code behind for later steps")
                .remedy("use the secret in a separate job that only downloads the build's artifacts"),
        );
    }
}

/// A matrix key's value when every combination agrees on whether it carries `--locked`.
fn matrix_value(matrix: &Node, key: &str) -> Option<String> {
    let mut values: Vec<String> = Vec::new();
    if let Some(v) = matrix.get(key) {
        match &v.value {
            Value::Seq(items) => {
                values.extend(items.iter().filter_map(|n| n.str().map(str::to_string)))
            }
            Value::Str(s) => values.push(s.clone()),
            _ => {}
        }
    }
    for inc in matrix.get("include").map(Node::items).unwrap_or(&[]) {
        if let Some(s) = inc.get_str(key) {
            values.push(s.to_string());
        }
    }
    if values.is_empty() {
        return None;
    }
    let locked: Vec<bool> = values
        .iter()
        .map(|v| v.contains("--locked") || v.contains("--frozen"))
        .collect();
    if locked.iter().all(|&l| l) {
        Some("--locked".into())
    } else if locked.iter().all(|&l| !l) {
        Some(String::new())
    } else {
        None
    }
}
