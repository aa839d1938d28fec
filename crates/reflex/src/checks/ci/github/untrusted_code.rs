//! Whether a job runs untrusted code: a checkout or fetch of the pull request's (or the
//! triggering run's) code, and scripts that run code from the checked-out tree.

use super::super::shell;

/// A checkout `ref:` or `repository:` that names the pull request's or triggering run's code.
pub(super) fn untrusted_ref(r: &str) -> bool {
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
pub(super) fn untrusted_fetch(script: &str) -> bool {
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
pub(super) fn runs_repository_code(script: &str) -> bool {
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
