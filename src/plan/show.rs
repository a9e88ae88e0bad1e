//! Printing evaluated configuration in a plan: HCL-like `name = value` lines, sensitive values
//! masked, unknown values as `(known after build)`.

use crate::body::{BodyValue, SENSITIVE, UNKNOWN};
use crate::value::{to_console, Value};
use std::fmt::Write;

/// A value on one line when it is short, else indented over several, starting at column
/// `indent`.
pub fn value(v: &Value, indent: usize) -> String {
    let line = one_line(v);
    if line.len() + indent <= 100 && !line.contains('\n') {
        return line;
    }
    let pad = " ".repeat(indent + 2);
    let close = " ".repeat(indent);
    match v {
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) if !xs.is_empty() => {
            let mut out = String::from("[\n");
            for x in xs {
                let _ = writeln!(out, "{pad}{},", value(x, indent + 2));
            }
            let _ = write!(out, "{close}]");
            out
        }
        Value::Map(m) | Value::Object(m) if !m.is_empty() => {
            let width = m.keys().map(|k| key(k).chars().count()).max().unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, x) in m {
                let k = key(k);
                let gap = width - k.chars().count();
                let _ = writeln!(
                    out,
                    "{pad}{k}{:gap$} = {}",
                    "",
                    value(x, indent + 2),
                    gap = gap
                );
            }
            let _ = write!(out, "{close}}}");
            out
        }
        _ => line,
    }
}

fn one_line(v: &Value) -> String {
    match v {
        Value::Sensitive(_) => SENSITIVE.into(),
        Value::Unknown(_) => UNKNOWN.into(),
        Value::Null => "null".into(),
        Value::String(s) => quote(s),
        Value::Bool(_) | Value::Number(_) => to_console(v),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            format!(
                "[{}]",
                xs.iter().map(one_line).collect::<Vec<_>>().join(", ")
            )
        }
        Value::Map(m) | Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Map(m) | Value::Object(m) => format!(
            "{{ {} }}",
            m.iter()
                .map(|(k, x)| format!("{} = {}", key(k), one_line(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// An object key: bare when it is an identifier, else quoted.
fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ident {
        k.to_string()
    } else {
        quote(k)
    }
}

/// A double-quoted string with escapes, so a multi-line script stays on one line.
fn quote(s: &str) -> String {
    crate::value::quote(s)
}

/// A body's attributes (aligned) and nested blocks, each line prefixed by `indent` spaces.
pub fn body(out: &mut String, b: &BodyValue, indent: usize) {
    let pad = " ".repeat(indent);
    let width = b
        .attrs
        .iter()
        .map(|a| a.name.chars().count())
        .max()
        .unwrap_or(0);
    for a in &b.attrs {
        let gap = width - a.name.chars().count();
        let _ = writeln!(
            out,
            "{pad}{}{:gap$} = {}",
            a.name,
            "",
            value(&a.value, indent),
            gap = gap
        );
    }
    for block in &b.blocks {
        let labels: String = block
            .labels
            .iter()
            .map(|l| format!(" {}", quote(l)))
            .collect();
        let _ = writeln!(out, "{pad}{}{labels} {{", block.kind);
        body(out, &block.body, indent + 2);
        let _ = writeln!(out, "{pad}}}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    #[test]
    fn sensitive_and_unknown_values_are_masked_at_any_depth() {
        let mut m = Map::new();
        m.insert("password".into(), Value::string("hunter2").sensitive());
        m.insert("id".into(), Value::unknown());
        m.insert("name".into(), Value::string("web"));
        let shown = value(&Value::Object(m), 0);
        assert_eq!(
            shown,
            "{ id = (known after build), name = \"web\", password = (sensitive) }"
        );
        let list = Value::List(vec![Value::string("a\nb"), Value::string("x").sensitive()]);
        assert_eq!(value(&list, 0), "[\"a\\nb\", (sensitive)]");
    }

    #[test]
    fn long_values_break_over_lines() {
        let long = Value::List(
            (0..20)
                .map(|i| Value::string(format!("command number {i}")))
                .collect(),
        );
        let shown = value(&long, 4);
        assert!(
            shown.starts_with("[\n      \"command number 0\",\n"),
            "{shown}"
        );
        assert!(shown.ends_with("\n    ]"), "{shown}");
    }
}
