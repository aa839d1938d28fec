//! Finds cargo invocations in shell scripts (`run:` steps, GitLab `script:` lines) and decides
//! whether each one is pinned to the lockfile.

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

/// One simple command of a pipeline: its words (quotes removed) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stage {
    pub words: Vec<String>,
    pub text: String,
}

/// A pipeline (`a | b | c`) on one logical line of a script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pipeline {
    /// 0-based line of the pipeline within the script.
    pub line: usize,
    pub stages: Vec<Stage>,
}

/// Every pipeline of `script`, in order: commands split on `;`, `&&`, `||`, `&` and new
/// lines, then on `|` into stages; `$( ... )`, `<( ... )` and backquotes stay inside their
/// stage. Comments are removed.
pub fn pipelines(script: &str) -> Vec<Pipeline> {
    let mut out = Vec::new();
    for (line_no, logical) in logical_lines(script) {
        let code = strip_comment(&logical);
        for list in split_lists(&code) {
            let stages: Vec<Stage> = split_pipes(&list)
                .into_iter()
                .filter(|s| !s.trim().is_empty())
                .map(|s| Stage {
                    words: words(&s),
                    text: s.trim().to_string(),
                })
                .collect();
            if !stages.is_empty() {
                out.push(Pipeline {
                    line: line_no,
                    stages,
                });
            }
        }
    }
    out
}

/// Splits on `;`, `&&`, `||` and a lone `&` outside quotes and substitutions.
fn split_lists(line: &str) -> Vec<String> {
    split_top(line, |chars, i| match chars[i] {
        ';' => Some(1),
        '&' if chars.get(i + 1) == Some(&'&') => Some(2),
        '|' if chars.get(i + 1) == Some(&'|') => Some(2),
        '&' if chars.get(i + 1) != Some(&'>') && (i == 0 || chars[i - 1] != '>') => Some(1),
        _ => None,
    })
}

/// Splits a list element on `|` (not `||`) outside quotes and substitutions.
fn split_pipes(list: &str) -> Vec<String> {
    split_top(list, |chars, i| {
        (chars[i] == '|' && chars.get(i + 1) != Some(&'|') && (i == 0 || chars[i - 1] != '|'))
            .then_some(1)
    })
}

/// Splits `s` where `sep` matches (returning the separator's length), outside quotes,
/// `$(...)`/`<(...)`/`(...)` groups, backquotes and `${{ }}` expressions.
fn split_top(s: &str, sep: impl Fn(&[char], usize) -> Option<usize>) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut backquote = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'{') && chars.get(i + 2) == Some(&'{') {
            let rest: String = chars[i..].iter().collect();
            let end = rest.find("}}").map(|e| e + 2).unwrap_or(rest.len());
            let n = rest[..end].chars().count();
            cur.push_str(&rest[..end]);
            i += n;
            continue;
        }
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                }
                cur.push(c);
                i += 1;
                continue;
            }
            Some('"') if c == '"' => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            _ => {}
        }
        if c == '\\' {
            cur.push(c);
            if let Some(&n) = chars.get(i + 1) {
                cur.push(n);
            }
            i += 2;
            continue;
        }
        if quote.is_none() {
            if c == '`' {
                backquote = !backquote;
            } else if c == '(' {
                depth += 1;
            } else if c == ')' {
                depth = depth.saturating_sub(1);
            }
        }
        if quote.is_none()
            && depth == 0
            && !backquote
            && let Some(n) = sep(&chars, i)
        {
            out.push(std::mem::take(&mut cur));
            i += n;
            continue;
        }
        cur.push(c);
        i += 1;
    }
    out.push(cur);
    out
}

/// The command word of a stage and the index of its first argument, past wrappers
/// (`sudo -E`, `env X=1`, `time`...) and variable assignments.
pub fn command_word(words: &[String]) -> Option<(&str, usize)> {
    let mut i = 0;
    while i < words.len() {
        let w = words[i].as_str();
        if w == "sudo" || w == "doas" {
            i += 1;
            while i < words.len() && words[i].starts_with('-') {
                if matches!(words[i].as_str(), "-u" | "-g" | "-C" | "-D" | "-h" | "-p") {
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        if WRAPPERS.contains(&w) || (w.contains('=') && !w.starts_with('-') && !w.starts_with('$'))
        {
            i += 1;
            continue;
        }
        if w == "timeout" {
            i += 2;
            continue;
        }
        return Some((w, i + 1));
    }
    None
}

/// Joins backslash continuations; yields (first line index, text).
fn logical_lines(script: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (i, line) in script.lines().enumerate() {
        if buf.is_empty() {
            start = i;
        }
        if let Some(stripped) = line.trim_end().strip_suffix('\\') {
            buf.push_str(stripped);
            buf.push(' ');
        } else {
            buf.push_str(line);
            out.push((start, std::mem::take(&mut buf)));
        }
    }
    if !buf.is_empty() {
        out.push((start, buf));
    }
    out
}

/// Removes a `#` comment that starts a word outside quotes.
fn strip_comment(line: &str) -> String {
    let mut quote = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return line[..i].to_string(),
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    line.to_string()
}

/// Splits on `;`, `&&`, `||`, `|`, `&`, `(`, `)`, `{`, `}` and `$(` outside quotes, keeping
/// `${{ ... }}` expressions intact.
fn split_commands(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut depth_expr = 0;
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if depth_expr > 0 {
            cur.push(c);
            if c == '}' && chars.get(i + 1) == Some(&'}') {
                cur.push('}');
                i += 1;
                depth_expr -= 1;
            }
            i += 1;
            continue;
        }
        if c == '$' && chars.get(i + 1) == Some(&'{') && chars.get(i + 2) == Some(&'{') {
            depth_expr += 1;
            cur.push_str("${{");
            i += 3;
            continue;
        }
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, ';' | '&' | '|' | '(' | ')' | '`') => out.push(std::mem::take(&mut cur)),
            (None, '{' | '}')
                if cur.trim().is_empty() || chars.get(i + 1).is_none_or(|n| n.is_whitespace()) =>
            {
                if c == '{' && i > 0 && chars[i - 1] == '$' {
                    cur.push(c);
                } else {
                    out.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
        i += 1;
    }
    out.push(cur);
    out.into_iter().filter(|c| !c.trim().is_empty()).collect()
}

/// Shell words with quotes removed; `${{ expr }}` stays one word.
fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut in_word = false;
    let mut rest = command;
    while let Some(c) = rest.chars().next() {
        if quote.is_none() && rest.starts_with("${{") {
            let end = rest.find("}}").map(|e| e + 2).unwrap_or(rest.len());
            cur.push_str(&rest[..end].split_whitespace().collect::<String>());
            in_word = true;
            rest = &rest[end..];
            continue;
        }
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            _ => {
                cur.push(c);
                in_word = true;
            }
        }
        rest = &rest[c.len_utf8()..];
    }
    if in_word {
        out.push(cur);
    }
    out
}

const WRAPPERS: &[&str] = &[
    "env", "time", "sudo", "nice", "xvfb-run", "exec", "command", "then", "do", "else", "if",
    "while", "until", "!", "eval",
];

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
