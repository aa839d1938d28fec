//! Shell syntax, as far as CI scripts need it: backslash continuations, comments, command
//! lists, pipelines, quoted words, and the command word past wrappers like `sudo` or `env`.

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
pub(super) fn logical_lines(script: &str) -> Vec<(usize, String)> {
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
pub(super) fn strip_comment(line: &str) -> String {
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
pub(super) fn split_commands(line: &str) -> Vec<String> {
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
pub(super) fn words(command: &str) -> Vec<String> {
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

/// Words that run the command after them (`env`, `sudo`, `time`...) and shell keywords
/// that come before a command.
pub(super) const WRAPPERS: &[&str] = &[
    "env", "time", "sudo", "nice", "xvfb-run", "exec", "command", "then", "do", "else", "if",
    "while", "until", "!", "eval",
];
