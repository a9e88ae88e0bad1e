//! `source`, `build` (with its provisioners, post-processors and registry settings) and `packer`
//! blocks, read from the AST into typed structures that keep their spans.

use super::binder::SourceConfig;
use super::each::quote_key;
pub use super::each::{expand_for_each, Each};
use super::schema::{self, Schema};
use super::step::{dynamic_chains, dynamic_steps, step};
pub use super::step::{StepBlock, STEP_META};
use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Context;
use crate::source::Span;
use crate::syntax::{Block, Body, Expr, Structure};
use crate::value::{Type, Value};
use std::collections::BTreeSet;
use std::collections::HashMap;
use std::sync::Arc;

/// `source "type" "name" { ... }`
#[derive(Clone, Debug)]
pub struct SourceBlock {
    pub kind: String,
    pub name: String,
    pub kind_span: Span,
    /// The block header.
    pub span: Span,
    pub body: Body,
    /// `for_each = ...` as written (taken out of `body`); `None` once expanded into instances.
    pub for_each: Option<Expr>,
    /// For one instance of a `for_each` source: its element.
    pub each: Option<Each>,
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
    /// The `for_each` element, when the source used is one instance of a `for_each` source.
    pub each: Option<Each>,
    /// Evaluated and decoded when loading finishes; `None` until then, or when it failed.
    pub config: Option<Arc<SourceConfig>>,
}

impl SourceUse {
    /// `type.name` as this use is known (after renaming).
    pub fn address(&self) -> String {
        format!("{}.{}", self.kind, self.name)
    }

    /// The body of `block` (the source this use refers to) with this use's inline overrides
    /// applied: each attribute or block written in the override replaces the source's.
    pub fn body(&self, block: &SourceBlock) -> Body {
        let Some(overrides) = &self.overrides else {
            return block.body.clone();
        };
        let mut body = block.body.clone();
        for item in &overrides.items {
            match item {
                Structure::Attribute(a) if a.name.name == "name" => {}
                Structure::Attribute(a) => {
                    body.items.retain(
                        |i| !matches!(i, Structure::Attribute(x) if x.name.name == a.name.name),
                    );
                    body.items.push(item.clone());
                }
                Structure::Block(b) => {
                    body.items.retain(
                        |i| !matches!(i, Structure::Block(x) if x.ident.name == b.ident.name),
                    );
                    body.items.push(item.clone());
                }
            }
        }
        body
    }
}

/// What an `hcp_packer_registry` block may hold: Packer's attributes, and `channels` to point
/// at the release once it is complete.
pub(super) const REGISTRY_SCHEMA: Schema = Schema {
    what: "hcp_packer_registry block",
    attributes: &[
        "bucket_name",
        "description",
        "bucket_labels",
        "build_labels",
        "labels",
        "channels",
    ],
    blocks: &[],
};

/// `hcp_packer_registry { ... }`
#[derive(Clone, Debug)]
pub struct RegistryBlock {
    pub span: Span,
    pub body: Body,
    /// The data sources the block reads.
    pub deps: BTreeSet<usize>,
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
        self.name
            .clone()
            .unwrap_or_else(|| format!("<unnamed build {}>", self.index))
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
        "dynamic",
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
    let mut body = block.body.clone();
    let for_each = body.attribute("for_each").map(|a| a.expr.clone());
    if for_each.is_some() {
        body.items
            .retain(|i| !matches!(i, Structure::Attribute(a) if a.name.name == "for_each"));
    }
    Some(SourceBlock {
        kind: labels[0].clone(),
        name: labels[1].clone(),
        kind_span: block.labels[0].span,
        span: block.header_span(),
        body,
        for_each,
        each: None,
    })
}

pub(super) fn string_attr(
    body: &Body,
    name: &str,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let attr = body.attribute(name)?;
    match ctx.eval(&attr.expr) {
        Ok(v) => match crate::value::convert(v.unmark_deep().0, &Type::String) {
            Ok(Value::String(s)) => Some(s),
            _ => {
                diags.push(Diagnostic::error(
                    attr.expr.span,
                    format!("`{name}` must be a string"),
                ));
                None
            }
        },
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

pub(super) fn string_list_attr(
    body: &Body,
    name: &str,
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<String> {
    let Some(attr) = body.attribute(name) else {
        return Vec::new();
    };
    match ctx.eval(&attr.expr) {
        Ok(v) => {
            match crate::value::convert(v.unmark_deep().0, &Type::List(Box::new(Type::String))) {
                Ok(Value::List(xs)) => xs
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                _ => {
                    diags.push(Diagnostic::error(
                        attr.expr.span,
                        format!("`{name}` must be a list of strings"),
                    ));
                    Vec::new()
                }
            }
        }
        Err(d) => {
            diags.push(d);
            Vec::new()
        }
    }
}

/// Read a `build` block; `sources` is every declared source (to resolve references).
pub fn build(
    block: &Block,
    index: usize,
    sources: &[SourceBlock],
    ctx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> BuildBlock {
    schema::check(&block.body, &BUILD_SCHEMA, diags);
    if !block.labels.is_empty() {
        diags.push(
            Diagnostic::error(block.labels[0].span, "a `build` block takes no labels")
                .with_hint("name a build with `name = \"...\"` inside it"),
        );
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
    // Each address to its block, and each `for_each` source's address to its instances, so a
    // build naming thousands of sources resolves each in constant time.
    let mut exact: HashMap<&str, &SourceBlock> = HashMap::new();
    for (s, address) in sources.iter().zip(&addresses) {
        exact.entry(address.as_str()).or_insert(s);
    }
    let mut groups: HashMap<String, Vec<&SourceBlock>> = HashMap::new();
    let mut group_names: Vec<String> = Vec::new();
    for s in sources {
        if let Some(each) = &s.each {
            let group = format!("{}.{}", s.kind, each.group);
            if !groups.contains_key(&group) {
                group_names.push(group.clone());
            }
            groups.entry(group).or_default().push(s);
        }
    }
    let mut address_refs: Vec<&str> = addresses.iter().map(String::as_str).collect();
    address_refs.extend(group_names.iter().map(String::as_str));
    // A declared source, or every instance of a `for_each` source (the `bool`).
    let lookup = |address: &str| -> Option<(Vec<&SourceBlock>, bool)> {
        exact
            .get(address)
            // A `for_each` source left unexpanded (empty, or failed) has no instance to build.
            .map(|s| {
                if s.for_each.is_some() {
                    (Vec::new(), true)
                } else {
                    (vec![*s], false)
                }
            })
            .or_else(|| groups.get(address).map(|g| (g.clone(), true)))
    };
    let resolve =
        |reference: &str, span: Span, diags: &mut Vec<Diagnostic>| -> (Vec<&SourceBlock>, bool) {
            let bare = reference.strip_prefix("source.").unwrap_or(reference);
            if let Some(found) = lookup(bare) {
                return found;
            }
            // Packer reads any `x.type.name` as `type.name` (its own fixtures write
            // `sources.type.name`).
            let rest = bare.split_once('.').map(|(_, rest)| rest);
            if let Some(found) = rest.filter(|r| r.contains('.')).and_then(lookup) {
                return found;
            }
            let d = Diagnostic::error(
                span,
                format!("the build refers to an unknown source `{bare}`"),
            );
            diags.push(match suggest(bare, &address_refs) {
                Some(s) => d.with_hint(format!("did you mean `source.{s}`?")),
                None if address_refs.is_empty() => {
                    d.with_hint("the template declares no source blocks")
                }
                None => d.with_hint(format!(
                    "the sources declared are {}",
                    crate::diagnostic::quote_list(&address_refs)
                )),
            });
            (Vec::new(), false)
        };
    if let Some(attr) = body.attribute("sources") {
        // Usually a list literal (each element keeps its span); any expression giving a list of
        // strings works too.
        let items: Vec<(String, Span)> = match &attr.expr.kind {
            crate::syntax::ExprKind::Tuple(items) => items
                .iter()
                .filter_map(|e| match ctx.eval(e).map(|v| v.unmark_deep().0) {
                    Ok(Value::String(s)) => Some((s, e.span)),
                    Ok(_) => {
                        diags.push(Diagnostic::error(
                            e.span,
                            "a source reference is a string like \"source.amazon-ebs.name\"",
                        ));
                        None
                    }
                    Err(d) => {
                        diags.push(d);
                        None
                    }
                })
                .collect(),
            _ => match ctx.eval(&attr.expr).map(|v| v.unmark_deep().0) {
                Ok(v) if v.is_unknown() => Vec::new(),
                Ok(v) => match v.as_sequence() {
                    Some(xs) if xs.iter().all(|x| x.as_str().is_some()) => xs
                        .iter()
                        .filter_map(|x| x.as_str().map(|s| (s.to_string(), attr.expr.span)))
                        .collect(),
                    _ => {
                        diags.push(
                            Diagnostic::error(
                                attr.expr.span,
                                "`sources` must be a list of source references",
                            )
                            .with_hint("sources = [\"source.amazon-ebs.example\"]"),
                        );
                        Vec::new()
                    }
                },
                Err(d) => {
                    diags.push(d);
                    Vec::new()
                }
            },
        };
        for (reference, span) in items {
            for s in resolve(&reference, span, diags).0 {
                out.sources.push(SourceUse {
                    reference: s.address(),
                    kind: s.kind.clone(),
                    name: s.name.clone(),
                    span,
                    overrides: None,
                    each: s.each.clone(),
                    config: None,
                });
            }
        }
    }
    for inner in body.blocks() {
        match inner.ident.name.as_str() {
            "source" => {
                let Some(reference) = schema::one_label(inner, "source", "type.name", diags) else {
                    continue;
                };
                let (found, group) = resolve(&reference, inner.labels[0].span, diags);
                let rename = string_attr(&inner.body, "name", ctx, diags);
                for s in found {
                    // Renaming a whole `for_each` source renames each instance: `new["key"]`.
                    let name = match (&rename, &s.each) {
                        (Some(n), Some(each)) if group => format!("{n}[{}]", quote_key(&each.key)),
                        (Some(n), _) => n.clone(),
                        (None, _) => s.name.clone(),
                    };
                    out.sources.push(SourceUse {
                        reference: s.address(),
                        kind: s.kind.clone(),
                        name,
                        span: inner.header_span(),
                        overrides: Some(inner.body.clone()),
                        each: s.each.clone(),
                        config: None,
                    });
                }
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
                            Diagnostic::error(
                                other.span(),
                                "a `post-processors` block holds only `post-processor` blocks",
                            )
                            .with_hint("post-processors { post-processor \"manifest\" { ... } }"),
                        ),
                    }
                }
                if !chain.is_empty() {
                    out.post_processors.push(chain);
                }
            }
            "dynamic" => {
                let steps = dynamic_steps(inner, ctx, diags);
                match inner.labels.first().map(|l| l.value.as_str()) {
                    Some("provisioner") => out.provisioners.extend(steps),
                    Some("post-processor") => out.post_processors.extend(steps.into_iter().map(|s| vec![s])),
                    Some("post-processors") => out.post_processors.extend(dynamic_chains(inner, ctx, diags)),
                    _ => diags.push(
                        Diagnostic::error(inner.header_span(), "in a build, `dynamic` can generate `provisioner` and `post-processor` blocks")
                            .with_hint("dynamic \"provisioner\" { for_each = ... labels = [\"shell\"] content { ... } }"),
                    ),
                }
            }
            "hcp_packer_registry" => {
                schema::check(&inner.body, &REGISTRY_SCHEMA, diags);
                out.registry = Some(RegistryBlock {
                    span: inner.header_span(),
                    body: inner.body.clone(),
                    deps: BTreeSet::new(),
                })
            }
            _ => {}
        }
    }
    let wrote_sources =
        body.attribute("sources").is_some() || body.blocks().any(|b| b.ident.name == "source");
    if !wrote_sources {
        diags.push(
            Diagnostic::error(
                block.header_span(),
                format!("the build `{}` uses no sources", out.display_name()),
            )
            .with_hint("add sources = [\"source.<type>.<name>\"] naming the sources to build"),
        );
    }
    let mut seen: HashMap<String, Span> = HashMap::new();
    for s in &out.sources {
        if let Some(first) = seen.get(&s.address()) {
            diags.push(
                Diagnostic::error(
                    s.span,
                    format!("the build uses the source `{}` twice", s.address()),
                )
                .with_label(*first, "first used here")
                .with_hint("give an inline source block a distinct `name = ...` to build it twice"),
            );
        } else {
            seen.insert(s.address(), s.span);
        }
    }
    out
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
    for rp in block
        .body
        .blocks()
        .filter(|b| b.ident.name == "required_plugins")
    {
        for item in &rp.body.items {
            let Structure::Attribute(attr) = item else {
                diags.push(Diagnostic::error(
                    item.span(),
                    "`required_plugins` holds `name = { source = ..., version = ... }` entries",
                ));
                continue;
            };
            let value = match ctx.eval(&attr.expr) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let field = |k: &str| {
                value
                    .as_map()
                    .and_then(|m| m.get(k))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
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
