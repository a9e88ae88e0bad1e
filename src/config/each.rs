//! `for_each` on `source` blocks: one source per element of a map, object or set of strings,
//! named `name["key"]`, with `each.key` and `each.value` in its expressions, as in Terraform.

use super::SourceBlock;
use crate::diagnostic::Diagnostic;
use crate::eval::Context;
use crate::value::{Map, Value};

/// One element of a source's `for_each`: the instance `web["us-east-1"]` of the source `web`.
#[derive(Clone, Debug, PartialEq)]
pub struct Each {
    /// The name of the declared source block (`web`).
    pub group: String,
    /// `each.key`: the map key, or the set element.
    pub key: String,
    /// `each.value`: the map value, or the set element.
    pub value: Value,
}

impl Each {
    /// The `each` object an instance's expressions see.
    pub fn object(&self) -> Value {
        let mut each = Map::new();
        each.insert("key".into(), Value::String(self.key.clone()));
        each.insert("value".into(), self.value.clone());
        Value::Object(each)
    }
}

/// Expand a source with `for_each` into one instance per element, named `name["key"]`, as
/// Terraform does: a map or object gives its keys and values, a set of strings its elements
/// (as both key and value). A source without `for_each` is returned as it is; so is one whose
/// `for_each` fails or is empty, still holding its `for_each`, so builds naming it resolve to no
/// instance instead of reporting an unknown source.
pub fn expand_for_each(
    block: SourceBlock,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<SourceBlock> {
    let Some(expr) = block.for_each.clone() else {
        return vec![block];
    };
    let span = expr.span;
    let value = match ctx.eval(&expr) {
        Ok(v) => v,
        Err(d) => {
            diags.push(d);
            return vec![block];
        }
    };
    let hint = "for_each takes a map, an object or a set of strings, such as toset([\"us-east-1\", \"eu-west-1\"])";
    if value.contains_sensitive() {
        diags.push(
            Diagnostic::error(span, "`for_each` cannot use sensitive values").with_hint(
                "instance names are shown in plans and logs; use values that are not sensitive",
            ),
        );
        return vec![block];
    }
    if value.contains_unknown() {
        diags.push(Diagnostic::error(span, "the value of `for_each` is known only after a build").with_hint("for_each must be known before building: use variables, locals or literals, not data sources or build values"));
        return vec![block];
    }
    let elements: Vec<(String, Value)> = match value {
        Value::Map(m) | Value::Object(m) => m.into_iter().collect(),
        Value::Set(xs) => {
            let mut out = Vec::new();
            for x in xs {
                match x {
                    Value::String(s) => out.push((s.clone(), Value::String(s))),
                    other => {
                        diags.push(
                            Diagnostic::error(
                                span,
                                format!(
                                    "a set used in `for_each` must hold strings, not {}",
                                    other.kind_name()
                                ),
                            )
                            .with_hint(hint),
                        );
                        return vec![block];
                    }
                }
            }
            out
        }
        Value::List(_) | Value::Tuple(_) => {
            diags.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`for_each` cannot use a {}: its elements have no stable names",
                        value.kind_name()
                    ),
                )
                .with_hint("convert it to a set of strings with toset(...), or use a map"),
            );
            return vec![block];
        }
        other => {
            diags.push(
                Diagnostic::error(
                    span,
                    format!("`for_each` needs a collection, not {}", other.kind_name()),
                )
                .with_hint(hint),
            );
            return vec![block];
        }
    };
    if elements.is_empty() {
        return vec![block];
    }
    elements
        .into_iter()
        .map(|(key, value)| SourceBlock {
            name: format!("{}[{}]", block.name, quote_key(&key)),
            for_each: None,
            each: Some(Each {
                group: block.name.clone(),
                key,
                value,
            }),
            ..block.clone()
        })
        .collect()
}

/// A `for_each` key as it appears in an instance name: double-quoted, with `"` and `\` escaped.
pub(super) fn quote_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
