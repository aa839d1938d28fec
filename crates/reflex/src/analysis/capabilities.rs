//! What build-time code can do, read from its source: environment variables it reads,
//! network use, process spawning, file writes, and obfuscation hints. Static and therefore
//! approximate: it sees what the code names, not what it computes at run time.

use crate::knowledge::secrets::{SENSITIVE_PATH_FRAGMENTS, secret_reason};
use serde::Serialize;
use std::collections::BTreeSet;
use syn::visit::Visit;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Capabilities {
    /// Environment variables read by name (`env::var("X")`, `env!("X")`).
    pub env_reads: BTreeSet<String>,
    /// Reads the whole environment (`env::vars()`).
    pub env_dump: bool,
    /// Network APIs or HTTP/socket crates named, with what was seen.
    pub network: BTreeSet<String>,
    /// Process spawning APIs named.
    pub processes: BTreeSet<String>,
    /// File-writing APIs named.
    pub file_writes: BTreeSet<String>,
    /// Whether `OUT_DIR` is read (writes probably go there).
    pub uses_out_dir: bool,
    /// Literals naming credential or start-up files.
    pub sensitive_paths: BTreeSet<String>,
    /// Long encoded literals and embedded blobs.
    pub obfuscation: BTreeSet<String>,
    /// URLs in string literals.
    pub urls: BTreeSet<String>,
}

impl Capabilities {
    pub fn merge(&mut self, o: Capabilities) {
        self.env_reads.extend(o.env_reads);
        self.env_dump |= o.env_dump;
        self.network.extend(o.network);
        self.processes.extend(o.processes);
        self.file_writes.extend(o.file_writes);
        self.uses_out_dir |= o.uses_out_dir;
        self.sensitive_paths.extend(o.sensitive_paths);
        self.obfuscation.extend(o.obfuscation);
        self.urls.extend(o.urls);
    }

    /// One line of what the code can do, empty when it does nothing notable.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let secrets = self.secret_reads();
        if !secrets.is_empty() {
            parts.push(format!("reads secrets {}", secrets.join(", ")));
        }
        if self.env_dump {
            parts.push("reads the whole environment".to_string());
        }
        let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
        if !self.network.is_empty() {
            parts.push(format!("network ({})", list(&self.network)));
        }
        if !self.processes.is_empty() {
            parts.push(format!("spawns {}", list(&self.processes)));
        }
        if !self.sensitive_paths.is_empty() {
            parts.push(format!("touches {}", list(&self.sensitive_paths)));
        }
        if !self.file_writes.is_empty() {
            parts.push(format!("writes {}", list(&self.file_writes)));
        }
        if !self.obfuscation.is_empty() {
            parts.push(format!("obfuscation ({})", list(&self.obfuscation)));
        }
        parts.join("; ")
    }

    /// Environment variables read whose names or purpose look like secrets.
    pub fn secret_reads(&self) -> Vec<&str> {
        self.env_reads
            .iter()
            .filter(|n| !is_cargo_var(n) && secret_reason(n, "x").is_some())
            .map(String::as_str)
            .collect()
    }
}

const NET_CRATES: &[&str] = &[
    "reqwest",
    "ureq",
    "hyper",
    "curl",
    "attohttpc",
    "minreq",
    "isahc",
    "surf",
    "ehttp",
    "socket2",
    "trust_dns_resolver",
    "hickory_resolver",
    "tokio_tungstenite",
    "tungstenite",
    "native_tls",
    "rustls",
    "http_req",
];
const NET_TYPES: &[&str] = &[
    "TcpStream",
    "UdpSocket",
    "TcpListener",
    "ToSocketAddrs",
    "lookup_host",
    "UnixStream",
];

/// Variables cargo sets for build scripts, and the usual toolchain knobs.
pub fn is_cargo_var(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "OUT_DIR",
        "TARGET",
        "HOST",
        "NUM_JOBS",
        "OPT_LEVEL",
        "DEBUG",
        "PROFILE",
        "RUSTC",
        "RUSTDOC",
        "RUSTC_WRAPPER",
        "RUSTC_LINKER",
        "RUSTFLAGS",
        "CC",
        "CXX",
        "AR",
        "CFLAGS",
        "CXXFLAGS",
        "LDFLAGS",
        "PATH",
        "DOCS_RS",
        "HOME",
    ];
    EXACT.contains(&name)
        || ["CARGO", "DEP_", "RUSTC_", "PKG_CONFIG", "TARGET_"]
            .iter()
            .any(|p| name.starts_with(p))
        || [
            "_LIB_DIR",
            "_INCLUDE_DIR",
            "_STATIC",
            "_NO_VENDOR",
            "_DIR",
            "_PATH",
        ]
        .iter()
        .any(|s| name.ends_with(s))
}

struct Scan {
    caps: Capabilities,
}

fn path_string(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| syn::ext::IdentExt::unraw(&s.ident).to_string())
        .collect::<Vec<_>>()
        .join("::")
}

impl Scan {
    fn path(&mut self, full: &str) {
        let segs: Vec<&str> = full.split("::").collect();
        let first = segs.first().copied().unwrap_or("");
        let last = segs.last().copied().unwrap_or("");
        if NET_CRATES.contains(&first) {
            self.caps
                .network
                .insert(format!("uses the `{first}` crate"));
        }
        if (full.contains("net::") && first != "core")
            || NET_TYPES.contains(&last)
            || segs.contains(&"net") && first == "std"
        {
            self.caps.network.insert(format!("`{full}`"));
        }
        if (last == "Command" && (segs.contains(&"process") || segs.len() == 1))
            || full.ends_with("process::Command")
        {
            self.caps.processes.insert("`std::process::Command`".into());
        }
        if matches!(first, "duct" | "xshell" | "subprocess")
            || (first == "libc"
                && matches!(
                    last,
                    "system" | "fork" | "execv" | "execve" | "execvp" | "posix_spawn"
                ))
        {
            self.caps.processes.insert(format!("`{full}`"));
        }
        if matches!(last, "vars" | "vars_os") && segs.contains(&"env") {
            self.caps.env_dump = true;
        }
    }

    fn call(&mut self, func: &str, args: &syn::punctuated::Punctuated<syn::Expr, syn::Token![,]>) {
        let first_lit = args.first().and_then(|a| match a {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        });
        let tail: Vec<&str> = func.rsplit("::").take(2).collect();
        let name = match tail.as_slice() {
            [last, prev] => format!("{prev}::{last}"),
            [last] => last.to_string(),
            _ => String::new(),
        };
        match name.as_str() {
            "env::var" | "env::var_os" | "env::remove_var" => {
                if let Some(v) = first_lit {
                    if v == "OUT_DIR" {
                        self.caps.uses_out_dir = true;
                    }
                    self.caps.env_reads.insert(v);
                }
            }
            "fs::write"
            | "File::create"
            | "OpenOptions::new"
            | "fs::copy"
            | "fs::rename"
            | "fs::remove_file"
            | "fs::remove_dir_all"
            | "fs::set_permissions"
            | "fs::hard_link"
            | "unix::fs::symlink" => {
                self.caps.file_writes.insert(format!("`{name}`"));
            }
            // Helpers that wrap `env::var` (`cargo_env_var("RUSTC")`) still name the variable.
            n if (n.ends_with("env_var") || n.ends_with("env_var_os")) && first_lit.is_some() => {
                if let Some(v) = first_lit {
                    self.caps.uses_out_dir |= v == "OUT_DIR";
                    self.caps.env_reads.insert(v);
                }
            }
            "Command::new" => {
                let what = first_lit
                    .map(|p| format!("`Command::new(\"{p}\")`"))
                    .unwrap_or_else(|| "`Command::new`".into());
                self.caps.processes.insert(what);
            }
            _ => {}
        }
    }

    fn literal(&mut self, s: &str) {
        // Only path-like literals: no spaces, and a separator or a leading dot or tilde.
        let path_like = !s.contains(char::is_whitespace)
            && (s.contains('/') || s.starts_with('.') || s.starts_with('~'));
        if path_like && s.len() < 200 && SENSITIVE_PATH_FRAGMENTS.iter().any(|p| s.contains(p)) {
            self.caps.sensitive_paths.insert(s.to_string());
        }
        if (s.starts_with("http://") || s.starts_with("https://")) && s.len() < 300 {
            self.caps.urls.insert(s.to_string());
        }
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let b64 = compact.len() >= 120
            && compact
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'))
            && compact.chars().any(|c| c.is_ascii_digit())
            && compact.chars().any(|c| c.is_ascii_uppercase())
            && compact.chars().any(|c| c.is_ascii_lowercase());
        let hex = compact.len() >= 96
            && compact.len().is_multiple_of(2)
            && compact.chars().all(|c| c.is_ascii_hexdigit());
        if b64 || hex {
            let kind = if hex { "hex" } else { "base64-like" };
            self.caps.obfuscation.insert(format!(
                "{} characters of {kind} text in a string literal",
                compact.len()
            ));
        }
    }
}

impl<'ast> Visit<'ast> for Scan {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        self.path(&path_string(p));
        syn::visit::visit_path(self, p);
    }

    fn visit_use_tree(&mut self, t: &'ast syn::UseTree) {
        let mut prefix = Vec::new();
        collect_use(t, &mut prefix, &mut |full| self.path(full));
        syn::visit::visit_use_tree(self, t);
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            self.call(&path_string(&p.path), &c.args);
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        self.literal(&s.value());
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        let name = path_string(&m.path);
        let arg = syn::parse2::<syn::LitStr>(m.tokens.clone())
            .ok()
            .map(|l| l.value());
        match name.as_str() {
            "env" | "option_env" => {
                if let Some(v) = arg.or_else(|| first_lit(&m.tokens)) {
                    self.caps.env_reads.insert(v);
                }
            }
            "include_bytes" | "include_str" => {
                const TEXT: &[&str] = &[
                    ".rs", ".md", ".txt", ".toml", ".json", ".html", ".css", ".js", ".yml",
                    ".yaml", ".csv",
                ];
                if let Some(p) =
                    first_lit(&m.tokens).filter(|p| !TEXT.iter().any(|e| p.ends_with(e)))
                {
                    self.caps
                        .obfuscation
                        .insert(format!("embeds `{p}` with {name}!"));
                }
            }
            _ => {
                // Macro bodies (formatting macros, custom DSLs) still carry literals and paths.
                for lit in literals(&m.tokens) {
                    self.literal(&lit);
                }
            }
        }
        syn::visit::visit_macro(self, m);
    }
}

fn collect_use(t: &syn::UseTree, prefix: &mut Vec<String>, f: &mut dyn FnMut(&str)) {
    match t {
        syn::UseTree::Path(p) => {
            prefix.push(syn::ext::IdentExt::unraw(&p.ident).to_string());
            collect_use(&p.tree, prefix, f);
            prefix.pop();
        }
        syn::UseTree::Name(n) => f(&[
            prefix.join("::"),
            syn::ext::IdentExt::unraw(&n.ident).to_string(),
        ]
        .join("::")),
        syn::UseTree::Rename(r) => f(&[
            prefix.join("::"),
            syn::ext::IdentExt::unraw(&r.ident).to_string(),
        ]
        .join("::")),
        syn::UseTree::Glob(_) => f(&prefix.join("::")),
        syn::UseTree::Group(g) => g.items.iter().for_each(|i| collect_use(i, prefix, f)),
    }
}

fn literals(tokens: &proc_macro2::TokenStream) -> Vec<String> {
    let mut out = Vec::new();
    for tt in tokens.clone() {
        match tt {
            proc_macro2::TokenTree::Literal(l) => {
                if let Ok(s) = syn::parse_str::<syn::LitStr>(&l.to_string()) {
                    out.push(s.value());
                }
            }
            proc_macro2::TokenTree::Group(g) => out.extend(literals(&g.stream())),
            _ => {}
        }
    }
    out
}

fn first_lit(tokens: &proc_macro2::TokenStream) -> Option<String> {
    literals(tokens).into_iter().next()
}

/// Capabilities of one parsed file.
pub fn scan(file: &syn::File) -> Capabilities {
    let mut s = Scan {
        caps: Capabilities::default(),
    };
    s.visit_file(file);
    s.caps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_what_a_malicious_build_script_does() {
        let f: syn::File = syn::parse_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/analysis/malicious_build.rs.txt"
        )))
        .unwrap();
        let c = scan(&f);
        assert!(c.env_reads.contains("AWS_SECRET_ACCESS_KEY"));
        assert_eq!(c.secret_reads(), vec!["AWS_SECRET_ACCESS_KEY"]);
        assert!(c.uses_out_dir && c.env_dump);
        assert!(!c.network.is_empty(), "{c:?}");
        assert!(c.processes.iter().any(|p| p.contains("curl")));
        assert!(c.file_writes.contains("`fs::write`"));
        assert!(c.sensitive_paths.iter().any(|p| p.contains(".bashrc")));
        assert!(c.urls.contains("https://example.invalid/x"));
        assert_eq!(c.obfuscation.len(), 1, "{c:?}");
    }

    #[test]
    fn an_ordinary_build_script_is_quiet() {
        let f: syn::File = syn::parse_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/analysis/ordinary_build.rs.txt"
        )))
        .unwrap();
        let c = scan(&f);
        assert!(
            c.secret_reads().is_empty()
                && c.network.is_empty()
                && c.processes.is_empty()
                && c.obfuscation.is_empty()
        );
        assert!(c.uses_out_dir);
    }
}
