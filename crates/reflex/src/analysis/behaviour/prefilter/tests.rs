//! The lexical pass: what makes an item worth parsing, blanking, pulling; and, on every
//! fixture crate, the same facts as parsing everything.

use super::{Scan, scan};

fn seeded(text: &str) -> bool {
    scan(text).worth_parsing()
}

#[test]
fn plain_code_is_not_worth_parsing() {
    let text = r#"
use std::fmt;
/// A point: `x` and `y`.
pub struct Point { x: i32, y: i32 }
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.x, self.y)
    }
}
pub fn largest(v: &[i32]) -> Option<&i32> { v.iter().max() }
"#;
    assert!(!seeded(text));
}

#[test]
fn what_the_detectors_read_makes_an_item_worth_parsing() {
    let cases = [
        "fn f() { std::process::Command::new(p).status(); }",
        "use std::env; fn f() { let _ = env::var(NAME); }",
        "fn f() { let _ = std::net::TcpStream::connect(a); }",
        "fn f() { let _ = reqwest::blocking::get(u); }",
        "use libc; fn f() { unsafe { libc::execv(p, a) }; }",
        "use std::fs; fn f() { fs::write(p, d).ok(); }",
        "fn f() -> String { whoami::username() }",
        r#"const HOOK: &str = "https://discord.com/api/webhooks/1/abc";"#,
        r#"fn f() -> &'static str { "https:" }"#,
        r#"fn f() -> &'static str { "\x68ttps\u{3a}//x.invalid" }"#,
        r#"fn f() -> &'static str { "sh" }"#,
        r#"fn f() -> &'static str { "AWS_SECRET_ACCESS_KEY" }"#,
        r#"fn f() -> String { ["POLY", "MARKET", "_PRIVATE", "_KEY"].concat() }"#,
        "static ELF: [u8; 4] = [0x7f, 0x45, 0x4c, 0x46];",
        "static ELF: &[u8] = &[0x7F, 69, 76u8, 0x46, 2, 1];",
        "/// see https://discord.com/api/webhooks/1/abc\nfn f() {}",
        r#"fn f() -> &'static str { env!("HOME") }"#,
        "fn f() { let c = ':'; }",
        "fn f(x: &str) -> String { x.chars().rev().collect() }",
        "fn f(b: &[u8]) -> String { b.iter().map(|c| (c ^ 7) as char).collect() }",
        "fn f(b: Vec<u8>) -> String { String::from_utf8(b).unwrap() }",
        "use std::io::Write; fn f() { let mut o = OpenOptions::new(); }",
    ];
    for text in cases {
        assert!(seeded(text), "not worth parsing: {text}");
    }
}

#[test]
fn attribute_and_format_strings_are_not_values() {
    assert!(!seeded(
        "#[wasm_bindgen(extends = ::js_sys::Object, js_name = \"Node\")]\npub struct N;"
    ));
    assert!(!seeded(
        r#"fn f(x: u8) -> String { format!("{x:?}: {:>8}", x) }"#
    ));
    assert!(!seeded(
        r#"fn f() -> &'static str { "I/O error: not found" }"#
    ));

    // Another `*Command` is a process only through something named `process`.
    assert!(!seeded("fn f(c: &Ctl) { GetEventFilterCommand::new(c); }"));
    assert!(!seeded(
        "struct Vtbl { GetEventFilterCommand: fn(hprocess: u32) }"
    ));
    assert!(seeded(
        "use tokio::process;\nfn f() { process::RunCommand::new(p); }"
    ));
    // Binary data is no path or address, though its bytes hold `/` and `:`; a C string is.
    assert!(!seeded(
        r#"const DER: &[u8] = b"0\x10\x06\x07*\x86H\xce=\x02/:\x01";"#
    ));
    assert!(seeded(r#"fn sh() -> &'static [u8] { b"/bin/sh\0" }"#));
    // A lone `var` or `net` is not the environment or the network.
    assert!(!seeded("fn f(var: u8, net: u8) -> u8 { var + net }"));
}

#[test]
fn names_brought_in_by_a_telling_use_are_telling() {
    let text = "use hyper::Client;\nfn plain() -> u8 { 1 }\nfn f() { let _ = Client::new(); }\n";
    let s = scan(text);
    let kept: Vec<bool> = (0..s.items.len()).map(|i| s.kept(i)).collect();
    assert_eq!(kept, [true, false, true]);
}

#[test]
fn items_left_out_are_blanked_in_place() {
    let text = "use std::fmt;\n\nfn plain(a: u8) -> u8 {\n    a + 1\n}\n\nfn run() {\n    std::process::Command::new(\"sh\");\n}\n";
    let s = scan(text);
    let masked = s.masked(text).expect("an item is left out");
    assert_eq!(masked.len(), text.len());
    let lines = |t: &str| t.match_indices('\n').map(|(i, _)| i).collect::<Vec<_>>();
    assert_eq!(lines(&masked), lines(text));
    assert!(!masked.contains("plain") && masked.contains("Command::new(\"sh\")"));
    let file = syn::parse_file(&masked).expect("the blanked text parses");
    assert_eq!(file.items.len(), 2);
}

#[test]
fn items_naming_what_was_found_active_are_pulled() {
    let text = "fn gate() { if late() { payload(); } }\nfn other() {}\n";
    let mut s: Scan<'_> = scan(text);
    assert!(!s.worth_parsing());
    let active = ["payload".to_string()].into_iter().collect();
    assert!(s.pull(&active, &Default::default()));
    assert!(s.kept(0) && !s.kept(1));
    assert!(
        !s.pull(&active, &Default::default()),
        "nothing more to pull"
    );
}

#[test]
fn constants_named_by_kept_items_are_kept() {
    let a = "pub const STEP: &str = concat!(\"wg\", PART);\npub const OTHER: u8 = 1;\n";
    let b = "pub const PART: &str = \"et\";\nfn run() { std::process::Command::new(\"sh\").arg(STEP); }\n";
    let (mut sa, mut sb) = (scan(a), scan(b));
    assert!(!sa.worth_parsing() && !sb.kept(0));
    super::keep_named_constants(&mut [&mut sa, &mut sb]);
    assert!(sa.kept(0) && !sa.kept(1), "STEP, named by run(), is kept");
    assert!(sb.kept(0), "PART, named by STEP, is kept");
}

#[test]
fn the_lexer_reads_what_rustc_reads() {
    // A shebang line is not code; a quote escaped in a char literal ends nothing; invisible
    // marks are whitespace.
    assert!(seeded(
        "#!/usr/bin/env run-cargo-script /*\nfn f() { Command::new(p); }\n"
    ));
    assert!(seeded(
        "fn g() { let _ = ('\\'', '\"'); }\nfn f() { Command::new(p); }\n"
    ));
    assert!(seeded("fn f() { std::process::Command\u{200E}::new(p); }"));
    // A `use` inside a module brings a name the walk resolves in the whole file.
    let text = "use self::sys::Runner;\nmod sys { pub use std::process::Command as Runner; }\nfn f() { Runner::new(p); }\n";
    let s = scan(text);
    assert!(
        s.kept(s.items.len() - 1),
        "the item naming the import is kept"
    );
}

#[test]
fn members_of_impls_traits_and_modules_are_items_of_their_own() {
    let text = "impl Tool {\n    fn plain(&self) -> u8 { 1 }\n    fn run(&self) { std::process::Command::new(\"sh\"); }\n}\nmod m {\n    use std::fmt;\n    fn other() {}\n}\ntrait T { fn d(&self) { let _ = std::net::TcpStream::connect(A); } fn e(&self) {} }\n";
    let s = scan(text);
    let masked = s.masked(text).expect("members are left out");
    assert!(masked.contains("impl Tool {") && masked.contains("fn run(&self)"));
    assert!(!masked.contains("plain") && !masked.contains("fn e("));
    assert!(masked.contains("fn d(&self)"));
    // A module with nothing kept is blanked whole, its `use` too.
    assert!(!masked.contains("mod m") && !masked.contains("fmt"));
    let file = syn::parse_file(&masked).expect("the blanked text parses");
    assert_eq!(file.items.len(), 2);
    assert_eq!(masked.len(), text.len());
}

#[test]
fn test_code_is_never_kept_but_an_unknown_test_attribute_is_code() {
    let text = "#[cfg(test)]\nmod tests {\n    fn t() { std::process::Command::new(\"sh\"); }\n}\nimpl X {\n    #[test]\n    fn u() { std::process::Command::new(\"sh\"); }\n    #[tokio::test]\n    async fn v() { std::process::Command::new(\"sh\"); }\n}\n#[cfg(all(unix, test))]\nfn w() { std::process::Command::new(\"sh\"); }\n";
    assert!(!seeded(text));
    // An attacker's own `test` attribute may emit the function unchanged: it is read.
    let evil = "#[evil_macros::test]\nfn payload() { std::process::Command::new(\"sh\"); }\n";
    assert!(seeded(evil));
    let not_test = "#[cfg(not(test))]\nfn real() { std::process::Command::new(\"sh\"); }\n";
    assert!(seeded(not_test));
    // On a generic parameter the attribute removes the parameter, not the item.
    for generic in [
        "fn f<#[cfg(test)] 'a>() { std::process::Command::new(\"sh\"); }\n",
        "impl<#[cfg(test)] 'a> X { fn f() { std::process::Command::new(\"sh\"); } }\n",
    ] {
        assert!(seeded(generic), "{generic}");
    }
}

#[test]
fn constants_are_read_from_definitions_not_types() {
    let text = r#"
pub const PROGRAM: &str = "cu";
static mut COUNT: usize = 0;
pub(crate) static r#TABLE: [&str; 1] = ["x"];
fn f(p: *const core::ffi::c_void, q: *mut u8, s: &'static str) { const INNER: u8 = 1; }
// a comment that ends with *
const AFTER_COMMENT: &str = "rl";
const fn g(&mut self) -> u8 { let mut x: u8 = 0; x }
struct S<const N: usize>;
"#;
    let s = scan(text);
    let consts: Vec<&str> = s.items.iter().flat_map(|i| i.consts.clone()).collect();
    assert_eq!(
        consts,
        ["PROGRAM", "COUNT", "TABLE", "INNER", "AFTER_COMMENT", "N"]
    );
}

#[test]
fn names_captured_by_a_format_string_are_named() {
    let s = scan(r#"fn f() -> String { format!("{A}-{b:?}-{0}-{ 1}-{\x53TEP}-{ÉTAPE}") }"#);
    let names: Vec<String> = s
        .items
        .iter()
        .flat_map(|i| i.captured.iter().map(|c| c.to_string()))
        .collect();
    assert_eq!(names, ["A", "b", "STEP", "ÉTAPE"]);
}
