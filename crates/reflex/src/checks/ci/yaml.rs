//! A small YAML tree with line numbers, converted from saphyr's marked nodes, so the CI checks
//! can point at the line of every finding.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Map(Vec<(String, Node)>),
    Seq(Vec<Node>),
    Str(String),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based line where the node starts.
    pub line: u32,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::str)
    }

    pub fn entries(&self) -> &[(String, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// Every string in this subtree (keys excluded), for secret and pattern scans.
    pub fn strings(&self) -> Vec<(&str, u32)> {
        let mut out = Vec::new();
        self.collect_strings(&mut out);
        out
    }

    fn collect_strings<'a>(&'a self, out: &mut Vec<(&'a str, u32)>) {
        match &self.value {
            Value::Str(s) => out.push((s, self.line)),
            Value::Map(e) => e.iter().for_each(|(_, v)| v.collect_strings(out)),
            Value::Seq(i) => i.iter().for_each(|v| v.collect_strings(out)),
            Value::Null => {}
        }
    }
}

/// Parses the first document; the error carries the 1-based line and a message.
pub fn parse(text: &str) -> Result<Node, (u32, String)> {
    let docs = MarkedYamlOwned::load_from_str(text).map_err(|e| {
        (
            u32::try_from(e.marker().line()).unwrap_or(0).max(1),
            e.info().to_string(),
        )
    })?;
    Ok(docs.first().map(convert).unwrap_or(Node {
        value: Value::Null,
        line: 1,
    }))
}

fn convert(y: &MarkedYamlOwned) -> Node {
    let line = u32::try_from(y.span.start.line()).unwrap_or(0).max(1);
    let value = match &y.data {
        YamlDataOwned::Value(s) => scalar(s),
        YamlDataOwned::Representation(s, _, _) => Value::Str(s.clone()),
        YamlDataOwned::Sequence(items) => Value::Seq(items.iter().map(convert).collect()),
        YamlDataOwned::Mapping(map) => Value::Map(
            map.iter()
                .filter_map(|(k, v)| {
                    let key = match &k.data {
                        YamlDataOwned::Value(s) => match scalar(s) {
                            Value::Str(s) => s,
                            Value::Null => "null".into(),
                            _ => return None,
                        },
                        YamlDataOwned::Representation(s, _, _) => s.clone(),
                        _ => return None,
                    };
                    Some((key, convert(v)))
                })
                .collect(),
        ),
        YamlDataOwned::Tagged(_, inner) => return convert(inner),
        _ => Value::Null,
    };
    Node { value, line }
}

fn scalar(s: &ScalarOwned) -> Value {
    match s {
        ScalarOwned::Null => Value::Null,
        ScalarOwned::Boolean(b) => Value::Str(b.to_string()),
        ScalarOwned::Integer(i) => Value::Str(i.to_string()),
        ScalarOwned::FloatingPoint(f) => Value::Str(f.to_string()),
        ScalarOwned::String(s) => Value::Str(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_keys_kept() {
        let n = parse("a: 1\nb:\n  c: [x, y]\n").unwrap();
        assert_eq!(n.get("a").unwrap().line, 1);
        assert_eq!(n.get("b").unwrap().get("c").unwrap().items().len(), 2);
        assert_eq!(n.get("b").unwrap().get("c").unwrap().line, 3);
        assert!(parse("a: [1\n").is_err());
    }
}
