//! Evaluating a block body into a [`BodyValue`], expanding `dynamic` blocks.

use super::{AttrValue, BlockValue, BodyValue};
use crate::diagnostic::Diagnostic;
use crate::eval::Context;
use crate::source::Span;
use crate::syntax::{Block, Body, Structure};
use crate::value::{Map, Type, Value};

/// Evaluate every attribute and nested block of `body`. Failed attributes are reported and
/// left out, so one mistake does not hide the others.
pub fn body(body: &Body, span: Span, ctx: &Context, diags: &mut Vec<Diagnostic>) -> BodyValue {
    body_except(body, span, ctx, &[], diags)
}

/// Like [`body`], skipping the named attributes and blocks (meta-arguments such as `only`).
pub fn body_except(
    body: &Body,
    span: Span,
    ctx: &Context,
    skip: &[&str],
    diags: &mut Vec<Diagnostic>,
) -> BodyValue {
    let mut out = BodyValue {
        span,
        ..BodyValue::default()
    };
    for item in &body.items {
        match item {
            Structure::Attribute(a) => {
                if skip.contains(&a.name.name.as_str()) {
                    continue;
                }
                // A failed attribute stays, unknown, so it is not also reported as missing.
                let value = ctx.eval(&a.expr).unwrap_or_else(|d| {
                    diags.push(d);
                    Value::Unknown(Type::Dynamic)
                });
                let secret = crate::body::is_secret_field(&a.name.name)
                    && matches!(value, Value::String(ref s) if !s.is_empty());
                out.attrs.push(AttrValue {
                    name: a.name.name.clone(),
                    name_span: a.name.span,
                    value: value.mark_if(secret),
                    value_span: a.expr.span,
                });
            }
            Structure::Block(b) if b.ident.name == "dynamic" => dynamic(b, ctx, &mut out, diags),
            Structure::Block(b) => {
                if skip.contains(&b.ident.name.as_str()) {
                    continue;
                }
                out.blocks.push(BlockValue {
                    kind: b.ident.name.clone(),
                    kind_span: b.ident.span,
                    labels: b.labels.iter().map(|l| l.value.clone()).collect(),
                    body: self::body(&b.body, b.header_span(), ctx, diags),
                    span: b.span,
                })
            }
        }
    }
    out
}

/// `dynamic "name" { for_each = ..., iterator = it, labels = [...], content { ... } }`
fn dynamic(block: &Block, ctx: &Context, out: &mut BodyValue, diags: &mut Vec<Diagnostic>) {
    let Some(name) = block.labels.first().map(|l| l.value.clone()) else {
        diags.push(
            Diagnostic::error(
                block.header_span(),
                "a `dynamic` block needs the name of the block it generates",
            )
            .with_hint("dynamic \"tag\" { for_each = ... content { ... } }"),
        );
        return;
    };
    let Some(for_each) = block.body.attribute("for_each") else {
        diags.push(Diagnostic::error(
            block.header_span(),
            "a `dynamic` block needs `for_each`",
        ));
        return;
    };
    let Some(content) = block.body.blocks().find(|b| b.ident.name == "content") else {
        diags.push(Diagnostic::error(
            block.header_span(),
            "a `dynamic` block needs a `content` block",
        ));
        return;
    };
    let iterator = match block.body.attribute("iterator") {
        Some(a) => match &a.expr.kind {
            crate::syntax::ExprKind::Variable(v) => v.name.clone(),
            _ => {
                diags.push(Diagnostic::error(
                    a.expr.span,
                    "`iterator` must be a bare name",
                ));
                return;
            }
        },
        None => name.clone(),
    };
    let collection = match ctx.eval(&for_each.expr) {
        Ok(v) => v.unmark_deep().0,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    if collection.is_unknown() {
        return;
    }
    let items = match crate::eval::iterate(collection, for_each.expr.span) {
        Ok(items) => items,
        Err(d) => {
            diags.push(d);
            return;
        }
    };
    for (key, value) in items {
        let mut inner = ctx.clone();
        let mut it = Map::new();
        it.insert("key".into(), key);
        it.insert("value".into(), value);
        inner.variables.insert(iterator.clone(), Value::Object(it));
        let labels = match block.body.attribute("labels") {
            Some(a) => match inner.eval(&a.expr) {
                Ok(v) => v
                    .as_sequence()
                    .map(|xs| {
                        xs.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                Err(d) => {
                    diags.push(d);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        out.blocks.push(BlockValue {
            kind: name.clone(),
            kind_span: block.labels[0].span,
            labels,
            body: body(&content.body, content.header_span(), &inner, diags),
            span: block.span,
        });
    }
}
