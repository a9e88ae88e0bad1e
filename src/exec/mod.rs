//! Running a build graph: the scheduler ([`scheduler`]) walks the graph and hands ready steps
//! to a visitor. The build visitor here runs each step through its plugin and prints Packer's
//! output; the dry run's visitor ([`dry_run`]) prints each step instead, so a dry run's waves
//! are the steps a run starts together.

pub mod dry_run;
pub mod events;
mod preflight;
pub mod publish;
pub mod scheduler;
mod state;
mod step;
mod summary;
pub mod ui;
mod visitor;

pub use dry_run::{dry_run, DryRunOptions};
pub use preflight::preflight;
pub use scheduler::{Choice, Finished, Limits, OnError, StepFuture, Visitor};
pub use state::{RunState, SessionState};
pub use ui::{Level, Ui, UiOptions};
pub use visitor::BuildVisitor;

use events::Event;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    ui.event(&Event::RunStart {
        run_uuid: &shared.run_uuid,
        steps: shared.graph.len(),
        builds: shared.graph.sessions().len(),
    });
    let started = Instant::now();
    let visitor = Arc::new(BuildVisitor::new(shared.clone()));
    let finished = runtime.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        spawn_signal_handlers(tx);
        let ticker = shared
            .ui
            .shows_progress()
            .then(|| spawn_status(shared.clone()));
        let heartbeat = shared
            .registry
            .publishes()
            .then(|| spawn_heartbeat(shared.clone()));
        let finished = scheduler::run(&shared.graph, visitor, limits, rx).await;
        for task in ticker.into_iter().chain(heartbeat) {
            task.abort();
        }
        shared.ui.progress(&[]);
        finished
    });
    runtime.shutdown_background();
    retire_journal(&shared);
    if finished.abandoned {
        return 1;
    }
    let code = summary::summary(&shared, &finished, started.elapsed());
    shared.registry.closing(&shared.ui);
    if shared.ui.events_failed() {
        return code.max(1);
    }
    code
}

/// A run whose cloud resources are all deleted or kept as artifacts needs no journal any more.
fn retire_journal(shared: &RunState) {
    use crate::plugins::sdk::journal::Journal;
    // No journal folder (no home) means the run journaled nothing either.
    if let Ok(journal) = Journal::of(&shared.run_uuid) {
        if let Err(e) = journal.retire() {
            shared.ui.plain_error(&format!("warning: {e}"));
        }
    }
}

/// Keep the registry's builds RUNNING while their sessions run: a process that dies stops
/// beating, and a later run marks its builds FAILED.
fn spawn_heartbeat(shared: Arc<RunState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(shared.registry.heartbeat_every());
        tick.tick().await;
        loop {
            tick.tick().await;
            let s = shared.clone();
            let _ = tokio::task::spawn_blocking(move || s.registry.beat()).await;
        }
    })
}

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT become interrupts for the scheduler.
fn spawn_signal_handlers(tx: tokio::sync::mpsc::UnboundedSender<()>) {
    use tokio::signal::unix::{signal, SignalKind};
    // A closed terminal or SSH session (HUP) and QUIT stop the build the same way: cleanup
    // runs and commands get their grace period, never left orphaned.
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
    ] {
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

/// At most this many long-running steps get a line of their own; the rest share one more.
const PROGRESS_LINES: usize = 6;

/// On a terminal, redraw once a second which steps have run for a while and on what they wait:
/// a line per step, each cut to the terminal's width.
fn spawn_status(shared: Arc<RunState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let long = shared.long_activities(Duration::from_secs(2));
            let mut lines: Vec<String> = long
                .iter()
                .take(PROGRESS_LINES)
                .map(|(n, t, what)| {
                    let node = shared.graph.node(*n);
                    let line = format!("  … {} {}s: {what}", node.id, t.elapsed().as_secs());
                    ui::fit_terminal(&line)
                })
                .collect();
            if long.len() > PROGRESS_LINES {
                lines.push(format!("  … and {} more", long.len() - PROGRESS_LINES));
            }
            shared.ui.progress(&lines);
        }
    })
}
