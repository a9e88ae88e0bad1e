//! One session: a source as one build uses it, from its launch to its publish steps, with the
//! cleanup that follows it whatever happens.

use super::compiler::{attr_value, known_string, shown, with_region, Compiler, StepDeps, UNKNOWN};
use super::graph::{Node, NodeKind, Origin, ReleaseKey, Session, SessionId, Stage};
use crate::config::{BuildBlock, SourceBlock, SourceUse, StepBlock};
use crate::eval::Context;
use crate::source::Span;
use crate::syntax::{Body, Structure};
use crate::value::Value;
use petgraph::graph::NodeIndex;
use std::collections::BTreeSet;

/// What one session is made from.
pub(super) struct Use<'t, 's> {
    pub build: &'t BuildBlock,
    /// Index of `build` in the template.
    pub index: usize,
    pub use_: &'t SourceUse,
    /// Index of `use_` in `build.sources`.
    pub position: usize,
    pub block: &'t SourceBlock,
    pub steps: &'s StepDeps,
}

/// Add the session's nodes and edges to the graph; returns its id.
pub(super) fn plan(c: &mut Compiler<'_>, u: Use<'_, '_>, id: String, name: String) -> SessionId {
    let ctx = c.template.source_context(u.build, u.use_);
    let body = u.use_.body(u.block);
    let region = attr_value(&body, "region", &ctx, &mut c.diags).map(|v| shown(&v));
    let builder = u.block.kind.clone();
    let session = c.graph.push_session(Session {
        id: id.clone(),
        name,
        build: u.index,
        source_use: u.position,
        source: u.use_.address(),
        builder: builder.clone(),
        region: region.clone(),
        stages: Vec::new(),
        always: Vec::new(),
        span: u.use_.span,
    });
    let mut s = SessionPlan {
        c,
        session,
        id,
        frontier: Vec::new(),
        stages: Vec::new(),
        always: Vec::new(),
    };
    let source_deps = s.c.deps.of_body(&body);
    let launched = s.launch(&u, &body, &ctx, region.as_deref(), &source_deps);
    let provisioned = s.provisioners(&u);
    let error_cleanup = s.error_cleanup(&u, &provisioned);
    let capture = if matches!(builder.as_str(), "null" | "file") {
        None
    } else {
        Some(s.capture(&u, &body, &ctx, region.as_deref()))
    };
    s.post_processors(&u, &ctx);
    s.registry(&u, &ctx);
    if capture.is_some() {
        // The session's resources are needed until the image is captured; copies and
        // post-processors work on the image, not the instance.
        let after: Vec<NodeIndex> = capture.into_iter().chain(error_cleanup).collect();
        s.cleanup(&u, &after, launched);
    }
    let SessionPlan {
        c, stages, always, ..
    } = s;
    let entry = c.graph.session_mut(session);
    entry.stages = stages;
    entry.always = always;
    session
}

struct SessionPlan<'a, 't> {
    c: &'a mut Compiler<'t>,
    session: SessionId,
    id: String,
    /// The nodes the next step waits for.
    frontier: Vec<NodeIndex>,
    stages: Vec<Stage>,
    always: Vec<NodeIndex>,
}

impl SessionPlan<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        step: &str,
        kind: NodeKind,
        plugin: &str,
        region: Option<&str>,
        span: Span,
        summary: String,
        origin: Origin,
    ) -> NodeIndex {
        self.c.graph.add(Node {
            id: format!("{}/{step}", self.id),
            kind,
            plugin: Some(plugin.to_string()),
            session: Some(self.session),
            region: region.map(str::to_string),
            span,
            summary,
            origin,
        })
    }

    /// Run `node` after the current frontier.
    fn then(&mut self, node: NodeIndex) {
        for f in std::mem::take(&mut self.frontier) {
            self.c.graph.edge(f, node);
        }
        self.frontier.push(node);
        self.stages.push(Stage::Step(node));
    }

    /// Run each branch (a sequence) after the frontier, all branches at once.
    fn parallel(&mut self, branches: Vec<Vec<NodeIndex>>) {
        let branches: Vec<Vec<NodeIndex>> =
            branches.into_iter().filter(|b| !b.is_empty()).collect();
        if branches.len() == 1 {
            for n in &branches[0] {
                self.then(*n);
            }
            return;
        }
        if branches.is_empty() {
            return;
        }
        let before = std::mem::take(&mut self.frontier);
        for branch in &branches {
            for f in &before {
                self.c.graph.edge(*f, branch[0]);
            }
            for pair in branch.windows(2) {
                self.c.graph.edge(pair[0], pair[1]);
            }
            self.frontier.push(branch[branch.len() - 1]);
        }
        self.stages.push(Stage::Parallel(branches));
    }

    fn data_edges(&mut self, deps: &BTreeSet<usize>, to: NodeIndex) {
        for d in deps {
            let from = self.c.data_nodes[*d];
            self.c.graph.edge(from, to);
        }
    }

    /// The builder's lookup (amazon-ebs's `source_ami_filter`) and its launch. Returns the launch.
    fn launch(
        &mut self,
        u: &Use,
        body: &Body,
        ctx: &Context,
        region: Option<&str>,
        deps: &BTreeSet<usize>,
    ) -> NodeIndex {
        let builder = u.block.kind.as_str();
        let mut first = None;
        if builder == "amazon-ebs" {
            if let Some(filter) = block_span(body, "source_ami_filter") {
                let n = self.node(
                    "source-ami",
                    NodeKind::Data,
                    "amazon-ami",
                    region,
                    filter,
                    with_region("find the source AMI", region),
                    Origin::Source,
                );
                self.then(n);
                first = Some(n);
            }
        }
        let summary = match builder {
            "amazon-ebs" => with_region("launch an instance", region),
            "null" => match attr_value(body, "communicator", ctx, &mut self.c.diags)
                .as_ref()
                .and_then(Value::as_str)
            {
                Some("none") => "start without a communicator".into(),
                Some(other) => format!("connect over {other}"),
                None => "connect over ssh".into(),
            },
            "file" => match attr_value(body, "target", ctx, &mut self.c.diags) {
                Some(t) => format!("write {}", shown(&t)),
                None => "write the target file".into(),
            },
            other => format!("start the {other} builder"),
        };
        let launch = self.node(
            "launch",
            NodeKind::Launch,
            builder,
            region,
            u.block.span,
            summary,
            Origin::Source,
        );
        self.then(launch);
        self.data_edges(deps, first.unwrap_or(launch));
        launch
    }

    /// The build's provisioners that apply to this source, in order.
    fn provisioners(&mut self, u: &Use) -> Vec<NodeIndex> {
        let mut out = Vec::new();
        for (i, p) in u.build.provisioners.iter().enumerate() {
            if !applies(p, u.use_) {
                continue;
            }
            let summary = p
                .name
                .as_ref()
                .map(|n| format!("\"{n}\""))
                .unwrap_or_default();
            let n = self.node(
                &format!("provisioner[{i}].{}", p.kind),
                NodeKind::Provisioner,
                &p.kind,
                None,
                p.span,
                summary,
                Origin::Provisioner(i),
            );
            self.then(n);
            self.data_edges(&u.steps.provisioners[i], n);
            out.push(n);
        }
        out
    }

    /// The `error-cleanup-provisioner`, waiting on every provisioner (it runs when one fails).
    fn error_cleanup(&mut self, u: &Use, provisioned: &[NodeIndex]) -> Option<NodeIndex> {
        let step = u.build.error_cleanup.as_ref()?;
        if provisioned.is_empty() || !applies(step, u.use_) {
            return None;
        }
        let summary = "only if a provisioner fails".to_string();
        let n = self.node(
            &format!("error-cleanup-provisioner.{}", step.kind),
            NodeKind::ErrorCleanup,
            &step.kind,
            None,
            step.span,
            summary,
            Origin::ErrorCleanup,
        );
        for p in provisioned {
            self.c.graph.edge(*p, n);
        }
        self.data_edges(&u.steps.error_cleanup, n);
        self.always.push(n);
        Some(n)
    }

    /// The image step, then one copy per extra region. Returns the capture node.
    fn capture(&mut self, u: &Use, body: &Body, ctx: &Context, region: Option<&str>) -> NodeIndex {
        let builder = u.block.kind.as_str();
        let summary = match builder {
            "amazon-ebs" => with_region("create the AMI", region),
            _ => "capture the image".into(),
        };
        let capture = self.node(
            "capture",
            NodeKind::Capture,
            builder,
            region,
            u.block.span,
            summary,
            Origin::Source,
        );
        self.then(capture);
        if builder != "amazon-ebs" {
            return capture;
        }
        let span = body
            .attribute("ami_regions")
            .map_or(u.block.span, |a| a.expr.span);
        let Some(value) = attr_value(body, "ami_regions", ctx, &mut self.c.diags) else {
            return capture;
        };
        let mut copies = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        match value.unmark().0.as_sequence() {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let target = shown(item);
                    let step = if item.contains_unknown() || item.contains_sensitive() {
                        format!("copy[#{i}]")
                    } else {
                        format!("copy[{target}]")
                    };
                    if Some(target.as_str()) == region && !item.contains_unknown()
                        || !seen.insert(step.clone())
                    {
                        continue;
                    }
                    let n = self.node(
                        &step,
                        NodeKind::Copy,
                        builder,
                        Some(&target),
                        span,
                        format!("copy the AMI to {target}"),
                        Origin::Source,
                    );
                    copies.push(vec![n]);
                }
            }
            None if value.contains_unknown() => {
                let n = self.node(
                    "copy[*]",
                    NodeKind::Copy,
                    builder,
                    Some(UNKNOWN),
                    span,
                    format!("copy the AMI to each of ami_regions {UNKNOWN}"),
                    Origin::Source,
                );
                copies.push(vec![n]);
            }
            None => {}
        }
        self.parallel(copies);
        capture
    }

    /// Each post-processor chain as a path; separate chains run in parallel. `-except` on a
    /// post-processor drops it and the rest of its chain, as in Packer.
    fn post_processors(&mut self, u: &Use, ctx: &Context) {
        let mut chains = Vec::new();
        let mut keeps_original = u.build.post_processors.is_empty();
        for (c, chain) in u.build.post_processors.iter().enumerate() {
            let mut nodes = Vec::new();
            for (p, step) in chain.iter().enumerate() {
                if !applies(step, u.use_) {
                    continue;
                }
                let name = step.name.clone().unwrap_or_else(|| step.kind.clone());
                if self.c.selection.excludes_post_processor(&name) {
                    break;
                }
                let keep = keeps_input(step);
                if nodes.is_empty() && keep {
                    keeps_original = true;
                }
                let id = if chain.len() == 1 {
                    format!("post-processor[{c}].{}", step.kind)
                } else {
                    format!("post-processors[{c}][{p}].{}", step.kind)
                };
                let origin = Origin::PostProcessor {
                    chain: c,
                    position: p,
                };
                let n = if step.kind == "hcp-packer-publish" {
                    let key = ReleaseKey {
                        bucket: self.string_attr(&step.body, "bucket_name", ctx),
                        product: self.string_attr(&step.body, "product_name", ctx),
                        release: self.string_attr(&step.body, "release_name", ctx),
                    };
                    let summary = format!("publish to {}", key.path());
                    let n = self.node(
                        &id,
                        NodeKind::Publish,
                        &step.kind,
                        None,
                        step.span,
                        summary,
                        origin,
                    );
                    self.c
                        .releases
                        .entry(key)
                        .or_insert_with(|| (step.span, Vec::new()))
                        .1
                        .push(n);
                    n
                } else {
                    let mut summary = step
                        .name
                        .as_ref()
                        .map(|n| format!("\"{n}\""))
                        .unwrap_or_default();
                    if !nodes.is_empty() && !keep {
                        summary = [summary.as_str(), "deletes its input artifact afterwards"]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                    self.node(
                        &id,
                        NodeKind::PostProcessor,
                        &step.kind,
                        None,
                        step.span,
                        summary,
                        origin,
                    )
                };
                self.data_edges(&u.steps.post_processors[c][p], n);
                nodes.push(n);
            }
            chains.push(nodes);
        }
        let any = chains.iter().any(|c| !c.is_empty());
        self.parallel(chains);
        if any && !keeps_original {
            let n = self.node(
                "discard",
                NodeKind::Discard,
                &u.block.kind,
                None,
                u.block.span,
                "delete the builder's artifact: no post-processor keeps it".into(),
                Origin::Source,
            );
            self.then(n);
        }
    }

    /// Publishing for an `hcp_packer_registry` block (the build's, else the template's).
    fn registry(&mut self, u: &Use, ctx: &Context) {
        let Some(block) = u
            .build
            .registry
            .as_ref()
            .or(self.c.template.registry.as_ref())
        else {
            return;
        };
        let key = ReleaseKey {
            bucket: None,
            product: self.string_attr(&block.body, "bucket_name", ctx),
            release: None,
        };
        let product = key.product.clone().unwrap_or_else(|| UNKNOWN.into());
        let n = self.node(
            "publish",
            NodeKind::Publish,
            "hcp_packer_registry",
            None,
            block.span,
            format!("publish to the registry as product {product}"),
            Origin::Registry,
        );
        self.then(n);
        self.data_edges(&u.steps.registry, n);
        self.c
            .releases
            .entry(key)
            .or_insert_with(|| (block.span, Vec::new()))
            .1
            .push(n);
    }

    /// The session's cleanup, after `after` (or the launch when nothing else).
    fn cleanup(&mut self, u: &Use, after: &[NodeIndex], launch: NodeIndex) {
        let builder = u.block.kind.as_str();
        let summary = match builder {
            "amazon-ebs" => {
                "terminate the instance, delete the temporary key pair and security group"
                    .to_string()
            }
            other => format!("remove the {other} builder's temporary resources"),
        };
        let n = self.node(
            "cleanup",
            NodeKind::Cleanup,
            builder,
            None,
            u.block.span,
            summary,
            Origin::Source,
        );
        if after.is_empty() {
            self.c.graph.edge(launch, n);
        }
        for a in after {
            self.c.graph.edge(*a, n);
        }
        self.always.push(n);
    }

    fn string_attr(&mut self, body: &Body, name: &str, ctx: &Context) -> Option<String> {
        attr_value(body, name, ctx, &mut self.c.diags).and_then(|v| known_string(&v))
    }
}

/// A provisioner's or post-processor's `only`/`except` (exact `type.name`, as Packer matches
/// them; a `for_each` source's name covers its instances).
fn applies(step: &StepBlock, use_: &SourceUse) -> bool {
    let address = use_.address();
    let group = use_
        .each
        .as_ref()
        .map(|e| format!("{}.{}", use_.kind, e.group));
    let named = |list: &[String]| {
        list.iter().any(|p| {
            let bare = p.strip_prefix("source.").unwrap_or(p);
            bare == address || Some(bare) == group.as_deref()
        })
    };
    if !step.only.is_empty() {
        return named(&step.only);
    }
    !named(&step.except)
}

/// Whether a post-processor keeps its input artifact: `keep_input_artifact` when set, else the
/// plugin's default; manifest and hcp-packer-publish keep it whatever is set, as their Packer
/// counterparts force it.
pub fn keeps_input(step: &StepBlock) -> bool {
    match step.kind.as_str() {
        "manifest" | "hcp-packer-publish" => true,
        "checksum" | "shell-local" => step.keep_input_artifact.unwrap_or(true),
        _ => step.keep_input_artifact.unwrap_or(false),
    }
}

/// The span of the first nested block `name` (or `dynamic "name"`) of a body.
fn block_span(body: &Body, name: &str) -> Option<Span> {
    body.items.iter().find_map(|i| match i {
        Structure::Block(b) if b.ident.name == name => Some(b.header_span()),
        Structure::Block(b)
            if b.ident.name == "dynamic" && b.labels.first().is_some_and(|l| l.value == name) =>
        {
            Some(b.header_span())
        }
        _ => None,
    })
}
