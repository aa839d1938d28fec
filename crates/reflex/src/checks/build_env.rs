//! What the build environment hands to every build script and proc-macro (`audit --env`):
//! secret-looking environment variables (names only, never values), credential files in the
//! home directory, and a network route out.

use super::ci::credential_shape;
use super::{Check, Context, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};

pub struct BuildEnv;

const NAME: &str = "build-env";

pub const SECRET_VAR: CodeSpec = CodeSpec::new(
    "env-secret-visible",
    Severity::Medium,
    "an environment variable that looks like a secret is visible to every build script and proc-macro",
);
pub const CREDENTIAL_FILE: CodeSpec = CodeSpec::new(
    "env-credential-file",
    Severity::Low,
    "a credential file in the home directory is readable by build scripts and proc-macros",
);
pub const NETWORK: CodeSpec = CodeSpec::new(
    "env-network-reachable",
    Severity::Low,
    "the build environment has a route to the network, so build-time code can send data out",
);

static CODES: [CodeSpec; 3] = [SECRET_VAR, CREDENTIAL_FILE, NETWORK];

/// Name fragments that mark a secret.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "API_KEY",
    "APIKEY",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CREDENTIAL",
    "CLIENT_SECRET",
    "SESSION_KEY",
    "SIGNING_KEY",
    "AUTH_KEY",
    "WEBHOOK",
    "_PAT",
    "DSN",
];

/// Well-known secret variables whose names do not contain one of the words above.
const SECRET_NAMES: &[&str] = &[
    "SSH_AUTH_SOCK",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "KUBECONFIG",
    "DOCKER_AUTH_CONFIG",
    "VAULT_ADDR",
    "NPM_CONFIG__AUTH",
];

/// Names that contain a secret word but are not secrets.
const NOT_SECRET: &[&str] = &[
    "TOKENIZERS_PARALLELISM",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "CARGO_REGISTRY_TOKEN_PROVIDER",
];

/// Files under `$HOME` that hold credentials.
pub const CREDENTIAL_FILES: &[(&str, &str)] = &[
    (".cargo/credentials.toml", "crates.io publish token"),
    (".cargo/credentials", "crates.io publish token"),
    (".ssh", "SSH keys"),
    (".aws/credentials", "AWS keys"),
    (".config/gcloud", "Google Cloud credentials"),
    (".azure", "Azure CLI tokens"),
    (".docker/config.json", "container registry logins"),
    (".kube/config", "Kubernetes credentials"),
    (".netrc", "HTTP logins"),
    (".git-credentials", "git logins"),
    (".config/gh/hosts.yml", "GitHub CLI token"),
    (".npmrc", "npm token"),
    (".pypirc", "PyPI token"),
];

impl Check for BuildEnv {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(env) = cx.env else {
            return CheckStatus::Skipped {
                reason: "pass --env to inspect the build environment".into(),
            };
        };
        let mut names: Vec<&(String, String)> = env.iter().collect();
        names.sort();
        for (name, value) in names {
            if let Some(why) = secret_reason(name, value) {
                out.push(
                    Finding::new(NAME, &SECRET_VAR, format!("`{name}` is visible to build scripts"))
                        .evidence(why)
                        .evidence("value not shown")
                        .remedy("unset it for builds (`env -u`), pass it only to the step that needs it, or build with `cargo reflex build`"),
                );
            }
        }
        if let Some(home) = &cx.home {
            for (rel, what) in CREDENTIAL_FILES {
                let path = home.join(rel);
                if path.exists() {
                    out.push(
                        Finding::new(NAME, &CREDENTIAL_FILE, format!("{} exists ({what})", path.display()))
                            .evidence("any build script runs as this user and can read it")
                            .remedy("build in a sandbox that hides $HOME (`cargo reflex build`) or on a runner without these files"),
                    );
                }
            }
        }
        let proxies: Vec<&str> = env
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| {
                matches!(
                    n.to_ascii_uppercase().as_str(),
                    "HTTP_PROXY" | "HTTPS_PROXY" | "ALL_PROXY"
                )
            })
            .collect();
        let routes = default_routes(&cx.proc_root);
        if !routes.is_empty() || !proxies.is_empty() {
            let mut f = Finding::new(
                NAME,
                &NETWORK,
                "build scripts and proc-macros can reach the network",
            );
            for r in routes {
                f = f.evidence(r);
            }
            if !proxies.is_empty() {
                f = f.evidence(format!("proxy variables set: {}", proxies.join(", ")));
            }
            out.push(f.remedy("fetch first (`cargo fetch --locked`), then build offline in a network namespace (`cargo reflex build`)"));
        }
        CheckStatus::Ran
    }
}

/// Why a variable looks like a secret, if it does. Never includes the value.
pub fn secret_reason(name: &str, value: &str) -> Option<String> {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) || value.is_empty() {
        return None;
    }
    if let Some(kind) = credential_shape(value) {
        return Some(format!("its value has the shape of {kind}"));
    }
    if SECRET_NAMES.contains(&upper.as_str()) {
        return Some("a well-known credential variable".into());
    }
    if let Some(w) = SECRET_WORDS.iter().find(|w| upper.contains(*w)) {
        let pointer = ["_URL", "_PATH", "_FILE", "_DIR", "_PROVIDER"]
            .iter()
            .any(|s| upper.ends_with(s));
        if !pointer || has_userinfo(value) {
            return Some(format!("its name contains `{w}`"));
        }
    }
    if has_userinfo(value) {
        return Some("its value is a URL with a password".into());
    }
    None
}

fn has_userinfo(value: &str) -> bool {
    value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split('/').next().unwrap_or("");
        authority
            .split_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
    })
}

/// Default routes in `<proc>/net/route` and `<proc>/net/ipv6_route`, as evidence lines.
fn default_routes(proc_root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(text) = std::fs::read_to_string(proc_root.join("net/route")) {
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() > 7 && cols[1] == "00000000" && cols[7] == "00000000" {
                out.push(format!("IPv4 default route via interface {}", cols[0]));
            }
        }
    }
    if let Ok(text) = std::fs::read_to_string(proc_root.join("net/ipv6_route")) {
        for line in text.lines() {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() >= 10
                && cols[0].chars().all(|c| c == '0')
                && cols[1] == "00"
                && cols[9] != "lo"
            {
                out.push(format!("IPv6 default route via interface {}", cols[9]));
            }
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_and_values() {
        assert!(secret_reason("GITHUB_TOKEN", "x").is_some());
        assert!(secret_reason("AWS_SECRET_ACCESS_KEY", "x").is_some());
        assert!(secret_reason("CARGO_REGISTRIES_MY_TOKEN", "x").is_some());
        assert!(secret_reason("MY_VAR", "ghp_0123456789abcdefghijABCDEFGHIJ0123").is_some());
        assert!(secret_reason("DATABASE_URL", "postgres://u:p@db/x").is_some());
        assert!(secret_reason("PATH", "/usr/bin").is_none());
        assert!(secret_reason("TOKENIZERS_PARALLELISM", "false").is_none());
        assert!(secret_reason("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x").is_none());
        assert!(secret_reason("GIT_AUTHOR_NAME", "me").is_none());
    }
}
