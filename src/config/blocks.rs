//! `source`, `build` (with its provisioners, post-processors and registry settings) and `packer`
//! blocks, read from the AST into typed structures that keep their spans.

use super::schema::{self, Schema};
use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Context;
use crate::source::Span;
use crate::syntax::{Block, Body, Expr, Structure};
use crate::value::{Type, Value};

/// `source "type" "name" { ... }`
#[derive(Clone, Debug)]
pub struct SourceBlock {
    pub kind: String,
    pub name: String,
    pub kind_span: Span,
    /// The block header.
    pub span: Span,
    pub body: Body,
}

impl SourceBlock {
    /// `type.name`
    pub fn address(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

/// A source as a build uses it: a reference, possibly with overrides and a new name.
#[derive(Clone, Debug)]
pub struct SourceUse {
    /// `type.name` of the source block used.
    pub reference: String,
    pub kind: String,
    /// The name this use goes by (`name = ...` in an inline override, else the source's).
    pub name: String,
    pub span: Span,
    /// Attributes written in a build-level `source "type.name" { ... }` block.
    pub overrides: Option<Body>,
}

impl SourceUse {
    /// `type.name` as this use is known (after renaming).
    pub fn address(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }
}

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
    pub pause_before: Option<String>,
    pub max_retries: Option<u32>,
    pub timeout: Option<String>,
    pub override_expr: Option<Expr>,
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

/// `hcp_packer_registry { ... }`
#[derive(Clone, Debug)]
pub struct RegistryBlock {
    pub span: Span,
    pub body: Body,
}

/// `build { ... }`
#[derive(Clone, Debug)]
pub struct BuildBlock {
    pub name: Option<String>,
    pub description: Option<String>,
    pub span: Span,
    /// Position among the template's builds (for `<unnamed build N>`).
    pub index: usize,
    pub sources: Vec<SourceUse>,
    pub provisioners: Vec<StepBlock>,
    /// Each inner list is one chain run in order; separate chains are independent.
    pub post_processors: Vec<Vec<StepBlock>>,
    pub error_cleanup: Option<StepBlock>,
    pub registry: Option<RegistryBlock>,
}

impl BuildBlock {
    /// The name Packer shows for this build.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| format!("<unnamed build {}>", self.index))
    }
}

/// `packer { required_version, required_plugins }`
#[derive(Clone, Debug, Default)]
pub struct PackerBlock {
    pub required_version: Option<(String, Span)>,
    /// (local name, source address, version constraint, span)
    pub required_plugins: Vec<RequiredPlugin>,
}

/// One `required_plugins` entry.
#[derive(Clone, Debug)]
pub struct RequiredPlugin {
    pub name: String,
    pub source: Option<String>,
    pub version: Option<String>,
    pub span: Span,
}

const BUILD_SCHEMA: Schema = Schema {
    what: "build block",
    attributes: &["name", "description", "sources"],
    blocks: &[
        "source",
        "provisioner",
        "post-processor",
        "post-processors",
        "error-cleanup-provisioner",
        "hcp_packer_registry",
    ],
};

const PACKER_SCHEMA: Schema = Schema {
    what: "packer block",
    attributes: &["required_version"],
    blocks: &["required_plugins"],
};

/// Read a `source` block.
pub fn source(block: &Block, diags: &mut Vec<Diagnostic>) -> Option<SourceBlock> {
    let labels = schema::labels(block, "source", &["type", "name"], diags)?;
    Some(SourceBlock {
        kind: labels[0].clone(),
        name: labels[1].clone(),
        kind_span: block.labels[0].span,
        span: block.header_span(),
        body: block.body.clone(),
    })
}

fn string_attr(body: &Body, name: &str, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let attr = body.attribute(name)?;
    match ctx.eval(&attr.expr) {
        Ok(v) => match crate::value::convert(v.unmark_deep().0, &Type::String) {
            Ok(Value::String(s)) => Some(s),
            _ => {
                diags.push(Diagnostic::error(attr.expr.span, format!("`{name}` must be a string")));
                None
            }
        },
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

fn string_list_attr(body: &Body, name: &str, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Vec<String> {
    let Some(attr) = body.attribute(name) else { return Vec::new() };
    match ctx.eval(&attr.expr) {
        Ok(v) => match crate::value::convert(v.unmark_deep().0, &Type::List(Box::new(Type::String))) {
            Ok(Value::List(xs)) => xs.into_iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => {
                diags.push(Diagnostic::error(attr.expr.span, format!("`{name}` must be a list of strings")));
                Vec::new()
            }
        },
        Err(d) => {
            diags.push(d);
            Vec::new()
        }
    }
}

/// Read a `build` block; `sources` is every declared source (to resolve references).
pub fn build(block: &Block, index: usize, sources: &[SourceBlock], ctx: &Context, diags: &mut Vec<Diagnostic>) -> BuildBlock {
    schema::check(&block.body, &BUILD_SCHEMA, diags);
    if !block.labels.is_empty() {
        diags.push(Diagnostic::error(block.labels[0].span, "a `build` block takes no labels")
            .with_hint("name a build with `name = \"...\"` inside it"));
    }
    let body = &block.body;
    let mut out = BuildBlock {
        name: string_attr(body, "name", ctx, diags),
        description: string_attr(body, "description", ctx, diags),
        span: block.header_span(),
        index,
        sources: Vec::new(),
        provisioners: Vec::new(),
        post_processors: Vec::new(),
        error_cleanup: None,
        registry: None,
    };
    let addresses: Vec<String> = sources.iter().map(SourceBlock::address).collect();
    let address_refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    let resolve = |reference: &str, span: Span, diags: &mut Vec<Diagnostic>| -> Option<&SourceBlock> {
        let bare = reference.strip_prefix("source.").unwrap_or(reference);
        if let Some(s) = sources.iter().find(|s| s.address() == bare) {
            return Some(s);
        }
        let d = Diagnostic::error(span, format!("the build refers to an unknown source `{bare}`"));
        diags.push(match suggest(bare, &address_refs) {
            Some(s) => d.with_hint(format!("did you mean `source.{s}`?")),
            None if address_refs.is_empty() => d.with_hint("the template declares no source blocks"),
            None => d.with_hint(format!("the sources declared are {}", crate::eval::quote_list(&address_refs))),
        });
        None
    };
    if let Some(attr) = body.attribute("sources") {
        let items: Vec<(String, Span)> = match &attr.expr.kind {
            crate::syntax::ExprKind::Tuple(items) => items
                .iter()
                .filter_map(|e| match ctx.eval(e).map(|v| v.unmark_deep().0) {
                    Ok(Value::String(s)) => Some((s, e.span)),
                    Ok(_) => {
                        diags.push(Diagnostic::error(e.span, "a source reference is a string like \"source.amazon-ebs.name\""));
                        None
                    }
                    Err(d) => {
                        diags.push(d);
                        None
                    }
                })
                .collect(),
            _ => {
                diags.push(Diagnostic::error(attr.expr.span, "`sources` must be a list of source references")
                    .with_hint("sources = [\"source.amazon-ebs.example\"]"));
                Vec::new()
            }
        };
        for (reference, span) in items {
            if let Some(s) = resolve(&reference, span, diags) {
                out.sources.push(SourceUse {
                    reference: s.address(),
                    kind: s.kind.clone(),
                    name: s.name.clone(),
                    span,
                    overrides: None,
                });
            }
        }
    }
    for inner in body.blocks() {
        match inner.ident.name.as_str() {
            "source" => {
                let Some(reference) = schema::one_label(inner, "source", "type.name", diags) else { continue };
                let Some(s) = resolve(&reference, inner.labels[0].span, diags) else { continue };
                let name = string_attr(&inner.body, "name", ctx, diags).unwrap_or_else(|| s.name.clone());
                out.sources.push(SourceUse {
                    reference: s.address(),
                    kind: s.kind.clone(),
                    name,
                    span: inner.header_span(),
                    overrides: Some(inner.body.clone()),
                });
            }
            "provisioner" => {
                if let Some(step) = step(inner, "provisioner", ctx, diags) {
                    out.provisioners.push(step);
                }
            }
            "error-cleanup-provisioner" => {
                if let Some(step) = step(inner, "error-cleanup-provisioner", ctx, diags) {
                    out.error_cleanup = Some(step);
                }
            }
            "post-processor" => {
                if let Some(step) = step(inner, "post-processor", ctx, diags) {
                    out.post_processors.push(vec![step]);
                }
            }
            "post-processors" => {
                let mut chain = Vec::new();
                for pp in inner.body.items.iter() {
                    match pp {
                        Structure::Block(b) if b.ident.name == "post-processor" => {
                            if let Some(step) = step(b, "post-processor", ctx, diags) {
                                chain.push(step);
                            }
                        }
                        other => diags.push(
                            Diagnostic::error(other.span(), "a `post-processors` block holds only `post-processor` blocks")
                                .with_hint("post-processors { post-processor \"manifest\" { ... } }"),
                        ),
                    }
                }
                if !chain.is_empty() {
                    out.post_processors.push(chain);
                }
            }
            "hcp_packer_registry" => {
                out.registry = Some(RegistryBlock {
                    span: inner.header_span(),
                    body: inner.body.clone(),
                })
            }
            _ => {}
        }
    }
    if out.sources.is_empty() {
        diags.push(
            Diagnostic::error(block.header_span(), format!("the build `{}` uses no sources", out.display_name()))
                .with_hint("add sources = [\"source.<type>.<name>\"] naming the sources to build"),
        );
    }
    let mut seen: Vec<(String, Span)> = Vec::new();
    for s in &out.sources {
        if let Some((_, first)) = seen.iter().find(|(a, _)| *a == s.address()) {
            diags.push(
                Diagnostic::error(s.span, format!("the build uses the source `{}` twice", s.address()))
                    .with_label(*first, "first used here")
                    .with_hint("give an inline source block a distinct `name = ...` to build it twice"),
            );
        } else {
            seen.push((s.address(), s.span));
        }
    }
    out
}

fn step(block: &Block, what: &str, ctx: &Context, diags: &mut Vec<Diagnostic>) -> Option<StepBlock> {
    let kind = schema::one_label(block, what, "type", diags)?;
    let body = &block.body;
    let number = |name: &str, diags: &mut Vec<Diagnostic>| -> Option<u32> {
        let attr = body.attribute(name)?;
        match ctx.eval(&attr.expr).map(|v| v.unmark_deep().0) {
            Ok(Value::Number(n)) if n.to_i64().is_some_and(|i| (0..=u32::MAX as i64).contains(&i)) => n.to_i64().map(|i| i as u32),
            Ok(_) => {
                diags.push(Diagnostic::error(attr.expr.span, format!("`{name}` must be a whole number")));
                None
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    };
    let keep_input_artifact = body.attribute("keep_input_artifact").and_then(|a| match ctx.eval(&a.expr).map(|v| v.unmark_deep().0) {
        Ok(Value::Bool(b)) => Some(b),
        Ok(_) => {
            diags.push(Diagnostic::error(a.expr.span, "`keep_input_artifact` must be true or false"));
            None
        }
        Err(d) => {
            diags.push(d);
            None
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
        pause_before: string_attr(body, "pause_before", ctx, diags),
        max_retries: number("max_retries", diags),
        timeout: string_attr(body, "timeout", ctx, diags),
        override_expr: body.attribute("override").map(|a| a.expr.clone()),
    })
}

/// Read the `packer` block.
pub fn packer(block: &Block, ctx: &Context, diags: &mut Vec<Diagnostic>) -> PackerBlock {
    schema::check(&block.body, &PACKER_SCHEMA, diags);
    let mut out = PackerBlock {
        required_version: block.body.attribute("required_version").and_then(|a| {
            string_attr(&block.body, "required_version", ctx, diags).map(|s| (s, a.expr.span))
        }),
        required_plugins: Vec::new(),
    };
    for rp in block.body.blocks().filter(|b| b.ident.name == "required_plugins") {
        for item in &rp.body.items {
            let Structure::Attribute(attr) = item else {
                diags.push(Diagnostic::error(item.span(), "`required_plugins` holds `name = { source = ..., version = ... }` entries"));
                continue;
            };
            let value = match ctx.eval(&attr.expr) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let field = |k: &str| value.as_map().and_then(|m| m.get(k)).and_then(|v| v.as_str()).map(str::to_string);
            out.required_plugins.push(RequiredPlugin {
                name: attr.name.name.clone(),
                source: field("source"),
                version: field("version"),
                span: attr.span,
            });
        }
    }
    out
}
