//! Finds cargo invocations in shell scripts (`run:` steps, GitLab `script:` lines) and decides
//! whether each one is pinned to the lockfile.

mod syntax;

pub use syntax::{Pipeline, Stage, command_word, pipelines};
use syntax::{WRAPPERS, logical_lines, split_commands, strip_comment, words};

/// Subcommands that resolve the dependency graph (and, except `fetch`, compile or run
/// dependency code). `--locked` applies to all of them.
const RESOLVING: &[&str] = &[
    "build",
    "b",
    "check",
    "c",
    "test",
    "t",
    "run",
    "r",
    "clippy",
    "doc",
    "d",
    "bench",
    "install",
    "rustc",
    "rustdoc",
    "fix",
    "fetch",
    "nextest",
    "llvm-cov",
    "hack",
    "miri",
    "insta",
    "tarpaulin",
    "mutants",
    "udeps",
    "careful",
    "zigbuild",
    "auditable",
    "xwin",
    "component",
];

/// Built-in subcommands that never resolve or build dependencies.
const INERT: &[&str] = &[
    "fmt",
    "update",
    "vet",
    "deny",
    "audit",
    "tree",
    "metadata",
    "version",
    "help",
    "login",
    "logout",
    "owner",
    "search",
    "yank",
    "new",
    "init",
    "add",
    "remove",
    "pkgid",
    "locate-project",
    "verify-project",
    "generate-lockfile",
    "publish",
    "package",
    "clean",
    "report",
    "config",
    "info",
    "binstall",
    "workspaces",
    "sweep",
    "about",
    "semver-checks",
    "machete",
    "sort",
    "outdated",
    "bloat",
    "expand",
    "make",
];

/// Global cargo options that take a value.
const VALUE_OPTS: &[&str] = &["--config", "-Z", "-C", "--color", "--explain"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Locked {
    Yes,
    No,
    /// The flags come from something we cannot resolve (a step output, an input...).
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CargoCall {
    /// 0-based line of the call within the script.
    pub line: usize,
    /// The command as written (one logical line, trimmed).
    pub command: String,
    /// The effective subcommand after alias expansion.
    pub subcommand: String,
    pub locked: Locked,
}

/// Resolves a variable or expression to its value, if known.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Every resolving cargo call in `script`.
pub fn cargo_calls(
    script: &str,
    lookup: Lookup<'_>,
    aliases: &[(String, Vec<String>)],
) -> Vec<CargoCall> {
    cargo_commands(script, lookup, aliases)
        .into_iter()
        .filter(|c| RESOLVING.contains(&c.subcommand.as_str()) && c.subcommand != "component")
        .map(|c| CargoCall {
            line: c.line,
            command: c.command,
            subcommand: c.subcommand,
            locked: c.locked,
        })
        .collect()
}

/// A cargo invocation of any subcommand, with its arguments after variable expansion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CargoCommand {
    /// 0-based line of the call within the script.
    pub line: usize,
    /// The command as written (one logical line, trimmed).
    pub command: String,
    /// The effective subcommand after alias expansion.
    pub subcommand: String,
    /// Every argument but the subcommand, expanded where the value is known (unknown
    /// variables stay as written), up to a `--`.
    pub args: Vec<String>,
    pub locked: Locked,
}

/// Every cargo invocation in `script`, whatever its subcommand (`install`, `binstall`,
/// `publish`...).
pub fn cargo_commands(
    script: &str,
    lookup: Lookup<'_>,
    aliases: &[(String, Vec<String>)],
) -> Vec<CargoCommand> {
    let mut calls = Vec::new();
    for (line_no, logical) in logical_lines(script) {
        let code = strip_comment(&logical);
        for command in split_commands(&code) {
            let words = words(&command);
            if let Some(call) = analyse(&words, lookup, aliases) {
                calls.push(CargoCommand {
                    line: line_no,
                    command: command.trim().to_string(),
                    subcommand: call.0,
                    args: call.2,
                    locked: call.1,
                });
            }
        }
    }
    calls
}

fn is_cargo(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    matches!(
        base,
        "cargo" | "cargo.exe" | "cross" | "$CARGO" | "${CARGO}"
    )
}

/// Expands `$VAR`, `${VAR}` and `${{ expr }}` words; `None` if any part is unknown.
fn expand(word: &str, lookup: Lookup<'_>) -> Result<Vec<String>, String> {
    if let Some(expr) = word.strip_prefix("${{").and_then(|w| w.strip_suffix("}}")) {
        return lookup(expr.trim())
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .ok_or_else(|| format!("${{{{ {expr} }}}}"));
    }
    let name = word
        .strip_prefix("${")
        .and_then(|w| w.strip_suffix('}'))
        .or_else(|| word.strip_prefix('$'));
    match name {
        Some(n) if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
            lookup(n)
                .map(|v| v.split_whitespace().map(str::to_string).collect())
                .ok_or_else(|| format!("${n}"))
        }
        _ => Ok(vec![word.to_string()]),
    }
}

fn analyse(
    words: &[String],
    lookup: Lookup<'_>,
    aliases: &[(String, Vec<String>)],
) -> Option<(String, Locked, Vec<String>)> {
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        if WRAPPERS.contains(&w.as_str())
            || (w.contains('=') && !w.starts_with('-') && !w.starts_with('$'))
        {
            i += 1;
            continue;
        }
        if w == "timeout" {
            i += 2;
            continue;
        }
        break;
    }
    if !is_cargo(words.get(i)?) {
        return None;
    }
    let mut args: Vec<String> = Vec::new();
    let mut unknown = None;
    for w in &words[i + 1..] {
        match expand(w, lookup) {
            Ok(parts) => args.extend(parts),
            Err(what) => {
                unknown.get_or_insert(what);
                args.push(w.clone());
            }
        }
    }
    let mut locked = false;
    let mut sub = None;
    let mut sub_at = 0;
    let mut depth = 0;
    let mut j = 0;
    let mut end = args.len();
    while j < args.len() {
        let a = args[j].clone();
        if a == "--" {
            end = j;
            break;
        }
        if a == "--locked" || a == "--frozen" {
            locked = true;
        } else if a.starts_with('+') && sub.is_none() {
        } else if VALUE_OPTS.contains(&a.as_str()) && sub.is_none() {
            j += 1;
        } else if a.starts_with('-') {
        } else if sub.is_none() {
            if let Some((_, expansion)) = aliases
                .iter()
                .find(|(n, _)| *n == a)
                .filter(|_| !RESOLVING.contains(&a.as_str()) && !INERT.contains(&a.as_str()))
            {
                depth += 1;
                if depth > 5 {
                    return None;
                }
                let rest: Vec<String> = args[j + 1..].to_vec();
                args.truncate(j);
                args.extend(expansion.iter().cloned());
                args.extend(rest);
                continue;
            }
            sub = Some(a);
            sub_at = j;
        }
        j += 1;
    }
    let sub = sub?;
    let rest: Vec<String> = args[..end]
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != sub_at)
        .map(|(_, a)| a.clone())
        .collect();
    let state = if locked {
        Locked::Yes
    } else if let Some(what) = unknown {
        Locked::Unknown(what)
    } else {
        Locked::No
    };
    Some((sub, state, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(script: &str) -> Vec<(String, Locked)> {
        let env = |k: &str| match k {
            "CARGO_FLAGS" => Some("--locked --all-features".to_string()),
            "env.RELEASE_ARGS" => Some("--release".to_string()),
            _ => None,
        };
        let aliases = vec![(
            "xtask".to_string(),
            vec![
                "run".into(),
                "--package".into(),
                "xtask".into(),
                "--".into(),
            ],
        )];
        cargo_calls(script, &env, &aliases)
            .into_iter()
            .map(|c| (c.subcommand, c.locked))
            .collect()
    }

    #[test]
    fn flags_commands_and_comments() {
        assert_eq!(
            calls("cargo build --locked"),
            vec![("build".into(), Locked::Yes)]
        );
        assert_eq!(
            calls("cargo +nightly test --release"),
            vec![("test".into(), Locked::No)]
        );
        assert_eq!(
            calls("cargo --frozen check"),
            vec![("check".into(), Locked::Yes)]
        );
        assert_eq!(calls("# cargo build\necho 'cargo build'"), vec![]);
        assert_eq!(
            calls("cargo fmt --all --check && cargo clippy --locked -- -D warnings"),
            vec![("clippy".into(), Locked::Yes)]
        );
        assert_eq!(
            calls("cargo run -- --locked"),
            vec![("run".into(), Locked::No)]
        );
        assert_eq!(
            calls("cargo build \\\n  --locked \\\n  --release"),
            vec![("build".into(), Locked::Yes)]
        );
        assert_eq!(
            calls("RUSTFLAGS=-Dwarnings cargo test $CARGO_FLAGS"),
            vec![("test".into(), Locked::Yes)]
        );
        assert_eq!(
            calls("cargo build ${{ env.RELEASE_ARGS }}"),
            vec![("build".into(), Locked::No)]
        );
        assert!(matches!(
            calls("cargo build ${{ inputs.flags }}")[0].1,
            Locked::Unknown(_)
        ));
        assert_eq!(calls("cargo xtask dist"), vec![("run".into(), Locked::No)]);
        assert_eq!(
            calls("cargo install --locked cargo-audit"),
            vec![("install".into(), Locked::Yes)]
        );
        assert_eq!(
            calls("if true; then cargo nextest run; fi"),
            vec![("nextest".into(), Locked::No)]
        );
        assert_eq!(
            calls("cross build --target x"),
            vec![("build".into(), Locked::No)]
        );
        assert_eq!(calls("cargo update -p foo"), vec![]);
    }
}
