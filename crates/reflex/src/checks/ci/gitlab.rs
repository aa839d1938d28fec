//! GitLab CI (`.gitlab-ci.yml`): cargo pinned to the lockfile, tools installed at a version,
//! no unverified installers, and static cloud keys in variables. Secrets live in project
//! settings there, so exposure cannot be read from the file.

use super::shell;
use super::yaml::{Node, Value};
use super::*;

const RESERVED: &[&str] = &[
    "stages",
    "variables",
    "default",
    "include",
    "workflow",
    "image",
    "services",
    "before_script",
    "after_script",
    "cache",
    "pages",
];

pub(super) fn analyse(f: &FileCtx<'_>, doc: &Node, out: &mut Sink, stats: &mut CiStats) {
    let globals = doc.get("variables");
    variables(f, "the pipeline", globals, out);
    let mut jobs: Vec<(&str, &Node)> = doc
        .entries()
        .iter()
        .filter(|(k, v)| !RESERVED.contains(&k.as_str()) && matches!(v.value, Value::Map(_)))
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    if let Some(default) = doc.get("default") {
        jobs.push(("default", default));
    }
    for key in ["before_script", "after_script"] {
        if let Some(n) = doc.get(key) {
            scripts(f, key, n, None, globals, out, stats);
        }
    }
    for (name, job) in jobs {
        let vars = job.get("variables");
        variables(f, &format!("job `{name}`"), vars, out);
        for key in ["before_script", "script", "after_script"] {
            if let Some(n) = job.get(key) {
                scripts(f, name, n, vars, globals, out, stats);
            }
        }
    }
}

fn scripts(
    f: &FileCtx<'_>,
    job: &str,
    node: &Node,
    vars: Option<&Node>,
    globals: Option<&Node>,
    out: &mut Sink,
    stats: &mut CiStats,
) {
    let lines: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Str(_) => vec![node],
        _ => Vec::new(),
    };
    let lookup = |name: &str| -> Option<String> {
        [vars, globals].into_iter().flatten().find_map(|v| {
            let n = v.get(name)?;
            n.str().or_else(|| n.get_str("value")).map(str::to_string)
        })
    };
    for line_node in lines {
        let Some(script) = line_node.str() else {
            continue;
        };
        let start = f.script_start(line_node.line);
        for call in shell::cargo_calls(script, &lookup, f.aliases) {
            let line = start + u32::try_from(call.line).unwrap_or(0);
            f.count_call(job, &call.command, &call.locked, line, out, stats);
        }
        f.tool_rules(job, script, start, &lookup, out);
    }
}

fn variables(f: &FileCtx<'_>, scope: &str, vars: Option<&Node>, out: &mut Sink) {
    for (key, value) in vars.map(Node::entries).unwrap_or(&[]) {
        let v = value.str().or_else(|| value.get_str("value")).unwrap_or("");
        if is_cloud_key_name(key) && !v.is_empty() && !v.starts_with('$') {
            out.push(
                Finding::new(
                    NAME,
                    &STATIC_CLOUD_KEYS,
                    format!("{scope} sets static cloud key `{key}` in the file"),
                )
                .at(f.path.clone(), Some(value.line))
                .remedy(
                    "use GitLab's OIDC `id_tokens:` with a cloud role instead of long-lived keys",
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_get_the_tool_rules() {
        let text = "test:\n  script:\n    - cargo install cargo-nextest\n    - curl -sSf https://example.com/install.sh | sh\n    - cargo install --locked cargo-nextest@0.9.100\n";
        let doc = yaml::parse(text).unwrap();
        let f = FileCtx {
            path: ".gitlab-ci.yml".into(),
            text,
            aliases: &[],
        };
        let mut out = Sink::default();
        analyse(&f, &doc, &mut out, &mut CiStats::default());
        let got: Vec<(&str, Option<u32>)> = out
            .findings
            .iter()
            .filter(|x| x.code != UNLOCKED.code)
            .map(|x| (x.code, x.location.as_ref().and_then(|l| l.line)))
            .collect();
        assert_eq!(
            got,
            vec![
                (INSTALL_UNPINNED.code, Some(3)),
                (DOWNLOAD_UNVERIFIED.code, Some(4))
            ]
        );
    }
}
