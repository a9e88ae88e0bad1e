//! `provisioner`, `post-processor`, `post-processors` and `error-cleanup-provisioner` blocks,
//! and the `dynamic` blocks that generate them: the step's plugin block with its
//! meta-arguments (`only`, `except`, `name`, `keep_input_artifact`, `pause_before`,
//! `max_retries`, `timeout`, `override`) read and checked, with their spans.

use super::blocks::{string_attr, string_list_attr};
use super::schema;
use crate::diagnostic::Diagnostic;
use crate::eval::Context;
use crate::plugins::Decoded;
use crate::source::Span;
use crate::syntax::{Block, Body, Expr};
use crate::value::{Type, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A provisioner or post-processor block with its meta-arguments separated out.
#[derive(Clone, Debug)]
pub struct StepBlock {
    pub kind: String,
    pub kind_span: Span,
    /// The whole block.
    pub span: Span,
    pub body: Body,
    /// `name = ...` (post-processors, and provisioners in newer Packer).
    pub name: Option<String>,
    pub only: Vec<String>,
    pub except: Vec<String>,
    pub keep_input_artifact: Option<bool>,
    /// Wait this long before the step (`pause_before`).
    pub pause_before: Option<Duration>,
    pub max_retries: Option<u32>,
    /// Stop an attempt that runs longer (`timeout`; zero means none, as in Packer).
    pub timeout: Option<Duration>,
    pub override_expr: Option<Expr>,
    /// Names bound by the `dynamic` block that generated this step (its iterator).
    pub scope: BTreeMap<String, Value>,
    /// The plugin config as decoded when loading finished (before the build's generated data
    /// is known); `None` until then, or when it failed.
    pub plugin: Option<Decoded>,
    /// The data sources the block reads.
    pub deps: BTreeSet<usize>,
}

impl StepBlock {
    /// `base` plus the names this step's `dynamic` block binds.
    pub fn context(&self, base: &Context) -> Context {
        let mut ctx = base.clone();
        for (k, v) in &self.scope {
            ctx.variables.insert(k.clone(), v.clone());
        }
        ctx
    }
}

/// Meta-arguments of provisioner and post-processor blocks, not part of plugin configs.
pub const STEP_META: &[&str] = &[
    "only",
    "except",
    "name",
    "keep_input_artifact",
    "pause_before",
    "max_retries",
    "timeout",
    "override",
];

pub(super) fn step(
    block: &Block,
    what: &str,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<StepBlock> {
    let kind = schema::one_label(block, what, "type", diags)?;
    let body = &block.body;
    let number = |name: &str, diags: &mut Vec<Diagnostic>| -> Option<u32> {
        let attr = body.attribute(name)?;
        let value = ctx.eval(&attr.expr).map(|v| v.unmark_deep().0);
        // Packer's decoder takes a number written as a string too.
        let value = value.map(|v| crate::value::convert(v.clone(), &Type::Number).unwrap_or(v));
        match value {
            Ok(Value::Number(n))
                if n.to_i64()
                    .is_some_and(|i| (0..=u32::MAX as i64).contains(&i)) =>
            {
                n.to_i64().map(|i| i as u32)
            }
            Ok(_) => {
                diags.push(Diagnostic::error(
                    attr.expr.span,
                    format!("`{name}` must be a whole number"),
                ));
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    };
    let keep_input_artifact = body.attribute("keep_input_artifact").and_then(|a| {
        match ctx.eval(&a.expr).map(|v| v.unmark_deep().0) {
            Ok(Value::Bool(b)) => Some(b),
            Ok(_) => {
                diags.push(Diagnostic::error(
                    a.expr.span,
                    "`keep_input_artifact` must be true or false",
                ));
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    });
    Some(StepBlock {
        kind,
        kind_span: block.labels[0].span,
        span: block.span,
        body: body.clone(),
        name: string_attr(body, "name", ctx, diags),
        only: string_list_attr(body, "only", ctx, diags),
        except: string_list_attr(body, "except", ctx, diags),
        keep_input_artifact,
        pause_before: duration_attr(body, "pause_before", ctx, diags),
        max_retries: number("max_retries", diags),
        timeout: duration_attr(body, "timeout", ctx, diags).filter(|d| !d.is_zero()),
        override_expr: body.attribute("override").map(|a| a.expr.clone()),
        scope: BTreeMap::new(),
        plugin: None,
        deps: BTreeSet::new(),
    })
}

/// A Go duration attribute (`pause_before = "30s"`), checked here so a bad one is an error at
/// its span before anything runs.
fn duration_attr(
    body: &Body,
    name: &str,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<Duration> {
    let attr = body.attribute(name)?;
    let text = string_attr(body, name, ctx, diags)?;
    match crate::functions::gotime::wait_duration(&text) {
        Ok(d) => Some(d),
        Err(why) => {
            diags.push(
                Diagnostic::error(
                    attr.expr.span,
                    format!("`{name}` must be a duration, not \"{text}\""),
                )
                .with_hint(format!(
                    "{why}; write a number with a unit, such as \"30s\", \"5m\" or \"1h30m\""
                )),
            );
            None
        }
    }
}

/// `dynamic "post-processors" { for_each = ..., content { post-processor "x" { ... } } }`: one
/// chain per element.
pub(super) fn dynamic_chains(
    block: &Block,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Vec<StepBlock>> {
    let Some((items, content)) = dynamic_items(block, ctx, diags) else {
        return Vec::new();
    };
    let mut chains = Vec::new();
    for scope in items {
        let mut inner = ctx.clone();
        inner.variables.extend(scope.clone());
        let chain: Vec<StepBlock> = content
            .body
            .blocks()
            .filter(|b| b.ident.name == "post-processor")
            .filter_map(|b| step(b, "post-processor", &inner, diags))
            .map(|mut s| {
                s.scope = scope.clone();
                s
            })
            .collect();
        if !chain.is_empty() {
            chains.push(chain);
        }
    }
    chains
}

/// Names a `dynamic` block binds for one element: its iterator.
type Scope = BTreeMap<String, Value>;

/// One scope per `for_each` element, and the `content` block of a `dynamic`.
fn dynamic_items<'b>(
    block: &'b Block,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<(Vec<Scope>, &'b Block)> {
    let what = block.labels.first()?.value.clone();
    let (Some(for_each), Some(content)) = (
        block.body.attribute("for_each"),
        block.body.blocks().find(|b| b.ident.name == "content"),
    ) else {
        diags.push(Diagnostic::error(
            block.header_span(),
            "a `dynamic` block needs `for_each` and a `content` block",
        ));
        return None;
    };
    let iterator = match block.body.attribute("iterator").map(|a| &a.expr.kind) {
        Some(crate::syntax::ExprKind::Variable(v)) => v.name.clone(),
        _ => what,
    };
    let collection = match ctx.eval(&for_each.expr) {
        Ok(v) => v.unmark_deep().0,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    if collection.is_unknown() {
        return Some((Vec::new(), content));
    }
    let items = match crate::eval::iterate(collection, for_each.expr.span) {
        Ok(items) => items,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let scopes = items
        .into_iter()
        .map(|(key, value)| {
            let mut it = crate::value::Map::new();
            it.insert("key".into(), key);
            it.insert("value".into(), value);
            let mut scope = BTreeMap::new();
            scope.insert(iterator.clone(), Value::Object(it));
            scope
        })
        .collect();
    Some((scopes, content))
}

/// `dynamic "provisioner" { for_each = ..., labels = ["shell"], content { ... } }` in a build:
/// one step per element, each with the iterator bound.
pub(super) fn dynamic_steps(
    block: &Block,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<StepBlock> {
    let Some(what) = block.labels.first().map(|l| l.value.clone()) else {
        diags.push(Diagnostic::error(
            block.header_span(),
            "a `dynamic` block needs the name of the block it generates",
        ));
        return Vec::new();
    };
    let Some((scopes, content)) = dynamic_items(block, ctx, diags) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for scope in scopes {
        let mut inner = ctx.clone();
        inner.variables.extend(scope.clone());
        let labels = block
            .body
            .attribute("labels")
            .and_then(|a| inner.eval(&a.expr).ok())
            .and_then(|v| {
                v.as_sequence().map(|xs| {
                    xs.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
            })
            .unwrap_or_default();
        let Some(kind) = labels.first().cloned() else {
            diags.push(
                Diagnostic::error(
                    block.header_span(),
                    format!("a dynamic `{what}` needs its type in `labels`"),
                )
                .with_hint(format!(
                    "labels = [\"shell\"] makes each generated block a `{what} \"shell\"`"
                )),
            );
            return Vec::new();
        };
        let mut synthetic = content.clone();
        synthetic.ident.name = what.clone();
        synthetic.labels = vec![crate::syntax::BlockLabel {
            value: kind,
            quoted: true,
            span: block.labels[0].span,
        }];
        if let Some(mut step) = step(&synthetic, &what, &inner, diags) {
            step.scope = scope;
            out.push(step);
        }
    }
    out
}
