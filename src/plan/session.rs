//! One session: a source as one build uses it, from its launch to its publish steps, with the
//! cleanup that follows it whatever happens. The builder says which steps it has; the
//! provisioners, post-processors and registry publishing come from the build.

use super::compiler::Compiler;
use super::graph::{Node, NodeKind, ReleaseKey, Session, SessionId, Stage, StepWork, Work};
use crate::config::{
    Binder, BuildBlock, RegistryBlock, SourceConfig, SourceUse, StepBlock, Template,
};
use crate::plugins::sdk::{BuilderStep, BuilderStepKind};
use crate::plugins::{Decoded, PluginKind};
use crate::source::Span;
use petgraph::graph::NodeIndex;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A build's step blocks, shared by the binders of all its sessions.
pub(super) struct BuildSteps {
    provisioners: Vec<Arc<StepBlock>>,
    error_cleanup: Option<Arc<StepBlock>>,
    post_processors: Vec<Vec<Arc<StepBlock>>>,
    registry: Option<Arc<RegistryBlock>>,
}

impl BuildSteps {
    pub(super) fn new(build: &BuildBlock, template: &Template) -> BuildSteps {
        let shared = |s: &StepBlock| Arc::new(s.clone());
        BuildSteps {
            provisioners: build.provisioners.iter().map(shared).collect(),
            error_cleanup: build.error_cleanup.as_ref().map(shared),
            post_processors: build
                .post_processors
                .iter()
                .map(|chain| chain.iter().map(shared).collect())
                .collect(),
            registry: build
                .registry
                .as_ref()
                .or(template.registry.as_ref())
                .map(|r| Arc::new(r.clone())),
        }
    }
}

/// What one session is made from.
pub(super) struct Use<'t, 's> {
    pub build: &'t BuildBlock,
    pub use_: &'t SourceUse,
    pub config: Arc<SourceConfig>,
    pub steps: &'s BuildSteps,
}

/// Add the session's nodes and edges to the graph; returns its id.
pub(super) fn plan(c: &mut Compiler<'_>, u: Use<'_, '_>, id: String, name: String) -> SessionId {
    let builder = u.config.plugin.name;
    let plan = u.config.builder.plan(&u.config.body);
    let region = plan
        .steps
        .iter()
        .find(|s| s.kind == BuilderStepKind::Launch)
        .and_then(|s| s.region.clone());
    let session = c.graph.push_session(Session {
        id: id.clone(),
        name,
        build: u.build.display_name(),
        source: u.use_.address(),
        builder: builder.to_string(),
        region,
        stages: Vec::new(),
        always: Vec::new(),
        span: u.use_.span,
        config: u.config.clone(),
        connects: plan.connects.clone(),
    });
    let mut s = SessionPlan {
        c,
        session,
        id,
        span: u.config.body.span,
        builder,
        frontier: Vec::new(),
        stages: Vec::new(),
        always: Vec::new(),
    };
    let of = |kind| plan.steps.iter().filter(move |st| st.kind == kind);
    let mut first = None;
    let mut launch = None;
    for step in plan
        .steps
        .iter()
        .filter(|st| matches!(st.kind, BuilderStepKind::Lookup | BuilderStepKind::Launch))
    {
        let n = s.builder_step(step, NodeKind::of(step.kind));
        s.then(n);
        first.get_or_insert(n);
        if step.kind == BuilderStepKind::Launch {
            launch = Some(n);
        }
    }
    if let Some(first) = first {
        s.data_edges(&u.config.deps, first);
    }
    let provisioned = s.provisioners(&u);
    let error_cleanup = s.error_cleanup(&u, &provisioned);
    let capture = of(BuilderStepKind::Capture).next().map(|step| {
        let n = s.builder_step(step, NodeKind::Capture);
        s.then(n);
        n
    });
    let copies: Vec<Vec<NodeIndex>> = of(BuilderStepKind::Copy)
        .map(|step| vec![s.builder_step(step, NodeKind::Copy)])
        .collect();
    s.parallel(copies);
    s.post_processors(&u);
    s.registry(&u);
    if let Some(step) = of(BuilderStepKind::Cleanup).next() {
        // The session's resources are needed until the image is captured; copies and
        // post-processors work on the image, not the instance.
        let after: Vec<NodeIndex> = capture
            .into_iter()
            .chain(error_cleanup)
            .chain(if capture.is_none() { launch } else { None })
            .collect();
        let n = s.builder_step(step, NodeKind::Cleanup);
        for a in after {
            s.c.graph.edge(a, n);
        }
        s.always.push(n);
    }
    let SessionPlan {
        c, stages, always, ..
    } = s;
    let entry = c.graph.session_mut(session);
    entry.stages = stages;
    entry.always = always;
    session
}

impl NodeKind {
    fn of(kind: BuilderStepKind) -> NodeKind {
        match kind {
            BuilderStepKind::Lookup => NodeKind::Data,
            BuilderStepKind::Launch => NodeKind::Launch,
            BuilderStepKind::Capture => NodeKind::Capture,
            BuilderStepKind::Copy => NodeKind::Copy,
            BuilderStepKind::Cleanup => NodeKind::Cleanup,
        }
    }
}

struct SessionPlan<'a, 't> {
    c: &'a mut Compiler<'t>,
    session: SessionId,
    id: String,
    /// Where the source block is.
    span: Span,
    /// The builder type.
    builder: &'static str,
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
        api: bool,
        span: Span,
        summary: String,
        work: Work,
    ) -> NodeIndex {
        self.c.graph.add(Node {
            id: format!("{}/{step}", self.id),
            kind,
            plugin: Some(plugin.to_string()),
            session: Some(self.session),
            region: region.map(str::to_string),
            span,
            summary,
            api,
            work,
        })
    }

    fn builder_step(&mut self, step: &BuilderStep, kind: NodeKind) -> NodeIndex {
        let plugin = step.plugin.unwrap_or(self.builder);
        self.node(
            &step.name,
            kind,
            plugin,
            step.region.as_deref(),
            step.api,
            step.span.unwrap_or(self.span),
            step.summary.clone(),
            Work::Builder(Arc::new(step.clone())),
        )
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

    /// A provisioner or post-processor bound to this session.
    fn work(
        &self,
        u: &Use,
        kind: PluginKind,
        block: &Arc<StepBlock>,
        keeps_input: bool,
    ) -> Arc<StepWork> {
        Arc::new(StepWork {
            binder: Binder::step(kind, block.clone(), u.config.clone()),
            plugin: block.kind.clone(),
            name: block.name.clone(),
            pause_before: block.pause_before,
            timeout: block.timeout,
            max_retries: block.max_retries.unwrap_or(0),
            keeps_input,
            decoded: block.plugin.clone(),
        })
    }

    /// The build's provisioners that apply to this source, in order.
    fn provisioners(&mut self, u: &Use) -> Vec<NodeIndex> {
        let mut out = Vec::new();
        for (i, p) in u.steps.provisioners.iter().enumerate() {
            if !applies(p, u.use_) {
                continue;
            }
            let summary = quoted(p.name.as_deref());
            let work = self.work(u, PluginKind::Provisioner, p, false);
            let n = self.node(
                &format!("provisioner[{i}].{}", p.kind),
                NodeKind::Provisioner,
                &p.kind,
                None,
                false,
                p.span,
                summary,
                Work::Provisioner(work),
            );
            self.then(n);
            self.data_edges(&p.deps, n);
            out.push(n);
        }
        out
    }

    /// The `error-cleanup-provisioner`, waiting on every provisioner (it runs when one fails).
    fn error_cleanup(&mut self, u: &Use, provisioned: &[NodeIndex]) -> Option<NodeIndex> {
        let step = u.steps.error_cleanup.as_ref()?;
        if provisioned.is_empty() || !applies(step, u.use_) {
            return None;
        }
        let work = self.work(u, PluginKind::Provisioner, step, false);
        let n = self.node(
            &format!("error-cleanup-provisioner.{}", step.kind),
            NodeKind::ErrorCleanup,
            &step.kind,
            None,
            false,
            step.span,
            "only if a provisioner fails".to_string(),
            Work::Provisioner(work),
        );
        for p in provisioned {
            self.c.graph.edge(*p, n);
        }
        self.data_edges(&step.deps, n);
        self.always.push(n);
        Some(n)
    }

    /// The post-processor blocks, one after another in declared order as Packer runs them;
    /// the steps of a `post-processors` chain in order too. `-except` on a post-processor
    /// drops it and the rest of its chain, as in Packer.
    fn post_processors(&mut self, u: &Use) {
        let mut any = false;
        let mut keeps_original = u.steps.post_processors.is_empty();
        for (c, chain) in u.steps.post_processors.iter().enumerate() {
            let mut first = true;
            for (p, step) in chain.iter().enumerate() {
                if !applies(step, u.use_) {
                    continue;
                }
                let name = step.name.clone().unwrap_or_else(|| step.kind.clone());
                if self.c.selection.excludes_post_processor(&name) {
                    break;
                }
                let decoded = match &step.plugin {
                    Some(Decoded::PostProcessor(pp)) => Some(pp.clone()),
                    _ => None,
                };
                let keep = decoded
                    .as_ref()
                    .map_or(step.keep_input_artifact.unwrap_or(false), |pp| {
                        pp.keeps_input(step.keep_input_artifact)
                    });
                if first && keep {
                    keeps_original = true;
                }
                let id = if chain.len() == 1 {
                    format!("post-processor[{c}].{}", step.kind)
                } else {
                    format!("post-processors[{c}][{p}].{}", step.kind)
                };
                let work = Work::PostProcessor {
                    chain: c,
                    position: p,
                    step: self.work(u, PluginKind::PostProcessor, step, keep),
                };
                let target = decoded.as_ref().and_then(|pp| pp.publishes());
                let n = if let Some(key) = target {
                    let summary = format!("publish to {}", key.path());
                    let n = self.node(
                        &id,
                        NodeKind::Publish,
                        &step.kind,
                        None,
                        false,
                        step.span,
                        summary,
                        work,
                    );
                    self.c
                        .releases
                        .entry(key)
                        .or_insert_with(|| (step.span, Vec::new()))
                        .1
                        .push(n);
                    n
                } else {
                    let mut summary = quoted(step.name.as_deref());
                    if !first && !keep {
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
                        false,
                        step.span,
                        summary,
                        work,
                    )
                };
                self.then(n);
                self.data_edges(&step.deps, n);
                first = false;
                any = true;
            }
        }
        if any && !keeps_original {
            let builder = self.builder;
            let span = self.span;
            let n = self.node(
                "discard",
                NodeKind::Discard,
                builder,
                None,
                false,
                span,
                "delete the builder's artifact: no post-processor keeps it".into(),
                Work::Discard,
            );
            self.then(n);
        }
    }

    /// Publishing for an `hcp_packer_registry` block (the build's, else the template's).
    fn registry(&mut self, u: &Use) {
        let Some(block) = &u.steps.registry else {
            return;
        };
        let binder = Binder::registry(block.clone(), u.config.clone());
        // The release is HCP_PACKER_BUILD_FINGERPRINT, else a new ID each run.
        let key = ReleaseKey {
            bucket: Some(crate::registry::default_bucket()),
            product: binder.registry_product(),
            release: std::env::var("HCP_PACKER_BUILD_FINGERPRINT")
                .ok()
                .filter(|f| !f.trim().is_empty()),
        };
        let product = key
            .product
            .clone()
            .unwrap_or_else(|| crate::body::UNKNOWN.into());
        let n = self.node(
            "publish",
            NodeKind::Publish,
            "hcp_packer_registry",
            None,
            false,
            block.span,
            format!("publish to the registry as product {product}"),
            Work::Registry(Arc::new(binder)),
        );
        self.then(n);
        self.data_edges(&block.deps, n);
        self.c
            .releases
            .entry(key)
            .or_insert_with(|| (block.span, Vec::new()))
            .1
            .push(n);
    }
}

/// `"name"`, or nothing for a step without one.
fn quoted(name: Option<&str>) -> String {
    name.map(|n| format!("\"{n}\"")).unwrap_or_default()
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
