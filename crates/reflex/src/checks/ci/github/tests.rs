use super::super::{
    ACTION_ARCHIVED, ACTION_UNPINNED, CACHE_IN_RELEASE, CiStats, DOWNLOAD_UNVERIFIED, FileCtx,
    INSTALL_UNPINNED, STATIC_REGISTRY_TOKEN, Sink, TEMPLATE_INJECTION, UNTRUSTED_CHECKOUT, yaml,
};
use super::analyse;
use crate::finding::Severity;

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
