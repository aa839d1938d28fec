//! `${{ ... }}` expressions, evaluated as the runner would: inputs with their defaults,
//! github.*, runner.*, steps.*, and the status functions.

use saphyr::YamlOwned;
use serde_json::Value;
use std::collections::BTreeMap;

pub fn scalar(y: &YamlOwned) -> Option<String> {
    if let Some(s) = y.as_str() {
        return Some(s.to_string());
    }
    if let Some(b) = y.as_bool() {
        return Some(b.to_string());
    }
    y.as_integer().map(|i| i.to_string())
}

pub fn entries(y: &YamlOwned) -> Vec<(String, &YamlOwned)> {
    y.as_mapping()
        .map(|m| m.iter().map(|(k, v)| (scalar(k).unwrap(), v)).collect())
        .unwrap_or_default()
}

/// An expression's value, as far as these expressions need: strings, booleans and null.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Str(String),
    Bool(bool),
    Null,
}

impl Val {
    pub fn truthy(&self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Bool(b) => *b,
            Val::Null => false,
        }
    }
    pub fn text(&self) -> String {
        match self {
            Val::Str(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Null => String::new(),
        }
    }
}

/// What expressions can see: the contexts of a composite action's step.
pub struct Contexts {
    pub inputs: BTreeMap<String, String>,
    pub github: Value,
    pub runner: Value,
    pub steps: BTreeMap<String, (BTreeMap<String, String>, &'static str)>,
    pub failed: bool,
}

impl Contexts {
    fn lookup(&self, path: &str) -> Val {
        let parts: Vec<&str> = path.split('.').collect();
        let json_at = |root: &Value, rest: &[&str]| {
            let mut v = root;
            for p in rest {
                match v.get(p) {
                    Some(next) => v = next,
                    None => return Val::Null,
                }
            }
            match v {
                Value::String(s) => Val::Str(s.clone()),
                Value::Bool(b) => Val::Bool(*b),
                Value::Null => Val::Null,
                other => Val::Str(other.to_string()),
            }
        };
        match parts.as_slice() {
            ["inputs", name] => Val::Str(
                self.inputs
                    .get(*name)
                    .unwrap_or_else(|| panic!("the action reads an undeclared input: {name}"))
                    .clone(),
            ),
            ["github", rest @ ..] => json_at(&self.github, rest),
            ["runner", rest @ ..] => json_at(&self.runner, rest),
            ["steps", id, "outputs", name] => self
                .steps
                .get(*id)
                .and_then(|(o, _)| o.get(*name))
                .map(|v| Val::Str(v.clone()))
                .unwrap_or(Val::Null),
            ["steps", id, "outcome"] => Val::Str(
                self.steps
                    .get(*id)
                    .map(|(_, o)| o.to_string())
                    .unwrap_or_default(),
            ),
            _ => panic!("the harness does not know the context of `{path}`"),
        }
    }
}

/// A recursive-descent evaluator for `||`, `&&`, `==`, `!=`, `!`, parentheses, 'strings',
/// context paths and success() / failure() / always().
pub struct Expr<'a> {
    toks: Vec<String>,
    pos: usize,
    cx: &'a Contexts,
}

impl<'a> Expr<'a> {
    pub fn eval(text: &str, cx: &'a Contexts) -> Val {
        let mut toks = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_whitespace() {
                i += 1;
            } else if c == '\'' {
                let mut s = String::from("'");
                i += 1;
                while i < chars.len() {
                    if chars[i] == '\'' {
                        if chars.get(i + 1) == Some(&'\'') {
                            s.push('\'');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    s.push(chars[i]);
                    i += 1;
                }
                i += 1;
                toks.push(s);
            } else if let Some(op) = ["==", "!=", "&&", "||"]
                .into_iter()
                .find(|op| chars[i..].iter().take(2).collect::<String>() == *op)
            {
                toks.push(op.to_string());
                i += 2;
            } else if "!()".contains(c) {
                toks.push(c.to_string());
                i += 1;
            } else {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "._-".contains(chars[i])) {
                    i += 1;
                }
                assert!(i > start, "unexpected `{c}` in `{text}`");
                toks.push(chars[start..i].iter().collect());
            }
        }
        let mut e = Expr { toks, pos: 0, cx };
        let v = e.or();
        assert_eq!(e.pos, e.toks.len(), "unparsed rest of `{text}`");
        v
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(String::as_str)
    }

    fn or(&mut self) -> Val {
        let mut v = self.and();
        while self.peek() == Some("||") {
            self.pos += 1;
            let r = self.and();
            if !v.truthy() {
                v = r;
            }
        }
        v
    }

    fn and(&mut self) -> Val {
        let mut v = self.cmp();
        while self.peek() == Some("&&") {
            self.pos += 1;
            let r = self.cmp();
            if v.truthy() {
                v = r;
            }
        }
        v
    }

    fn cmp(&mut self) -> Val {
        let l = self.unary();
        match self.peek() {
            Some(op @ ("==" | "!=")) => {
                let eq = op == "==";
                self.pos += 1;
                let r = self.unary();
                // GitHub compares strings ignoring case; null equals the empty string here.
                let same = l.text().eq_ignore_ascii_case(&r.text());
                Val::Bool(same == eq)
            }
            _ => l,
        }
    }

    fn unary(&mut self) -> Val {
        match self.peek() {
            Some("!") => {
                self.pos += 1;
                Val::Bool(!self.unary().truthy())
            }
            Some("(") => {
                self.pos += 1;
                let v = self.or();
                assert_eq!(self.peek(), Some(")"));
                self.pos += 1;
                v
            }
            Some(t) if t.starts_with('\'') => {
                let v = Val::Str(t[1..].to_string());
                self.pos += 1;
                v
            }
            Some(t) => {
                let t = t.to_string();
                self.pos += 1;
                if self.peek() == Some("(") {
                    self.pos += 1;
                    assert_eq!(self.peek(), Some(")"), "functions here take no arguments");
                    self.pos += 1;
                    return match t.as_str() {
                        "success" => Val::Bool(!self.cx.failed),
                        "failure" => Val::Bool(self.cx.failed),
                        "always" => Val::Bool(true),
                        f => panic!("the harness does not know {f}()"),
                    };
                }
                match t.as_str() {
                    "true" => Val::Bool(true),
                    "false" => Val::Bool(false),
                    "null" => Val::Null,
                    path => self.cx.lookup(path),
                }
            }
            None => panic!("expression ends early"),
        }
    }
}

/// Replaces every `${{ expr }}` in `text`.
pub fn substitute(text: &str, cx: &Contexts) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed ${{") + start;
        out.push_str(&Expr::eval(&rest[start + 3..end], cx).text());
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}
