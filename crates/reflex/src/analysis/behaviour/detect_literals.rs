//! The detectors of what code says rather than calls: macros, literals, arrays, paths, and
//! the environment conditions that gate what follows.

use super::Kind;
use super::patterns;
use super::values::Val;
use super::visit::{Walker, macro_args, path_string};
use syn::spanned::Spanned;

impl Walker<'_> {
    pub fn detect_macro(&mut self, mac: &syn::Macro) {
        let name = path_string(&mac.path);
        let last = name.rsplit("::").next().unwrap_or("").to_string();
        let span = super::spans::macro_span(mac);
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
        let base = u32::try_from(self.newlines_before(range.start)).unwrap_or(0);
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

/// Facts a literal carries by itself.
pub fn literal_facts(v: &str) -> Vec<(Kind, String, &'static str)> {
    let mut out = Vec::new();
    if v.len() > 4096 {
        return out;
    }
    if let Some(k) = patterns::endpoint_kind(v) {
        out.push((Kind::Endpoint, v.to_string(), k));
    }
    // A URL or a web API route is not a file location (`/api/.../credentials`, the cloud
    // metadata service's `latest/meta-data/iam/security-credentials`).
    let web_route = v.contains("://")
        || v.split(['/', '\\'])
            .any(|c| matches!(c, "api" | "meta-data" | "metadata" | "oauth2"));
    let path_like = !v.contains(char::is_whitespace)
        && !web_route
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
        if patterns::persistence_place(v) {
            out.push((Kind::SecretFile, v.to_string(), "persistence"));
        } else if secret {
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
