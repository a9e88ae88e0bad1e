//! `kiln build -dry-run`: the walk the scheduler will do, with a visitor that prints each step
//! and the configuration it would run with instead of running it. Waves of steps that would run
//! at once are grouped. Nothing is launched, contacted or written.

use super::compiler::UNKNOWN;
use super::render::plural;
use super::show::{self, SENSITIVE};
use super::{BuildGraph, Node, NodeKind, Origin, SessionId};
use crate::config::{evaluate, AttrValue, BodyValue, StepBlock, Template};
use crate::diagnostic::Diagnostic;
use crate::eval::Context;
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::collections::HashMap;
use std::fmt::Write;

/// Settings shown in the dry run's header.
#[derive(Clone, Debug, Default)]
pub struct DryRunOptions {
    /// `-parallel-builds`: at most this many sessions at once (0 or `None`: no limit).
    pub parallel_builds: Option<usize>,
}

/// Walk `graph` as a build would and describe every step. Returns the text and any diagnostic
/// raised while evaluating step configurations.
pub fn dry_run(
    template: &Template,
    graph: &BuildGraph,
    options: &DryRunOptions,
) -> (String, Vec<Diagnostic>) {
    let mut visitor = Printer {
        template,
        graph,
        sessions: HashMap::new(),
        diags: Vec::new(),
        out: String::new(),
    };
    let (waves, skipped) = super::walker::waves(graph);
    let limit = match options.parallel_builds {
        Some(n) if n > 0 => format!(", at most {} at once", plural(n, "source")),
        _ => String::new(),
    };
    let _ = writeln!(
        visitor.out,
        "Dry run: {} for {}{limit}, in {}. Nothing is launched, contacted or written.",
        plural(graph.len(), "step"),
        plural(graph.sessions().len(), "source"),
        plural(waves.len(), "wave")
    );
    for (w, wave) in waves.iter().enumerate() {
        let together = if wave.len() > 1 {
            format!(": {} at once", plural(wave.len(), "step"))
        } else {
            String::new()
        };
        let _ = writeln!(visitor.out, "\n==> wave {}{together}", w + 1);
        for n in wave {
            visitor.visit(*n);
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(visitor.out, "\n==> only if a provisioner fails");
        for n in skipped {
            visitor.visit(n);
        }
    }
    (visitor.out, visitor.diags)
}

/// The dry run's visitor: prints a step instead of running it.
struct Printer<'a> {
    template: &'a Template,
    graph: &'a BuildGraph,
    /// Each session's context and evaluated source configuration, made when first needed.
    sessions: HashMap<SessionId, (Context, BodyValue)>,
    diags: Vec<Diagnostic>,
    out: String,
}

impl<'a> Printer<'a> {
    fn visit(&mut self, n: NodeIndex) {
        let graph: &'a BuildGraph = self.graph;
        let node = graph.node(n);
        let what = match (&node.plugin, node.kind) {
            (
                Some(p),
                NodeKind::Provisioner
                | NodeKind::PostProcessor
                | NodeKind::ErrorCleanup
                | NodeKind::Data,
            ) => {
                format!(" [{p}]")
            }
            _ => String::new(),
        };
        let summary = if node.summary.is_empty() {
            String::new()
        } else {
            format!(": {}", node.summary)
        };
        let _ = writeln!(self.out, "--> {}{what}{summary}", node.id);
        if let Some(config) = self.config(node) {
            show::body(&mut self.out, &config, 6);
        }
    }

    /// The configuration a step would run with, when it has one.
    fn config(&mut self, node: &'a Node) -> Option<BodyValue> {
        let template: &'a Template = self.template;
        let session = node.session;
        match node.origin {
            Origin::Data(i) => template.data.get(i).map(|d| d.config.clone()),
            Origin::Source => {
                let (_, source) = self.session(session?)?;
                source_step(node, source)
            }
            Origin::Provisioner(i) => {
                let step = self.build_of(session?)?.provisioners.get(i)?;
                self.step(session?, step)
            }
            Origin::ErrorCleanup => {
                let step = self.build_of(session?)?.error_cleanup.as_ref()?;
                self.step(session?, step)
            }
            Origin::PostProcessor { chain, position } => {
                let step = self
                    .build_of(session?)?
                    .post_processors
                    .get(chain)?
                    .get(position)?;
                self.step(session?, step)
            }
            Origin::Registry => {
                let build = self.build_of(session?)?;
                let block = build.registry.as_ref().or(template.registry.as_ref())?;
                let (ctx, _) = self.session(session?)?;
                let ctx = ctx.clone();
                Some(evaluate::body(
                    &block.body,
                    block.span,
                    &ctx,
                    &mut self.diags,
                ))
            }
            Origin::Release(i) => {
                let graph: &'a BuildGraph = self.graph;
                let release = graph.releases().get(i)?;
                let part = |p: &Option<String>| {
                    p.clone()
                        .map_or(Value::Unknown(crate::value::Type::String), Value::String)
                };
                let publishers: Vec<Value> = release
                    .publishers
                    .iter()
                    .filter_map(|p| graph.node(*p).session)
                    .map(|s| Value::String(graph.sessions()[s].id.clone()))
                    .collect();
                let mut config = BodyValue::default();
                for (name, value) in [
                    ("bucket", part(&release.key.bucket)),
                    ("product", part(&release.key.product)),
                    ("release", part(&release.key.release)),
                    ("builds", Value::List(publishers)),
                ] {
                    config.attrs.push(AttrValue {
                        name: name.into(),
                        name_span: node.span,
                        value,
                        value_span: node.span,
                    });
                }
                Some(config)
            }
        }
    }

    fn build_of(&self, session: SessionId) -> Option<&'a crate::config::BuildBlock> {
        let (graph, template): (&'a BuildGraph, &'a Template) = (self.graph, self.template);
        let s = graph.sessions().get(session)?;
        template.builds.get(s.build)
    }

    /// A session's context and evaluated source body.
    fn session(&mut self, id: SessionId) -> Option<&(Context, BodyValue)> {
        if !self.sessions.contains_key(&id) {
            let s = self.graph.sessions().get(id)?;
            let build = self.template.builds.get(s.build)?;
            let use_ = build.sources.get(s.source_use)?;
            let ctx = self.template.source_context(build, use_);
            let config = self.template.source_config(
                build,
                use_,
                &ctx,
                &Default::default(),
                &mut self.diags,
            )?;
            self.sessions.insert(id, (ctx, config));
        }
        self.sessions.get(&id)
    }

    /// A provisioner's or post-processor's configuration for one session, with its `override`
    /// for that source applied.
    fn step(&mut self, session: SessionId, step: &'a StepBlock) -> Option<BodyValue> {
        let (ctx, _) = self.session(session)?;
        let ctx = ctx.clone();
        let source = &self.graph.sessions().get(session)?.source;
        Some(
            self.template
                .step_config(step, &ctx, source, None, &mut self.diags),
        )
    }
}

/// What a step made from the source block shows of the source's configuration.
fn source_step(node: &Node, source: &BodyValue) -> Option<BodyValue> {
    let pick = |names: &[&str]| {
        let mut b = BodyValue {
            span: source.span,
            ..BodyValue::default()
        };
        b.attrs = source
            .attrs
            .iter()
            .filter(|a| names.contains(&a.name.as_str()))
            .cloned()
            .collect();
        b
    };
    match node.kind {
        NodeKind::Launch => Some(source.clone()),
        NodeKind::Data => {
            let mut b = pick(&["region", "source_ami"]);
            b.blocks = source.blocks_of("source_ami_filter").cloned().collect();
            Some(b)
        }
        NodeKind::Capture => Some(pick(&[
            "ami_name",
            "ami_description",
            "region",
            "tags",
            "snapshot_tags",
        ])),
        NodeKind::Copy => {
            let mut b = pick(&["ami_name"]);
            let region = match node.region.as_deref() {
                Some(UNKNOWN) | None => Value::unknown(),
                Some(SENSITIVE) => Value::string("").sensitive(),
                Some(r) => Value::string(r),
            };
            b.attrs.push(AttrValue {
                name: "region".into(),
                name_span: node.span,
                value: region,
                value_span: node.span,
            });
            Some(b)
        }
        _ => None,
    }
}
