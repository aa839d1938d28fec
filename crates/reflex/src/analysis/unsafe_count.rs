//! Counts `unsafe` the way cargo-geiger reports it, without compiling: unsafe functions and
//! methods, unsafe blocks (expressions), unsafe impls, unsafe traits and extern blocks.

use serde::Serialize;
use syn::visit::Visit;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnsafeCounts {
    pub functions: usize,
    pub blocks: usize,
    pub impls: usize,
    pub traits: usize,
    pub extern_blocks: usize,
}

impl UnsafeCounts {
    pub fn total(&self) -> usize {
        self.functions + self.blocks + self.impls + self.traits + self.extern_blocks
    }

    pub fn add(&mut self, other: &UnsafeCounts) {
        self.functions += other.functions;
        self.blocks += other.blocks;
        self.impls += other.impls;
        self.traits += other.traits;
        self.extern_blocks += other.extern_blocks;
    }
}

struct Counter(UnsafeCounts);

impl<'ast> Visit<'ast> for Counter {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_item_fn(self, i);
    }
    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_impl_item_fn(self, i);
    }
    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_trait_item_fn(self, i);
    }
    fn visit_expr_unsafe(&mut self, i: &'ast syn::ExprUnsafe) {
        self.0.blocks += 1;
        syn::visit::visit_expr_unsafe(self, i);
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if i.unsafety.is_some() {
            self.0.impls += 1;
        }
        syn::visit::visit_item_impl(self, i);
    }
    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        if i.unsafety.is_some() {
            self.0.traits += 1;
        }
        syn::visit::visit_item_trait(self, i);
    }
    fn visit_item_foreign_mod(&mut self, i: &'ast syn::ItemForeignMod) {
        self.0.extern_blocks += 1;
        syn::visit::visit_item_foreign_mod(self, i);
    }
}

/// Counts in one parsed file.
pub fn count(file: &syn::File) -> UnsafeCounts {
    let mut c = Counter(UnsafeCounts::default());
    c.visit_file(file);
    c.0
}

/// Whether the file carries `#![forbid(unsafe_code)]` (or `deny`).
pub fn forbids_unsafe(file: &syn::File) -> bool {
    file.attrs.iter().any(|a| {
        matches!(a.style, syn::AttrStyle::Inner(_))
            && (a.path().is_ident("forbid") || a.path().is_ident("deny"))
            && a.meta.require_list().is_ok_and(|l| l.tokens.to_string().split(',').any(|t| t.trim() == "unsafe_code"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_kind() {
        let f: syn::File = syn::parse_str(
            "#![forbid(unsafe_code)]
             unsafe fn a() {}
             fn b() { unsafe { a() }; let _ = || unsafe { a() }; }
             unsafe impl Send for X {}
             unsafe trait T { unsafe fn m(&self); }
             impl X { unsafe fn n(&self) {} }
             extern \"C\" { fn c(); }",
        )
        .unwrap();
        let c = count(&f);
        assert_eq!(c, UnsafeCounts { functions: 3, blocks: 2, impls: 1, traits: 1, extern_blocks: 1 });
        assert!(forbids_unsafe(&f));
        assert!(!forbids_unsafe(&syn::parse_str::<syn::File>("#![deny(missing_docs)] fn x() {}").unwrap()));
    }
}
