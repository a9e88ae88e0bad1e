//! The build visitor: runs each step through its plugin and reports it on the UI and in the
//! event stream, asks on the terminal for `-on-error=ask`, and closes a session's connection
//! when the session ends.

use super::events::{self, Event};
use super::scheduler::{Choice, StepFuture, Visitor};
use super::state::RunState;
use super::step;
use super::ui::Level;
use crate::plan::{NodeKind, SessionId};
use crate::plugins::sdk::duration;
use crate::plugins::sdk::StepError;
use petgraph::graph::NodeIndex;
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

impl BuildVisitor {
    /// `-debug`: say which step comes next and wait for Enter (or the end of input, or an
    /// interrupt), one prompt on the terminal at a time.
    async fn pause(&self, n: NodeIndex, cancel: &CancellationToken) {
        let shared = &*self.state;
        let _turn = crate::plugins::sdk::Host::prompt(shared).lock().await;
        let node = shared.graph.node(n);
        shared.ui.line(
            target(shared, n),
            None,
            Level::Say,
            &format!(
                "Pausing before step '{}'. Press enter to continue.",
                node.step_name()
            ),
        );
        let enter = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)
        });
        tokio::select! {
            _ = enter => {}
            () = cancel.cancelled() => {}
        }
    }
}

impl Visitor for BuildVisitor {
    fn visit(self: Arc<Self>, node: NodeIndex, cancel: CancellationToken) -> StepFuture {
        Box::pin(async move {
            // After an interrupt the cleanups run straight through: the user asked to stop, and
            // the cancelled pause's read of stdin may still be waiting for a line.
            let interrupted = self.interrupted.load(std::sync::atomic::Ordering::SeqCst);
            if self.state.debug && !interrupted {
                self.pause(node, &cancel).await;
            }
            step::run(&self.state, node, &cancel).await
        })
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
        tracing::debug!(step = %node.id, "step started");
        let step = step_of(&self.state, n);
        self.state.ui.event(
            &if node.kind.policy() == crate::plan::RunPolicy::AfterSuccess {
                Event::StepStart { step }
            } else {
                Event::Cleanup { step }
            },
        );
    }

    fn ended(&self, n: NodeIndex, result: &Result<(), StepError>, elapsed: Duration) {
        let shared = &*self.state;
        shared.clear_activity(n);
        let node = shared.graph.node(n);
        let step = step_of(shared, n);
        let duration_ms = events::millis(elapsed);
        match result {
            Ok(()) => tracing::debug!(step = %node.id, ?elapsed, "step finished"),
            Err(e) => tracing::debug!(step = %node.id, ?elapsed, error = %e, "step failed"),
        }
        match result {
            Ok(()) => shared.ui.event(&Event::StepFinish { step, duration_ms }),
            Err(e) => {
                shared.ui.event(&Event::StepFail {
                    step,
                    duration_ms,
                    error: e.message(),
                    cancelled: e.is_cancelled(),
                });
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
        tracing::debug!(step = %self.state.graph.node(n).id, reason, "step skipped");
        let step = step_of(&self.state, n);
        self.state.ui.event(&Event::StepSkip { step, reason });
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
        if let Some(said) = shared.registry.session_ended(s, error.as_ref(), &shared.ui) {
            shared.ui.line(&name, None, Level::Say, &said);
        }
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
        let succeeded = shared.session(s).error.is_none();
        shared.ui.event(&Event::BuildFinish {
            build: &name,
            duration_ms: events::millis(wall),
            succeeded,
        });
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
            let target = target(shared, n);
            shared.ui.line(
                target,
                Some(&node.id),
                Level::Error,
                &format!("Step \"{}\" failed: {error}", node.step_name()),
            );
            loop {
                shared.ui.line(
                    target,
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
        self.state.ui.event(&Event::Interrupt);
    }

    fn abandoned(&self, running: &[NodeIndex]) {
        let shared = &*self.state;
        shared.ui.progress(&[]);
        shared.ui.plain("==> Second interrupt: exiting now. These steps were still running and may have left resources behind:");
        for n in running {
            let node = shared.graph.node(*n);
            shared
                .ui
                .plain(&format!("--> {}: {}", node.id, node.summary));
        }
        shared.ui.event(&Event::Abandon);
        // The run ends now: stop the commands its steps started rather than leave them behind.
        crate::plugins::local::process::abandon_all();
    }
}

/// The build (session) step `n` belongs to, as output names it; empty for a data source.
fn target(shared: &RunState, n: NodeIndex) -> &str {
    shared
        .graph
        .node(n)
        .session
        .map_or("", |s| shared.graph.sessions()[s].name.as_str())
}

fn step_of(shared: &RunState, n: NodeIndex) -> events::Step<'_> {
    let node = shared.graph.node(n);
    events::Step {
        node: &node.id,
        kind: node.kind.name(),
        build: node
            .session
            .map(|s| shared.graph.sessions()[s].name.as_str()),
        plugin: node.plugin.as_deref(),
    }
}
