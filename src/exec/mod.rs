//! Running a build graph: the scheduler ([`scheduler`]) walks the graph and hands ready steps
//! to a visitor. The build visitor here runs each step through its plugin and prints Packer's
//! output; the dry run's visitor ([`dry_run`]) prints each step instead, so a dry run's waves
//! are the steps a run starts together.

pub mod dry_run;
pub mod scheduler;
mod state;
mod step;
pub mod ui;

pub use dry_run::{dry_run, DryRunOptions};
pub use scheduler::{Choice, Finished, Limits, OnError, StepFuture, Visitor};
pub use state::{RunState, SessionState};
pub use ui::{Level, Ui, UiOptions};

use crate::diagnostic::Diagnostic;
use crate::plan::{BuildGraph, NodeKind, SessionId, Work};
use crate::plugins::sdk::duration;
use crate::plugins::sdk::{Artifact, StepError};
use crate::plugins::Decoded;
use petgraph::graph::NodeIndex;
use serde_json::{json, Map};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The build visitor: runs each step and reports it on the UI and in events.
pub struct BuildVisitor {
    pub state: Arc<RunState>,
    /// An interrupt arrived: sessions that never started were cancelled, not blocked.
    interrupted: std::sync::atomic::AtomicBool,
}

impl BuildVisitor {
    pub fn new(state: Arc<RunState>) -> BuildVisitor {
        BuildVisitor {
            state,
            interrupted: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

impl Visitor for BuildVisitor {
    fn visit(self: Arc<Self>, node: NodeIndex, cancel: CancellationToken) -> StepFuture {
        Box::pin(async move { step::run(&self.state, node, &cancel).await })
    }

    fn started(&self, n: NodeIndex) {
        let node = self.state.graph.node(n);
        if let Some(s) = node.session {
            self.state
                .session(s)
                .started
                .get_or_insert_with(Instant::now);
        }
        self.state.set_activity(n, &node.summary);
        let name = if node.kind.policy() == crate::plan::RunPolicy::AfterSuccess {
            "step_start"
        } else {
            "cleanup"
        };
        self.state.ui.event(name, node_fields(&self.state, n));
    }

    fn ended(&self, n: NodeIndex, result: &Result<(), StepError>, elapsed: Duration) {
        let shared = &*self.state;
        shared.clear_activity(n);
        let node = shared.graph.node(n);
        let mut fields = node_fields(shared, n);
        fields.insert("duration_ms".into(), json!(elapsed.as_secs_f64() * 1000.0));
        match result {
            Ok(()) => shared.ui.event("step_finish", fields),
            Err(e) => {
                fields.insert("error".into(), json!(e.message()));
                fields.insert("cancelled".into(), json!(e.is_cancelled()));
                shared.ui.event("step_fail", fields);
                if let Some(s) = node.session {
                    let target = &shared.graph.sessions()[s].name;
                    if node.kind == NodeKind::Provisioner && !e.is_cancelled() {
                        shared.ui.line(target, Some(&node.id), Level::Say, "Provisioning step had errors: Running the cleanup provisioner, if present...");
                    } else if !e.is_cancelled() {
                        shared
                            .ui
                            .line(target, Some(&node.id), Level::Error, &e.message());
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
                        &format!("{}: {e}", node.id),
                    );
                }
            }
        }
    }

    fn skipped(&self, n: NodeIndex, reason: &str) {
        let mut fields = node_fields(&self.state, n);
        fields.insert("reason".into(), json!(reason));
        self.state.ui.event("step_skip", fields);
    }

    fn session_ended(&self, s: SessionId) {
        let shared = &*self.state;
        let name = shared.graph.sessions()[s].name.clone();
        // Failed, interrupted or done, the session is over: hang up. Dropping the last handle
        // also closes the connection should the runtime be gone.
        if let Some(connection) = shared.session(s).connection.take() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(connection.close());
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
                &format!("Build '{name}' errored after {took}: {e}"),
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
            let shared = &*self.state;
            let _turn = crate::plugins::sdk::Host::prompt(shared).lock().await;
            let node = shared.graph.node(n);
            let target = node
                .session
                .map(|s| shared.graph.sessions()[s].name.clone())
                .unwrap_or_default();
            shared.ui.line(
                &target,
                Some(&node.id),
                Level::Error,
                &format!("Step \"{}\" failed: {error}", node.step_name()),
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
        self.state.ui.plain("==> Interrupt received. Cancelling builds; cleanups still run (press Ctrl-C again to exit at once).");
        self.state.ui.event("interrupt", Map::new());
    }

    fn abandoned(&self, running: &[NodeIndex]) {
        let shared = &*self.state;
        shared.ui.status(None);
        shared.ui.plain("==> Second interrupt: exiting now. These steps were still running and may have left resources behind:");
        for n in running {
            let node = shared.graph.node(*n);
            shared
                .ui
                .plain(&format!("--> {}: {}", node.id, node.summary));
        }
        shared.ui.event("abandon", Map::new());
        // The run ends now: stop the commands its steps started rather than leave them behind.
        crate::plugins::local::process::abandon_all();
    }
}

fn node_fields(shared: &RunState, n: NodeIndex) -> Map<String, serde_json::Value> {
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
/// machine it then cannot provision. Each plugin says what it cannot do.
pub fn preflight(graph: &BuildGraph) -> Vec<Diagnostic> {
    let hint = "`kiln build -dry-run` shows what the build would do";
    let mut diags = Vec::new();
    let mut needs_connection: Vec<Diagnostic> = Vec::new();
    let mut refused = HashSet::new();
    let mut refuse = |span, what: String| {
        if refused.insert(what.clone()) {
            diags.push(Diagnostic::error(span, what).with_hint(hint));
        }
    };
    for (_, node) in graph.nodes() {
        let session = node.session.map(|s| &graph.sessions()[s]);
        let unsupported = match &node.work {
            Work::Data(d) => d.plugin.as_ref().and_then(|p| p.unsupported()),
            Work::Builder(_) if node.kind == NodeKind::Launch => {
                session.and_then(|s| s.config.builder.unsupported())
            }
            Work::Builder(_) | Work::Discard => None,
            Work::Provisioner(step) => match &step.decoded {
                Some(Decoded::Provisioner(p)) => {
                    let connects = session.map(|s| s.config.builder.plan(&s.config.body).connects);
                    match connects {
                        Some(Err(why)) if p.needs_connection() => {
                            needs_connection.push(
                                Diagnostic::error(
                                    node.span,
                                    format!("kiln cannot run the {} provisioner yet: it needs a communicator, and {why}", step.plugin),
                                )
                                .with_hint("connect with `communicator = \"ssh\"` (`ssh_host`, `ssh_username` and a password or key), or run the commands locally with `shell-local`; `kiln build -dry-run` shows what the build would do"),
                            );
                            None
                        }
                        _ => p.unsupported(),
                    }
                }
                _ => None,
            },
            Work::PostProcessor { step, .. } => match &step.decoded {
                Some(Decoded::PostProcessor(p)) => p.unsupported(),
                _ => None,
            },
            Work::Registry(_) | Work::Release(_) => {
                Some("kiln cannot publish to a registry yet".to_string())
            }
        };
        if let Some(what) = unsupported {
            refuse(node.span, what);
        }
    }
    // One diagnostic per provisioner block, however many builds use it.
    let mut seen = HashSet::new();
    needs_connection.retain(|d| seen.insert((d.span, d.message.clone())));
    diags.extend(needs_connection);
    diags
}

/// Run the build and print Packer's closing summary. Returns the exit code: 0 when every
/// build succeeded, 1 otherwise.
pub fn run(shared: Arc<RunState>, limits: &Limits) -> i32 {
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
    let visitor = Arc::new(BuildVisitor::new(shared.clone()));
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
    if finished.abandoned {
        return 1;
    }
    summary(&shared, &finished, started.elapsed())
}

/// Print the closing summary; returns the exit code.
fn summary(shared: &RunState, finished: &Finished, wall: Duration) -> i32 {
    let ui = &shared.ui;
    ui.plain(&format!(
        "\n==> Wait completed after {}",
        duration::human(wall)
    ));
    let sessions = shared.graph.sessions();
    let mut failed = Vec::new();
    for (s, info) in sessions.iter().enumerate() {
        if let Some(e) = &shared.session(s).error {
            failed.push((info.name.clone(), e.message()));
        }
    }
    for (n, node) in shared.graph.nodes() {
        if node.session.is_none() {
            if let Some(Err(e)) = &finished.results[n.index()] {
                failed.push((node.id.clone(), e.message()));
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
fn spawn_status(shared: Arc<RunState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let text = {
                let long = shared.long_activities(Duration::from_secs(2));
                long.first().map(|(n, t, what)| {
                    let node = shared.graph.node(*n);
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
