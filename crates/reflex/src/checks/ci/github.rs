//! GitHub Actions workflows.

use super::injection::{self, Taint};
use super::yaml::{Node, Value};
use super::*;
use super::{actions, release, shell};

/// What one job does that the release rules need to know, gathered in one pass.
#[derive(Default)]
struct JobFacts {
    /// What the job publishes and the line of that step.
    publishes: Option<(String, u32)>,
    /// Cache steps: (what, line).
    caches: Vec<(String, u32)>,
    uploads_artifacts: bool,
    needs: Vec<String>,
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

pub(super) fn analyse(f: &FileCtx<'_>, doc: &Node, out: &mut Sink, stats: &mut CiStats) {
    let trig = release::triggers(doc);
    let triggers = trig.names.clone();
    let wf_env = doc.get("env");
    // A composite action (`runs.steps`) is analysed as one job named after the action.
    let composite: Vec<(String, Node)> = match doc.get("runs").and_then(|r| r.get("steps")) {
        Some(steps) => {
            let name = doc.get_str("name").unwrap_or("composite action");
            let job = Node {
                value: Value::Map(vec![("steps".into(), steps.clone())]),
                line: steps.line,
            };
            vec![(format!("action {name}"), job)]
        }
        None => Vec::new(),
    };
    let jobs = if composite.is_empty() {
        doc.get("jobs").map(Node::entries).unwrap_or(&[])
    } else {
        &composite[..]
    };
    if composite.is_empty() {
        permissions(f, doc, jobs, out);
    }
    let wf_secrets = wf_env.map(env_secrets).unwrap_or_default();
    uses_rules(f, jobs, out);
    let any_auth_action = jobs.iter().any(|(_, j)| uses_auth_action(j));
    if !any_auth_action {
        registry_tokens(f, "every job of the workflow", wf_env, out);
    }
    let mut facts: Vec<(String, JobFacts)> = Vec::new();

    for (job_name, job) in jobs {
        let job_env = job.get("env");
        let effective = job_triggers(job, &triggers);
        let privileged: Vec<&str> = injection::PRIVILEGED_TRIGGERS
            .iter()
            .copied()
            .filter(|t| effective.iter().any(|e| e == t))
            .collect();
        let auth_action = uses_auth_action(job);
        if !auth_action {
            registry_tokens(f, &format!("job `{job_name}`"), job_env, out);
        }
        let mut jf = JobFacts {
            needs: match job.get("needs").map(|n| &n.value) {
                Some(Value::Str(s)) => vec![s.clone()],
                Some(Value::Seq(items)) => items
                    .iter()
                    .filter_map(|n| n.str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            ..JobFacts::default()
        };
        let mut builds_after_untrusted = false;
        let matrix = job.get("strategy").and_then(|s| s.get("matrix"));
        let job_secrets = job_env.map(env_secrets).unwrap_or_default();
        cloud_env_keys(f, job_name, job_env, out);
        let mut built_before = false;
        let mut job_builds = false;
        let mut untrusted_checkout = None;
        for step in job.get("steps").map(Node::items).unwrap_or(&[]) {
            let step_env = step.get("env");
            let uses = step.get_str("uses").unwrap_or("");
            let with = step.get("with");
            let lookup = |name: &str| -> Option<String> {
                let name = name.strip_prefix("env.").unwrap_or(name);
                if let Some(key) = name.strip_prefix("matrix.") {
                    return matrix_value(matrix?, key);
                }
                [step_env, job_env, wf_env]
                    .into_iter()
                    .flatten()
                    .find_map(|e| e.get_str(name))
                    .filter(|v| !v.contains("${{") || v.contains("--locked"))
                    .map(str::to_string)
            };
            let mut compiles = false;
            let env_value = |name: &str| -> Option<String> {
                [step_env, job_env, wf_env]
                    .into_iter()
                    .flatten()
                    .find_map(|e| e.get_str(name))
                    .map(str::to_string)
            };
            let label = step
                .get_str("name")
                .map(str::to_string)
                .unwrap_or_else(|| format!("step at line {}", step.line));
            let script = step.get("run").and_then(Node::str);
            let mut runs_code = false;
            if let Some(run) = step.get("run").filter(|r| r.str().is_some()) {
                let script = run.str().unwrap_or("");
                let start = f.script_start(run.line);
                for call in shell::cargo_calls(script, &lookup, f.aliases) {
                    compiles |= call.subcommand != "fetch";
                    let line = start + u32::try_from(call.line).unwrap_or(0);
                    f.count_call(job_name, &call.command, &call.locked, line, out, stats);
                }
                let commands = f.tool_rules(job_name, script, start, &lookup, out);
                if !auth_action {
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
                injections(
                    f,
                    job_name,
                    &label,
                    script,
                    start,
                    &env_value,
                    &privileged,
                    out,
                );
                runs_code = runs_repository_code(script);
                // `gh pr checkout` and friends: this script's own build steps count too.
                if untrusted_checkout.is_none() && untrusted_fetch(script) {
                    untrusted_checkout = Some(step.line);
                }
            }
            if uses.starts_with("actions/github-script@")
                && let Some(js) = with
                    .and_then(|w| w.get("script"))
                    .filter(|n| n.str().is_some())
            {
                let start = f.script_start(js.line);
                injections(
                    f,
                    job_name,
                    &label,
                    js.str().unwrap_or(""),
                    start,
                    &env_value,
                    &privileged,
                    out,
                );
            }
            if jf.publishes.is_none()
                && let Some(what) = release::publishes(uses, with, script)
            {
                jf.publishes = Some((what, step.line));
            }
            if let Some(what) = release::restores_cache(uses, with, f.text) {
                jf.caches.push((what, step.line));
            }
            jf.uploads_artifacts |= uses.starts_with("actions/upload-artifact@");
            if !auth_action
                && uses
                    .to_ascii_lowercase()
                    .starts_with("katyo/publish-crates@")
                && let Some(t) = with.and_then(|w| w.get("registry-token"))
                && t.str().is_some_and(|v| v.contains("secrets."))
            {
                out.push(static_token_finding(
                    f,
                    &format!("job `{job_name}` gives katyo/publish-crates a stored token"),
                    t.line,
                ));
            }
            if !auth_action {
                registry_tokens(
                    f,
                    &format!("job `{job_name}` step `{label}`"),
                    step_env,
                    out,
                );
            }
            if uses.starts_with("actions-rs/cargo@") || uses.starts_with("actions-rs/clippy-check@")
            {
                let command =
                    with.and_then(|w| w.get_str("command"))
                        .unwrap_or(if uses.contains("clippy") {
                            "clippy"
                        } else {
                            ""
                        });
                let args = with.and_then(|w| w.get_str("args")).unwrap_or("");
                let script = format!("cargo {command} {args}");
                for call in shell::cargo_calls(&script, &lookup, f.aliases) {
                    compiles |= call.subcommand != "fetch";
                    f.count_call(job_name, &call.command, &call.locked, step.line, out, stats);
                }
                f.tool_rules(job_name, &script, step.line, &lookup, out);
            }
            let local_action = uses.starts_with("./") || uses.starts_with("$/");
            if untrusted_checkout.is_some() && (compiles || runs_code || local_action) {
                builds_after_untrusted = true;
            }
            if uses.starts_with("actions/checkout@") && untrusted_checkout.is_none() {
                let r = with.and_then(|w| w.get_str("ref")).unwrap_or("");
                let repo = with.and_then(|w| w.get_str("repository")).unwrap_or("");
                if untrusted_ref(r) || untrusted_ref(repo) {
                    untrusted_checkout = Some(step.line);
                }
            }
            let mut step_secrets: Vec<String> = Vec::new();
            for node in [step_env, with].into_iter().flatten() {
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
            } else if built_before && !step_secrets.is_empty() {
                out.push(
                    Finding::new(NAME, &SECRET_AFTER_BUILD, format!("job `{job_name}` step `{label}` uses secrets {} after dependency code ran", step_secrets.join(", ")))
                        .at(f.path.clone(), Some(step.line))
                        .evidence("an earlier step of this job compiled dependencies; a build script can leave code behind for later steps")
                        .remedy("use the secret in a separate job that only downloads the build's artifacts"),
                );
            }
            cloud_action(f, job_name, uses, with, step.line, out);
            cloud_env_keys(f, job_name, step_env, out);
            built_before |= compiles;
            job_builds |= compiles;
        }
        if job_builds {
            for (scope, secrets, line) in [
                ("job", &job_secrets, job_env.map(|e| e.line)),
                ("workflow", &wf_secrets, wf_env.map(|e| e.line)),
            ] {
                if !secrets.is_empty() {
                    out.push(
                        Finding::new(NAME, &SECRET_IN_BUILD, format!("{scope}-level env exposes secrets {} to every step of job `{job_name}`, which runs cargo", secrets.join(", ")))
                            .at(f.path.clone(), line)
                            .evidence("every build script and proc-macro in the graph can read these variables")
                            .remedy("set secrets in `env:` of the single step that needs them"),
                    );
                }
            }
        }
        let dangerous = ["pull_request_target", "workflow_run", "issue_comment"]
            .into_iter()
            .find(|t| effective.iter().any(|e| e == t));
        if let (Some(trigger), Some(line), true) =
            (dangerous, untrusted_checkout, builds_after_untrusted)
        {
            let what = if trigger == "workflow_run" {
                "the triggering run's code (a fork's pull request can trigger it)"
            } else {
                "pull request code"
            };
            out.push(
                Finding::new(NAME, &UNTRUSTED_CHECKOUT, format!("job `{job_name}` builds {what} under {trigger}"))
                    .at(f.path.clone(), Some(line))
                    .evidence(format!("{trigger} runs with the base repository's secrets, its caches and a token that can write; the build scripts, tests and tools of the checked-out code run with them"))
                    .remedy("build untrusted code under the `pull_request` trigger (no secrets, read-only token); keep the privileged workflow to commenting or labelling, and pass data through artifacts it only reads"),
            );
        }
        facts.push((job_name.clone(), jf));
    }
    cache_rules(f, &trig, &facts, out);
}

/// A checkout `ref:` or `repository:` that names the pull request's or triggering run's code.
fn untrusted_ref(r: &str) -> bool {
    let r = r.to_ascii_lowercase();
    [
        "pull_request.head.sha",
        "pull_request.head.ref",
        "pull_request.head.repo",
        "pull_request.merge_commit_sha",
        "github.head_ref",
        "workflow_run.head_sha",
        "workflow_run.head_branch",
        "workflow_run.head_commit",
        "workflow_run.head_repository",
        "refs/pull/",
    ]
    .iter()
    .any(|m| r.contains(m))
}

/// A script that fetches pull request code (`gh pr checkout`, `git fetch origin pull/1/head`,
/// `git checkout ${{ github.event.pull_request.head.sha }}`).
fn untrusted_fetch(script: &str) -> bool {
    for p in shell::pipelines(script) {
        for s in &p.stages {
            let w: Vec<&str> = s.words.iter().map(String::as_str).collect();
            match w.as_slice() {
                ["gh", "pr", "checkout", ..] => return true,
                ["git", "fetch" | "checkout" | "switch" | "pull", rest @ ..]
                    if rest.iter().any(|a| {
                        untrusted_ref(a) || a.starts_with("pull/") || a.contains(":pull/")
                    }) =>
                {
                    return true;
                }
                _ => {}
            }
        }
    }
    false
}

/// Whether a script runs code from the checked-out tree: build tools, package managers that
/// run install scripts, interpreters, or the repository's own scripts.
fn runs_repository_code(script: &str) -> bool {
    const TOOLS: &[&str] = &[
        "make", "cmake", "ninja", "meson", "npm", "npx", "yarn", "pnpm", "pip", "pip3", "python",
        "python3", "node", "bash", "sh", "just", "go", "mvn", "gradle", "gradlew", "bundle",
        "rake", "tox", "nox", "pytest", "bazel", "cargo", "cross", "rustc", "uv",
    ];
    shell::pipelines(script).iter().any(|p| {
        p.stages.iter().any(|s| {
            let Some((w, _)) = shell::command_word(&s.words) else {
                return false;
            };
            let base = w.rsplit('/').next().unwrap_or(w);
            TOOLS.contains(&base)
                || w.starts_with("./")
                || (w.contains('/') && !w.starts_with('/') && !w.starts_with('$'))
        })
    })
}

fn uses_auth_action(job: &Node) -> bool {
    job.get("steps")
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .any(|s| {
            s.get_str("uses").is_some_and(|u| {
                u.to_ascii_lowercase()
                    .starts_with("rust-lang/crates-io-auth-action@")
            })
        })
}

fn static_token_finding(f: &FileCtx<'_>, title: &str, line: u32) -> Finding {
    Finding::new(NAME, &STATIC_REGISTRY_TOKEN, title.to_string())
        .at(f.path.clone(), Some(line))
        .evidence("a crates.io token kept as a secret is valid until someone revokes it; `cargo publish` builds the crate, so every build script in its graph runs with the token in its environment")
        .remedy("use crates.io trusted publishing: `permissions: id-token: write`, a SHA-pinned `rust-lang/crates-io-auth-action` step (`id: auth`), then `CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}`; configure the repository and workflow on crates.io and revoke the old token")
}

/// `CARGO_REGISTRY_TOKEN: ${{ secrets.X }}` in an `env:` block.
fn registry_tokens(f: &FileCtx<'_>, scope: &str, env: Option<&Node>, out: &mut Sink) {
    for (key, value) in env.map(Node::entries).unwrap_or(&[]) {
        if crate::knowledge::secrets::is_crates_io_token_key(key)
            && value.str().is_some_and(|v| v.contains("secrets."))
        {
            out.push(static_token_finding(
                f,
                &format!("{scope} gets a long-lived crates.io token from a secret (`{key}`)"),
                value.line,
            ));
        }
    }
}

/// `ci-template-injection` for one script.
#[allow(clippy::too_many_arguments)]
fn injections(
    f: &FileCtx<'_>,
    job: &str,
    step: &str,
    script: &str,
    start: u32,
    env: &dyn Fn(&str) -> Option<String>,
    privileged: &[&str],
    out: &mut Sink,
) {
    let mut seen: Vec<String> = Vec::new();
    for e in injection::expansions(script, env) {
        let (ctx, taint) = &e.contexts[0];
        if seen.contains(ctx) {
            continue;
        }
        seen.push(ctx.clone());
        let (severity, why) = match taint {
            Taint::Attacker if !privileged.is_empty() => (
                Severity::High,
                format!(
                    "anyone who can open a pull request, issue or comment writes this text, and under {} the script runs with the repository's secrets and a write token",
                    privileged.join(", ")
                ),
            ),
            Taint::Attacker => (
                Severity::Medium,
                "an outsider writes this text (a pull request, a branch name, a commit message)"
                    .to_string(),
            ),
            Taint::Unknown => (
                Severity::Low,
                "an event field not known to be safe: it may carry an outsider's text".to_string(),
            ),
            Taint::Input => (
                Severity::Low,
                "whoever dispatches or calls the workflow chooses this value".to_string(),
            ),
        };
        out.push(
            Finding::new(
                NAME,
                &TEMPLATE_INJECTION,
                format!("job `{job}` step `{step}` pastes `${{{{ {} }}}}` into its script", e.expr),
            )
            .severity(severity)
            .at(f.path.clone(), Some(FileCtx::line_in(start, script, e.offset)))
            .evidence(format!("{ctx}: {why}"))
            .remedy("pass it through the environment and quote it: `env: { VALUE: ${{ <expr> }} }`, then use \"$VALUE\" in the script"),
        );
    }
}

/// `ci-action-unpinned` (one finding per distinct reference and file, with every line) and
/// `ci-action-archived`.
fn uses_rules(f: &FileCtx<'_>, jobs: &[(String, Node)], out: &mut Sink) {
    let mut all: Vec<(&str, u32)> = Vec::new();
    for (_, job) in jobs {
        if let Some(u) = job.get("uses")
            && let Some(s) = u.str()
        {
            all.push((s, u.line));
        }
        for step in job.get("steps").map(Node::items).unwrap_or(&[]) {
            if let Some(u) = step.get("uses")
                && let Some(s) = u.str()
            {
                all.push((s, u.line));
            }
        }
    }
    let mut done: Vec<&str> = Vec::new();
    for (uses, line) in &all {
        if done.contains(uses) {
            continue;
        }
        done.push(uses);
        let Some(parsed) = actions::parse(uses) else {
            continue;
        };
        let lines: Vec<String> = all
            .iter()
            .filter(|(u, _)| u == uses)
            .map(|(_, l)| l.to_string())
            .collect();
        if let Some(why) = actions::unpinned(&parsed) {
            let mut finding = Finding::new(
                NAME,
                &ACTION_UNPINNED,
                format!("`{uses}` is not pinned to a commit"),
            )
            .at(f.path.clone(), Some(*line))
            .evidence(why)
            .remedy("pin the full 40-character commit SHA with the version in a comment (`uses: owner/repo@<sha> # v1.2.3`); Dependabot or Renovate keep such pins current");
            if lines.len() > 1 {
                finding = finding.evidence(format!(
                    "used {} times, at lines {}",
                    lines.len(),
                    lines.join(", ")
                ));
            }
            if let actions::Uses::Repo { owner, .. } = parsed
                && actions::first_party(owner)
            {
                finding = finding
                    .severity(Severity::Low)
                    .evidence("published by GitHub itself: low");
            }
            out.push(finding);
        }
        if let Some(instead) = actions::archived(&parsed) {
            let mut finding = Finding::new(
                NAME,
                &ACTION_ARCHIVED,
                format!("`{uses}` comes from an archived repository"),
            )
            .at(f.path.clone(), Some(*line))
            .remedy(format!("replace it with {instead}"));
            if lines.len() > 1 {
                finding = finding.evidence(format!(
                    "used {} times, at lines {}",
                    lines.len(),
                    lines.join(", ")
                ));
            }
            out.push(finding);
        }
    }
}

/// `ci-cache-in-release`: caches restored by jobs that publish, by every job of a
/// release-only workflow, and by jobs whose uploaded artifacts a publishing job needs.
fn cache_rules(
    f: &FileCtx<'_>,
    trig: &release::Triggers,
    facts: &[(String, JobFacts)],
    out: &mut Sink,
) {
    // job name -> why its output is released
    let mut relevant: Vec<(String, String)> = Vec::new();
    for (name, jf) in facts {
        if let Some((what, line)) = &jf.publishes {
            relevant.push((
                name.clone(),
                format!("the job publishes {what} (line {line})"),
            ));
        } else if trig.release_only {
            relevant.push((
                name.clone(),
                format!("the workflow runs only on {}", trig.release.join(" and ")),
            ));
        }
    }
    // Jobs that build what a publishing job releases: its `needs`, when they upload artifacts.
    let mut i = 0;
    while i < relevant.len() {
        let (name, _) = relevant[i].clone();
        if let Some((_, jf)) = facts.iter().find(|(n, _)| *n == name) {
            for need in &jf.needs {
                let uploads = facts.iter().any(|(n, j)| n == need && j.uploads_artifacts);
                if uploads && !relevant.iter().any(|(n, _)| n == need) {
                    relevant.push((
                        need.clone(),
                        format!("job `{name}` releases the artifacts it uploads"),
                    ));
                }
            }
        }
        i += 1;
    }
    for (name, why) in &relevant {
        let Some((_, jf)) = facts.iter().find(|(n, _)| n == name) else {
            continue;
        };
        for (what, line) in &jf.caches {
            out.push(
                Finding::new(
                    NAME,
                    &CACHE_IN_RELEASE,
                    format!("job `{name}` restores a cache ({what}) into a release build"),
                )
                .at(f.path.clone(), Some(*line))
                .evidence(why.clone())
                .evidence("caches are shared by every workflow run on the branch: a build script, test or tool that ran in any of them can plant what this build restores, and it ships in the release")
                .remedy("build releases from a clean state: remove the cache step from this job (or use `lookup-only: true`); keep caches for test jobs"),
            );
        }
    }
}

fn env_secrets(env: &Node) -> Vec<String> {
    let mut names = Vec::new();
    for (s, _) in env.strings() {
        for n in secret_refs(s) {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names
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

fn cloud_action(
    f: &FileCtx<'_>,
    job: &str,
    uses: &str,
    with: Option<&Node>,
    line: u32,
    out: &mut Sink,
) {
    let Some(with) = with else { return };
    let static_inputs: &[&str] = if uses.starts_with("aws-actions/configure-aws-credentials@") {
        &["aws-access-key-id", "aws-secret-access-key"]
    } else if uses.starts_with("google-github-actions/auth@") {
        &["credentials_json"]
    } else if uses.starts_with("azure/login@") {
        &["creds"]
    } else {
        return;
    };
    let used: Vec<&str> = static_inputs
        .iter()
        .copied()
        .filter(|k| with.get(k).is_some())
        .collect();
    if !used.is_empty() {
        out.push(
            Finding::new(NAME, &STATIC_CLOUD_KEYS, format!("job `{job}` authenticates {} with static keys ({})", uses.split('@').next().unwrap_or(uses), used.join(", ")))
                .at(f.path.clone(), Some(line))
                .remedy("use OIDC: `permissions: id-token: write` and `role-to-assume` (AWS), `workload_identity_provider` (GCP) or federated credentials (Azure); then delete the keys"),
        );
    }
    // AWS: `role-duration-seconds: 7200`; GCP: `access_token_lifetime: 7200s`.
    for key in ["role-duration-seconds", "access_token_lifetime"] {
        let Some(node) = with.get(key) else { continue };
        let secs = node
            .str()
            .and_then(|s| s.trim().trim_end_matches('s').parse::<u64>().ok());
        if let Some(secs) = secs.filter(|s| *s > 3600) {
            out.push(
                Finding::new(
                    NAME,
                    &LONG_SESSION,
                    format!("job `{job}` asks for cloud credentials valid {secs} seconds ({key})"),
                )
                .at(f.path.clone(), Some(node.line))
                .remedy(
                    "keep sessions at 3600 seconds or less so stolen credentials expire quickly",
                ),
            );
        }
    }
}

fn cloud_env_keys(f: &FileCtx<'_>, job: &str, env: Option<&Node>, out: &mut Sink) {
    for (key, value) in env.map(Node::entries).unwrap_or(&[]) {
        let v = value.str().unwrap_or("");
        if is_cloud_key_name(key)
            && (v.contains("secrets.") || (!v.is_empty() && !v.contains("${{")))
        {
            out.push(
                Finding::new(NAME, &STATIC_CLOUD_KEYS, format!("job `{job}` puts static cloud key `{key}` in the environment"))
                    .at(f.path.clone(), Some(value.line))
                    .remedy("use OIDC (`permissions: id-token: write` and a role to assume) instead of long-lived keys"),
            );
        }
    }
}

fn permissions(f: &FileCtx<'_>, doc: &Node, jobs: &[(String, Node)], out: &mut Sink) {
    let top = doc.get("permissions");
    let broad = |node: &Node, scope: &str, out: &mut Sink| match &node.value {
        Value::Str(s) if s == "write-all" => out.push(
            Finding::new(
                NAME,
                &PERMISSIONS_BROAD,
                format!("{scope} grants `permissions: write-all`"),
            )
            .at(f.path.clone(), Some(node.line))
            .remedy("list only the scopes the job needs, e.g. `permissions: { contents: read }`"),
        ),
        _ => {}
    };
    match top {
        Some(node) => {
            broad(node, "the workflow", out);
            let writes: Vec<&str> = node
                .entries()
                .iter()
                .filter(|(_, v)| v.str() == Some("write"))
                .map(|(k, _)| k.as_str())
                .collect();
            if !writes.is_empty() {
                out.push(
                    Finding::new(NAME, &PERMISSIONS_BROAD, format!("the workflow grants write scopes to every job: {}", writes.join(", ")))
                        .severity(Severity::Low)
                        .at(f.path.clone(), Some(node.line))
                        .remedy("set `permissions: { contents: read }` at the top and grant writes only in the job that needs them"),
                );
            }
        }
        None => {
            let bare: Vec<&str> = jobs
                .iter()
                .filter(|(_, j)| j.get("permissions").is_none())
                .map(|(n, _)| n.as_str())
                .collect();
            if !bare.is_empty() {
                out.push(
                    Finding::new(
                        NAME,
                        &PERMISSIONS_MISSING,
                        format!("no `permissions` for jobs {}", bare.join(", ")),
                    )
                    .at(f.path.clone(), Some(1))
                    .remedy("add `permissions: { contents: read }` at the top of the workflow"),
                );
            }
        }
    }
    for (name, job) in jobs {
        if let Some(p) = job.get("permissions") {
            broad(p, &format!("job `{name}`"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (code, severity, line, title) of every finding for one workflow file.
    fn lint(text: &str) -> Vec<(&'static str, Severity, u32, String)> {
        let doc = yaml::parse(text).unwrap();
        let f = FileCtx {
            path: "wf.yml".into(),
            text,
            aliases: &[],
        };
        let mut out = Sink::default();
        let mut stats = CiStats::default();
        analyse(&f, &doc, &mut out, &mut stats);
        out.findings
            .into_iter()
            .map(|x| {
                let line = x.location.as_ref().and_then(|l| l.line).unwrap_or(0);
                (x.code, x.severity, line, x.title)
            })
            .collect()
    }

    fn of<'a>(
        all: &'a [(&'static str, Severity, u32, String)],
        code: &str,
    ) -> Vec<&'a (&'static str, Severity, u32, String)> {
        all.iter().filter(|f| f.0 == code).collect()
    }

    const PIN: &str = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1";

    #[test]
    fn untrusted_checkout_needs_a_dangerous_trigger_a_head_ref_and_a_build() {
        let pwn = format!(
            "on: pull_request_target\npermissions: {{contents: read}}\njobs:\n  t:\n    runs-on: x\n    steps:\n      - uses: {PIN}\n        with:\n          ref: ${{{{ github.event.pull_request.head.sha }}}}\n      - run: npm ci && npm test\n"
        );
        let all = lint(&pwn);
        let found = of(&all, UNTRUSTED_CHECKOUT.code);
        assert_eq!(found.len(), 1, "{all:?}");
        assert_eq!(found[0].2, 7);
        // The same under pull_request: nothing (no secrets, read-only token).
        assert!(
            of(
                &lint(&pwn.replace("pull_request_target", "pull_request")),
                UNTRUSTED_CHECKOUT.code
            )
            .is_empty()
        );
        // Checked out but only diffed (bevy's label workflow): nothing.
        assert!(
            of(
                &lint(&pwn.replace("npm ci && npm test", "git diff --stat $BASE $HEAD")),
                UNTRUSTED_CHECKOUT.code
            )
            .is_empty()
        );
        // The base branch checked out (no ref): nothing.
        let base = pwn.replace(
            "        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n",
            "",
        );
        assert!(of(&lint(&base), UNTRUSTED_CHECKOUT.code).is_empty());
        // workflow_run with the triggering run's head, built by cargo.
        let wr = format!(
            "on:\n  workflow_run:\n    workflows: [CI]\n    types: [completed]\npermissions: {{contents: read}}\njobs:\n  t:\n    runs-on: x\n    steps:\n      - uses: {PIN}\n        with:\n          ref: ${{{{ github.event.workflow_run.head_sha }}}}\n      - run: cargo test --locked\n"
        );
        let all = lint(&wr);
        let found = of(&all, UNTRUSTED_CHECKOUT.code);
        assert_eq!(found.len(), 1, "{all:?}");
        assert!(found[0].3.contains("workflow_run"));
        // issue_comment with `gh pr checkout` then a local action.
        let ic = "on: issue_comment\npermissions: {contents: read}\njobs:\n  t:\n    runs-on: x\n    steps:\n      - run: gh pr checkout ${{ github.event.issue.number }}\n      - uses: ./.github/actions/bench\n";
        let all = lint(ic);
        assert_eq!(of(&all, UNTRUSTED_CHECKOUT.code).len(), 1, "{all:?}");
        // A job gated to `push` in a workflow that also has pull_request_target: nothing.
        let gated = pwn
            .replace(
                "    runs-on: x\n",
                "    runs-on: x\n    if: github.event_name == 'push'\n",
            )
            .replace("on: pull_request_target", "on: [push, pull_request_target]");
        assert!(of(&lint(&gated), UNTRUSTED_CHECKOUT.code).is_empty());
    }

    #[test]
    fn template_injection_is_graded_by_trigger() {
        let wf = |on: &str, run: &str| {
            format!(
                "on: {on}\npermissions: {{}}\njobs:\n  t:\n    runs-on: x\n    steps:\n      - name: greet\n        run: |\n          echo hi\n          {run}\n"
            )
        };
        let all = lint(&wf(
            "pull_request_target",
            "echo \"${{ github.event.pull_request.title }}\"",
        ));
        let f = of(&all, TEMPLATE_INJECTION.code);
        assert_eq!(f.len(), 1, "{all:?}");
        assert_eq!((f[0].1, f[0].2), (Severity::High, 10));
        let all = lint(&wf("pull_request", "echo \"${{ github.head_ref }}\""));
        assert_eq!(of(&all, TEMPLATE_INJECTION.code)[0].1, Severity::Medium);
        let all = lint(&wf("workflow_dispatch", "echo ${{ inputs.tag }}"));
        assert_eq!(of(&all, TEMPLATE_INJECTION.code)[0].1, Severity::Low);
        for safe in [
            "echo \"$TITLE\"",
            "echo ${{ github.event.pull_request.number }}",
            "echo ${{ matrix.target }} ${{ github.ref_name }} ${{ steps.v.outputs.version }}",
        ] {
            assert!(
                of(
                    &lint(&wf("pull_request_target", safe)),
                    TEMPLATE_INJECTION.code
                )
                .is_empty(),
                "{safe}"
            );
        }
        // github-script pastes into JavaScript just the same.
        let js = "on: issues\npermissions: {}\njobs:\n  t:\n    runs-on: x\n    steps:\n      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea\n        with:\n          script: |\n            console.log(\"${{ github.event.issue.body }}\")\n";
        let all = lint(js);
        let f = of(&all, TEMPLATE_INJECTION.code);
        assert_eq!(
            (f.len(), f[0].1, f[0].2),
            (1, Severity::High, 10),
            "{all:?}"
        );
    }

    #[test]
    fn caches_in_release_jobs() {
        let mixed = "on:\n  push:\n    branches: [main]\n    tags: ['*']\n  pull_request:\npermissions: {}\njobs:\n  test:\n    runs-on: x\n    steps:\n      - uses: Swatinem/rust-cache@9d47c6ad4b02e050fd481d890b2ea34778fd09d6\n      - run: cargo test --locked\n  build:\n    runs-on: x\n    steps:\n      - uses: Swatinem/rust-cache@9d47c6ad4b02e050fd481d890b2ea34778fd09d6\n      - run: cargo build --locked --release\n      - uses: actions/upload-artifact@043fb46d1a93c77aae656e7c1c64a875d1fc6a0a\n  release:\n    needs: [build]\n    runs-on: x\n    steps:\n      - uses: actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830\n      - run: gh release create v1 dist/*\n";
        let all = lint(mixed);
        let lines: Vec<u32> = of(&all, CACHE_IN_RELEASE.code)
            .iter()
            .map(|f| f.2)
            .collect();
        // The publishing job and the job whose artifacts it releases; not the test job.
        assert_eq!(lines, vec![23, 16], "{all:?}");
        // A tag-only workflow: every job is a release job.
        let tags = mixed.replace(
            "  push:\n    branches: [main]\n    tags: ['*']\n  pull_request:\n",
            "  push:\n    tags: ['*']\n",
        );
        assert_eq!(of(&lint(&tags), CACHE_IN_RELEASE.code).len(), 3);
        // An ordinary CI workflow: none.
        let ci = mixed
            .replace("gh release create v1 dist/*", "echo done")
            .replace("    tags: ['*']\n", "");
        assert!(of(&lint(&ci), CACHE_IN_RELEASE.code).is_empty());
    }

    #[test]
    fn crates_io_tokens() {
        let wf = "on:\n  push:\n    tags: ['v*']\npermissions: {}\njobs:\n  publish:\n    runs-on: x\n    steps:\n      - run: cargo publish --locked\n        env:\n          CARGO_REGISTRY_TOKEN: ${{ secrets.CRATES_IO }}\n";
        let all = lint(wf);
        let f = of(&all, STATIC_REGISTRY_TOKEN.code);
        assert_eq!((f.len(), f[0].2), (1, 11), "{all:?}");
        let cli = wf.replace("cargo publish --locked\n        env:\n          CARGO_REGISTRY_TOKEN: ${{ secrets.CRATES_IO }}\n", "cargo publish --token ${{ secrets.CRATES_IO }}\n");
        assert_eq!(of(&lint(&cli), STATIC_REGISTRY_TOKEN.code).len(), 1);
        let trusted = "on:\n  push:\n    tags: ['v*']\npermissions: {}\njobs:\n  publish:\n    runs-on: x\n    permissions: {id-token: write}\n    steps:\n      - uses: rust-lang/crates-io-auth-action@e6fa4d8d5a3fbcb4fbc2fe8d3ea9bbf5e9d6ec29\n        id: auth\n      - run: cargo publish --locked\n        env:\n          CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}\n";
        assert!(of(&lint(trusted), STATIC_REGISTRY_TOKEN.code).is_empty());
        let other = wf.replace("CARGO_REGISTRY_TOKEN", "CARGO_REGISTRIES_ACME_TOKEN");
        assert!(of(&lint(&other), STATIC_REGISTRY_TOKEN.code).is_empty());
    }

    #[test]
    fn pins_archived_and_installs() {
        let wf = "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions-rs/toolchain@v1\n      - uses: actions-rs/toolchain@v1\n      - uses: ./.github/actions/local\n      - uses: docker://alpine:3.19\n      - run: |\n          cargo install --locked cargo-deny\n          curl -sSf https://example.com/i.sh | sh\n  b:\n    uses: org/repo/.github/workflows/x.yml@main\n";
        let all = lint(wf);
        let unpinned: Vec<(Severity, u32)> = of(&all, ACTION_UNPINNED.code)
            .iter()
            .map(|f| (f.1, f.2))
            .collect();
        assert_eq!(
            unpinned,
            vec![
                (Severity::Low, 7),
                (Severity::Medium, 8),
                (Severity::Medium, 11),
                (Severity::Medium, 16)
            ],
            "{all:?}"
        );
        let archived = of(&all, ACTION_ARCHIVED.code);
        assert_eq!((archived.len(), archived[0].2), (1, 8));
        assert_eq!(of(&all, INSTALL_UNPINNED.code)[0].2, 13);
        assert_eq!(of(&all, DOWNLOAD_UNVERIFIED.code)[0].2, 14);
        // actions-rs/cargo with `command: install` is a cargo install too.
        let rs = "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: actions-rs/cargo@844f36862e911db73fe0815f00a4a2602c279505\n        with:\n          command: install\n          args: --locked cargo-deny\n";
        let all = lint(rs);
        assert_eq!(of(&all, INSTALL_UNPINNED.code).len(), 1, "{all:?}");
        assert_eq!(of(&all, ACTION_ARCHIVED.code).len(), 1);
        assert!(of(&all, ACTION_UNPINNED.code).is_empty());
    }
}
