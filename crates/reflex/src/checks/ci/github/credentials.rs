//! Credentials handed to a workflow: long-lived crates.io tokens (`ci-static-registry-token`),
//! static cloud keys and long cloud sessions (`ci-static-cloud-keys`, `ci-long-session`),
//! and the secrets an `env:` block names.

use super::super::yaml::Node;
use super::super::{
    FileCtx, LONG_SESSION, NAME, STATIC_CLOUD_KEYS, STATIC_REGISTRY_TOKEN, Sink, secret_refs,
};
use crate::finding::Finding;
use crate::knowledge::secrets::is_cloud_key_name;

pub(super) fn uses_auth_action(job: &Node) -> bool {
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

pub(super) fn static_token_finding(f: &FileCtx<'_>, title: &str, line: u32) -> Finding {
    Finding::new(NAME, &STATIC_REGISTRY_TOKEN, title.to_string())
        .at(f.path.clone(), Some(line))
        .evidence("a crates.io token kept as a secret is valid until someone revokes it; `cargo publish` builds the crate, so every build script in its graph runs with the token in its environment")
        .remedy("use crates.io trusted publishing: `permissions: id-token: write`, a SHA-pinned `rust-lang/crates-io-auth-action` step (`id: auth`), then `CARGO_REGISTRY_TOKEN: ${{ steps.auth.outputs.token }}`; configure the repository and workflow on crates.io and revoke the old token")
}

/// `CARGO_REGISTRY_TOKEN: ${{ secrets.X }}` in an `env:` block.
pub(super) fn registry_tokens(f: &FileCtx<'_>, scope: &str, env: Option<&Node>, out: &mut Sink) {
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

pub(super) fn env_secrets(env: &Node) -> Vec<String> {
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

pub(super) fn cloud_action(
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

pub(super) fn cloud_env_keys(f: &FileCtx<'_>, job: &str, env: Option<&Node>, out: &mut Sink) {
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
