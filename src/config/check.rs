//! The last phase of loading (Packer's "prepare"): every source each build uses, and every
//! provisioner and post-processor, evaluated and decoded into its plugin's typed config with
//! the plugin's checks; and which data sources each of them reads.

use super::binder::{DataBinder, SourceConfig, Written};
use super::blocks::{self, BuildBlock, SourceBlock, SourceUse, StepBlock};
use super::deps::DataDeps;
use super::{evaluate, Template};
use crate::body::legacy::{self, LegacyContext};
use crate::diagnostic::{suggest, Diagnostic};
use crate::eval::Context;
use crate::plugins::{self, Decoded, PluginKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Check and decode everything a build uses, in place; returns the diagnostics.
pub(super) fn check(template: &mut Template) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut deps = DataDeps::new(&template.data, &template.locals);
    let data_deps: Vec<_> = template
        .data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut found = deps.of_body(&d.body);
            found.remove(&i);
            found
        })
        .collect();
    let mut builds = std::mem::take(&mut template.builds);
    let base = Arc::new(template.context.clone());
    let blocks: HashMap<String, &SourceBlock> =
        template.sources.iter().map(|s| (s.address(), s)).collect();
    for build in &mut builds {
        let mut sources = std::mem::take(&mut build.sources);
        for use_ in &mut sources {
            let Some(block) = blocks.get(&use_.reference) else {
                continue;
            };
            use_.config = template.source_config(build, use_, block, &base, &mut deps, &mut diags);
        }
        build.sources = sources;
        let ctx = match build.sources.first() {
            Some(u) => template.source_context(build, u),
            None => template.context.clone(),
        };
        let names: Vec<String> = build.sources.iter().map(SourceUse::address).collect();
        let display = build.display_name();
        let steps = build
            .provisioners
            .iter_mut()
            .chain(&mut build.error_cleanup)
            .map(|s| (PluginKind::Provisioner, s))
            .chain(
                build
                    .post_processors
                    .iter_mut()
                    .flatten()
                    .map(|s| (PluginKind::PostProcessor, s)),
            );
        for (kind, step) in steps {
            let step_ctx = step.context(&ctx);
            let config = evaluate::body_except(
                &step.body,
                step.span,
                &step_ctx,
                blocks::STEP_META,
                &mut diags,
            );
            let (decoded, found) = plugins::check(kind, &step.kind, step.kind_span, &config);
            diags.extend(found);
            step.plugin = decoded;
            step.deps = deps.of_body(&step.body);
            check_only_except(&display, &names, step, &mut diags);
        }
        if let Some(registry) = build.registry.as_mut() {
            registry.deps = deps.of_body(&registry.body);
        }
    }
    if let Some(registry) = template.registry.as_mut() {
        registry.deps = deps.of_body(&registry.body);
    }
    drop(deps);
    template.builds = builds;
    for (d, found) in template.data.iter_mut().zip(data_deps) {
        if !found.is_empty() {
            d.binder = Some(Arc::new(DataBinder {
                kind: d.kind.clone(),
                written: Written {
                    body: d.body.clone(),
                    span: d.span,
                    kind_span: d.kind_span,
                },
                base: base.clone(),
                data_locals: template.data_locals.clone(),
            }));
        }
        d.deps = found;
    }
    diags
}

impl Template {
    /// One source as a build uses it: evaluated, legacy templates expanded as Packer's
    /// `Prepare` does, decoded into its builder's config. `None` when it does not decode.
    fn source_config(
        &self,
        build: &BuildBlock,
        use_: &SourceUse,
        block: &SourceBlock,
        base: &Arc<Context>,
        deps: &mut DataDeps<'_>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Arc<SourceConfig>> {
        let body = use_.body(block);
        let context = self.source_context(build, use_);
        let config = evaluate::body_except(&body, block.span, &context, &[], diags);
        let (decoded, found) =
            plugins::check(PluginKind::Builder, &block.kind, block.kind_span, &config);
        diags.extend(found);
        legacy::check_body(&config, diags);
        let legacy = self.legacy_context(&context, build, &block.kind);
        let mut expanded = config.clone();
        legacy::expand_body(&mut expanded, &legacy);
        let decoded = if expanded == config {
            decoded
        } else {
            plugins::check(PluginKind::Builder, &block.kind, block.kind_span, &expanded).0
        };
        let Some(Decoded::Builder(builder)) = decoded else {
            return None;
        };
        let reads = deps.of_body(&body);
        let written = (!reads.is_empty()).then(|| {
            Arc::new(Written {
                body: body.clone(),
                span: block.span,
                kind_span: block.kind_span,
            })
        });
        Some(Arc::new(SourceConfig {
            plugin: plugins::find(PluginKind::Builder, &block.kind)?,
            builder,
            written,
            data_locals: self.data_locals.clone(),
            deps: reads,
            body: expanded,
            base: base.clone(),
            each: use_.each.as_ref().map(|e| e.object()),
            build_name: build.name.clone().unwrap_or_default(),
            address: use_.address(),
            legacy,
        }))
    }

    /// The legacy-template context of a session before it runs: the run's time, the build's
    /// name and type (`{{ .Name }}`, `{{timestamp}}`, ...).
    pub(super) fn legacy_context(
        &self,
        ctx: &Context,
        build: &BuildBlock,
        builder: &str,
    ) -> LegacyContext {
        LegacyContext {
            unix_time: legacy::unix_from_rfc3339(&ctx.functions.timestamp).unwrap_or(0),
            build_name: build.name.clone().unwrap_or_default(),
            build_type: builder.to_string(),
            build: BTreeMap::new(),
            template_dir: self.root.display().to_string(),
            pwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            packer_version: super::PACKER_VERSION.to_string(),
            ..Default::default()
        }
    }
}

/// `only`/`except` on a step must name sources of its build.
fn check_only_except(build: &str, names: &[String], step: &StepBlock, diags: &mut Vec<Diagnostic>) {
    for pattern in step.only.iter().chain(&step.except) {
        let bare = pattern.strip_prefix("source.").unwrap_or(pattern);
        if !names.iter().any(|n| n == bare) {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let span = step
                .body
                .attribute("only")
                .or(step.body.attribute("except"))
                .map_or(step.span, |a| a.expr.span);
            let d = Diagnostic::warning(
                span,
                format!("`{pattern}` names no source of the build `{build}`"),
            );
            diags.push(match suggest(bare, &refs) {
                Some(s) => d.with_hint(format!("did you mean `{s}`?")),
                None => d.with_hint(format!(
                    "the build's sources are {}",
                    crate::diagnostic::quote_list(&refs)
                )),
            });
        }
    }
}
