//! Spans of syntax nodes read off the tree. `syn`'s `Spanned` prints a node back into tokens
//! to find its first and last one: for every call of a method chain that re-prints the chain,
//! and sorting a file's items printed each item several times (together a tenth of a cold
//! analysis). Here the first and last token are found by descending the tree, for the nodes
//! the detectors ask about; a node this does not know falls back to `Spanned`, so the span is
//! always the one `Spanned` gives (checked on every expression of the fixture crates).

use proc_macro2::Span;
use syn::Expr;
use syn::spanned::Spanned;

/// The span of an expression, from its first token to its last.
pub fn expr_span(e: &Expr) -> Span {
    match (first(e), last(e)) {
        (Some(a), Some(b)) => a.join(b).unwrap_or(a),
        _ => e.span(),
    }
}

/// The span of a call `f(..)`.
pub fn call_span(c: &syn::ExprCall) -> Span {
    let start = match c.attrs.first() {
        Some(a) => Some(a.pound_token.span),
        None => first(&c.func),
    };
    joined(start, c.paren_token.span.close(), || c.span())
}

/// The span of a method call `x.m(..)`.
pub fn method_span(m: &syn::ExprMethodCall) -> Span {
    let start = match m.attrs.first() {
        Some(a) => Some(a.pound_token.span),
        None => first(&m.receiver),
    };
    joined(start, m.paren_token.span.close(), || m.span())
}

fn joined(start: Option<Span>, end: Span, fallback: impl FnOnce() -> Span) -> Span {
    start.map_or_else(fallback, |s| s.join(end).unwrap_or(s))
}

/// The span of a macro call, from its path to its closing delimiter.
pub fn macro_span(m: &syn::Macro) -> Span {
    joined(
        path_first(None, &m.path),
        delimiter(&m.delimiter).close(),
        || m.span(),
    )
}

/// Where an item starts, for ordering the items of one file (any token of its own would do:
/// items do not overlap).
pub fn item_start(i: &syn::Item) -> usize {
    use syn::Item;
    let token = match i {
        Item::Fn(f) => f.sig.fn_token.span,
        Item::Impl(x) => x.impl_token.span,
        Item::Const(x) => x.const_token.span,
        Item::Static(x) => x.static_token.span,
        Item::Struct(x) => x.struct_token.span,
        Item::Enum(x) => x.enum_token.span,
        Item::Mod(x) => x.mod_token.span,
        Item::Trait(x) => x.trait_token.span,
        Item::TraitAlias(x) => x.trait_token.span,
        Item::Type(x) => x.type_token.span,
        Item::Union(x) => x.union_token.span,
        Item::Use(x) => x.use_token.span,
        Item::ExternCrate(x) => x.extern_token.span,
        Item::ForeignMod(x) => x.abi.extern_token.span,
        Item::Macro(x) => x.mac.bang_token.span,
        other => other.span(),
    };
    token.byte_range().start
}

fn delimiter(d: &syn::MacroDelimiter) -> proc_macro2::extra::DelimSpan {
    match d {
        syn::MacroDelimiter::Paren(p) => p.span,
        syn::MacroDelimiter::Brace(b) => b.span,
        syn::MacroDelimiter::Bracket(b) => b.span,
    }
}

fn path_first(qself: Option<&syn::QSelf>, path: &syn::Path) -> Option<Span> {
    if let Some(q) = qself {
        return Some(q.lt_token.span);
    }
    if let Some(c) = &path.leading_colon {
        return Some(c.spans[0]);
    }
    path.segments.first().map(|s| s.ident.span())
}

fn path_last(path: &syn::Path) -> Option<Span> {
    let s = path.segments.last()?;
    match &s.arguments {
        syn::PathArguments::None => Some(s.ident.span()),
        syn::PathArguments::AngleBracketed(a) => Some(a.gt_token.span),
        syn::PathArguments::Parenthesized(_) => None,
    }
}

/// The first token of `e`: outer attributes come first.
fn first(e: &Expr) -> Option<Span> {
    macro_rules! attrs_or {
        ($x:expr, $then:expr) => {
            match $x.attrs.first() {
                Some(a) => Some(a.pound_token.span),
                None => $then,
            }
        };
    }
    match e {
        Expr::Call(x) => attrs_or!(x, first(&x.func)),
        Expr::MethodCall(x) => attrs_or!(x, first(&x.receiver)),
        Expr::Field(x) => attrs_or!(x, first(&x.base)),
        Expr::Try(x) => attrs_or!(x, first(&x.expr)),
        Expr::Await(x) => attrs_or!(x, first(&x.base)),
        Expr::Index(x) => attrs_or!(x, first(&x.expr)),
        Expr::Cast(x) => attrs_or!(x, first(&x.expr)),
        Expr::Binary(x) => attrs_or!(x, first(&x.left)),
        Expr::Path(x) => attrs_or!(x, path_first(x.qself.as_ref(), &x.path)),
        Expr::Lit(x) => attrs_or!(x, Some(x.lit.span())),
        Expr::Paren(x) => attrs_or!(x, Some(x.paren_token.span.open())),
        Expr::Tuple(x) => attrs_or!(x, Some(x.paren_token.span.open())),
        Expr::Array(x) => attrs_or!(x, Some(x.bracket_token.span.open())),
        Expr::Reference(x) => attrs_or!(x, Some(x.and_token.spans[0])),
        Expr::Macro(x) => attrs_or!(x, path_first(None, &x.mac.path)),
        Expr::Struct(x) => attrs_or!(x, path_first(x.qself.as_ref(), &x.path)),
        Expr::Unary(x) => attrs_or!(
            x,
            match &x.op {
                syn::UnOp::Deref(t) => Some(t.spans[0]),
                syn::UnOp::Not(t) => Some(t.spans[0]),
                syn::UnOp::Neg(t) => Some(t.spans[0]),
                _ => None,
            }
        ),
        _ => None,
    }
}

/// The last token of `e` (a delimited group counts by its closing delimiter).
fn last(e: &Expr) -> Option<Span> {
    match e {
        Expr::Call(x) => Some(x.paren_token.span.close()),
        Expr::MethodCall(x) => Some(x.paren_token.span.close()),
        Expr::Field(x) => Some(match &x.member {
            syn::Member::Named(i) => i.span(),
            syn::Member::Unnamed(i) => i.span,
        }),
        Expr::Try(x) => Some(x.question_token.spans[0]),
        Expr::Await(x) => Some(x.await_token.span),
        Expr::Index(x) => Some(x.bracket_token.span.close()),
        Expr::Binary(x) => last(&x.right),
        Expr::Path(x) => path_last(&x.path),
        Expr::Lit(x) => Some(x.lit.span()),
        Expr::Paren(x) => Some(x.paren_token.span.close()),
        Expr::Tuple(x) => Some(x.paren_token.span.close()),
        Expr::Array(x) => Some(x.bracket_token.span.close()),
        Expr::Reference(x) => last(&x.expr),
        Expr::Unary(x) => last(&x.expr),
        Expr::Macro(x) => Some(delimiter(&x.mac.delimiter).close()),
        Expr::Struct(x) => Some(x.brace_token.span.close()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::Visit;

    /// Every expression, macro and item of the given files: the span read off the tree is
    /// the one `Spanned` prints.
    struct Check(usize);

    impl<'ast> Visit<'ast> for Check {
        fn visit_expr(&mut self, e: &'ast Expr) {
            assert_eq!(expr_span(e).byte_range(), e.span().byte_range());
            self.0 += 1;
            syn::visit::visit_expr(self, e);
        }
        fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
            assert_eq!(call_span(c).byte_range(), c.span().byte_range());
            syn::visit::visit_expr_call(self, c);
        }
        fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
            assert_eq!(method_span(m).byte_range(), m.span().byte_range());
            syn::visit::visit_expr_method_call(self, m);
        }
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            assert_eq!(macro_span(m).byte_range(), m.span().byte_range());
            syn::visit::visit_macro(self, m);
        }
        fn visit_file(&mut self, f: &'ast syn::File) {
            for i in &f.items {
                assert!(i.span().byte_range().contains(&item_start(i)));
            }
            syn::visit::visit_file(self, f);
        }
    }

    #[test]
    fn spans_read_off_the_tree_are_the_printed_ones() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
        let mut check = Check(0);
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "rs")
                    && let Ok(text) = std::fs::read_to_string(&p)
                    && let Ok(file) = syn::parse_file(&text)
                {
                    check.visit_file(&file);
                }
            }
        }
        let chain = "fn f() { #[allow(x)] a::<T>::b(1).c[2].d?.e().await; (-x + &y) as u8; }";
        check.visit_file(&syn::parse_file(chain).unwrap());
        assert!(check.0 > 10_000, "only {} expressions checked", check.0);
    }
}
