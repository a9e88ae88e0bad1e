//! Late binding: a provisioner's or post-processor's configuration is evaluated again when its
//! step runs, with the build's generated data (`build.ID`, `build.Host`, ...) and the data
//! sources' results known, as Packer's `HCL2Provisioner` wraps a block and its child context.
//! The graph's nodes carry a [`Binder`] each, so neither the planner nor the runtime sees HCL.

use super::blocks::{RegistryBlock, StepBlock, STEP_META};
use super::{build_object, evaluate, AttrValue, Local};
use crate::body::legacy::LegacyContext;
use crate::body::BodyValue;
use crate::diagnostic::{has_errors, Diagnostic};
use crate::eval::Context;
use crate::plugins::sdk::{Builder, DataSource};
use crate::plugins::{self, Decoded, Plugin, PluginKind};
use crate::source::Span;
use crate::syntax::Body;
use crate::value::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A source as one build uses it, evaluated and decoded when the template is loaded.
#[derive(Debug)]
pub struct SourceConfig {
    pub plugin: &'static Plugin,
    pub builder: Arc<dyn Builder>,
    /// The evaluated configuration; values known only once the build runs stay unknown.
    pub body: BodyValue,
    /// The template's context (`var`, `local`, `data`, `path`, `packer`), shared by every
    /// session; [`SourceConfig::context`] adds the session's own names.
    pub base: Arc<Context>,
    /// `each`, for an instance of a `for_each` source.
    pub each: Option<Value>,
    /// The build's name (`build.name`).
    pub build_name: String,
    /// `type.name` of the source as used.
    pub address: String,
    /// The legacy-template context without generated data.
    pub legacy: LegacyContext,
    /// The data sources the source's configuration reads.
    pub deps: BTreeSet<usize>,
    /// The block as written, kept when it reads data sources: the run evaluates it again once
    /// they are read ([`SourceConfig::bind`]).
    pub written: Option<Arc<Written>>,
    /// The template's locals that read data sources, evaluated again with their results.
    pub data_locals: Arc<Vec<Local>>,
}

/// A block as written, for evaluating it again during the run.
#[derive(Debug)]
pub struct Written {
    pub body: Body,
    pub span: Span,
    /// Where its type label is.
    pub kind_span: Span,
}

impl SourceConfig {
    /// The context the session's steps evaluate in: the template's, plus `source`, `each`
    /// and `build` (whose build-time fields are unknown here).
    pub fn context(&self) -> Context {
        let mut ctx = (*self.base).clone();
        let (kind, name) = self.address.split_once('.').unwrap_or((&self.address, ""));
        let mut source = Map::new();
        source.insert("name".into(), Value::String(name.to_string()));
        source.insert("type".into(), Value::String(kind.to_string()));
        ctx.variables.insert("source".into(), Value::Object(source));
        ctx.variables.insert(
            "build".into(),
            build_object(&self.build_name, &BTreeMap::new()),
        );
        if let Some(each) = &self.each {
            ctx.variables.insert("each".into(), each.clone());
        }
        ctx
    }

    /// The builder with the data sources' results known: the source evaluated and decoded
    /// again when it reads data sources, else the builder decoded at load.
    pub fn bind(&self, data: &BTreeMap<String, Map>) -> Result<Arc<dyn Builder>, Vec<Diagnostic>> {
        let Some(written) = &self.written else {
            return Ok(self.builder.clone());
        };
        let mut ctx = self.context();
        let mut diags = Vec::new();
        with_data(&mut ctx, data, &self.data_locals, &mut diags);
        let mut config = evaluate::body_except(&written.body, written.span, &ctx, &[], &mut diags);
        if has_errors(&diags) {
            return Err(diags);
        }
        crate::body::legacy::expand_body(&mut config, &self.legacy);
        match plugins::decode(
            PluginKind::Builder,
            self.plugin.name,
            written.kind_span,
            &config,
        )? {
            Decoded::Builder(builder) => Ok(builder),
            _ => Err(vec![Diagnostic::global(
                "internal error: a source decoded as something other than a builder",
            )]),
        }
    }
}

/// A `data` block that reads other data sources, evaluated again during the run once they
/// are read.
#[derive(Debug)]
pub struct DataBinder {
    pub kind: String,
    pub written: Written,
    /// The template's context.
    pub base: Arc<Context>,
    /// The template's locals that read data sources.
    pub data_locals: Arc<Vec<Local>>,
}

impl DataBinder {
    /// The data source's configuration with the other data sources' results known.
    pub fn bind(
        &self,
        data: &BTreeMap<String, Map>,
    ) -> Result<(BodyValue, Arc<dyn DataSource>), Vec<Diagnostic>> {
        let mut ctx = (*self.base).clone();
        let mut diags = Vec::new();
        with_data(&mut ctx, data, &self.data_locals, &mut diags);
        let config = evaluate::body(&self.written.body, self.written.span, &ctx, &mut diags);
        if has_errors(&diags) {
            return Err(diags);
        }
        match plugins::decode(
            PluginKind::DataSource,
            &self.kind,
            self.written.kind_span,
            &config,
        )? {
            Decoded::DataSource(source) => Ok((config, source)),
            _ => Err(vec![Diagnostic::global(
                "internal error: a data block decoded as something other than a data source",
            )]),
        }
    }
}

/// Add the data sources' results read so far to `ctx`'s `data`, and evaluate again the
/// locals that read them.
fn with_data(
    ctx: &mut Context,
    known: &BTreeMap<String, Map>,
    data_locals: &[Local],
    diags: &mut Vec<Diagnostic>,
) {
    if known.is_empty() {
        return;
    }
    let mut data = match ctx.variables.get("data") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (kind, values) in known {
        let mut merged = match data.get(kind) {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        merged.extend(values.clone());
        data.insert(kind.clone(), Value::Object(merged));
    }
    ctx.variables.insert("data".into(), Value::Object(data));
    if data_locals.is_empty() {
        return;
    }
    let mut locals = match ctx.variables.get("local") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for local in data_locals {
        match ctx.eval(&local.expr) {
            Ok(v) => {
                locals.insert(local.name.clone(), v.mark_if(local.sensitive));
            }
            Err(d) => diags.push(d),
        }
        ctx.variables
            .insert("local".into(), Value::Object(locals.clone()));
    }
}

/// What a binder evaluates.
#[derive(Debug)]
enum Target {
    Step(PluginKind, Arc<StepBlock>),
    Registry(Arc<RegistryBlock>),
}

/// A step's block bound to one session: evaluated on demand with what the run knows by then.
#[derive(Debug)]
pub struct Binder {
    target: Target,
    source: Arc<SourceConfig>,
}

/// What the run knows when a step binds: the session's generated data and the data sources'
/// results (`data.TYPE.NAME`).
#[derive(Clone, Copy, Debug)]
pub struct Known<'a> {
    pub generated: &'a BTreeMap<String, String>,
    pub data: &'a BTreeMap<String, Map>,
}

impl Binder {
    /// A provisioner's or post-processor's block for one session.
    pub fn step(kind: PluginKind, step: Arc<StepBlock>, source: Arc<SourceConfig>) -> Binder {
        Binder {
            target: Target::Step(kind, step),
            source,
        }
    }

    /// An `hcp_packer_registry` block for one session.
    pub fn registry(block: Arc<RegistryBlock>, source: Arc<SourceConfig>) -> Binder {
        Binder {
            target: Target::Registry(block),
            source,
        }
    }

    /// The step block, when the binder holds one.
    pub fn step_block(&self) -> Option<&StepBlock> {
        match &self.target {
            Target::Step(_, s) => Some(s),
            Target::Registry(_) => None,
        }
    }

    /// The configuration as the plan shows it: evaluated before the build, build-time values
    /// unknown, legacy templates left as written.
    pub fn preview(&self) -> (BodyValue, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let body = self.evaluate(&self.source.context(), None, &mut diags);
        (body, diags)
    }

    /// The product an `hcp_packer_registry` block publishes to (its `bucket_name`), when known
    /// before the build.
    pub fn registry_product(&self) -> Option<String> {
        match &self.target {
            Target::Registry(_) => crate::body::known_attr(&self.preview().0, "bucket_name"),
            Target::Step(..) => None,
        }
    }

    /// The configuration with what the run knows now, decoded into the plugin's config.
    pub fn bind(&self, known: Known<'_>) -> Result<(BodyValue, Decoded), Vec<Diagnostic>> {
        let body = self.bind_body(known)?;
        let Target::Step(kind, step) = &self.target else {
            return Err(vec![Diagnostic::global(
                "internal error: a registry block has no plugin",
            )]);
        };
        plugins::decode(*kind, &step.kind, step.kind_span, &body).map(|d| (body, d))
    }

    /// The configuration with what the run knows now, evaluated.
    pub fn bind_body(&self, known: Known<'_>) -> Result<BodyValue, Vec<Diagnostic>> {
        let mut ctx = self.source.context();
        ctx.variables.insert(
            "build".into(),
            build_object(&self.source.build_name, known.generated),
        );
        let mut diags = Vec::new();
        with_data(&mut ctx, known.data, &self.source.data_locals, &mut diags);
        let legacy = LegacyContext {
            build: known.generated.clone(),
            ..self.source.legacy.clone()
        };
        let body = self.evaluate(&ctx, Some(&legacy), &mut diags);
        if has_errors(&diags) {
            return Err(diags);
        }
        Ok(body)
    }

    fn evaluate(
        &self,
        ctx: &Context,
        legacy: Option<&LegacyContext>,
        diags: &mut Vec<Diagnostic>,
    ) -> BodyValue {
        match &self.target {
            Target::Step(_, step) => step_config(step, ctx, &self.source.address, legacy, diags),
            Target::Registry(block) => evaluate::body(&block.body, block.span, ctx, diags),
        }
    }
}

/// A provisioner's or post-processor's configuration for the session of source `source`
/// (`type.name`), with the step's `override` for that source applied and legacy templates
/// expanded with the build's generated data.
pub(super) fn step_config(
    step: &StepBlock,
    ctx: &Context,
    source: &str,
    legacy: Option<&LegacyContext>,
    diags: &mut Vec<Diagnostic>,
) -> BodyValue {
    let ctx = step.context(ctx);
    let mut config = evaluate::body_except(&step.body, step.span, &ctx, STEP_META, diags);
    if let Some(expr) = &step.override_expr {
        match ctx.eval(expr) {
            Ok(overrides) => {
                let name = source.split_once('.').map_or(source, |(_, n)| n);
                let chosen = overrides
                    .as_map()
                    .and_then(|m| m.get(name).or_else(|| m.get(source)));
                if let Some(fields) = chosen.and_then(Value::as_map) {
                    for (k, v) in fields {
                        config.attrs.retain(|a| &a.name != k);
                        config.attrs.push(AttrValue {
                            name: k.clone(),
                            name_span: expr.span,
                            value: v.clone(),
                            value_span: expr.span,
                        });
                    }
                }
            }
            Err(d) => diags.push(d),
        }
    }
    if let Some(legacy) = legacy {
        crate::body::legacy::expand_body(&mut config, legacy);
    }
    config
}
