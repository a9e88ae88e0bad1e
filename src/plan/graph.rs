//! The build graph: one node per step, an edge per "must finish before". The compiler fills a
//! [`Graph<Building>`]; [`Graph::seal`] checks it is acyclic and freezes it into a
//! [`BuildGraph`], the only form renderers, the dry run and the scheduler see.

use crate::body::BodyValue;
use crate::config::{Binder, DataBinder, SourceConfig};
use crate::diagnostic::Diagnostic;
use crate::plugins::sdk::{BuilderStep, DataSource, ReleaseTarget};
use crate::plugins::Decoded;
use crate::source::Span;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeKind {
    /// A `data` block, or a builder's own lookup such as amazon-ebs's `source_ami_filter`.
    Data,
    /// Start the builder's session: launch an instance, connect, or write a file.
    Launch,
    /// One `provisioner` block.
    Provisioner,
    /// The builder's image step (stop the instance, create the AMI, wait until available).
    Capture,
    /// Copy the captured image to one extra region (`ami_regions`).
    Copy,
    /// One `post-processor` of a chain.
    PostProcessor,
    /// Publish one source's images to the registry (`hcp-packer-publish` or `hcp_packer_registry`).
    Publish,
    /// Complete a registry release once every source publishing to it has published.
    Finalize,
    /// The `error-cleanup-provisioner`, run only when a provisioner failed.
    ErrorCleanup,
    /// Delete the builder's artifact because no post-processor chain keeps it.
    Discard,
    /// Tear the session down (terminate the instance, delete temporary keys and groups).
    Cleanup,
}

/// When the scheduler may run a node, given how its predecessors ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunPolicy {
    /// Once every predecessor succeeded; skipped when one failed or was skipped.
    AfterSuccess,
    /// Once every predecessor has ended, whatever happened (cleanup).
    Always,
    /// Once every predecessor has ended, and only if one of them failed.
    OnFailure,
}

impl NodeKind {
    /// The kind's name in the JSON view and in messages.
    pub fn name(self) -> &'static str {
        match self {
            NodeKind::Data => "data",
            NodeKind::Launch => "launch",
            NodeKind::Provisioner => "provisioner",
            NodeKind::Capture => "capture",
            NodeKind::Copy => "copy",
            NodeKind::PostProcessor => "post-processor",
            NodeKind::Publish => "publish",
            NodeKind::Finalize => "finalize",
            NodeKind::ErrorCleanup => "error-cleanup",
            NodeKind::Discard => "discard",
            NodeKind::Cleanup => "cleanup",
        }
    }

    /// When a node of this kind runs.
    pub fn policy(self) -> RunPolicy {
        match self {
            NodeKind::Cleanup => RunPolicy::Always,
            NodeKind::ErrorCleanup => RunPolicy::OnFailure,
            _ => RunPolicy::AfterSuccess,
        }
    }
}

/// What running a node means, handed to the visitor with everything it needs: the plugin
/// behind it and the binder that evaluates its configuration, never an index into the template.
#[derive(Clone, Debug)]
pub enum Work {
    /// A `data` block.
    Data(Arc<DataWork>),
    /// One of the session's builder steps.
    Builder(Arc<BuilderStep>),
    /// A `provisioner`, or the `error-cleanup-provisioner`.
    Provisioner(Arc<StepWork>),
    /// Post-processor `position` of chain `chain`.
    PostProcessor {
        chain: usize,
        position: usize,
        step: Arc<StepWork>,
    },
    /// Publishing for an `hcp_packer_registry` block.
    Registry(Arc<Binder>),
    /// `graph.releases()[i]`.
    Release(usize),
    /// Delete the builder's artifact.
    Discard,
}

/// A data source as the run reads it.
#[derive(Debug)]
pub struct DataWork {
    /// `type.name`.
    pub address: String,
    /// The decoded plugin (absent when it did not decode).
    pub plugin: Option<Arc<dyn DataSource>>,
    /// The evaluated configuration.
    pub config: BodyValue,
    /// Set when it reads other data sources: evaluates it again once they are read.
    pub binder: Option<Arc<DataBinder>>,
}

/// A provisioner or post-processor bound to one session, with its meta-arguments.
#[derive(Debug)]
pub struct StepWork {
    pub binder: Binder,
    /// Packer's type name (`shell`).
    pub plugin: String,
    /// `name = ...`.
    pub name: Option<String>,
    pub pause_before: Option<Duration>,
    pub timeout: Option<Duration>,
    pub max_retries: u32,
    /// A post-processor keeps its input artifact.
    pub keeps_input: bool,
    /// The plugin's config as decoded at load, for checks before the run.
    pub decoded: Option<Decoded>,
}

/// Index of a session in [`BuildGraph::sessions`].
pub type SessionId = usize;

/// One step.
#[derive(Clone, Debug)]
pub struct Node {
    /// Stable and readable: `ubuntu.amazon-ebs.east/provisioner[0].shell`.
    pub id: String,
    pub kind: NodeKind,
    /// The plugin that runs the step (`shell`, `amazon-ebs`, ...), when one does.
    pub plugin: Option<String>,
    /// The build × source session the step belongs to.
    pub session: Option<SessionId>,
    /// The cloud region the step works in, when it has one.
    pub region: Option<String>,
    /// The block the step came from.
    pub span: Span,
    /// What the step does, in a few words ("copy the AMI to us-west-2").
    pub summary: String,
    /// The step calls a cloud API in `region`, so it counts against that region's limit.
    pub api: bool,
    pub work: Work,
}

impl Node {
    /// The id without its session prefix (`provisioner[0].shell`).
    pub fn step_name(&self) -> &str {
        match self.id.rfind('/') {
            Some(i) if self.session.is_some() => &self.id[i + 1..],
            _ => &self.id,
        }
    }
}

/// How a session's steps follow each other: a sequence of stages, each one step or parallel
/// branches (each branch itself a sequence).
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    Step(NodeIndex),
    Parallel(Vec<Vec<NodeIndex>>),
}

/// One source as one build uses it: the unit `-only` selects and `-parallel-builds` bounds.
#[derive(Clone, Debug)]
pub struct Session {
    /// The prefix of the session's node ids (Packer's build name, made unique).
    pub id: String,
    /// Packer's name for the build, matched by `-only` and `-except`: `build.type.name`.
    pub name: String,
    /// The name of the build block it belongs to, as Packer shows it.
    pub build: String,
    /// `type.name` of the source as used (after an inline rename).
    pub source: String,
    /// The builder type.
    pub builder: String,
    pub region: Option<String>,
    /// The steps in order.
    pub stages: Vec<Stage>,
    /// Steps that do not follow the sequence: error cleanup and cleanup.
    pub always: Vec<NodeIndex>,
    pub span: Span,
    /// The source's decoded configuration.
    pub config: Arc<SourceConfig>,
    /// `Ok` when the launch leaves a connection provisioners can use, else why not (the
    /// builder's plan says).
    pub connects: Result<(), String>,
}

impl Session {
    /// Every node of the session, in order.
    pub fn nodes(&self) -> Vec<NodeIndex> {
        let mut out = Vec::new();
        for stage in &self.stages {
            match stage {
                Stage::Step(n) => out.push(*n),
                Stage::Parallel(branches) => out.extend(branches.iter().flatten()),
            }
        }
        out.extend(&self.always);
        out
    }
}

/// A build block as planned: its name and sessions.
#[derive(Clone, Debug)]
pub struct PlannedBuild {
    /// The build's name as Packer shows it (`<unnamed build 0>` without one).
    pub name: String,
    /// Indexes into [`BuildGraph::sessions`], in template order.
    pub sessions: Vec<SessionId>,
}

/// What a release is called in the registry; `None` for a part known only during the build.
pub type ReleaseKey = ReleaseTarget;

/// One registry release and the publish steps that feed it.
#[derive(Clone, Debug)]
pub struct Release {
    pub key: ReleaseKey,
    /// The finalize node.
    pub node: NodeIndex,
    /// The publish nodes, in template order.
    pub publishers: Vec<NodeIndex>,
}

/// The graph under construction.
#[derive(Debug)]
pub struct Building;

/// The sealed graph: acyclic and immutable.
#[derive(Debug)]
pub struct Built;

/// The execution graph in state `S` ([`Building`] or [`Built`]).
#[derive(Debug)]
pub struct Graph<S> {
    dag: DiGraph<Node, ()>,
    sessions: Vec<Session>,
    builds: Vec<PlannedBuild>,
    data: Vec<NodeIndex>,
    releases: Vec<Release>,
    warnings: Vec<Diagnostic>,
    state: PhantomData<S>,
}

/// A compiled, sealed build graph.
pub type BuildGraph = Graph<Built>;

impl Graph<Building> {
    /// An empty graph.
    pub(crate) fn new() -> Self {
        Graph {
            dag: DiGraph::new(),
            sessions: Vec::new(),
            builds: Vec::new(),
            data: Vec::new(),
            releases: Vec::new(),
            warnings: Vec::new(),
            state: PhantomData,
        }
    }

    /// Add a step.
    pub(crate) fn add(&mut self, node: Node) -> NodeIndex {
        self.dag.add_node(node)
    }

    /// `from` must finish before `to` starts. The compiler adds each edge once.
    pub(crate) fn edge(&mut self, from: NodeIndex, to: NodeIndex) {
        self.dag.add_edge(from, to, ());
    }

    pub(crate) fn push_session(&mut self, session: Session) -> SessionId {
        self.sessions.push(session);
        self.sessions.len() - 1
    }

    pub(crate) fn session_mut(&mut self, id: SessionId) -> &mut Session {
        &mut self.sessions[id]
    }

    pub(crate) fn push_build(&mut self, build: PlannedBuild) {
        self.builds.push(build);
    }

    pub(crate) fn push_data(&mut self, node: NodeIndex) {
        self.data.push(node);
    }

    pub(crate) fn push_release(&mut self, release: Release) {
        self.releases.push(release);
    }

    pub(crate) fn warn(&mut self, warning: Diagnostic) {
        self.warnings.push(warning);
    }

    /// Freeze the graph, or name a node on a cycle (the compiler never makes one).
    pub(crate) fn seal(self) -> Result<BuildGraph, NodeIndex> {
        if let Err(cycle) = petgraph::algo::toposort(&self.dag, None) {
            return Err(cycle.node_id());
        }
        Ok(Graph {
            dag: self.dag,
            sessions: self.sessions,
            builds: self.builds,
            data: self.data,
            releases: self.releases,
            warnings: self.warnings,
            state: PhantomData,
        })
    }
}

impl Graph<Built> {
    /// The node at `index`.
    pub fn node(&self, index: NodeIndex) -> &Node {
        &self.dag[index]
    }

    /// Every node, in template order (data sources, then each build's sessions, then releases).
    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &Node)> {
        self.dag.node_indices().map(move |i| (i, &self.dag[i]))
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.dag.node_count() == 0
    }

    /// The node with this id.
    pub fn find(&self, id: &str) -> Option<NodeIndex> {
        self.dag.node_indices().find(|i| self.dag[*i].id == id)
    }

    /// Every edge `(from, to)`, sorted, so every view prints them in the same order.
    pub fn edges(&self) -> Vec<(NodeIndex, NodeIndex)> {
        let mut edges: Vec<(NodeIndex, NodeIndex)> = self
            .dag
            .raw_edges()
            .iter()
            .map(|e| (e.source(), e.target()))
            .collect();
        edges.sort_unstable();
        edges
    }

    /// The steps that must finish before `index`, sorted.
    pub fn predecessors(&self, index: NodeIndex) -> Vec<NodeIndex> {
        self.sorted_neighbors(index, Direction::Incoming)
    }

    /// The steps waiting for `index`, sorted.
    pub fn successors(&self, index: NodeIndex) -> Vec<NodeIndex> {
        self.sorted_neighbors(index, Direction::Outgoing)
    }

    fn sorted_neighbors(&self, index: NodeIndex, direction: Direction) -> Vec<NodeIndex> {
        let mut out: Vec<NodeIndex> = self.dag.neighbors_directed(index, direction).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Number of steps that must finish before `index`.
    pub fn in_degree(&self, index: NodeIndex) -> usize {
        self.dag
            .neighbors_directed(index, Direction::Incoming)
            .count()
    }

    /// The sessions, in template order.
    pub fn sessions(&self) -> &[Session] {
        &self.sessions
    }

    /// The builds that have at least one selected session, in template order.
    pub fn builds(&self) -> &[PlannedBuild] {
        &self.builds
    }

    /// The data source nodes, in template order.
    pub fn data(&self) -> &[NodeIndex] {
        &self.data
    }

    /// The registry releases, sorted by key.
    pub fn releases(&self) -> &[Release] {
        &self.releases
    }

    /// Warnings found while compiling (a `-only` pattern that matched nothing, ...).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The underlying petgraph graph, for algorithms.
    pub fn dag(&self) -> &DiGraph<Node, ()> {
        &self.dag
    }
}
