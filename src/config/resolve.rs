//! A step's configuration as it runs: the source's body evaluated for one session, a
//! provisioner's or post-processor's body with its `override` for that source applied, and
//! Packer's legacy `{{ ... }}` templates expanded. The dry run and the scheduler both use these,
//! so a plan shows exactly what a build runs with.

use super::blocks::STEP_META;
use super::legacy::{self, LegacyContext};
use super::{evaluate, AttrValue, BodyValue, BuildBlock, SourceUse, StepBlock, Template};
use crate::diagnostic::Diagnostic;
use crate::eval::Context;
use crate::value::Value;
use std::collections::BTreeMap;

impl Template {
    /// The legacy-template context of a session: the run's time, the build's name and type,
    /// and the build's generated data (`{{ build `ID` }}`, `{{ .Name }}`).
    pub fn legacy_context(
        &self,
        ctx: &Context,
        build: &BuildBlock,
        builder: &str,
        generated: &BTreeMap<String, String>,
    ) -> LegacyContext {
        LegacyContext {
            unix_time: legacy::unix_from_rfc3339(&ctx.functions.timestamp).unwrap_or(0),
            build_name: build.name.clone().unwrap_or_default(),
            build_type: builder.to_string(),
            build: generated.clone(),
            template_dir: self.root.display().to_string(),
            pwd: std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            packer_version: super::PACKER_VERSION.to_string(),
            ..Default::default()
        }
    }

    /// The source's configuration for one session, evaluated in `ctx` (see
    /// [`Template::source_context`]) with legacy templates expanded as Packer's `Prepare` does.
    pub fn source_config(
        &self,
        build: &BuildBlock,
        use_: &SourceUse,
        ctx: &Context,
        generated: &BTreeMap<String, String>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<BodyValue> {
        let (block, body) = self.source_body(use_)?;
        let mut config = evaluate::body_except(&body, block.span, ctx, &["name"], diags);
        let legacy = self.legacy_context(ctx, build, &block.kind, generated);
        legacy::expand_body(&mut config, &legacy);
        Some(config)
    }

    /// A provisioner's or post-processor's configuration for the session of source `source`
    /// (`type.name`), with the step's `override` for that source applied and legacy templates
    /// expanded with the build's generated data.
    pub fn step_config(
        &self,
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
            legacy::expand_body(&mut config, legacy);
        }
        config
    }
}

impl Template {
    /// Every sensitive value as the text a command could print: values of `sensitive`
    /// variables and locals, and anything marked sensitive inside others. A build's output
    /// shows `<sensitive>` in their place.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in self.variables.values() {
            collect_secrets(&v.value, v.sensitive, &mut out);
        }
        for l in self.locals.values() {
            collect_secrets(&l.value, l.sensitive, &mut out);
        }
        out.sort();
        out.dedup();
        out
    }
}

fn collect_secrets(v: &Value, sensitive: bool, out: &mut Vec<String>) {
    match v {
        Value::Sensitive(inner) => collect_secrets(inner, true, out),
        Value::String(s) if sensitive && !s.is_empty() => out.push(s.clone()),
        Value::Number(_) | Value::Bool(_) if sensitive => out.push(crate::value::to_console(v)),
        Value::List(xs) | Value::Set(xs) | Value::Tuple(xs) => {
            xs.iter().for_each(|x| collect_secrets(x, sensitive, out))
        }
        Value::Map(m) | Value::Object(m) => {
            m.values().for_each(|x| collect_secrets(x, sensitive, out))
        }
        _ => {}
    }
}
