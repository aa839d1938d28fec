//! The walk over a parsed file: `use` aliases, scopes of local bindings, loops over lists,
//! functions (their names for facts and their summaries for callers), and conditions on the
//! environment that gate what follows. The detectors are in `detect`.

use super::crate_info::{CrateInfo, FnInfo, Probed, merge_reads};
use super::values::Val;
use super::{Fact, Kind, Source};
use std::collections::HashMap;
use syn::visit::Visit;

/// The walker: facts mode (with `facts`) or summary mode (without).
pub struct Walker<'a> {
    pub src: &'a Source<'a>,
    pub text: &'a str,
    pub shipped: &'a [String],
    pub info: &'a CrateInfo,
    pub facts: Option<&'a mut Vec<Fact>>,
    pub aliases: HashMap<String, String>,
    pub locals: Vec<HashMap<String, Val>>,
    pub func: String,
    pub gate: Option<String>,
    pub depth: usize,
    /// Summary of the function being walked (summary mode).
    pub current: FnInfo,
    pub summaries: Vec<(String, FnInfo)>,
    /// Index of the first fact of the current function.
    pub fn_start: usize,
    /// Facts of the current function, for chains (summary mode has no fact list).
    pub fn_kinds: Vec<(Kind, String)>,
    /// Names of crate functions whose summaries were looked up (see `crate_info`).
    pub probed: Probed,
    /// Byte offsets of the newlines of `text`, computed when first needed.
    newlines: std::cell::OnceCell<Vec<usize>>,
    /// `aliases` are the file's `use` declarations already (else the walk reads them).
    pub aliases_given: bool,
}

impl<'a> Walker<'a> {
    pub fn new(
        src: &'a Source<'a>,
        text: &'a str,
        shipped: &'a [String],
        info: &'a CrateInfo,
        facts: Option<&'a mut Vec<Fact>>,
    ) -> Walker<'a> {
        Walker {
            src,
            text,
            shipped,
            info,
            facts,
            aliases: HashMap::new(),
            locals: vec![HashMap::new()],
            func: String::new(),
            gate: None,
            depth: 0,
            current: FnInfo::default(),
            summaries: Vec::new(),
            fn_start: 0,
            fn_kinds: Vec::new(),
            probed: Probed::default(),
            newlines: std::cell::OnceCell::new(),
            aliases_given: false,
        }
    }

    /// How many lines of `text` end before byte `offset`.
    /// Test-only code this crate never compiles into a dependent.
    fn test_code(&self, attrs: &[syn::Attribute]) -> bool {
        !self.src.tests_live && is_test(attrs)
    }

    pub fn newlines_before(&self, offset: usize) -> usize {
        let newlines = self
            .newlines
            .get_or_init(|| memchr::memchr_iter(b'\n', self.text.as_bytes()).collect());
        newlines.partition_point(|&p| p < offset)
    }

    /// The source text of an expression.
    pub fn source_of(&self, e: &syn::Expr) -> String {
        self.text_at(super::spans::expr_span(e))
    }

    /// The source text at a span of this file.
    pub fn text_at(&self, span: proc_macro2::Span) -> String {
        self.text.get(span.byte_range()).unwrap_or("").to_string()
    }

    /// `path` with its first segment replaced by what a `use` made it stand for.
    pub fn resolve(&self, path: &str) -> String {
        let (first, rest) = path.split_once("::").unwrap_or((path, ""));
        match self.aliases.get(first) {
            Some(full) if rest.is_empty() => full.clone(),
            Some(full) => format!("{full}::{rest}"),
            None => path.to_string(),
        }
    }

    pub fn bind(&mut self, pat: &syn::Pat, v: Val) {
        match pat {
            syn::Pat::Ident(i) => {
                if let Some(scope) = self.locals.last_mut() {
                    scope.insert(syn::ext::IdentExt::unraw(&i.ident).to_string(), v);
                }
            }
            syn::Pat::Type(t) => self.bind(&t.pat, v),
            syn::Pat::Reference(r) => self.bind(&r.pat, v),
            syn::Pat::Tuple(t) => {
                for p in &t.elems {
                    self.bind(p, Val::Unknown);
                }
            }
            _ => {}
        }
    }

    /// Records a fact at `span` (summary mode: only what the function does).
    pub fn fact(&mut self, kind: Kind, span: proc_macro2::Span, subject: String, class: &str) {
        self.fact_with(kind, span, subject, class, false, None);
    }

    pub fn fact_with(
        &mut self,
        kind: Kind,
        span: proc_macro2::Span,
        subject: String,
        class: &str,
        computed: bool,
        decoded: Option<String>,
    ) {
        match kind {
            Kind::Exec | Kind::DownloadExec => self.current.execs = true,
            Kind::Network => {
                self.current.network = true;
                self.current.sends |= super::patterns::sends_out(class, &subject);
            }
            _ => {}
        }
        self.fn_kinds.push((kind, class.to_string()));
        if super::patterns::sensitive_read(kind, &subject) {
            merge_reads(&mut self.current.reads, &[(kind, subject.clone())]);
        }
        let gated = self
            .gate
            .clone()
            .filter(|_| matches!(kind, Kind::Exec | Kind::Network | Kind::DownloadExec));
        let line = u32::try_from(span.start().line).unwrap_or(0);
        let fact = Fact {
            kind,
            role: self.src.role,
            file: self.src.path.to_string(),
            line,
            snippet: super::snippet(self.text, line),
            subject: shorten(&subject),
            class: class.to_string(),
            func: self.func.clone(),
            computed,
            decoded,
            gated,
        };
        let Some(facts) = self.facts.as_deref_mut() else {
            return;
        };
        if let Some(g) = &fact.gated {
            let gate = Fact {
                kind: Kind::EnvGate,
                subject: g.clone(),
                class: kind.as_str().to_string(),
                gated: None,
                computed: false,
                decoded: None,
                ..fact.clone()
            };
            facts.push(gate);
        }
        facts.push(fact);
    }

    fn enter_fn(
        &mut self,
        name: String,
        inputs: &syn::punctuated::Punctuated<syn::FnArg, syn::Token![,]>,
        block: &syn::Block,
    ) {
        let saved = (
            std::mem::replace(&mut self.func, name.clone()),
            std::mem::take(&mut self.current),
            std::mem::take(&mut self.fn_kinds),
            self.gate.take(),
        );
        self.fn_start = self.facts.as_ref().map_or(0, |f| f.len());
        let mut scope = HashMap::new();
        let typed = inputs.iter().filter_map(|a| match a {
            syn::FnArg::Typed(t) => Some(t),
            syn::FnArg::Receiver(_) => None,
        });
        for (i, t) in typed.enumerate() {
            if let syn::Pat::Ident(id) = &*t.pat {
                scope.insert(
                    syn::ext::IdentExt::unraw(&id.ident).to_string(),
                    Val::Param(i),
                );
            }
        }
        self.locals.push(scope);
        self.visit_block(block);
        if let Some(syn::Stmt::Expr(e, None)) = block.stmts.last() {
            self.current.returns = self.eval(e);
        }
        self.locals.pop();
        self.chains(block.brace_token.span.join());
        let summary = std::mem::replace(&mut self.current, saved.1);
        self.summaries.push((name, summary));
        self.func = saved.0;
        self.fn_kinds = saved.2;
        self.gate = saved.3;
    }

    /// Download-then-execute inside one function: a download (network or a download tool)
    /// and the execution of a program that is not a compiler or build tool.
    fn chains(&mut self, span: proc_macro2::Span) {
        let download = self
            .fn_kinds
            .iter()
            .any(|(k, c)| *k == Kind::Network || (*k == Kind::Exec && c == "download-tool"));
        let runs = self.fn_kinds.iter().any(|(k, c)| {
            *k == Kind::Exec
                && !super::patterns::ordinary_tool(c)
                && !matches!(c.as_str(), "download-tool" | "from-env")
        });
        let downloaded_run = self
            .fn_kinds
            .iter()
            .any(|(k, c)| *k == Kind::Exec && c == "downloaded");
        let already = self.fn_kinds.iter().any(|(k, _)| *k == Kind::DownloadExec);
        if ((download && runs) || downloaded_run) && !already {
            let subject = format!("in fn {}", self.func);
            self.fact(Kind::DownloadExec, span, subject, "");
        }
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 100 {
        format!("{}…", s.chars().take(99).collect::<String>())
    } else {
        s.to_string()
    }
}

pub fn path_string(p: &syn::Path) -> String {
    let mut out = String::new();
    for (i, s) in p.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&syn::ext::IdentExt::unraw(&s.ident).to_string());
    }
    out
}

/// The arguments of a function-like macro, when they parse as expressions.
pub fn macro_args(mac: &syn::Macro) -> Vec<syn::Expr> {
    use syn::parse::Parser;
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    parser
        .parse2(mac.tokens.clone())
        .map(|p| p.into_iter().collect())
        .unwrap_or_default()
}

pub(super) fn collect_use(
    t: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut HashMap<String, String>,
) {
    match t {
        syn::UseTree::Path(p) => {
            prefix.push(syn::ext::IdentExt::unraw(&p.ident).to_string());
            collect_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = syn::ext::IdentExt::unraw(&n.ident).to_string();
            let full = if name == "self" {
                prefix.join("::")
            } else {
                [prefix.join("::"), name.clone()].join("::")
            };
            let key = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                name
            };
            out.insert(key, full.trim_start_matches("::").to_string());
        }
        syn::UseTree::Rename(r) => {
            let full = [
                prefix.join("::"),
                syn::ext::IdentExt::unraw(&r.ident).to_string(),
            ]
            .join("::");
            out.insert(
                r.rename.to_string(),
                full.trim_start_matches("::").to_string(),
            );
        }
        syn::UseTree::Glob(_) => {
            out.insert(format!("*{}", prefix.join("::")), prefix.join("::"));
        }
        syn::UseTree::Group(g) => g.items.iter().for_each(|i| collect_use(i, prefix, out)),
    }
}

/// Walks one parsed file in facts mode; the names of the crate functions it looked up.
pub fn file(
    f: &syn::File,
    src: &Source<'_>,
    text: &str,
    shipped: &[String],
    info: &CrateInfo,
    facts: &mut Vec<Fact>,
) -> super::crate_info::Probed {
    let mut w = Walker::new(src, text, shipped, info, Some(facts));
    w.visit_file(f);
    std::mem::take(&mut w.probed)
}

impl<'ast> Visit<'ast> for Walker<'_> {
    fn visit_file(&mut self, f: &'ast syn::File) {
        if !self.aliases_given {
            self.aliases = super::crate_info::Outline::of(f, self.src.tests_live).uses;
        }
        syn::visit::visit_file(self, f);
    }

    fn visit_item(&mut self, i: &'ast syn::Item) {
        if !self.test_code(item_attrs(i)) {
            syn::visit::visit_item(self, i);
        }
    }

    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        if !self.test_code(impl_item_attrs(i)) {
            syn::visit::visit_impl_item(self, i);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.enter_fn(
            syn::ext::IdentExt::unraw(&f.sig.ident).to_string(),
            &f.sig.inputs,
            &f.block,
        );
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.enter_fn(
            syn::ext::IdentExt::unraw(&f.sig.ident).to_string(),
            &f.sig.inputs,
            &f.block,
        );
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        // A default method is a function like any other.
        if let (Some(block), false) = (&f.default, self.test_code(&f.attrs)) {
            self.enter_fn(
                syn::ext::IdentExt::unraw(&f.sig.ident).to_string(),
                &f.sig.inputs,
                block,
            );
        }
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.locals.push(HashMap::new());
        let saved = self.gate.clone();
        for s in &b.stmts {
            self.visit_stmt(s);
            // `if !on_ci() { return; }`: what follows runs only under the condition.
            if let syn::Stmt::Expr(syn::Expr::If(i), _) = s
                && diverges(&i.then_branch)
                && let Some(g) = self.gate_of(&i.cond)
            {
                self.gate = Some(g);
            }
        }
        self.gate = saved;
        self.locals.pop();
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        if let Some(init) = &l.init {
            self.visit_expr(&init.expr);
            let v = self.eval(&init.expr);
            self.bind(&l.pat, v);
        }
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        let items = match self.eval(&f.expr) {
            Val::List(items) => Val::List(items),
            Val::Decoded { text, how } => Val::Decoded { text, how },
            _ => Val::Unknown,
        };
        self.locals.push(HashMap::new());
        self.bind(&f.pat, items);
        self.visit_block(&f.body);
        self.locals.pop();
    }

    fn visit_expr_if(&mut self, i: &'ast syn::ExprIf) {
        self.visit_expr(&i.cond);
        let saved = self.gate.clone();
        if let Some(g) = self.gate_of(&i.cond) {
            self.gate = Some(g);
        }
        self.visit_block(&i.then_branch);
        if let Some((_, e)) = &i.else_branch {
            self.visit_expr(e);
        }
        self.gate = saved;
    }

    fn visit_expr_match(&mut self, m: &'ast syn::ExprMatch) {
        self.visit_expr(&m.expr);
        let saved = self.gate.clone();
        if let Some(g) = self.gate_of(&m.expr) {
            self.gate = Some(g);
        }
        for arm in &m.arms {
            self.visit_arm(arm);
        }
        self.gate = saved;
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        self.detect_call(c);
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.detect_method(m);
        // `.envs(env::vars())` hands the environment to a child as inheritance would: it is
        // not read. The receiver is still walked.
        if m.method == "envs" && m.args.first().is_some_and(super::detect::is_env_vars_call) {
            self.visit_expr(&m.receiver);
            return;
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.detect_macro(m);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        // `macro_rules!` bodies are token soup to syn: read them lexically.
        self.lex_tokens(&m.mac);
    }

    fn visit_lit(&mut self, l: &'ast syn::Lit) {
        self.detect_literal(l);
    }

    fn visit_expr_array(&mut self, a: &'ast syn::ExprArray) {
        self.detect_array(a);
        syn::visit::visit_expr_array(self, a);
    }

    fn visit_expr_path(&mut self, p: &'ast syn::ExprPath) {
        self.detect_path(p);
        syn::visit::visit_expr_path(self, p);
    }
}

/// Test-only code (`#[test]`, `#[cfg(test)]`, a known test crate's `test`): never compiled
/// into a dependent, so not read.
pub(super) fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let segments = &a.path().segments;
        let last_is_test = segments.last().is_some_and(|s| s.ident == "test");
        let is_cfg = segments.len() == 1 && segments[0].ident == "cfg";
        if !(last_is_test || is_cfg) {
            return false;
        }
        let mut text = String::new();
        for (i, s) in segments.iter().enumerate() {
            if i > 0 {
                text.push_str("::");
            }
            text.push_str(&syn::ext::IdentExt::unraw(&s.ident).to_string());
        }
        if is_cfg {
            let args = a.meta.require_list().map(|l| l.tokens.to_string());
            text.push('(');
            text.extend(
                args.unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_whitespace()),
            );
            text.push(')');
        }
        super::patterns::test_attribute(&text)
    })
}

/// The attributes of an item (`None` for a verbatim item).
pub(super) fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item as I;
    match item {
        I::Const(i) => &i.attrs,
        I::Enum(i) => &i.attrs,
        I::ExternCrate(i) => &i.attrs,
        I::Fn(i) => &i.attrs,
        I::ForeignMod(i) => &i.attrs,
        I::Impl(i) => &i.attrs,
        I::Macro(i) => &i.attrs,
        I::Mod(i) => &i.attrs,
        I::Static(i) => &i.attrs,
        I::Struct(i) => &i.attrs,
        I::Trait(i) => &i.attrs,
        I::TraitAlias(i) => &i.attrs,
        I::Type(i) => &i.attrs,
        I::Union(i) => &i.attrs,
        I::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// The attributes of an `impl` member.
pub(super) fn impl_item_attrs(item: &syn::ImplItem) -> &[syn::Attribute] {
    match item {
        syn::ImplItem::Const(i) => &i.attrs,
        syn::ImplItem::Fn(i) => &i.attrs,
        syn::ImplItem::Type(i) => &i.attrs,
        syn::ImplItem::Macro(i) => &i.attrs,
        _ => &[],
    }
}

/// A block that leaves: `return`, `exit`, `panic!`.
fn diverges(b: &syn::Block) -> bool {
    b.stmts.iter().any(|s| match s {
        syn::Stmt::Expr(syn::Expr::Return(_), _) => true,
        syn::Stmt::Expr(syn::Expr::Call(c), _) => {
            matches!(&*c.func, syn::Expr::Path(p) if path_string(&p.path).ends_with("exit"))
        }
        syn::Stmt::Macro(m) => path_string(&m.mac.path) == "panic",
        _ => false,
    })
}
