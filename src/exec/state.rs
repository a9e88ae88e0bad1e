//! The run's state: what every step shares (the graph, the output, the source map for
//! rendering errors) and what each session has produced so far. It is the plugins' [`Host`].

use super::publish::Registry;
use super::ui::Ui;
use crate::body::legacy::LegacyContext;
use crate::diagnostic::Diagnostic;
use crate::plan::{BuildGraph, SessionId};
use crate::plugins::sdk::{Artifact, Connection, Host, Level, Publication, StepError, StepInfo};
use crate::registry::model::ParentRef;
use crate::registry::Store;
use crate::source::SourceMap;
use crate::value::Map;
use petgraph::graph::NodeIndex;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// What a session (one source of one build) has produced so far.
#[derive(Default)]
pub struct SessionState {
    /// The build's generated data (`build.ID`, `build.Host`, ...), known once it launched.
    pub generated: BTreeMap<String, String>,
    /// The builder's artifact.
    pub builder_artifact: Option<Artifact>,
    /// False once a discard step deleted the builder's artifact.
    pub keep_builder_artifact: bool,
    /// The artifacts of each post-processor chain: the intermediates it keeps, then its
    /// current one.
    pub chains: BTreeMap<usize, Vec<Artifact>>,
    /// When its first step started.
    pub started: Option<Instant>,
    /// The first error, or that the build was cancelled.
    pub error: Option<StepError>,
    /// The connection to the machine, once launched.
    pub connection: Option<Arc<dyn Connection>>,
    /// The builder decoded again with the data sources' results, for a source that reads them.
    pub builder: Option<Arc<dyn crate::plugins::sdk::Builder>>,
}

/// Everything the steps of a run share.
pub struct RunState {
    pub graph: BuildGraph,
    pub sources: SourceMap,
    pub ui: Ui,
    /// `PACKER_RUN_UUID`: one per run.
    pub run_uuid: String,
    sessions: Vec<Mutex<SessionState>>,
    /// The data sources' results, by type then name (`data.TYPE.NAME`).
    data: Mutex<BTreeMap<String, Map>>,
    /// What each running step is waiting on, for the status line.
    activity: Mutex<HashMap<NodeIndex, (Instant, String)>>,
    /// One prompt on the terminal at a time.
    prompt: tokio::sync::Mutex<()>,
    /// Files several steps write (a shared manifest) are written one step at a time.
    files: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
    /// The run's side of the registry: the releases it publishes to and their builds.
    pub registry: Registry,
    /// `-debug`: pause before each step until Enter is pressed.
    pub debug: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl RunState {
    pub fn new(graph: BuildGraph, sources: SourceMap, ui: Ui) -> RunState {
        let sessions = graph
            .sessions()
            .iter()
            .map(|_| {
                Mutex::new(SessionState {
                    keep_builder_artifact: true,
                    ..SessionState::default()
                })
            })
            .collect();
        RunState {
            graph,
            sources,
            ui,
            run_uuid: uuid::Uuid::new_v4().to_string(),
            sessions,
            data: Mutex::new(BTreeMap::new()),
            activity: Mutex::new(HashMap::new()),
            prompt: tokio::sync::Mutex::new(()),
            files: Mutex::new(HashMap::new()),
            registry: Registry::new(),
            debug: false,
        }
    }

    /// A session's state.
    pub fn session(&self, s: SessionId) -> MutexGuard<'_, SessionState> {
        lock(&self.sessions[s])
    }

    /// The data sources' results so far.
    pub fn data(&self) -> BTreeMap<String, Map> {
        lock(&self.data).clone()
    }

    /// A data source's result, for the steps after it.
    pub fn set_data(&self, kind: &str, name: &str, value: crate::value::Value) {
        lock(&self.data)
            .entry(kind.to_string())
            .or_default()
            .insert(name.to_string(), value);
    }

    /// A step starts or says what it waits on.
    pub fn set_activity(&self, node: NodeIndex, text: &str) {
        let mut a = lock(&self.activity);
        let entry = a
            .entry(node)
            .or_insert_with(|| (Instant::now(), String::new()));
        entry.1 = text.to_string();
    }

    /// A step ended.
    pub fn clear_activity(&self, node: NodeIndex) {
        lock(&self.activity).remove(&node);
    }

    /// The running steps waiting for longer than a moment, oldest first: (node, since, what).
    pub fn long_activities(
        &self,
        at_least: std::time::Duration,
    ) -> Vec<(NodeIndex, Instant, String)> {
        let activity = lock(&self.activity);
        let mut long: Vec<(NodeIndex, Instant, String)> = activity
            .iter()
            .filter(|(_, (t, _))| t.elapsed() >= at_least)
            .map(|(n, (t, what))| (*n, *t, what.clone()))
            .collect();
        long.sort_by_key(|(n, t, _)| (*t, *n));
        long
    }

    /// A configuration error found while binding a step, as the step's error.
    pub fn config_error(&self, diagnostics: Vec<Diagnostic>) -> StepError {
        let rendered = crate::diagnostic::render_all(&diagnostics, &self.sources, false)
            .trim_end()
            .to_string();
        StepError::Config {
            diagnostics,
            rendered,
        }
    }

    /// The artifacts a session leaves, in Packer's order: each chain's kept intermediates and
    /// last artifact, then the builder's unless a discard step deleted it.
    pub fn artifacts(&self, s: SessionId) -> Vec<Artifact> {
        let state = self.session(s);
        let mut out: Vec<Artifact> = state.chains.values().flatten().cloned().collect();
        if let Some(a) = &state.builder_artifact {
            if state.keep_builder_artifact {
                out.push(a.clone());
            }
        }
        out
    }
}

impl Host for RunState {
    fn line(&self, step: &StepInfo, level: Level, text: &str) {
        self.ui.line(&step.target, Some(&step.id), level, text);
    }

    fn activity(&self, step: &StepInfo, text: &str) {
        self.set_activity(NodeIndex::new(step.index), text);
    }

    fn add_secret(&self, secret: &str) {
        self.ui.add_secret(secret);
    }

    fn run_uuid(&self) -> &str {
        &self.run_uuid
    }

    fn generated(&self, session: usize) -> BTreeMap<String, String> {
        self.session(session).generated.clone()
    }

    fn launched(&self, session: usize, generated: BTreeMap<String, String>, artifact: Artifact) {
        let mut state = self.session(session);
        state.generated = generated;
        state.builder_artifact = Some(artifact);
    }

    fn connection(&self, session: usize) -> Option<Arc<dyn Connection>> {
        self.session(session).connection.clone()
    }

    fn connected(&self, session: usize, connection: Arc<dyn Connection>) {
        self.session(session).connection = Some(connection);
    }

    fn prompt(&self) -> &tokio::sync::Mutex<()> {
        &self.prompt
    }

    fn file_lock(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        lock(&self.files).entry(key).or_default().clone()
    }

    fn publish<'a>(
        &'a self,
        step: &'a StepInfo,
        publication: Publication,
    ) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + 'a>> {
        Box::pin(async move {
            for line in self.registry.publish(self, step, publication).await? {
                self.line(step, Level::Say, &line);
            }
            Ok(())
        })
    }

    fn registry(&self) -> Result<Arc<dyn Store>, StepError> {
        self.registry.store()
    }

    fn built_from(
        &self,
        parent: ParentRef,
    ) -> Pin<Box<dyn Future<Output = Result<(), StepError>> + Send + '_>> {
        Box::pin(self.registry.built_from(parent))
    }

    fn legacy(&self, session: Option<usize>) -> LegacyContext {
        let Some(s) = session else {
            return LegacyContext::default();
        };
        LegacyContext {
            build: self.session(s).generated.clone(),
            ..self.graph.sessions()[s].config.legacy.clone()
        }
    }
}
