//! The detectors: calls, method calls, macros, literals, arrays and paths that are facts.

use super::Kind;
use super::patterns::{self, NET_CRATES, NET_NAMES, RAW_EXEC, RAW_NET};
use super::values::Val;
use super::visit::{Walker, path_string};

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
            Val::Param(_) => {
                self.current.exec_param = v.param();
                return;
            }
            // An element (`argv[0]`): followed into the callers, and computed here as before
            // (a public helper may have no caller in the crate).
            Val::ParamElem(..) => {
                self.current.exec_param = v.param();
                (String::new(), "computed", true, None)
            }
            Val::Str(p) => {
                // Running `whoami` or `hostname` reads who and where, as the calls do.
                if let Some(who) = patterns::identity_program(&p) {
                    self.fact(Kind::EnvRead, span, who.to_string(), "identity");
                }
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
            Val::List(items) if !items.is_empty() => {
                // A loop over a list of programs runs each of them.
                for i in items {
                    self.exec_value(span, i);
                }
                return;
            }
            Val::Template(t) => (t, "computed", true, None),
            Val::Bytes(_) | Val::List(_) | Val::Unknown => (String::new(), "computed", true, None),
        };
        self.fact_with(Kind::Exec, span, subject, class, computed, decoded);
    }

    /// The program of a `Command::new(..).arg(..)...` chain, when written in it.
    fn chain_program(&mut self, mut e: &syn::Expr) -> Option<String> {
        loop {
            match e {
                syn::Expr::MethodCall(m) => e = &m.receiver,
                syn::Expr::Call(c) => {
                    let syn::Expr::Path(p) = &*c.func else {
                        return None;
                    };
                    let full = self.resolve(&path_string(&p.path));
                    if !self.is_process_command(&full) {
                        return None;
                    }
                    return c.args.first().and_then(|a| self.eval(a).text());
                }
                _ => return None,
            }
        }
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
            Val::Param(_) => self.current.env_param = v.param(),
            // An element: followed into the callers, and computed here as before.
            Val::ParamElem(..) => {
                self.current.env_param = v.param();
                self.fact_with(Kind::EnvRead, span, String::new(), "", true, None);
            }
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
        let span = super::spans::call_span(c);
        let arg = |w: &mut Self, i: usize| c.args.iter().nth(i).map_or(Val::Unknown, |a| w.eval(a));
        if self.is_process_command(&full) {
            if let Some(n) = c.args.first().and_then(local_name)
                && self.current.written.contains(&n)
            {
                let subject = format!("{n} (written by this function)");
                self.fact(Kind::Exec, span, subject, "written-file");
                return;
            }
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
            if let Some(n) = c.args.iter().nth(dest).and_then(local_name) {
                self.current.written.push(n);
            }
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
        let Some(f) = self.crate_fn(name).cloned() else {
            return;
        };
        self.current.calls.push(name.to_string());
        if let Some((i, k)) = f.exec_param {
            let v = args.get(i).map_or(Val::Unknown, |a| self.eval(a));
            self.exec_value(span, v.element(k));
        }
        if let Some((i, k)) = f.env_param {
            let v = args.get(i).map_or(Val::Unknown, |a| self.eval(a));
            self.env_value(span, v.element(k));
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
            // A helper that sends out, called where secrets or identity were read: the way
            // out is part of this function.
            if f.sends && !self.current.reads.is_empty() {
                self.fact(Kind::Network, span, format!("{name}()"), "via-function");
            }
            self.current.sends |= f.sends;
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
        let span = super::spans::method_span(m);
        let first = m.args.first();
        if matches!(method.as_str(), "arg" | "args")
            && let Some(n) = first.and_then(local_name)
            && self.current.written.contains(&n)
            && self
                .chain_program(&m.receiver)
                .is_some_and(|p| matches!(patterns::program_class(&p), "shell" | "interpreter"))
        {
            let subject = format!("{n} (written by this function)");
            self.fact(Kind::Exec, span, subject, "written-file");
        }
        if method == "open" && self.source_of(&m.receiver).contains("OpenOptions") {
            let text = self.source_of(&m.receiver);
            if [
                "write(true)",
                "append(true)",
                "create(true)",
                "create_new(true)",
            ]
            .iter()
            .any(|w| text.contains(w))
            {
                if let Some(n) = first.and_then(local_name) {
                    self.current.written.push(n);
                }
                let v = first.map_or(Val::Unknown, |a| self.eval(a));
                self.write_value(span, "open", v);
            }
        }
        // The environment handed to a command and read back is the environment read.
        if method == "get_envs" {
            self.fact(Kind::EnvDump, span, "Command::get_envs()".into(), "");
        }
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
            "set_verify" if self.text_at(span).contains("NONE") => {
                self.fact(Kind::TlsOff, span, "SslVerifyMode::NONE".into(), "");
            }
            "set_permissions" => {
                self.fact(Kind::FileWrite, span, String::new(), "permissions");
            }
            _ => {
                if self.crate_fn(&method).is_some() {
                    self.call_crate_fn(span, &method, m.args.iter().collect());
                }
            }
        }
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

/// `env::vars()`, `std::env::vars_os()`.
pub(super) fn is_env_vars_call(e: &syn::Expr) -> bool {
    let syn::Expr::Call(c) = e else { return false };
    let syn::Expr::Path(p) = &*c.func else {
        return false;
    };
    let segs: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| syn::ext::IdentExt::unraw(&s.ident).to_string())
        .collect();
    segs.len() >= 2
        && segs[segs.len() - 2] == "env"
        && matches!(segs[segs.len() - 1].as_str(), "vars" | "vars_os")
}

/// The local name an argument is (`path`, `&path`), when it is one.
fn local_name(e: &syn::Expr) -> Option<String> {
    match e {
        syn::Expr::Reference(r) => local_name(&r.expr),
        syn::Expr::Paren(p) => local_name(&p.expr),
        syn::Expr::Path(p) if p.path.segments.len() == 1 => {
            Some(syn::ext::IdentExt::unraw(&p.path.segments[0].ident).to_string())
        }
        _ => None,
    }
}
