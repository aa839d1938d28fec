//! The shape of the code, as tests: the library's layers point one way, finding codes are
//! named through their constants, and no file or function outgrows a head.
//!
//! These read the source files; they never build or run anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The library's layers, lowest first. A module may use its own layer and those below.
/// `policy` (the rules as data, parsed and applied against a `&Catalog`) sits below `checks`
/// because the gate's checks read the rules; `commands` (which checks a command runs, the
/// loader, the assembler) sits below the monitor and the drill because the drill runs them.
const LAYERS: &[(&str, &[&str])] = &[
    ("finding model", &["finding", "error", "time"]),
    ("shared knowledge", &["knowledge", "parallel"]),
    ("graph", &["graph"]),
    ("sources", &["sources", "state"]),
    ("analysis and review", &["analysis", "review"]),
    ("policy rules", &["policy"]),
    ("checks", &["checks"]),
    ("report", &["report"]),
    ("commands", &["commands", "init", "respond"]),
    (
        "build and monitor",
        &["build", "build_plan", "build_secrets", "monitor"],
    ),
    ("drill", &["drill"]),
    ("tools", &["sbom", "survey"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code a module ships: comments removed, `#[cfg(test)]` sections left out (tests may
/// reach anywhere).
fn shipped_code(text: &str) -> String {
    let mut out = String::new();
    let mut depth_at_test: Option<usize> = None;
    let mut depth = 0usize;
    let mut pending_test = false;
    for line in text.lines() {
        let code = strip_comment(line);
        let trimmed = code.trim();
        if trimmed.starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = code.matches('{').count();
        let closes = code.matches('}').count();
        if pending_test && depth_at_test.is_none() {
            if opens > closes {
                depth_at_test = Some(depth);
            }
            if opens > 0 || trimmed.ends_with(';') {
                pending_test = false;
            }
        }
        depth = (depth + opens).saturating_sub(closes);
        match depth_at_test {
            Some(d) if depth <= d => depth_at_test = None,
            Some(_) => {}
            None => {
                out.push_str(code);
                out.push('\n');
            }
        }
    }
    out
}

/// The line without its `//` comment (a `//` inside a string literal is kept).
fn strip_comment(line: &str) -> &str {
    let mut in_str = false;
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

/// A file that is a `#[cfg(test)]` module of its own (`src/**/tests/*.rs`, `*tests.rs`,
/// `test_support.rs`).
fn is_test_module(rel: &str) -> bool {
    rel.contains("/tests/") || rel.ends_with("tests.rs") || rel.ends_with("test_support.rs")
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level modules `code` refers to through `crate::`.
fn referenced_modules(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `reflex_sandbox_contract::` and the like
        }
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.push(name);
        }
    }
    found
}

#[test]
fn lower_layers_never_reach_higher_ones() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut violations = Vec::new();
    let mut unplaced = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&root).unwrap();
        let module = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || is_test_module(&rel.display().to_string()) {
            continue;
        }
        let Some(mine) = layer_of(&module) else {
            unplaced.push(module);
            continue;
        };
        let code = shipped_code(&std::fs::read_to_string(file).unwrap());
        for used in referenced_modules(&code) {
            match layer_of(&used) {
                Some(theirs) if theirs > mine => violations.push(format!(
                    "{} ({}) uses crate::{used} ({})",
                    rel.display(),
                    LAYERS[mine].0,
                    LAYERS[theirs].0
                )),
                Some(_) => {}
                None if used == "Error" || used == "Result" => {}
                None => unplaced.push(used),
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
    assert!(
        violations.is_empty(),
        "a lower layer reaches a higher one:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_layer_checker_sees_a_violation() {
    let code = shipped_code(
        "use crate::finding::Finding;\nuse crate::{graph::Graph, report};\n// crate::drill\n\
         fn f() { crate::checks::catalog(); }\n#[cfg(test)]\nmod tests {\n    use crate::drill;\n}\n",
    );
    assert_eq!(
        referenced_modules(&code),
        ["finding", "graph", "report", "checks"]
    );
}

/// Every file of the workspace's crates, tests included.
fn workspace_files() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(crates).unwrap() {
        let krate = krate.unwrap().path();
        for dir in ["src", "tests", "benches"] {
            if krate.join(dir).is_dir() {
                rust_files(&krate.join(dir), &mut files);
            }
        }
    }
    files.sort();
    files
}

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 150;

/// (name, first line, length) of every function in rustfmt-formatted `text`: from the `fn`
/// line to the closing brace at the same indentation.
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let Some(at) = trimmed.find("fn ") else {
            continue;
        };
        let head = &trimmed[..at];
        let is_item = head.split_whitespace().all(|w| {
            matches!(w, "pub" | "const" | "async" | "unsafe" | "extern" | "\"C\"")
                || w.starts_with("pub(")
        });
        if !is_item || trimmed.ends_with(';') {
            continue;
        }
        let name: String = trimmed[at + 3..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            found.push((name, i + 1, end + 1));
        }
    }
    found
}

#[test]
#[allow(clippy::print_stderr)] // the largest file and function, for `--nocapture` readers
fn no_file_or_function_outgrows_a_head() {
    let mut too_big = Vec::new();
    let mut largest_fn = (String::new(), 0);
    let mut largest_file = (String::new(), 0);
    for file in workspace_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.display().to_string();
        let lines = text.lines().count();
        if lines > largest_file.1 {
            largest_file = (name.clone(), lines);
        }
        if lines > MAX_FILE_LINES {
            too_big.push(format!("{name}: {lines} lines"));
        }
        for (f, line, len) in functions(&text) {
            if len > largest_fn.1 {
                largest_fn = (format!("{name}:{line} {f}"), len);
            }
            if len > MAX_FN_LINES {
                too_big.push(format!("{name}:{line}: fn {f} is {len} lines"));
            }
        }
    }
    eprintln!(
        "largest file: {} ({} lines); largest function: {} ({} lines)",
        largest_file.0, largest_file.1, largest_fn.0, largest_fn.1
    );
    assert!(
        too_big.is_empty(),
        "over {MAX_FILE_LINES} lines per file or {MAX_FN_LINES} per function:\n{}",
        too_big.join("\n")
    );
}

#[test]
fn the_size_checker_measures_functions() {
    let text = "fn a() {\n    x();\n}\n\nimpl T {\n    pub(crate) fn b(&self) -> u8 {\n        1\n    }\n    fn c();\n}\n";
    let found = functions(text);
    assert_eq!(found, [("a".to_string(), 1, 3), ("b".to_string(), 6, 3)]);
}

/// Where each finding code is declared: the file holding `CodeSpec::new("code"`.
fn owners(files: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let mut owners = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("CodeSpec::new(") {
            rest = &rest[i + "CodeSpec::new(".len()..];
            let after = rest.trim_start();
            if let Some(lit) = after.strip_prefix('"') {
                let code = &lit[..lit.find('"').unwrap()];
                owners.entry(code.to_string()).or_insert(file.clone());
            }
        }
    }
    owners
}

/// String literals that name a field or a check, not a finding code, where they appear.
const NOT_CODES: &[(&str, &str)] = &[
    // the index's JSON field
    ("sources/registry_index.rs", "yanked"),
    ("drill/registry.rs", "yanked"),
    // the sandbox's event name for a lookup, and the alert action that reports it
    ("monitor/alert.rs", "dns-query"),
    // the built-in drill scenario of that name
    ("drill/scenario.rs", "dependency-confusion"),
];

#[test]
fn codes_are_named_by_their_constants_outside_their_module() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for krate in ["reflex", "cargo-reflex"] {
        rust_files(&crates.join(krate).join("src"), &mut files);
    }
    let owners = owners(&files);
    let mut codes: Vec<&str> = reflex::checks::catalog().codes();
    codes.extend(reflex::monitor::codes::ALL.iter().map(|s| s.code));
    let mut literal = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(crates).unwrap().display().to_string();
        if is_test_module(&rel) {
            continue;
        }
        let code = shipped_code(&std::fs::read_to_string(file).unwrap());
        for c in &codes {
            let quoted = format!("\"{c}\"");
            if !code.contains(&quoted) || owners.get(*c) == Some(file) {
                continue;
            }
            if NOT_CODES
                .iter()
                .any(|(f, lit)| rel.ends_with(f) && lit == c)
            {
                continue;
            }
            literal.push(format!("{rel}: \"{c}\""));
        }
    }
    assert!(
        literal.is_empty(),
        "finding codes written as string literals outside the module that declares them \
         (use the constant):\n{}",
        literal.join("\n")
    );
    for c in &codes {
        assert!(
            owners.contains_key(*c),
            "{c}: no `CodeSpec::new(\"{c}\"` found"
        );
    }
}
