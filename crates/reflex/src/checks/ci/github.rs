//! GitHub Actions workflows.

use super::shell;
use super::yaml::{Node, Value};
use super::*;

pub(super) fn analyse(f: &FileCtx<'_>, doc: &Node, out: &mut Sink, stats: &mut CiStats) {
    let triggers: Vec<String> = match doc.get("on").map(|n| &n.value) {
        Some(Value::Str(s)) => vec![s.clone()],
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(|n| n.str().map(str::to_string))
            .collect(),
        Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.clone()).collect(),
        _ => Vec::new(),
    };
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

    for (job_name, job) in jobs {
        let job_env = job.get("env");
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
            if let Some(run) = step.get("run").filter(|r| r.str().is_some()) {
                let script = run.str().unwrap_or("");
                let start = f.script_start(run.line);
                for call in shell::cargo_calls(script, &lookup, f.aliases) {
                    compiles |= call.subcommand != "fetch";
                    let line = start + u32::try_from(call.line).unwrap_or(0);
                    f.count_call(job_name, &call.command, &call.locked, line, out, stats);
                }
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
            }
            if uses.starts_with("actions/checkout@") {
                let r = with.and_then(|w| w.get_str("ref")).unwrap_or("");
                if r.contains("pull_request.head") || r.contains("github.head_ref") {
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
            let label = step
                .get_str("name")
                .map(str::to_string)
                .unwrap_or_else(|| format!("step at line {}", step.line));
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
            if let (true, Some(line)) = (
                triggers.iter().any(|t| t == "pull_request_target"),
                untrusted_checkout,
            ) {
                out.push(
                    Finding::new(NAME, &UNTRUSTED_CHECKOUT, format!("job `{job_name}` builds pull request code under pull_request_target"))
                        .at(f.path.clone(), Some(line))
                        .evidence("pull_request_target runs with the base repository's secrets and a write token")
                        .remedy("use the `pull_request` trigger for building untrusted code"),
                );
            }
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
