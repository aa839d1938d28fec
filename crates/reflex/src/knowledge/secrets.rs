//! What a secret looks like, in one place: secret-looking environment variables (by name and by
//! value), credential files, and paths that code has no business touching.
//!
//! - Variables: [`secret_reason`] (the one rule: `audit --env`, the build planner, the drill's
//!   tabletop and the capability scan all ask it), [`credential_shape`] (token formats in any
//!   text), [`has_userinfo`] (URLs with a password), [`is_cloud_key_name`] and
//!   [`is_crates_io_token_key`] (the narrower lists the CI rules need).
//! - Files: [`CREDENTIAL_FILES`] (what a home directory holds, with what each file is),
//!   [`SYSTEM_SECRET_FILES`] and [`is_project_secret_file`] (what the build sandbox hides
//!   besides the homes), and the sandbox's own rule for a read, [`is_sensitive`] and
//!   [`may_be_sensitive`], re-exported from `reflex_sandbox_contract` where it must live
//!   (the sandbox enforces it) so that there is one copy.
//! - Source code: [`SENSITIVE_PATH_FRAGMENTS`], the path fragments that make a literal in
//!   build-time code worth showing (credentials, shell start-up files, git hooks).

pub use reflex_sandbox_contract::{is_sensitive, may_be_sensitive};

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

/// Suffixes that make a secret-word name point at a secret (a URL, a path) rather than hold
/// one: such a name is a secret only when its value carries a password.
const POINTER_SUFFIXES: &[&str] = &["_URL", "_PATH", "_FILE", "_DIR", "_PROVIDER"];

/// Why the environment variable `name` with `value` looks like a secret, if it does: its value
/// has a token's shape ([`credential_shape`]), its name is a well-known credential variable,
/// its name contains a secret word (`TOKEN`, `SECRET`, `PASSWORD`, ...), or its value is a URL
/// with a password. An empty value is never a secret. The reason never includes the value.
///
/// To judge a name alone (a variable read by code), pass any non-empty value without a shape,
/// such as `"x"`.
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
        let pointer = POINTER_SUFFIXES.iter().any(|s| upper.ends_with(s));
        if !pointer || has_userinfo(value) {
            return Some(format!("its name contains `{w}`"));
        }
    }
    if has_userinfo(value) {
        return Some("its value is a URL with a password".into());
    }
    None
}

/// Whether `value` is a URL whose authority carries `user:password@`.
pub fn has_userinfo(value: &str) -> bool {
    value.split_once("://").is_some_and(|(_, rest)| {
        let authority = rest.split('/').next().unwrap_or("");
        authority
            .split_once('@')
            .is_some_and(|(user, _)| user.contains(':'))
    })
}

/// The kind of credential a string contains, judged by well-known token shapes (AWS access
/// key IDs, GitHub, GitLab, Slack and crates.io tokens): `"a GitHub token"`.
pub fn credential_shape(s: &str) -> Option<&'static str> {
    let words = s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    for w in words {
        let alnum_upper = |t: &str| {
            t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        };
        if w.len() == 20 && (w.starts_with("AKIA") || w.starts_with("ASIA")) && alnum_upper(w) {
            return Some("an AWS access key ID");
        }
        let tail_ok = |p: &str, min: usize| {
            w.strip_prefix(p).is_some_and(|t| {
                t.len() >= min && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        };
        if tail_ok("ghp_", 30)
            || tail_ok("gho_", 30)
            || tail_ok("ghs_", 30)
            || tail_ok("ghu_", 30)
            || tail_ok("github_pat_", 40)
        {
            return Some("a GitHub token");
        }
        if tail_ok("glpat-", 20) {
            return Some("a GitLab token");
        }
        if w.starts_with("xoxb-") || w.starts_with("xoxp-") {
            return Some("a Slack token");
        }
        if tail_ok("cio", 32) && w.len() == 35 {
            return Some("a crates.io token");
        }
    }
    None
}

/// Whether a variable name looks like a static cloud credential, which CI should get from
/// OIDC instead.
pub fn is_cloud_key_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.contains("AWS_ACCESS_KEY")
        || n.contains("AWS_SECRET")
        || n.contains("GCP_SA_KEY")
        || n.contains("GCP_CREDENTIALS")
        || n.contains("GOOGLE_CREDENTIALS")
        || n.contains("SERVICE_ACCOUNT_KEY")
        || n.contains("AZURE_CREDENTIALS")
        || n.contains("AZURE_CLIENT_SECRET")
        || n.contains("ARM_CLIENT_SECRET")
}

/// Environment keys that hold a crates.io token for cargo.
pub fn is_crates_io_token_key(key: &str) -> bool {
    matches!(
        key.to_ascii_uppercase().as_str(),
        "CARGO_REGISTRY_TOKEN" | "CARGO_REGISTRIES_CRATES_IO_TOKEN"
    )
}

/// Files and directories under `$HOME` that hold credentials: (path relative to the home
/// directory, what it holds).
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

/// System files that hold secrets (password hashes): the build sandbox hides them.
pub const SYSTEM_SECRET_FILES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/security/opasswd",
];

/// Whether a file named `name` is a secret wherever it sits in a project: `.env` files (not
/// their `.example` or `.sample` templates), cloud credentials CI actions write into the
/// workspace (`gha-creds-*.json`), and login files of common tools.
pub fn is_project_secret_file(name: &str) -> bool {
    name == ".env"
        || (name.starts_with(".env.") && !name.ends_with(".example") && !name.ends_with(".sample"))
        || (name.starts_with("gha-creds-") && name.ends_with(".json"))
        || matches!(
            name,
            ".git-credentials" | ".netrc" | ".npmrc" | ".pypirc" | ".vault-token"
        )
}

/// Fragments that make a path-like literal in build-time code sensitive: credential files and
/// keys, shell start-up files and git hooks (persistence), password files, cargo's binaries
/// and registry, and other processes' environments.
pub const SENSITIVE_PATH_FRAGMENTS: &[&str] = &[
    ".ssh",
    ".aws",
    "credentials",
    ".netrc",
    ".git-credentials",
    ".bashrc",
    ".zshrc",
    ".profile",
    ".bash_profile",
    ".git/hooks",
    "/etc/passwd",
    "/etc/shadow",
    ".docker/config",
    ".kube/config",
    ".cargo/registry",
    ".cargo/bin",
    ".gnupg",
    "id_rsa",
    "id_ed25519",
    "/environ",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

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

    #[test]
    fn secret_reasons_say_why_and_never_show_the_value() {
        let token = "ghp_0123456789abcdefghijABCDEFGHIJ0123";
        assert_eq!(
            secret_reason("MY_VAR", token).as_deref(),
            Some("its value has the shape of a GitHub token")
        );
        assert_eq!(
            secret_reason("kubeconfig", "/k").as_deref(),
            Some("a well-known credential variable")
        );
        assert_eq!(
            secret_reason("API_TOKEN", "x").as_deref(),
            Some("its name contains `TOKEN`")
        );
        // A pointer to a secret is not one, unless it carries a password.
        assert_eq!(secret_reason("SECRET_FILE", "/run/s").as_deref(), None);
        assert_eq!(
            secret_reason("SECRET_URL", "https://u:pw@h/").as_deref(),
            Some("its name contains `SECRET`")
        );
        assert_eq!(
            secret_reason("PROXY", "http://u:pw@proxy:3128").as_deref(),
            Some("its value is a URL with a password")
        );
        assert_eq!(secret_reason("GITHUB_TOKEN", ""), None);
        let why = secret_reason("X", "postgres://admin:hunter2@db/x").unwrap();
        assert!(!why.contains("hunter2"), "{why}");
    }

    #[test]
    fn userinfo_needs_a_password_in_the_authority() {
        assert!(has_userinfo("https://u:p@host/path"));
        assert!(!has_userinfo("https://user@host/path"));
        assert!(!has_userinfo("https://host/a:b@c"));
        assert!(!has_userinfo("u:p@host"));
    }

    #[test]
    fn credential_shapes() {
        assert_eq!(
            credential_shape("key: AKIAIOSFODNN7EXAMPLE"),
            Some("an AWS access key ID")
        );
        assert_eq!(
            credential_shape("token: ghp_0123456789abcdefghijABCDEFGHIJ0123"),
            Some("a GitHub token")
        );
        assert_eq!(credential_shape("run: cargo build --locked"), None);
        assert_eq!(credential_shape("AKIA is a prefix"), None);
        assert_eq!(
            credential_shape("glpat-0123456789abcdefghij"),
            Some("a GitLab token")
        );
        assert_eq!(credential_shape("xoxb-1-2"), Some("a Slack token"));
        assert_eq!(
            credential_shape(&format!("cio{}", "a".repeat(32))),
            Some("a crates.io token")
        );
        assert_eq!(credential_shape(&format!("cio{}", "a".repeat(33))), None);
    }

    #[test]
    fn cloud_keys_and_crates_io_tokens_by_name() {
        assert!(is_cloud_key_name("aws_secret_access_key"));
        assert!(is_cloud_key_name("PROD_AZURE_CLIENT_SECRET"));
        assert!(!is_cloud_key_name("AWS_REGION"));
        assert!(is_crates_io_token_key("cargo_registry_token"));
        assert!(is_crates_io_token_key("CARGO_REGISTRIES_CRATES_IO_TOKEN"));
        assert!(!is_crates_io_token_key("CARGO_REGISTRIES_ACME_TOKEN"));
    }

    #[test]
    fn project_secret_files() {
        for name in [".env", ".env.production", "gha-creds-1a2b.json", ".npmrc"] {
            assert!(is_project_secret_file(name), "{name}");
        }
        for name in [
            ".env.example",
            ".env.sample",
            "gha-creds.txt",
            "env",
            "Cargo.toml",
        ] {
            assert!(!is_project_secret_file(name), "{name}");
        }
    }

    /// The lists agree: every credential file of a home directory is one the sandbox's monitor
    /// treats as sensitive (a directory: every file in it), and every secret variable the
    /// CI rules know by name is one `secret_reason` flags.
    #[test]
    fn the_lists_agree() {
        let home = Path::new("/home/u");
        for (rel, what) in CREDENTIAL_FILES {
            let p = home.join(rel);
            assert!(
                is_sensitive(&p, &[]) || is_sensitive(&p.join("any"), &[]),
                "{rel} ({what})"
            );
        }
        for f in SYSTEM_SECRET_FILES
            .iter()
            .filter(|f| !f.contains("security"))
        {
            assert!(is_sensitive(Path::new(f), &[]), "{f}");
        }
        for name in [
            ".netrc",
            ".git-credentials",
            ".npmrc",
            ".pypirc",
            ".vault-token",
        ] {
            assert!(is_project_secret_file(name), "{name}");
            assert!(
                is_sensitive(&PathBuf::from("/w/p").join(name), &[]),
                "{name}"
            );
        }
        for name in [
            "CARGO_REGISTRY_TOKEN",
            "CARGO_REGISTRIES_CRATES_IO_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AZURE_CLIENT_SECRET",
        ] {
            assert!(secret_reason(name, "x").is_some(), "{name}");
        }
    }

    #[test]
    fn sensitive_fragments_cover_credentials_and_persistence() {
        let hit = |s: &str| SENSITIVE_PATH_FRAGMENTS.iter().any(|p| s.contains(p));
        assert!(hit("~/.ssh/id_rsa") && hit("/home/u/.bashrc") && hit(".git/hooks/pre-commit"));
        assert!(!hit("src/lib.rs") && !hit("/usr/include/stdio.h"));
    }
}
