//! Checking a body against the attributes and blocks a block type allows.

use crate::diagnostic::{suggest, Diagnostic};
use crate::syntax::{Block, Body, Structure};

/// What a block may contain.
pub struct Schema {
    /// How to name the block in messages ("variable block").
    pub what: &'static str,
    pub attributes: &'static [&'static str],
    pub blocks: &'static [&'static str],
}

/// Report every attribute or block the schema does not allow, with "did you mean".
pub fn check(body: &Body, schema: &Schema, diags: &mut Vec<Diagnostic>) {
    for item in &body.items {
        let (name, span, is_block) = match item {
            Structure::Attribute(a) => (&a.name.name, a.name.span, false),
            Structure::Block(b) => (&b.ident.name, b.ident.span, true),
        };
        let allowed = if is_block {
            schema.blocks
        } else {
            schema.attributes
        };
        if allowed.contains(&name.as_str()) {
            continue;
        }
        let other = if is_block {
            schema.attributes
        } else {
            schema.blocks
        };
        let mut d = if other.contains(&name.as_str()) {
            let (was, should) = if is_block {
                ("a block", "an attribute: `name = value`")
            } else {
                ("an attribute", "a block: `name { ... }`")
            };
            Diagnostic::error(
                span,
                format!("`{name}` is written as {was} in a {}", schema.what),
            )
            .with_hint(format!("`{name}` is {should}"))
        } else {
            let kind = if is_block { "block" } else { "attribute" };
            Diagnostic::error(
                span,
                format!("unknown {kind} `{name}` in a {}", schema.what),
            )
        };
        if !other.contains(&name.as_str()) {
            let candidates: Vec<&str> = schema
                .attributes
                .iter()
                .chain(schema.blocks)
                .copied()
                .collect();
            d = match suggest(name, &candidates) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None if candidates.is_empty() => {
                    d.with_hint(format!("a {} takes no contents", schema.what))
                }
                None => d.with_hint(format!(
                    "a {} takes {}",
                    schema.what,
                    crate::diagnostic::quote_list(&candidates)
                )),
            };
        }
        diags.push(d);
    }
}

/// The single label of a block such as `variable "name"`, or a diagnostic.
pub fn one_label(
    block: &Block,
    kind: &str,
    label: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    labels(block, kind, &[label], diags).map(|mut l| l.remove(0))
}

/// Exactly the labels named, or a diagnostic.
pub fn labels(
    block: &Block,
    kind: &str,
    names: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    if block.labels.len() == names.len() {
        return Some(block.labels.iter().map(|l| l.value.clone()).collect());
    }
    let example = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(" ");
    diags.push(
        Diagnostic::error(
            block.header_span(),
            format!(
                "a `{kind}` block takes {} label{}, not {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                block.labels.len()
            ),
        )
        .with_hint(format!("write it as {kind} {example} {{ ... }}")),
    );
    None
}
