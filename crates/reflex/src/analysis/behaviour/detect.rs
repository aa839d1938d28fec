//! The detectors: calls, method calls, macros, literals, arrays and paths that are facts.

use super::Kind;
use super::patterns::{self, NET_CRATES, NET_NAMES, RAW_EXEC, RAW_NET};
use super::values::Val;
use super::visit::{Walker, macro_args, path_string};
use syn::spanned::Spanned;

const DOWNLOAD_WORDS: &[&str] = &[
    "curl ",
    "wget ",
    "invoke-webrequest",
    "iwr ",
    "certutil",
    "bitsadmin",
];

impl Walker<'_> {
    /// The kind of network a resolved path is, if it is network use.
    pub fn network_path(&self, full: &str) -> Option<&'static str> {
        let mut segs = full.split("::");
        let first = segs.next().unwrap_or("");
        let last = full.rsplit("::").next().unwrap_or("");
        if let Some((_, class)) = NET_CRATES.iter().find(|(c, _)| *c == first) {
            return Some(class);
        }
        let net_root = matches!(first, "std" | "tokio" | "async_std" | "smol" | "async_net");
        if NET_NAMES.contains(&last) && (net_root || !full.contains("::") || full.contains("net")) {
            return Some(if last.contains("lookup") || last.contains("addrs") {
                "dns"
            } else {
                "socket"
            });
        }
        if net_root && full.contains("::net::") {
            return Some("socket");
        }
        if matches!(first, "libc" | "nix" | "winapi" | "windows_sys" | "ws2_32")
            && RAW_NET.contains(&last)
        {
            return Some("raw");
        }
        None
    }

    /// Whether `Command` in `full` is a process command (not clap's).
    fn is_process_command(&self, full: &str) -> bool {
        if !full.ends_with("Command::new") {
            return false;
        }
        if full.contains("process") {
            return true;
        }
        // Unresolved `Command`: a process command unless something else was imported as it.
        full == "Command::new" && !self.aliases.contains_key("Command")
    }

    /// A program run with `v`: the fact (class, subject, computed, decoded).
    pub fn exec_value(&mut self, span: proc_macro2::Span, v: Val) {
        let (subject, class, computed, decoded) = match v {
            Val::Param(i) => {
                self.current.exec_param = Some(i);
                return;
            }
            Val::Str(p) => {
                let class = self.program_class(&p);
                (p, class, false, None)
            }
            Val::Env(n) => {
                let class = if matches!(n.as_str(), "RUSTC" | "CC" | "CXX" | "AR" | "RUSTDOC") {
                    "compiler"
                } else {
                    "from-env"
                };
                (format!("${n}"), class, false, None)
            }
            Val::Decoded { text, how } => {
                let class = text.as_deref().map_or("other", |t| self.program_class(t));
                (text.unwrap_or_default(), class, false, Some(how))
            }
            Val::Download => (String::new(), "downloaded", false, None),
            Val::Template(t) => (t, "computed", true, None),
            Val::Bytes(_) | Val::List(_) | Val::Unknown => (String::new(), "computed", true, None),
        };
        self.fact_with(Kind::Exec, span, subject, class, computed, decoded);
    }

    fn program_class(&self, p: &str) -> &'static str {
        let trimmed = p.trim_start_matches("./");
        let shipped = p.starts_with("$CARGO_MANIFEST_DIR")
            || (trimmed.contains('/') || trimmed.contains('.'))
                && self
                    .shipped
                    .iter()
                    .any(|s| s == trimmed || trimmed.ends_with(&format!("/{s}")));
        if shipped {
            return "shipped-file";
        }
        if let Some(rest) = p.strip_prefix('$') {
            return if rest.starts_with("OUT_DIR") {
                "written-file"
            } else {
                "from-env"
            };
        }
        let first = p.split_whitespace().next().unwrap_or(p);
        patterns::program_class(first)
    }

    /// An environment read of `v`.
    fn env_value(&mut self, span: proc_macro2::Span, v: Val) {
        match v {
            Val::Param(i) => self.current.env_param = Some(i),
            Val::Str(n) => self.fact(Kind::EnvRead, span, n, ""),
            Val::List(items) => {
                for i in items {
                    self.env_value(span, i);
                }
            }
            Val::Decoded { text, how } => {
                self.fact_with(
                    Kind::EnvRead,
                    span,
                    text.unwrap_or_default(),
                    "",
                    false,
                    Some(how.clone()),
                );
                self.fact_with(
                    Kind::Decode,
                    span,
                    "variable name".into(),
                    "env",
                    false,
                    Some(how),
                );
            }
            _ => self.fact_with(Kind::EnvRead, span, String::new(), "", true, None),
        }
    }

    pub fn detect_call(&mut self, c: &syn::ExprCall) {
        let syn::Expr::Path(p) = &*c.func else { return };
        let full = self.resolve(&path_string(&p.path));
        let last = full.rsplit("::").next().unwrap_or("").to_string();
        let span = c.span();
        let arg = |w: &mut Self, i: usize| c.args.iter().nth(i).map_or(Val::Unknown, |a| w.eval(a));
        if self.is_process_command(&full) {
            let v = arg(self, 0);
            if matches!(v, Val::Decoded { .. }) {
                self.fact_with(Kind::Decode, span, "program".into(), "exec", false, None);
            }
            self.exec_value(span, v);
            return;
        }
        let env_fn =
            full.contains("env") || self.aliases.get(&last).is_some_and(|a| a.contains("env"));
        if matches!(last.as_str(), "var" | "var_os") && env_fn {
            let v = arg(self, 0);
            self.env_value(span, v);
            return;
        }
        if matches!(last.as_str(), "vars" | "vars_os") && env_fn {
            self.fact(Kind::EnvDump, span, "env::vars()".into(), "");
            return;
        }
        if let Some(class) = self.network_path(&full) {
            let v = arg(self, 0);
            self.network_value(span, &full, class, v);
            return;
        }
        if matches!(
            full.split("::").next(),
            Some("libc" | "nix" | "winapi" | "windows_sys")
        ) && RAW_EXEC.iter().any(|r| last == *r || last.starts_with(r))
        {
            let v = arg(self, 0);
            self.exec_value(span, v);
            return;
        }
        if let Some(dest) = write_target(&full, &last) {
            let v = arg(self, dest);
            self.write_value(span, &last, v);
            return;
        }
        if patterns::is_gate_call(&last) {
            let who = if last.contains("host") || last.contains("device") {
                "HOSTNAME"
            } else {
                "USER"
            };
            self.fact(Kind::EnvRead, span, who.to_string(), "identity");
            return;
        }
        self.call_crate_fn(span, &last, c.args.iter().collect());
    }

    /// A call of a crate function: its wrapped program or variable, and what it does when
    /// the call is gated.
    fn call_crate_fn(&mut self, span: proc_macro2::Span, name: &str, args: Vec<&syn::Expr>) {
        let Some(f) = self.info.fns.get(name).cloned() else {
            return;
        };
        self.current.calls.push(name.to_string());
        if let Some(i) = f.exec_param {
            let v = args.get(i).map_or(Val::Unknown, |a| self.eval(a));
            self.exec_value(span, v);
        }
        if let Some(i) = f.env_param {
            let v = args.get(i).map_or(Val::Unknown, |a| self.eval(a));
            self.env_value(span, v);
        }
        for (kind, subject) in &f.reads {
            self.fact(*kind, span, subject.clone(), &format!("via {name}()"));
        }
        if self.gate.is_some() {
            let subject = format!("{name}()");
            if f.execs && f.exec_param.is_none() {
                self.fact(Kind::Exec, span, subject.clone(), "via-function");
            }
            if f.network {
                self.fact(Kind::Network, span, subject, "via-function");
            }
        } else {
            self.current.execs |= f.execs;
            self.current.network |= f.network;
        }
    }

    fn network_value(&mut self, span: proc_macro2::Span, full: &str, class: &str, v: Val) {
        let (subject, decoded) = match v {
            Val::Decoded { text, how } => {
                self.fact_with(
                    Kind::Decode,
                    span,
                    "address".into(),
                    "network",
                    false,
                    Some(how.clone()),
                );
                (text.unwrap_or_default(), Some(how))
            }
            v => (
                v.text()
                    .filter(|t| patterns::looks_like_address(t))
                    .unwrap_or_else(|| full.to_string()),
                None,
            ),
        };
        self.fact_with(Kind::Network, span, subject, class, false, decoded);
    }

    fn write_value(&mut self, span: proc_macro2::Span, what: &str, v: Val) {
        let subject = match &v {
            Val::Env(n) if n == "OUT_DIR" => return,
            Val::Str(s) if s.starts_with("$OUT_DIR") => return,
            v => v.text().unwrap_or_default(),
        };
        let computed = subject.is_empty();
        let class = if what == "set_permissions" {
            "permissions"
        } else {
            ""
        };
        self.fact_with(Kind::FileWrite, span, subject, class, computed, None);
    }

    pub fn detect_method(&mut self, m: &syn::ExprMethodCall) {
        let method = m.method.to_string();
        let span = m.span();
        let first = m.args.first();
        match method.as_str() {
            "arg" | "args" | "raw_arg" => {
                let v = first.map_or(Val::Unknown, |a| self.eval(a));
                let texts: Vec<String> = match &v {
                    Val::List(items) => items.iter().filter_map(Val::hint).collect(),
                    v => v.hint().into_iter().collect(),
                };
                let how = match &v {
                    Val::Decoded { how, .. } => Some(how.clone()),
                    Val::List(items) => items.iter().find_map(|i| match i {
                        Val::Decoded { how, .. } => Some(how.clone()),
                        _ => None,
                    }),
                    _ => None,
                };
                for t in texts {
                    let lower = t.to_ascii_lowercase();
                    if DOWNLOAD_WORDS
                        .iter()
                        .any(|w| lower.contains(w) || lower.starts_with(w.trim()))
                    {
                        self.fact_with(Kind::Exec, span, t, "download-tool", false, how.clone());
                    }
                }
                if let Some(how) = how {
                    self.fact_with(
                        Kind::Decode,
                        span,
                        "program argument".into(),
                        "exec",
                        false,
                        Some(how),
                    );
                }
            }
            "to_socket_addrs" | "lookup_host" => {
                self.fact(Kind::Network, span, format!(".{method}()"), "dns");
            }
            "get" | "post" | "put" | "connect" | "request" => {
                let v = first.map_or(Val::Unknown, |a| self.eval(a));
                let address = v.text().is_some_and(|t| patterns::looks_like_address(&t));
                if address || (matches!(v, Val::Decoded { .. }) && method != "get") {
                    self.network_value(span, &format!(".{method}()"), "http", v);
                }
            }
            "danger_accept_invalid_certs"
            | "danger_accept_invalid_hostnames"
            | "accept_invalid_certs" => {
                if first.is_some_and(|a| self.source_of(a).trim() == "true") {
                    self.fact(Kind::TlsOff, span, format!(".{method}(true)"), "");
                }
            }
            "set_verify" if self.source_of(m).contains("NONE") => {
                self.fact(Kind::TlsOff, span, "SslVerifyMode::NONE".into(), "");
            }
            "set_permissions" => {
                self.fact(Kind::FileWrite, span, String::new(), "permissions");
            }
            _ => {
                if self.info.fns.contains_key(&method) {
                    self.call_crate_fn(span, &method, m.args.iter().collect());
                }
            }
        }
    }

    pub fn detect_macro(&mut self, mac: &syn::Macro) {
        let name = path_string(&mac.path);
        let last = name.rsplit("::").next().unwrap_or("").to_string();
        let span = mac.span();
        match last.as_str() {
            "env" | "option_env" => {
                if let Some(Val::Str(n)) = macro_args(mac).first().map(|a| self.eval(a)) {
                    self.fact(Kind::EnvRead, span, n, "compile-time");
                }
            }
            "include_bytes" => {
                let p = macro_args(mac)
                    .first()
                    .and_then(|a| self.eval(a).text())
                    .unwrap_or_default();
                let native = [".exe", ".dll", ".so", ".dylib", ".bin", ".elf"]
                    .iter()
                    .any(|e| p.ends_with(e));
                if native {
                    self.fact(Kind::EmbeddedExe, span, p, "include_bytes");
                }
            }
            "cmd" => {
                let p = macro_args(mac)
                    .first()
                    .and_then(|a| self.eval(a).text())
                    .unwrap_or_default();
                let program = p.split_whitespace().next().unwrap_or("").to_string();
                self.exec_value(
                    span,
                    if program.is_empty() {
                        Val::Unknown
                    } else {
                        Val::Str(program)
                    },
                );
            }
            _ => {}
        }
        let args = macro_args(mac);
        if args.is_empty() {
            self.lex_tokens(mac);
        }
        for a in &args {
            syn::visit::Visit::visit_expr(self, a);
        }
    }

    /// Reads the tokens of a macro body with the lexer (paths, calls and literals).
    pub fn lex_tokens(&mut self, mac: &syn::Macro) {
        let range = mac.delimiter.span().join().byte_range();
        let Some(body) = self.text.get(range.clone()) else {
            return;
        };
        let base = u32::try_from(self.text[..range.start].matches('\n').count()).unwrap_or(0);
        let mut found = Vec::new();
        super::lexer::scan(body, base, self.src, self.text, &mut found);
        if let Some(facts) = self.facts.as_deref_mut() {
            for mut f in found {
                f.func = self.func.clone();
                facts.push(f);
            }
        }
    }

    pub fn detect_literal(&mut self, l: &syn::Lit) {
        let span = l.span();
        match l {
            syn::Lit::Str(s) => {
                let v = s.value();
                self.literal(span, &v);
            }
            syn::Lit::ByteStr(b) => {
                let bytes = b.value();
                if let Some(fmt) = patterns::executable_magic(&bytes).filter(|_| bytes.len() >= 256)
                {
                    self.fact(Kind::EmbeddedExe, span, format!("{fmt} bytes"), "literal");
                }
            }
            _ => {}
        }
    }

    /// What a string literal says on its own: endpoints, credential paths, key searches,
    /// high entropy.
    pub fn literal(&mut self, span: proc_macro2::Span, v: &str) {
        for (kind, subject, class) in literal_facts(v) {
            self.fact(kind, span, subject, class);
        }
    }

    pub fn detect_array(&mut self, a: &syn::ExprArray) {
        if a.elems.len() < 64 {
            return;
        }
        let bytes: Vec<u8> = a
            .elems
            .iter()
            .take(8)
            .filter_map(|e| match e {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(i),
                    ..
                }) => i.base10_parse().ok(),
                _ => None,
            })
            .collect();
        if let Some(fmt) = patterns::executable_magic(&bytes) {
            self.fact(
                Kind::EmbeddedExe,
                a.span(),
                format!("{fmt} byte array"),
                "literal",
            );
        }
    }

    pub fn detect_path(&mut self, p: &syn::ExprPath) {
        let full = self.resolve(&path_string(&p.path));
        if full.ends_with("SslVerifyMode::NONE") || full.ends_with("NoCertificateVerification") {
            self.fact(Kind::TlsOff, p.span(), full, "");
        }
    }

    /// The environment condition `cond` tests, if it tests one: CI variables, host or user
    /// names, the date.
    pub fn gate_of(&mut self, cond: &syn::Expr) -> Option<String> {
        let text = self.source_of(cond);
        let mut names = Vec::new();
        let mut quoted = text.split('"');
        quoted.next();
        for (i, part) in quoted.enumerate() {
            if i % 2 == 0 && patterns::is_gate_variable(part) {
                names.push(part.to_string());
            }
        }
        if !names.is_empty() && (text.contains("var") || text.contains("env")) {
            return Some(format!("environment variable {}", names.join(", ")));
        }
        // Path calls only (`whoami::username()`, `hostname()`), not methods (`url.username()`).
        let call = text.match_indices('(').find_map(|(i, _)| {
            let before = &text[..i];
            let word_start = before
                .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
                .map_or(0, |p| p + 1);
            let word = &before[word_start..];
            let method = before[..word_start].ends_with('.');
            (!method && patterns::is_gate_call(word)).then(|| word.to_string())
        });
        if let Some(c) = call {
            return Some(format!("{c}()"));
        }
        let dated = text.contains("now()") && (text.contains('<') || text.contains('>'));
        dated.then(|| "the current date".to_string())
    }
}

/// The index of the destination argument of a file-writing call.
fn write_target(full: &str, last: &str) -> Option<usize> {
    let two: Vec<&str> = full.rsplit("::").take(2).collect();
    let pair = match two.as_slice() {
        [l, p] => format!("{p}::{l}"),
        _ => last.to_string(),
    };
    match pair.as_str() {
        "fs::write"
        | "File::create"
        | "File::create_new"
        | "fs::set_permissions"
        | "fs::create_dir_all" => Some(0).filter(|_| !pair.ends_with("create_dir_all")),
        "fs::copy" | "fs::rename" | "fs::hard_link" | "fs::symlink" | "unix::fs::symlink" => {
            Some(1)
        }
        _ => None,
    }
}

/// Facts a literal carries by itself.
pub fn literal_facts(v: &str) -> Vec<(Kind, String, &'static str)> {
    let mut out = Vec::new();
    if v.len() > 4096 {
        return out;
    }
    if let Some(k) = patterns::endpoint_kind(v) {
        out.push((Kind::Endpoint, v.to_string(), k));
    }
    let path_like = !v.contains(char::is_whitespace)
        && (v.contains('/') || v.contains('\\') || v.starts_with('.') || v.starts_with('~'))
        && v.len() < 200;
    let base = v.rsplit(['/', '\\']).next().unwrap_or(v);
    let distinctive = matches!(
        base,
        "credentials.toml"
            | ".git-credentials"
            | ".netrc"
            | ".npmrc"
            | ".pypirc"
            | "id_rsa"
            | "id_ed25519"
    ) || crate::knowledge::secrets::is_project_secret_file(base);
    if distinctive && !path_like && v.len() < 100 {
        out.push((Kind::SecretFile, v.to_string(), "credential"));
    }
    if path_like {
        let secret = distinctive
            || crate::knowledge::secrets::SENSITIVE_PATH_FRAGMENTS
                .iter()
                .any(|p| v.contains(p))
            || crate::knowledge::secrets::CREDENTIAL_FILES
                .iter()
                .any(|(p, _)| v.ends_with(p));
        if secret {
            out.push((Kind::SecretFile, v.to_string(), "credential"));
        } else if v == "/etc/hostname" || v == "/etc/machine-id" {
            out.push((Kind::EnvRead, v.to_string(), "identity"));
        }
    }
    if let Some(k) = patterns::key_search(v) {
        out.push((Kind::KeySearch, v.to_string(), k));
    }
    if let Some(d) = patterns::high_entropy(v) {
        out.push((Kind::HighEntropy, d, ""));
    }
    out
}
