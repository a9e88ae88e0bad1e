//! `kiln build -dry-run`: the scheduler's own walk with a visitor that finishes every step at
//! once and prints it, with the configuration it would run with, instead of running it. The
//! runner goes in lockstep, so each wave is the steps a run starts together (within
//! `-parallel-builds` and the per-region limits). Nothing is launched, contacted or written.

use super::scheduler::{self, Limits, StepFuture, Visitor};
use crate::body::{AttrValue, BodyValue};
use crate::diagnostic::Diagnostic;
use crate::plan::render::plural;
use crate::plan::show;
use crate::plan::{BuildGraph, Node, NodeKind, Work};
use crate::value::{Type, Value};
use petgraph::graph::NodeIndex;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Settings shown in the dry run's header.
#[derive(Clone, Debug, Default)]
pub struct DryRunOptions {
    /// `-parallel-builds`: at most this many sessions at once (0 or `None`: no limit).
    pub parallel_builds: Option<usize>,
}

/// The waves of a walk in which every step succeeds at once, as the scheduler starts them
/// under `limits`, and the steps that never run (error cleanups, when nothing fails).
pub fn waves(graph: &BuildGraph, limits: &Limits) -> (Vec<Vec<NodeIndex>>, Vec<NodeIndex>) {
    let visitor = Arc::new(Recorder::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    if let Ok(runtime) = runtime {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        runtime.block_on(scheduler::run(graph, visitor.clone(), limits, rx));
    }
    let mut waves = std::mem::take(&mut *lock(&visitor.waves));
    let current = std::mem::take(&mut *lock(&visitor.current));
    if !current.is_empty() {
        waves.push(current);
    }
    for wave in &mut waves {
        wave.sort_unstable();
    }
    let mut skipped = std::mem::take(&mut *lock(&visitor.skipped));
    skipped.sort_unstable();
    (waves, skipped)
}

/// Walk `graph` as a build would and describe every step. Returns the text and any diagnostic
/// raised while evaluating step configurations.
pub fn dry_run(graph: &BuildGraph, options: &DryRunOptions) -> (String, Vec<Diagnostic>) {
    let limits = Limits {
        parallel_builds: options.parallel_builds.unwrap_or(0),
        ..Limits::default()
    };
    let (waves, skipped) = waves(graph, &limits);
    let mut printer = Printer {
        graph,
        diags: Vec::new(),
        out: String::new(),
    };
    let limit = match options.parallel_builds {
        Some(n) if n > 0 => format!(", at most {} at once", plural(n, "source")),
        _ => String::new(),
    };
    let _ = writeln!(
        printer.out,
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
        let _ = writeln!(printer.out, "\n==> wave {}{together}", w + 1);
        for n in wave {
            printer.visit(*n);
        }
    }
    if !skipped.is_empty() {
        let _ = writeln!(printer.out, "\n==> only if a provisioner fails");
        for n in skipped {
            printer.visit(n);
        }
    }
    (printer.out, printer.diags)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The dry run's visitor: every step succeeds at once; it notes which start together.
#[derive(Default)]
struct Recorder {
    waves: Mutex<Vec<Vec<NodeIndex>>>,
    current: Mutex<Vec<NodeIndex>>,
    skipped: Mutex<Vec<NodeIndex>>,
}

impl Visitor for Recorder {
    fn visit(self: Arc<Self>, _node: NodeIndex, _cancel: CancellationToken) -> StepFuture {
        Box::pin(async { Ok(()) })
    }

    fn started(&self, node: NodeIndex) {
        lock(&self.current).push(node);
    }

    fn skipped(&self, node: NodeIndex, _reason: &str) {
        lock(&self.skipped).push(node);
    }

    fn lockstep(&self) -> bool {
        true
    }

    fn settled(&self) {
        let wave = std::mem::take(&mut *lock(&self.current));
        if !wave.is_empty() {
            lock(&self.waves).push(wave);
        }
    }
}

/// Prints a step and its configuration.
struct Printer<'a> {
    graph: &'a BuildGraph,
    diags: Vec<Diagnostic>,
    out: String,
}

impl Printer<'_> {
    fn visit(&mut self, n: NodeIndex) {
        let node = self.graph.node(n);
        let what = match (&node.plugin, node.kind) {
            (
                Some(p),
                NodeKind::Provisioner
                | NodeKind::PostProcessor
                | NodeKind::ErrorCleanup
                | NodeKind::Data,
            ) => format!(" [{p}]"),
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
    fn config(&mut self, node: &Node) -> Option<BodyValue> {
        let session = node.session.map(|s| &self.graph.sessions()[s]);
        match &node.work {
            Work::Data(d) => Some(d.config.clone()),
            Work::Builder(step) => {
                let config = &session?.config;
                config.builder.show(step, &config.body)
            }
            Work::Provisioner(step) | Work::PostProcessor { step, .. } => {
                let (body, diags) = step.binder.preview();
                self.diags.extend(diags);
                Some(body)
            }
            Work::Registry(binder) => {
                let (body, diags) = binder.preview();
                self.diags.extend(diags);
                Some(body)
            }
            Work::Release(i) => {
                let release = self.graph.releases().get(*i)?;
                let part = |p: &Option<String>| {
                    p.clone()
                        .map_or(Value::Unknown(Type::String), Value::String)
                };
                let publishers: Vec<Value> = release
                    .publishers
                    .iter()
                    .filter_map(|p| self.graph.node(*p).session)
                    .map(|s| Value::String(self.graph.sessions()[s].id.clone()))
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
            Work::Discard => None,
        }
    }
}
