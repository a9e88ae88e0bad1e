//! Running a build graph: the tokio scheduler ([`scheduler`]) walks the graph and the build
//! visitor here runs each step with kiln's local plugins, printing Packer's output.

mod artifact;
mod checksum;
pub mod duration;
mod manifest;
pub mod process;
mod remote;
pub mod scheduler;
mod shell_local;
mod ssh;
mod step;
pub mod ui;

pub use artifact::Artifact;
pub use scheduler::{Choice, Finished, Limits, OnError, StepFuture, Visitor};
pub use step::StepError;
pub use ui::{Level, Ui, UiOptions};

use crate::config::{BodyValue, StepBlock, Template};
use crate::diagnostic::Diagnostic;
use crate::plan::{BuildGraph, Node, NodeKind, Origin, SessionId};
use crate::source::SourceMap;
use crate::value::Value;
use petgraph::graph::NodeIndex;
use serde_json::{json, Map};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What a session (one source of one build) has produced so far.
#[derive(Debug, Default)]
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
    /// The connection to the machine (`communicator = "ssh"`), once launched.
    pub ssh: Option<Arc<ssh::Session>>,
}

/// Everything the steps of a run share.
pub struct Shared {
    pub template: Template,
    pub graph: BuildGraph,
    pub sources: SourceMap,
    pub ui: Ui,
    /// `PACKER_RUN_UUID`: one per run.
    pub run_uuid: String,
    sessions: Vec<Mutex<SessionState>>,
    /// What each running step is waiting on, for the status line.
    activity: Mutex<HashMap<NodeIndex, (Instant, String)>>,
    /// One prompt on the terminal at a time.
    pub prompt: tokio::sync::Mutex<()>,
    /// Files several steps write (a shared manifest) are written one step at a time.
    files: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
}

impl Shared {
    pub fn new(template: Template, graph: BuildGraph, sources: SourceMap, ui: Ui) -> Shared {
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
        Shared {
            template,
            graph,
            sources,
            ui,
            run_uuid: uuid::Uuid::new_v4().to_string(),
            sessions,
            activity: Mutex::new(HashMap::new()),
            prompt: tokio::sync::Mutex::new(()),
            files: Mutex::new(HashMap::new()),
        }
    }

    /// A session's state.
    pub fn session(&self, s: SessionId) -> MutexGuard<'_, SessionState> {
        self.sessions[s].lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_activity(&self, node: NodeIndex, text: &str) {
        let mut a = self.activity.lock().unwrap_or_else(|e| e.into_inner());
        let entry = a
            .entry(node)
            .or_insert_with(|| (Instant::now(), String::new()));
        entry.1 = text.to_string();
    }

    fn file_lock(&self, path: &Path) -> Arc<tokio::sync::Mutex<()>> {
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files.entry(key).or_default().clone()
    }

    /// Diagnostics as plain text, for a step's error.
    fn render(&self, diags: &[Diagnostic]) -> String {
        crate::diagnostic::render_all(diags, &self.sources, false)
            .trim_end()
            .to_string()
    }

    /// The evaluation context of a session as its steps run: `build.*` holds the generated
    /// data known by now.
    fn context(&self, s: SessionId) -> crate::eval::Context {
        let info = &self.graph.sessions()[s];
        let build = &self.template.builds[info.build];
        let generated = self.session(s).generated.clone();
        self.template
            .running_context(build, &build.sources[info.source_use], &generated)
    }

    /// The source's configuration for a session.
    fn source_config(&self, s: SessionId) -> Result<BodyValue, StepError> {
        let info = &self.graph.sessions()[s];
        let build = &self.template.builds[info.build];
        let use_ = &build.sources[info.source_use];
        let ctx = self.context(s);
        let generated = self.session(s).generated.clone();
        let mut diags = Vec::new();
        let config = self
            .template
            .source_config(build, use_, &ctx, &generated, &mut diags);
        match config {
            Some(c) if !crate::diagnostic::has_errors(&diags) => Ok(c),
            _ => Err(StepError::new(self.render(&diags))),
        }
    }

    /// The provisioner or post-processor block a node runs.
    fn step_block(&self, node: &Node) -> Option<&StepBlock> {
        let info = &self.graph.sessions()[node.session?];
        let build = self.template.builds.get(info.build)?;
        match node.origin {
            Origin::Provisioner(i) => build.provisioners.get(i),
            Origin::ErrorCleanup => build.error_cleanup.as_ref(),
            Origin::PostProcessor { chain, position } => {
                build.post_processors.get(chain)?.get(position)
            }
            _ => None,
        }
    }

    /// A step's configuration, evaluated now with the build's generated data.
    fn step_config(&self, node: &Node, step: &StepBlock) -> Result<BodyValue, StepError> {
        let s = node
            .session
            .ok_or_else(|| StepError::new("the step belongs to no build"))?;
        let info = &self.graph.sessions()[s];
        let build = &self.template.builds[info.build];
        let ctx = self.context(s);
        let generated = self.session(s).generated.clone();
        let legacy = self
            .template
            .legacy_context(&ctx, build, &info.builder, &generated);
        let mut diags = Vec::new();
        let config = self
            .template
            .step_config(step, &ctx, &info.source, Some(&legacy), &mut diags);
        if crate::diagnostic::has_errors(&diags) {
            return Err(StepError::new(self.render(&diags)));
        }
        Ok(config)
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

/// The build visitor: runs each step and reports it on the UI and in events.
pub struct Builder {
    pub shared: Arc<Shared>,
    /// An interrupt arrived: sessions that never started were cancelled, not blocked.
    interrupted: std::sync::atomic::AtomicBool,
}

impl Builder {
    pub fn new(shared: Arc<Shared>) -> Builder {
        Builder {
            shared,
            interrupted: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Visitor for Builder {
    fn visit(self: Arc<Self>, node: NodeIndex, cancel: CancellationToken) -> StepFuture {
        Box::pin(async move { step::run(&self.shared, node, &cancel).await })
    }

    fn started(&self, n: NodeIndex) {
        let node = self.shared.graph.node(n);
        if let Some(s) = node.session {
            self.shared
                .session(s)
                .started
                .get_or_insert_with(Instant::now);
        }
        self.shared.set_activity(n, &node.summary);
        let name = if node.kind.policy() == crate::plan::RunPolicy::AfterSuccess {
            "step_start"
        } else {
            "cleanup"
        };
        self.shared.ui.event(name, node_fields(&self.shared, n));
    }

    fn ended(&self, n: NodeIndex, result: &Result<(), StepError>, elapsed: Duration) {
        let shared = &self.shared;
        shared
            .activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&n);
        let node = shared.graph.node(n);
        let mut fields = node_fields(shared, n);
        fields.insert("duration_ms".into(), json!(elapsed.as_secs_f64() * 1000.0));
        match result {
            Ok(()) => shared.ui.event("step_finish", fields),
            Err(e) => {
                fields.insert("error".into(), json!(e.message));
                fields.insert("cancelled".into(), json!(e.cancelled));
                shared.ui.event("step_fail", fields);
                if let Some(s) = node.session {
                    let target = &shared.graph.sessions()[s].name;
                    if node.kind == NodeKind::Provisioner && !e.cancelled {
                        shared.ui.line(target, Some(&node.id), Level::Say, "Provisioning step had errors: Running the cleanup provisioner, if present...");
                    } else if !e.cancelled {
                        shared
                            .ui
                            .line(target, Some(&node.id), Level::Error, &e.message);
                    }
                    let mut state = shared.session(s);
                    // The first failure is the build's; a cleanup failing later is reported
                    // but does not hide it.
                    if state.error.is_none() {
                        state.error = Some(e.clone());
                    }
                } else {
                    shared.ui.line(
                        "",
                        Some(&node.id),
                        Level::Error,
                        &format!("{}: {}", node.id, e.message),
                    );
                }
            }
        }
    }

    fn skipped(&self, n: NodeIndex, reason: &str) {
        let mut fields = node_fields(&self.shared, n);
        fields.insert("reason".into(), json!(reason));
        self.shared.ui.event("step_skip", fields);
    }

    fn session_ended(&self, s: SessionId) {
        let shared = &self.shared;
        let name = shared.graph.sessions()[s].name.clone();
        // Failed, interrupted or done, the session is over: hang up. Dropping the last handle
        // also closes the connection should the runtime be gone.
        if let Some(connection) = shared.session(s).ssh.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { connection.close().await });
            }
        }
        let (wall, error) = {
            let mut state = shared.session(s);
            let wall = state.started.map(|t| t.elapsed()).unwrap_or_default();
            if state.started.is_none() && state.error.is_none() {
                // Every step was skipped: the build never ran.
                state.error = Some(
                    if self.interrupted.load(std::sync::atomic::Ordering::SeqCst) {
                        StepError::cancelled()
                    } else {
                        StepError::new("the build did not run: a step it depends on failed")
                    },
                );
            }
            (wall, state.error.clone())
        };
        let took = duration::human(wall);
        match error {
            None => shared.ui.about(
                &name,
                Level::Say,
                &format!("Build '{name}' finished after {took}."),
            ),
            Some(e) => shared.ui.about(
                &name,
                Level::Error,
                &format!("Build '{name}' errored after {took}: {}", e.message),
            ),
        }
        let mut fields = Map::new();
        fields.insert("build".into(), json!(name));
        fields.insert("duration_ms".into(), json!(wall.as_secs_f64() * 1000.0));
        fields.insert("succeeded".into(), json!(shared.session(s).error.is_none()));
        shared.ui.event("build_finish", fields);
    }

    fn ask(
        self: Arc<Self>,
        n: NodeIndex,
        error: StepError,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Option<Choice>> + Send>> {
        Box::pin(async move {
            use std::io::IsTerminal;
            if !std::io::stdin().is_terminal() {
                return None;
            }
            let shared = &self.shared;
            let _turn = shared.prompt.lock().await;
            let node = shared.graph.node(n);
            let target = node
                .session
                .map(|s| shared.graph.sessions()[s].name.clone())
                .unwrap_or_default();
            shared.ui.line(
                &target,
                Some(&node.id),
                Level::Error,
                &format!("Step \"{}\" failed: {}", node.step_name(), error.message),
            );
            loop {
                shared.ui.line(
                    &target,
                    Some(&node.id),
                    Level::Say,
                    "[c] Clean up and exit, [a] abort without cleanup, or [r] retry step (build may fail even if retry succeeds)?",
                );
                let answer = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map(|_| line)
                })
                .await
                .ok()?
                .ok()?;
                match answer.trim() {
                    "c" | "C" => return Some(Choice::Cleanup),
                    "a" | "A" => return Some(Choice::Abort),
                    "r" | "R" => return Some(Choice::Retry),
                    "" => return Some(Choice::Cleanup),
                    _ => continue,
                }
            }
        })
    }

    fn interrupted(&self) {
        self.interrupted
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.shared.ui.plain("==> Interrupt received. Cancelling builds; cleanups still run (press Ctrl-C again to exit at once).");
        self.shared.ui.event("interrupt", Map::new());
    }

    fn abandoned(&self, running: &[NodeIndex]) {
        let shared = &self.shared;
        shared.ui.status(None);
        shared.ui.plain("==> Second interrupt: exiting now. These steps were still running and may have left resources behind:");
        for n in running {
            let node = shared.graph.node(*n);
            shared
                .ui
                .plain(&format!("--> {}: {}", node.id, node.summary));
        }
        shared.ui.event("abandon", Map::new());
    }
}

fn node_fields(shared: &Shared, n: NodeIndex) -> Map<String, serde_json::Value> {
    let node = shared.graph.node(n);
    let mut fields = Map::new();
    fields.insert("node".into(), json!(node.id));
    fields.insert("kind".into(), json!(node.kind.name()));
    if let Some(s) = node.session {
        fields.insert("build".into(), json!(shared.graph.sessions()[s].name));
    }
    if let Some(p) = &node.plugin {
        fields.insert("plugin".into(), json!(p));
    }
    fields
}

/// Steps kiln cannot run yet, as diagnostics, before anything starts: a run never launches a
/// machine it then cannot provision.
pub fn preflight(template: &Template, graph: &BuildGraph) -> Vec<Diagnostic> {
    let hint = "`kiln build -dry-run` shows what the build would do";
    let mut diags = Vec::new();
    let mut needs_communicator: Vec<Diagnostic> = Vec::new();
    let mut refused = std::collections::HashSet::new();
    let mut refuse = |node: &Node, what: String| {
        if refused.insert(what.clone()) {
            diags.push(Diagnostic::error(node.span, what).with_hint(hint));
        }
    };
    for (_, node) in graph.nodes() {
        let plugin = node.plugin.as_deref().unwrap_or("");
        match node.kind {
            NodeKind::Data => refuse(
                node,
                format!("kiln cannot read the {plugin} data source during a build yet"),
            ),
            NodeKind::Launch => match plugin {
                "file" => {}
                "null" => {
                    if let Some(s) = node.session {
                        if !matches!(
                            communicator(template, graph, s).as_deref(),
                            Some("ssh" | "none")
                        ) {
                            refuse(node, "kiln runs the null builder only with `communicator = \"ssh\"` or `\"none\"` so far".into());
                        }
                    }
                }
                other => refuse(node, format!("kiln cannot run the {other} builder yet")),
            },
            NodeKind::Provisioner | NodeKind::ErrorCleanup => match plugin {
                "shell-local" | "breakpoint" => {}
                "shell" | "file" => {
                    let comm = node.session.and_then(|s| communicator(template, graph, s));
                    let builder = node.session.map(|s| graph.sessions()[s].builder.as_str());
                    if builder != Some("null") || comm.as_deref() != Some("ssh") {
                        let why = match comm.as_deref() {
                            Some("none") => "the build's communicator is `none`".to_string(),
                            _ => "kiln connects over SSH only from the null builder so far"
                                .to_string(),
                        };
                        needs_communicator.push(
                            Diagnostic::error(
                                node.span,
                                format!("kiln cannot run the {plugin} provisioner yet: it needs a communicator, and {why}"),
                            )
                            .with_hint("connect with `communicator = \"ssh\"` (`ssh_host`, `ssh_username` and a password or key), or run the commands locally with `shell-local`; `kiln build -dry-run` shows what the build would do"),
                        );
                    }
                }
                _ => refuse(
                    node,
                    format!(
                        "kiln cannot run the {plugin} provisioner yet: it needs a communicator"
                    ),
                ),
            },
            NodeKind::PostProcessor => {
                if !matches!(plugin, "manifest" | "checksum" | "shell-local") {
                    refuse(
                        node,
                        format!("kiln cannot run the {plugin} post-processor yet"),
                    );
                }
            }
            NodeKind::Publish | NodeKind::Finalize => {
                refuse(node, "kiln cannot publish to a registry yet".into())
            }
            NodeKind::Capture | NodeKind::Copy | NodeKind::Discard | NodeKind::Cleanup => {}
        }
    }
    // One diagnostic per provisioner block, however many builds use it.
    let mut seen = std::collections::HashSet::new();
    needs_communicator.retain(|d| seen.insert((d.span, d.message.clone())));
    diags.extend(needs_communicator);
    diags
}

/// The communicator session `s` connects with (`ssh` unless the source says otherwise), None
/// when its configuration cannot be evaluated before the run.
fn communicator(template: &Template, graph: &BuildGraph, s: SessionId) -> Option<String> {
    let info = &graph.sessions()[s];
    let build = &template.builds[info.build];
    let use_ = &build.sources[info.source_use];
    let ctx = template.source_context(build, use_);
    let mut d = Vec::new();
    let config = template.source_config(build, use_, &ctx, &BTreeMap::new(), &mut d)?;
    match config.attr("communicator").map(|a| &a.value) {
        None => Some("ssh".into()),
        Some(Value::String(s)) if s.is_empty() => Some("ssh".into()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    }
}

/// Run the build and print Packer's closing summary. Returns the exit code: 0 when every
/// build succeeded, 1 otherwise.
pub fn run(shared: Arc<Shared>, limits: &Limits) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the scheduler: {e}");
            return 1;
        }
    };
    let ui = &shared.ui;
    if ui.colored() {
        for s in shared.graph.sessions() {
            ui.banner(&s.name);
        }
        ui.plain("");
    }
    let mut run_fields = Map::new();
    run_fields.insert("run_uuid".into(), json!(shared.run_uuid));
    run_fields.insert("steps".into(), json!(shared.graph.len()));
    run_fields.insert("builds".into(), json!(shared.graph.sessions().len()));
    ui.event("run_start", run_fields);
    let started = Instant::now();
    let visitor = Arc::new(Builder::new(shared.clone()));
    let finished = runtime.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        spawn_signal_handlers(tx);
        let ticker = shared
            .ui
            .shows_status()
            .then(|| spawn_status(shared.clone()));
        let finished = scheduler::run(&shared.graph, visitor, limits, rx).await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        shared.ui.status(None);
        finished
    });
    runtime.shutdown_background();
    summary(&shared, &finished, started.elapsed())
}

/// Print the closing summary; returns the exit code.
fn summary(shared: &Shared, finished: &Finished, wall: Duration) -> i32 {
    let ui = &shared.ui;
    ui.plain(&format!(
        "\n==> Wait completed after {}",
        duration::human(wall)
    ));
    let sessions = shared.graph.sessions();
    let mut failed = Vec::new();
    for (s, info) in sessions.iter().enumerate() {
        if let Some(e) = &shared.session(s).error {
            failed.push((info.name.clone(), e.message.clone()));
        }
    }
    for (n, node) in shared.graph.nodes() {
        if node.session.is_none() {
            if let Some(Err(e)) = &finished.results[n.index()] {
                failed.push((node.id.clone(), e.message.clone()));
            }
        }
    }
    if !failed.is_empty() {
        ui.machine("", "error-count", &[&failed.len().to_string()]);
        ui.plain_error("\n==> Some builds didn't complete successfully and had errors:");
        for (name, message) in &failed {
            ui.machine(name, "error", &[message]);
            ui.plain_error(&format!("--> {name}: {message}"));
        }
    }
    let artifacts: Vec<(usize, Vec<Artifact>)> = sessions
        .iter()
        .enumerate()
        .filter(|(s, _)| shared.session(*s).error.is_none())
        .map(|(s, _)| (s, shared.artifacts(s)))
        .filter(|(_, a)| !a.is_empty())
        .collect();
    if artifacts.is_empty() {
        ui.plain("\n==> Builds finished but no artifacts were created.");
    } else {
        ui.plain("\n==> Builds finished. The artifacts of successful builds are:");
    }
    for (s, artifacts) in artifacts {
        let info = &sessions[s];
        ui.machine(
            &info.name,
            "artifact-count",
            &[&artifacts.len().to_string()],
        );
        for (i, a) in artifacts.iter().enumerate() {
            let i = i.to_string();
            ui.machine(&info.name, "artifact", &[&i, "builder-id", &a.builder_id]);
            ui.machine(&info.name, "artifact", &[&i, "id", &a.id]);
            ui.machine(&info.name, "artifact", &[&i, "string", &a.description]);
            let files: Vec<String> = a.files.iter().map(|f| f.display().to_string()).collect();
            ui.machine(
                &info.name,
                "artifact",
                &[&i, "files-count", &files.len().to_string()],
            );
            for (j, f) in files.iter().enumerate() {
                ui.machine(&info.name, "artifact", &[&i, "file", &j.to_string(), f]);
            }
            ui.machine(&info.name, "artifact", &[&i, "end"]);
            ui.plain(&format!("--> {}: {}", info.name, a.description));
        }
    }
    if finished.interrupted {
        ui.plain("Cleanly cancelled builds after being interrupted.");
    }
    let mut fields = Map::new();
    fields.insert("duration_ms".into(), json!(wall.as_secs_f64() * 1000.0));
    fields.insert("failed".into(), json!(failed.len()));
    fields.insert("interrupted".into(), json!(finished.interrupted));
    ui.event("run_finish", fields);
    if failed.is_empty() && !finished.interrupted {
        0
    } else {
        1
    }
}

/// SIGINT and SIGTERM become interrupts for the scheduler.
fn spawn_signal_handlers(tx: tokio::sync::mpsc::UnboundedSender<()>) {
    use tokio::signal::unix::{signal, SignalKind};
    for kind in [SignalKind::interrupt(), SignalKind::terminate()] {
        let tx = tx.clone();
        if let Ok(mut stream) = signal(kind) {
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if tx.send(()).is_err() {
                        break;
                    }
                }
            });
        }
    }
}

/// On a terminal, redraw once a second which steps have run for a while and on what they wait.
fn spawn_status(shared: Arc<Shared>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let text = {
                let activity = shared.activity.lock().unwrap_or_else(|e| e.into_inner());
                let mut long: Vec<(&NodeIndex, &(Instant, String))> = activity
                    .iter()
                    .filter(|(_, (t, _))| t.elapsed() >= Duration::from_secs(2))
                    .collect();
                long.sort_by_key(|(_, (t, _))| *t);
                long.first().map(|(n, (t, what))| {
                    let node = shared.graph.node(**n);
                    let more = if long.len() > 1 {
                        format!(" (+{} more)", long.len() - 1)
                    } else {
                        String::new()
                    };
                    let line = format!("  … {} {}s: {what}{more}", node.id, t.elapsed().as_secs());
                    line.chars().take(120).collect::<String>()
                })
            };
            shared.ui.status(text);
        }
    })
}
