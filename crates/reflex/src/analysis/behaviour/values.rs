//! Values followed through the code: literals, decoded text, environment values, lists,
//! bytes, downloads, and what cannot be followed. `Walker::eval` computes them.

use super::visit::{Walker, path_string};
use syn::Expr;

/// What an expression is known to hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Val {
    /// Not followed: computed at run time.
    #[default]
    Unknown,
    /// Known text. `$NAME/...` stands for a path under the variable `NAME`.
    Str(String),
    /// Known bytes (an array of integers, a byte string).
    Bytes(Vec<u8>),
    /// The result of decoding, with the text when it could be computed.
    Decoded { text: Option<String>, how: String },
    /// The value of an environment variable.
    Env(String),
    /// A list of values (an array of names iterated later).
    List(Vec<Val>),
    /// Bytes or text fetched from the network.
    Download,
    /// The function parameter at this position (helper summaries).
    Param(usize),
    /// An element of a parameter (`argv[0]`): the parameter's position, the element's.
    ParamElem(usize, usize),
    /// Text known only in part (a format string whose arguments are computed).
    Template(String),
}

impl Val {
    pub fn text(&self) -> Option<String> {
        match self {
            Val::Str(s) => Some(s.clone()),
            Val::Decoded { text, .. } => text.clone(),
            Val::Env(n) => Some(format!("${n}")),
            Val::Bytes(b) => String::from_utf8(b.clone()).ok(),
            _ => None,
        }
    }

    /// Element `k` of a list (`None`: the value itself).
    pub fn element(self, k: Option<usize>) -> Val {
        match (self, k) {
            (v, None) => v,
            (Val::List(items), Some(k)) => items.into_iter().nth(k).unwrap_or_default(),
            _ => Val::Unknown,
        }
    }

    /// A parameter or an element of one: its position and the element's.
    pub fn param(&self) -> Option<(usize, Option<usize>)> {
        match self {
            Val::Param(i) => Some((*i, None)),
            Val::ParamElem(i, k) => Some((*i, Some(*k))),
            _ => None,
        }
    }

    /// The text, or the known part of it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Val::Template(t) => Some(t.clone()),
            v => v.text(),
        }
    }

    fn decoded(text: Option<String>, how: &str) -> Val {
        Val::Decoded {
            text,
            how: how.to_string(),
        }
    }

    /// Combines two values into one text (concatenation, formatting, joining).
    fn concat(a: Val, b: Val, sep: &str) -> Val {
        match (a, b) {
            (Val::Decoded { text, how }, other) | (other, Val::Decoded { text, how }) => {
                let t = text.zip(other.text()).map(|(x, y)| format!("{x}{sep}{y}"));
                Val::Decoded { text: t, how }
            }
            (Val::Download, _) | (_, Val::Download) => Val::Download,
            (a, b) => match (a.text(), b.text()) {
                (Some(x), Some(y)) => Val::Str(format!("{x}{sep}{y}")),
                (Some(x), None) if x.starts_with('$') => Val::Str(x),
                _ => Val::Unknown,
            },
        }
    }
}

/// Decodes a base64 or hex literal, when it is one.
fn decode_text(input: &str, how: &str) -> Option<String> {
    use data_encoding::{BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD, HEXLOWER_PERMISSIVE};
    let bytes = if how == "hex" {
        HEXLOWER_PERMISSIVE.decode(input.as_bytes()).ok()?
    } else {
        [BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD]
            .iter()
            .find_map(|e| e.decode(input.as_bytes()).ok())?
    };
    String::from_utf8(bytes).ok()
}

/// Parts (lower-cased) of a call path or receiver that name a decoding; the first is hex, the
/// last two base58, the rest base64.
pub(super) const DECODER_PARTS: &[&str] = &[
    "hex",
    "base64",
    "standard",
    "general_purpose",
    "engine",
    "url_safe",
    "b64",
    "bs58",
    "base58",
];

/// The decoding a call path or receiver names: `base64`, `hex`.
fn decoder(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    if lower.contains(DECODER_PARTS[0]) {
        Some("hex")
    } else if DECODER_PARTS[1..7].iter().any(|w| lower.contains(w)) {
        Some("base64")
    } else if DECODER_PARTS[7..].iter().any(|w| lower.contains(w)) {
        Some("base58")
    } else {
        None
    }
}

const PASS_THROUGH: &[&str] = &[
    "iter",
    "into_iter",
    "bytes",
    "chars",
    "as_bytes",
    "to_vec",
    "copied",
    "cloned",
    "unwrap",
    "expect",
    "to_string",
    "to_owned",
    "into",
    "as_str",
    "as_ref",
    "clone",
    "trim",
    "unwrap_or_default",
    "to_string_lossy",
    "into_owned",
    "as_path",
    "as_os_str",
    "display",
    "borrow",
    "into_bytes",
    "to_str",
    "ok",
    "as_slice",
    "into_boxed_str",
];

impl Walker<'_> {
    /// What `e` holds, as far as it can be followed.
    pub fn eval(&mut self, e: &Expr) -> Val {
        self.depth += 1;
        let v = if self.depth > 64 {
            Val::Unknown
        } else {
            self.eval_inner(e)
        };
        self.depth -= 1;
        v
    }

    fn eval_inner(&mut self, e: &Expr) -> Val {
        match e {
            Expr::Lit(l) => lit(&l.lit),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Group(g) => self.eval(&g.expr),
            Expr::Reference(r) => self.eval(&r.expr),
            Expr::Try(t) => self.eval(&t.expr),
            Expr::Await(a) => self.eval(&a.base),
            Expr::Unary(u) => self.eval(&u.expr),
            Expr::Cast(c) => self.eval(&c.expr),
            Expr::Block(b) => match b.block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => self.eval(e),
                _ => Val::Unknown,
            },
            Expr::Path(p) => {
                let name = path_string(&p.path);
                self.lookup(&name)
            }
            Expr::Array(a) => self.list(a.elems.iter()),
            Expr::Index(ix) => {
                let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(k),
                    ..
                }) = &*ix.index
                else {
                    return Val::Unknown;
                };
                let Ok(k) = k.base10_parse::<usize>() else {
                    return Val::Unknown;
                };
                match self.eval(&ix.expr) {
                    Val::Param(i) => Val::ParamElem(i, k),
                    v => v.element(Some(k)),
                }
            }
            Expr::Binary(b) if matches!(b.op, syn::BinOp::Add(_)) => {
                let (l, r) = (self.eval(&b.left), self.eval(&b.right));
                Val::concat(l, r, "")
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::MethodCall(m) => self.eval_method(m),
            Expr::Macro(m) => self.eval_macro(&m.mac),
            _ => Val::Unknown,
        }
    }

    /// A name: a local binding, then a constant or static of the crate.
    fn lookup(&self, name: &str) -> Val {
        for scope in self.locals.iter().rev() {
            if let Some(v) = scope.get(name) {
                return v.clone();
            }
        }
        let last = name.rsplit("::").next().unwrap_or(name);
        self.info.consts.get(last).cloned().unwrap_or(Val::Unknown)
    }

    pub fn list<'e>(&mut self, elems: impl Iterator<Item = &'e Expr>) -> Val {
        let vals: Vec<Val> = elems.map(|e| self.eval(e)).collect();
        let ints: Option<Vec<u8>> = vals
            .iter()
            .map(|v| match v {
                Val::Str(s) if s.starts_with('#') => s[1..].parse::<u8>().ok(),
                _ => None,
            })
            .collect();
        match ints {
            Some(b) if !b.is_empty() => Val::Bytes(b),
            _ => Val::List(vals),
        }
    }

    fn eval_call(&mut self, c: &syn::ExprCall) -> Val {
        let Expr::Path(p) = &*c.func else {
            return Val::Unknown;
        };
        let full = self.resolve(&path_string(&p.path));
        let last = full.rsplit("::").next().unwrap_or("");
        let arg = |w: &mut Self, i: usize| c.args.iter().nth(i).map_or(Val::Unknown, |a| w.eval(a));
        if matches!(last, "var" | "var_os") && full.contains("env") {
            return match arg(self, 0) {
                Val::Str(n) => Val::Env(n),
                _ => Val::Unknown,
            };
        }
        if matches!(
            last,
            "from_utf8" | "from_utf8_lossy" | "from_utf8_unchecked" | "from_u32" | "from"
        ) && (full.contains("String") || full.contains("str") || full.contains("char"))
        {
            return match arg(self, 0) {
                Val::Bytes(b) => {
                    Val::decoded(Some(String::from_utf8_lossy(&b).into_owned()), "byte array")
                }
                Val::List(_) => Val::decoded(None, "byte array"),
                v @ (Val::Decoded { .. } | Val::Download | Val::Str(_) | Val::Env(_)) => v,
                _ if last == "from" => Val::Unknown,
                _ => Val::decoded(None, "byte array"),
            };
        }
        if (last == "decode" || last == "decode_to_vec")
            && let Some(how) = decoder(&full)
        {
            let text = arg(self, 0).text().and_then(|t| decode_text(&t, how));
            return Val::decoded(text, how);
        }
        if matches!(last, "new" | "from") && (full.contains("Path") || full.contains("OsStr")) {
            return arg(self, 0);
        }
        if self.network_path(&full).is_some() {
            return Val::Download;
        }
        if let Some(f) = self.crate_fn(last) {
            return match f.returns.param() {
                Some((i, k)) => arg(self, i).element(k),
                None => f.returns.clone(),
            };
        }
        Val::Unknown
    }

    fn eval_method(&mut self, m: &syn::ExprMethodCall) -> Val {
        let method = m.method.to_string();
        if method == "decode"
            && let Some(how) = decoder(&self.source_of(&m.receiver))
        {
            let text = m
                .args
                .first()
                .and_then(|a| self.eval(a).text())
                .and_then(|t| decode_text(&t, how));
            return Val::decoded(text, how);
        }
        let recv = self.eval(&m.receiver);
        if PASS_THROUGH.contains(&method.as_str()) {
            return recv;
        }
        match method.as_str() {
            "collect" | "concat" => match recv {
                Val::List(items) => items
                    .into_iter()
                    .fold(Val::Str(String::new()), |a, b| Val::concat(a, b, "")),
                Val::Bytes(b) => {
                    Val::decoded(Some(String::from_utf8_lossy(&b).into_owned()), "byte array")
                }
                v => v,
            },
            "map" | "filter_map" | "flat_map" => self.eval_map(recv, m),
            // Reversing characters is decoding; reversing a list of names is not.
            "rev" => match (recv, reverses_chars(&m.receiver)) {
                (Val::List(mut items), _) => {
                    items.reverse();
                    Val::List(items)
                }
                (Val::Bytes(mut b), _) => {
                    b.reverse();
                    Val::decoded(Some(String::from_utf8_lossy(&b).into_owned()), "reversed")
                }
                (r, true) => match r.text() {
                    Some(t) => Val::decoded(Some(t.chars().rev().collect()), "reversed"),
                    None => Val::decoded(None, "reversed"),
                },
                (r, false) => r,
            },
            "join" | "push_str" | "with_file_name" => {
                let arg = m.args.first().map_or(Val::Unknown, |a| self.eval(a));
                match recv {
                    Val::List(items) => {
                        let sep = arg.text().unwrap_or_default();
                        items
                            .into_iter()
                            .reduce(|a, b| Val::concat(a, b, &sep))
                            .unwrap_or(Val::Unknown)
                    }
                    r => Val::concat(r, arg, if method == "push_str" { "" } else { "/" }),
                }
            }
            "replace" => {
                let a: Vec<Option<String>> = m.args.iter().map(|a| self.eval(a).text()).collect();
                match (recv, a.as_slice()) {
                    (Val::Str(s), [Some(x), Some(y)]) => Val::Str(s.replace(x.as_str(), y)),
                    (v @ Val::Decoded { .. }, _) => v,
                    _ => Val::Unknown,
                }
            }
            "bytes_async" | "text" | "json" | "send" | "call" | "into_reader" | "into_string"
            | "read_to_end" | "read_to_string" | "body" => match recv {
                Val::Download => Val::Download,
                _ => Val::Unknown,
            },
            "get" | "post" | "put"
                if m.args.first().is_some_and(|a| {
                    super::patterns::looks_like_address(&self.eval(a).text().unwrap_or_default())
                }) =>
            {
                Val::Download
            }
            "unwrap_or" | "unwrap_or_else" => recv,
            _ => Val::Unknown,
        }
    }

    /// `.map(|b| (b ^ k) as char)` and friends: decoding by XOR or character arithmetic.
    fn eval_map(&mut self, recv: Val, m: &syn::ExprMethodCall) -> Val {
        let body = m
            .args
            .first()
            .map(|a| self.source_of(a))
            .unwrap_or_default();
        if body.contains('^') {
            let key = xor_key(&body);
            let text = match (&recv, key) {
                (Val::Bytes(b), Some(k)) => {
                    Some(b.iter().map(|c| char::from(c ^ k)).collect::<String>())
                }
                (Val::Str(s), Some(k)) => Some(s.bytes().map(|c| char::from(c ^ k)).collect()),
                _ => None,
            };
            return Val::decoded(text, "xor");
        }
        if body.contains("as char") || body.contains("char::from") || body.contains("from_u32") {
            let arithmetic = body.contains('-') || body.contains('+');
            return match (recv, arithmetic) {
                (Val::Bytes(b), false) => Val::decoded(
                    Some(b.iter().map(|c| char::from(*c)).collect()),
                    "byte array",
                ),
                (_, true) => Val::decoded(None, "character arithmetic"),
                (_, false) => Val::decoded(None, "byte array"),
            };
        }
        match recv {
            v @ (Val::Decoded { .. } | Val::Download) => v,
            Val::List(items) if !items.is_empty() => Val::List(items),
            _ => Val::Unknown,
        }
    }

    fn eval_macro(&mut self, mac: &syn::Macro) -> Val {
        let name = path_string(&mac.path);
        let name = name.rsplit("::").next().unwrap_or("");
        let args = super::visit::macro_args(mac);
        match name {
            "vec" => self.list(args.iter()),
            "concat" => args
                .iter()
                .map(|a| self.eval(a))
                .fold(Val::Str(String::new()), |a, b| Val::concat(a, b, "")),
            "env" | "option_env" => match args.first().map(|a| self.eval(a)) {
                Some(Val::Str(n)) => Val::Str(format!("${n}")),
                _ => Val::Unknown,
            },
            "format" => {
                let Some(Val::Str(template)) = args.first().map(|a| self.eval(a)) else {
                    return Val::Unknown;
                };
                // `name = value` arguments are named; the others positional.
                let mut named: Vec<(String, Val)> = Vec::new();
                let mut rest: Vec<Val> = Vec::new();
                for a in args.iter().skip(1) {
                    match a {
                        Expr::Assign(x) => {
                            if let Expr::Path(p) = &*x.left {
                                let v = self.eval(&x.right);
                                named.push((path_string(&p.path), v));
                            }
                        }
                        a => rest.push(self.eval(a)),
                    }
                }
                let lookup = |n: &str| match named.iter().find(|(k, _)| k == n) {
                    Some((_, v)) => v.clone(),
                    None => self.lookup(n),
                };
                format_template(&template, &rest, &lookup)
            }
            "include_str" => Val::Unknown,
            _ => Val::Unknown,
        }
    }
}

/// `format!(template, args)` where the arguments are known or decoded.
fn format_template(template: &str, args: &[Val], named: &dyn Fn(&str) -> Val) -> Val {
    let mut decoded: Option<String> = None;
    let mut out = String::new();
    let mut positional = args.iter();
    let mut rest = template;
    let mut known = true;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let inner = &rest[open + 1..open + close];
        let name = inner.split(':').next().unwrap_or("");
        let v = if name.is_empty() {
            positional.next().cloned().unwrap_or(Val::Unknown)
        } else if name.chars().all(|c| c.is_ascii_digit()) {
            args.get(name.parse::<usize>().unwrap_or(0))
                .cloned()
                .unwrap_or(Val::Unknown)
        } else {
            named(name)
        };
        if let Val::Decoded { how, .. } = &v {
            decoded = Some(how.clone());
        }
        match v.text() {
            Some(t) => out.push_str(&t),
            None => {
                known = false;
                out.push_str("{…}");
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    if let Some(how) = decoded {
        return Val::Decoded {
            text: Some(out),
            how,
        };
    }
    if known {
        Val::Str(out)
    } else {
        Val::Template(out)
    }
}

/// The value of a literal; integers as `#n` (so arrays of them become bytes).
pub fn lit(l: &syn::Lit) -> Val {
    match l {
        syn::Lit::Str(s) => Val::Str(s.value()),
        syn::Lit::ByteStr(b) => Val::Bytes(b.value()),
        syn::Lit::Byte(b) => Val::Str(format!("#{}", b.value())),
        syn::Lit::Char(c) => Val::Str(c.value().to_string()),
        syn::Lit::Int(i) => Val::Str(format!("#{}", i.base10_digits())),
        _ => Val::Unknown,
    }
}

/// The integer literal XORed in a closure body, when there is exactly one.
fn xor_key(text: &str) -> Option<u8> {
    let after = text.split('^').nth(1)?;
    let digits: String = after
        .trim_start()
        .trim_start_matches('(')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let digits = digits.trim_end_matches("u8");
    if let Some(h) = digits.strip_prefix("0x") {
        u8::from_str_radix(h, 16).ok()
    } else {
        digits.parse().ok()
    }
}

/// `x.chars().rev()`, `x.bytes().rev()`: the receiver of `rev` walks a string's characters.
fn reverses_chars(receiver: &syn::Expr) -> bool {
    matches!(receiver, syn::Expr::MethodCall(c) if matches!(c.method.to_string().as_str(), "chars" | "bytes" | "char_indices"))
}
