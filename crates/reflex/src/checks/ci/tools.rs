//! How CI scripts get their tools: `cargo install` / `cargo binstall` pinned to a version,
//! and code downloaded from the network run without a checksum (`curl ... | sh`, a saved
//! `rustup-init` or script executed). Shared by GitHub Actions `run:` steps and GitLab scripts.

use super::shell::{self, CargoCommand, Stage};

/// Options of `cargo install` and `cargo binstall` that take a value (the next word).
const INSTALL_VALUE_OPTS: &[&str] = &[
    "--version",
    "--vers",
    "--git",
    "--branch",
    "--tag",
    "--rev",
    "--path",
    "--root",
    "--index",
    "--registry",
    "--target",
    "--target-dir",
    "--features",
    "-F",
    "--profile",
    "--config",
    "-j",
    "--jobs",
    "--bin",
    "--example",
    "--color",
    "-Z",
    "--message-format",
    "--manifest-path",
    "--targets",
    "--pkg-url",
    "--pkg-fmt",
    "--bin-dir",
    "--install-path",
    "--strategies",
    "--disable-strategies",
    "--min-tls-version",
    "--github-token",
    "--rate-limit",
    "--log-level",
    "--maximum-resolution-timeout",
    "--settings",
];

/// Why a `cargo install` / `cargo binstall` does not name one exact version of what it
/// installs, or `None` when it does (or installs a local path).
pub fn install_unpinned(call: &CargoCommand) -> Option<String> {
    if call.subcommand != "install" && call.subcommand != "binstall" {
        return None;
    }
    let mut version = None;
    let mut git = None;
    let mut git_pin = false;
    let mut branch = None;
    let mut crates: Vec<&str> = Vec::new();
    let mut i = 0;
    let args = &call.args;
    while i < args.len() {
        let a = args[i].as_str();
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (a, None),
        };
        let value = |i: &mut usize| -> Option<String> {
            if inline.is_some() {
                return inline.clone();
            }
            *i += 1;
            args.get(*i).cloned()
        };
        if INSTALL_VALUE_OPTS.contains(&flag) {
            let v = value(&mut i);
            match flag {
                "--version" | "--vers" => version = v,
                "--git" => git = v,
                "--rev" | "--tag" => git_pin = true,
                "--branch" => branch = v,
                // A local path installs what is checked out: nothing to pin.
                "--path" | "--manifest-path" => return None,
                _ => {}
            }
        } else if !a.starts_with('-') {
            crates.push(a);
        }
        i += 1;
    }
    if let Some(url) = git {
        if git_pin {
            return None;
        }
        return Some(match branch {
            Some(b) => format!("installs from git branch `{b}` of {url}, which moves"),
            None => format!("installs the default branch of {url}, which moves"),
        });
    }
    // `cargo install` with no crate installs the current package.
    if crates.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    for spec in crates {
        // A crate named by a variable we could not resolve may carry its own `@version`.
        if spec.contains('$') {
            continue;
        }
        let (name, ver) = match spec.split_once('@') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (spec, version.clone()),
        };
        match ver {
            None => problems.push(format!(
                "`{name}` has no version: the newest release is installed"
            )),
            Some(v) if !exact_version(&v) => problems.push(format!(
                "`{name}` asks for `{v}`, a range: the newest matching release is installed"
            )),
            Some(_) => {}
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// `1.2.3`, `=1.2.3`, `1.2.3-rc.1`: one release. Variables count as pinned (their value is
/// not in the file, and naming one is a deliberate choice).
fn exact_version(v: &str) -> bool {
    let v = v.trim().trim_matches('"').trim_matches('\'');
    if v.contains('$') {
        return true;
    }
    let v = v.strip_prefix('=').unwrap_or(v).trim();
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Code from the network that a script runs without checking it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// 0-based line within the script.
    pub line: usize,
    /// The command (or pipeline) as written.
    pub command: String,
    /// The URL, when one is written.
    pub url: Option<String>,
    /// How it runs: "piped into `sh`", "saved as `x` and executed".
    pub how: String,
}

impl Download {
    /// Installers served by the Rust project itself (rustup), which hosted runners already
    /// trust: still unverified, but a lower risk than a script from anyone's branch.
    pub fn from_rust_project(&self) -> bool {
        self.url.as_deref().is_some_and(|u| {
            let host = u
                .split("://")
                .nth(1)
                .unwrap_or(u)
                .split('/')
                .next()
                .unwrap_or("");
            matches!(
                host,
                "sh.rustup.rs" | "win.rustup.rs" | "static.rust-lang.org" | "rustup.rs"
            )
        })
    }
}

const DOWNLOADERS: &[&str] = &[
    "curl",
    "curl.exe",
    "wget",
    "wget.exe",
    "iwr",
    "irm",
    "Invoke-WebRequest",
    "Invoke-RestMethod",
];

/// Programs that run what they read on standard input (or from a substituted file).
const INTERPRETERS: &[&str] = &[
    "sh",
    "bash",
    "zsh",
    "dash",
    "ksh",
    "fish",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "pwsh",
    "powershell",
    "iex",
    "Invoke-Expression",
    "source",
    ".",
    "eval",
];

/// Commands that verify a download (any of them in the script counts: the check cannot be
/// tied to one file reliably).
const VERIFIERS: &[&str] = &[
    "sha256sum",
    "sha512sum",
    "sha384sum",
    "shasum",
    "b3sum",
    "openssl dgst",
    "gpg --verify",
    "gpg2 --verify",
    "gpgv",
    "minisign",
    "cosign verify",
    "slsa-verifier",
    "gh attestation verify",
    "Get-FileHash",
    "--checksum",
];

fn base(word: &str) -> &str {
    word.rsplit(['/', '\\']).next().unwrap_or(word)
}

fn is_downloader(stage: &Stage) -> bool {
    shell::command_word(&stage.words).is_some_and(|(w, _)| DOWNLOADERS.contains(&base(w)))
}

fn url_of(stage: &Stage) -> Option<String> {
    stage
        .words
        .iter()
        .find(|w| w.starts_with("https://") || w.starts_with("http://"))
        .cloned()
}

/// Where a downloader stage saves its file, when it saves one (not to stdout).
fn saved_as(stage: &Stage) -> Option<String> {
    let (cmd, start) = shell::command_word(&stage.words)?;
    let cmd = base(cmd);
    let args = &stage.words[start..];
    let url_base =
        || url_of(stage).map(|u| base(u.split(['?', '#']).next().unwrap_or("")).to_string());
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        let next = args.get(i + 1).cloned();
        match cmd {
            "curl" | "curl.exe" => {
                if a == "--output" || a == "-o" {
                    return next;
                }
                if let Some(v) = a.strip_prefix("--output=") {
                    return Some(v.to_string());
                }
                if a == "--remote-name" || a == "--remote-name-all" {
                    return url_base();
                }
                if a.starts_with('-') && !a.starts_with("--") && a.len() > 1 {
                    let flags = &a[1..];
                    if let Some(p) = flags.find('o') {
                        let rest = &flags[p + 1..];
                        return if rest.is_empty() {
                            next
                        } else {
                            Some(rest.to_string())
                        };
                    }
                    if flags.contains('O') {
                        return url_base();
                    }
                }
            }
            "wget" | "wget.exe" => {
                if a == "-O" || a == "--output-document" {
                    return next.filter(|n| n != "-");
                }
                if let Some(v) = a.strip_prefix("--output-document=") {
                    return (v != "-").then(|| v.to_string());
                }
                if a == "-qO-" || a == "-O-" || a.ends_with("O-") {
                    return None;
                }
            }
            _ => {
                if a.eq_ignore_ascii_case("-OutFile") {
                    return next;
                }
            }
        }
        i += 1;
    }
    // wget saves under the URL's name by default.
    if cmd.starts_with("wget") {
        return url_base();
    }
    None
}

/// Every download that `script` runs without a checksum check: pipelines that feed a
/// download into an interpreter (`curl ... | sh`), interpreters given a substituted download
/// (`sh -c "$(curl ...)"`, `bash <(curl ...)`), and files downloaded then executed
/// (`curl -o rustup-init ...; ./rustup-init`) when nothing in the script verifies them.
pub fn unverified_downloads(script: &str) -> Vec<Download> {
    let pipes = shell::pipelines(script);
    let mut out = Vec::new();
    let verified = VERIFIERS.iter().any(|v| script.contains(v));
    let mut saved: Vec<(String, usize, String, Option<String>)> = Vec::new();
    for p in &pipes {
        let command = p
            .stages
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        // `curl ... | sh`
        let piped_into = |d: usize| {
            p.stages[d + 1..].iter().find_map(|s| {
                shell::command_word(&s.words)
                    .map(|(w, _)| base(w))
                    .filter(|w| INTERPRETERS.contains(w))
            })
        };
        if let Some(d) = p.stages.iter().position(is_downloader)
            && let Some(sh) = piped_into(d)
        {
            out.push(Download {
                line: p.line,
                command: command.clone(),
                url: url_of(&p.stages[d]),
                how: format!("piped into `{sh}`"),
            });
            continue;
        }
        // `sh -c "$(curl ...)"`, `bash <(wget -O- ...)`, `iex (iwr ...)`
        for s in &p.stages {
            let Some((w, _)) = shell::command_word(&s.words) else {
                continue;
            };
            if !INTERPRETERS.contains(&base(w)) {
                continue;
            }
            let substituted = ["$(", "<(", "`", "("].iter().any(|open| {
                DOWNLOADERS
                    .iter()
                    .any(|d| s.text.contains(&format!("{open}{d} ")))
            });
            if substituted {
                let url = s
                    .text
                    .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')')
                    .find(|w| w.starts_with("https://") || w.starts_with("http://"))
                    .map(str::to_string);
                out.push(Download {
                    line: p.line,
                    command: command.clone(),
                    url,
                    how: format!("substituted into `{}`", base(w)),
                });
            }
        }
        // `curl -o x ...` then `./x`, `sh x`, `chmod +x x`
        for s in &p.stages {
            if is_downloader(s) {
                if let Some(file) = saved_as(s) {
                    saved.push((file, p.line, s.text.clone(), url_of(s)));
                }
                continue;
            }
            let Some((w, start)) = shell::command_word(&s.words) else {
                continue;
            };
            let args = &s.words[start..];
            let runs = |file: &str| -> bool {
                let f = base(file);
                if f.is_empty() {
                    return false;
                }
                let path_like = w.contains('/') || w.contains('\\') || w == file;
                if path_like && base(w) == f {
                    return true;
                }
                let bw = base(w);
                if INTERPRETERS.contains(&bw) {
                    return args.iter().any(|a| !a.starts_with('-') && base(a) == f);
                }
                if bw == "chmod" {
                    // The mode is the first operand: `+x`, `u+rwx`, `755`.
                    let mode = args.iter().find(|a| !a.starts_with('-'));
                    let executable = mode.is_some_and(|m| {
                        (m.contains('+') && m.contains('x'))
                            || (m.chars().all(|c| c.is_ascii_digit())
                                && m.chars().any(|c| matches!(c, '1' | '3' | '5' | '7')))
                    });
                    return executable && args.iter().skip(1).any(|a| base(a) == f);
                }
                false
            };
            if let Some((file, line, text, url)) = saved.iter().find(|(f, ..)| runs(f))
                && !verified
                && !out.iter().any(|d| d.line == *line && d.command == *text)
            {
                out.push(Download {
                    line: *line,
                    command: text.clone(),
                    url: url.clone(),
                    how: format!("saved as `{}` and executed", base(file)),
                });
            }
        }
    }
    out.sort_by_key(|d| d.line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(script: &str) -> Option<String> {
        let lookup = |k: &str| (k == "TOOL").then(|| "cargo-deny@0.16.1".to_string());
        let calls = shell::cargo_commands(script, &lookup, &[]);
        install_unpinned(&calls[0])
    }

    #[test]
    fn cargo_install_needs_one_exact_version() {
        assert!(install("cargo install cargo-fuzz").is_some());
        assert!(install("cargo install --locked cargo-fuzz").is_some());
        assert!(install("cargo install --force cargo-udeps").is_some());
        assert!(install("cargo binstall --no-confirm cross").is_some());
        assert!(install("cargo install cargo-workspaces --version ^0.3").is_some());
        assert!(
            install("cargo install a@1.0.0 b")
                .unwrap()
                .contains("`b` has no version")
        );
        assert_eq!(install("cargo install --locked cargo-deny@0.16.1"), None);
        assert_eq!(
            install("cargo install cargo-workspaces --version \"0.3.6\""),
            None
        );
        assert_eq!(
            install("cargo install --version=0.3.6 cargo-workspaces"),
            None
        );
        assert_eq!(
            install("cargo binstall --no-confirm cargo-shear@1.12.4"),
            None
        );
        assert_eq!(install("cargo install --version =1.2.3-rc.1 x"), None);
        assert_eq!(install("cargo install --locked --path . --debug"), None);
        assert_eq!(install("cargo install --path . --locked --force"), None);
        assert_eq!(install("cargo install $TOOL"), None);
        assert_eq!(install("cargo install --locked \"$UNKNOWN\""), None);
        assert!(install("cargo install --locked $UNKNOWN other").is_some());
        assert_eq!(install("cargo install --version \"$V\" x"), None);
        assert_eq!(install("cargo install"), None);
        assert_eq!(install("cargo build"), None);
        // Git sources need a commit or a tag.
        assert!(install("cargo install --git https://github.com/a/b").is_some());
        assert!(
            install("cargo install --git https://github.com/a/b --branch main")
                .unwrap()
                .contains("branch `main`")
        );
        assert_eq!(
            install("cargo install --git https://github.com/a/b --rev 0123abc b"),
            None
        );
        assert_eq!(
            install("cargo install --git https://github.com/a/b --tag v1.0.0"),
            None
        );
    }

    fn downloads(script: &str) -> Vec<String> {
        unverified_downloads(script)
            .into_iter()
            .map(|d| d.how)
            .collect()
    }

    #[test]
    fn piped_installers_are_found() {
        assert_eq!(
            downloads("curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y"),
            vec!["piped into `sh`"]
        );
        assert_eq!(
            downloads("curl -L https://x.example/install.sh | sudo -E bash -s -- --to /usr/bin"),
            vec!["piped into `bash`"]
        );
        assert_eq!(
            downloads("wget -qO- https://x.example/i.sh | bash"),
            vec!["piped into `bash`"]
        );
        assert_eq!(
            downloads("irm https://x.example/install.ps1 | iex"),
            vec!["piped into `iex`"]
        );
        assert_eq!(
            downloads("sh -c \"$(curl -fsSL https://x.example/i.sh)\""),
            vec!["substituted into `sh`"]
        );
        assert_eq!(
            downloads("bash <(curl -s https://x.example/i.sh)"),
            vec!["substituted into `bash`"]
        );
        // Even a checksum elsewhere cannot vouch for what a pipe runs.
        assert_eq!(
            downloads("sha256sum -c sums\ncurl https://x.example/i.sh | sh").len(),
            1
        );
        assert!(unverified_downloads("curl -sSf https://sh.rustup.rs | sh")[0].from_rust_project());
    }

    #[test]
    fn saved_then_executed_needs_a_checksum() {
        assert_eq!(
            downloads(
                "curl -sSLO https://raw.githubusercontent.com/a/b/master/check.sh\nsh check.sh --all"
            ),
            vec!["saved as `check.sh` and executed"]
        );
        assert_eq!(
            downloads(
                "curl -Lo tool.AppImage \\\n  https://x.example/tool.AppImage\nchmod +x tool.AppImage\n./tool.AppImage --appdir x"
            ),
            vec!["saved as `tool.AppImage` and executed"]
        );
        assert_eq!(
            downloads(
                "curl -o rustup-init https://static.rust-lang.org/rustup/dist/x86_64-unknown-linux-gnu/rustup-init\nchmod +x rustup-init\n./rustup-init -y"
            ),
            vec!["saved as `rustup-init` and executed"]
        );
        assert_eq!(
            downloads("wget https://x.example/install.sh && bash install.sh"),
            vec!["saved as `install.sh` and executed"]
        );
        assert_eq!(
            downloads(
                "Invoke-WebRequest https://win.rustup.rs/x86_64 -OutFile rustup-init.exe\n.\\rustup-init.exe -y"
            ),
            vec!["saved as `rustup-init.exe` and executed"]
        );
        assert_eq!(
            downloads("curl -o x86_64-tool https://x.example/x86_64-tool\nchmod 755 x86_64-tool"),
            vec!["saved as `x86_64-tool` and executed"]
        );
        // Verified, or never executed: nothing to say.
        assert!(
            downloads("curl -o x86_64-tool https://x.example/x86_64-tool\nchmod 644 x86_64-tool")
                .is_empty()
        );
        assert!(downloads("curl -o rustup-init https://static.rust-lang.org/r/rustup-init\necho \"$SUM  rustup-init\" | sha256sum -c -\n./rustup-init -y").is_empty());
        assert!(
            downloads(
                "curl -LO https://github.com/a/b/releases/download/v1/x.tar.gz\ntar xf x.tar.gz"
            )
            .is_empty()
        );
        assert!(downloads("curl -L https://x.example/t.tar.gz | tar xzf -").is_empty());
        assert!(downloads("curl -sSL $url | jq -r '.head.ref'").is_empty());
        assert!(downloads("curl https://x.example/runs --json \"$m\" > out.json").is_empty());
        assert!(downloads("# curl https://x.example/i.sh | sh").is_empty());
        assert!(downloads("echo 'curl https://x.example/i.sh | sh'").is_empty());
    }
}
