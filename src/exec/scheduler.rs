//! The scheduler: drives a [`Walker`] over the graph and hands every ready step to a
//! [`Visitor`] at once, within limits: `-parallel-builds` bounds how many sessions run at a
//! time, and steps that call a cloud API are bounded per region. A failed step skips its
//! descendants only; cleanups still run. An interrupt cancels running steps through their
//! cancellation token, starts nothing new but cleanups, and a second one ends the run at once.
//!
//! The runner only says *when* a step runs; the visitor decides what running means. A visitor
//! that finishes every step at once asks for lockstep: each round's steps all end before the
//! next round starts, so the rounds are the waves of steps a run starts together (the dry run).

use crate::plan::{BuildGraph, NodeKind, Outcome, RunPolicy, SessionId, Walker};
use crate::plugins::sdk::StepError;
use petgraph::graph::NodeIndex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A step's future.
pub type StepFuture = Pin<Box<dyn Future<Output = Result<(), StepError>> + Send>>;

/// What to do when a step fails (`-on-error`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// Run the cleanups (Packer's default).
    #[default]
    Cleanup,
    /// Leave everything as it is: no cleanup.
    Abort,
    /// Ask on the terminal: clean up, abort or retry the step.
    Ask,
    /// Run the error-cleanup provisioner, then stop without the other cleanups.
    RunCleanupProvisioner,
}

/// The user's answer to `-on-error=ask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Cleanup,
    Abort,
    Retry,
}

/// What runs the steps, and hears about them.
pub trait Visitor: Send + Sync + 'static {
    /// Run one step. The token fires when the step must stop.
    fn visit(self: Arc<Self>, node: NodeIndex, cancel: CancellationToken) -> StepFuture;
    /// A step starts.
    fn started(&self, _node: NodeIndex) {}
    /// A step ended (after its retries).
    fn ended(&self, _node: NodeIndex, _result: &Result<(), StepError>, _elapsed: Duration) {}
    /// A step will not run.
    fn skipped(&self, _node: NodeIndex, _reason: &str) {}
    /// Every step of a session has ended or been skipped.
    fn session_ended(&self, _session: SessionId) {}
    /// `-on-error=ask`: a step failed; what now? `None` when nobody can be asked.
    fn ask(
        self: Arc<Self>,
        _node: NodeIndex,
        _error: StepError,
    ) -> Pin<Box<dyn Future<Output = Option<Choice>> + Send>> {
        Box::pin(async { None })
    }
    /// The first interrupt arrived.
    fn interrupted(&self) {}
    /// The second interrupt arrived: the run ends now with these steps running (sorted).
    fn abandoned(&self, _running: &[NodeIndex]) {}
    /// Run in lockstep: start the next round only once every step of this one has ended.
    fn lockstep(&self) -> bool {
        false
    }
    /// In lockstep, every step of a round has ended.
    fn settled(&self) {}
}

/// Limits of a run.
#[derive(Clone, Debug)]
pub struct Limits {
    /// At most this many sessions at once; 0 means no limit.
    pub parallel_builds: usize,
    /// At most this many cloud API steps at once in one region.
    pub per_region: usize,
    pub on_error: OnError,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            parallel_builds: 0,
            per_region: 8,
            on_error: OnError::Cleanup,
        }
    }
}

/// How the run ended.
#[derive(Debug)]
pub struct Finished {
    /// Each step's result, `None` when it was skipped.
    pub results: Vec<Option<Result<(), StepError>>>,
    /// An interrupt stopped the run.
    pub interrupted: bool,
    /// A second interrupt ended the run with steps still running.
    pub abandoned: bool,
}

/// Run the graph. `interrupts` delivers SIGINT/SIGTERM: the first cancels, the second calls
/// [`Visitor::abandoned`] and ends the run at once.
pub async fn run<V: Visitor>(
    graph: &BuildGraph,
    visitor: Arc<V>,
    limits: &Limits,
    mut interrupts: mpsc::UnboundedReceiver<()>,
) -> Finished {
    let mut walker = Walker::new(graph);
    let mut results: Vec<Option<Result<(), StepError>>> = vec![None; graph.len()];
    let cancel = CancellationToken::new();
    let mut interrupted = false;
    let mut queue: VecDeque<NodeIndex> = VecDeque::new();
    let mut active: HashSet<SessionId> = HashSet::new();
    // Ready steps of sessions waiting for a slot, and the sessions in the order they came.
    let mut parked: HashMap<SessionId, Vec<NodeIndex>> = HashMap::new();
    let mut parked_order: VecDeque<SessionId> = VecDeque::new();
    let slots = |active: &HashSet<SessionId>| {
        limits.parallel_builds == 0 || active.len() < limits.parallel_builds
    };
    let mut aborted: HashSet<SessionId> = HashSet::new();
    let mut remaining: Vec<usize> = graph.sessions().iter().map(|s| s.nodes().len()).collect();
    let mut regions: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let mut running: HashMap<NodeIndex, Instant> = HashMap::new();
    let mut tasks: JoinSet<(NodeIndex, Result<(), StepError>, bool)> = JoinSet::new();
    let mut task_nodes: HashMap<tokio::task::Id, NodeIndex> = HashMap::new();
    let mut interrupts_open = true;

    loop {
        queue.extend(walker.take_ready());
        // Sessions that ended freed their slots: let waiting sessions in, first come first.
        // After an interrupt every waiting step is let through to be turned away.
        while slots(&active) || interrupted {
            let Some(s) = parked_order.pop_front() else {
                break;
            };
            if !interrupted {
                active.insert(s);
            }
            queue.extend(parked.remove(&s).unwrap_or_default());
        }
        while let Some(n) = queue.pop_front() {
            let node = graph.node(n);
            let cleanup = node.kind.policy() != RunPolicy::AfterSuccess;
            let refusal = match node.session {
                Some(s) if cleanup && aborted.contains(&s) => {
                    let keeps = limits.on_error == OnError::RunCleanupProvisioner
                        && node.kind == NodeKind::ErrorCleanup;
                    (!keeps).then_some("the build was aborted on error without cleanup")
                }
                _ if interrupted && !cleanup => Some("the build was cancelled"),
                _ => None,
            };
            if let Some(reason) = refusal {
                visitor.skipped(n, reason);
                let skipped = walker.finish(n, Outcome::Skipped);
                let ended = std::iter::once(n).chain(skipped.iter().copied());
                for s in ended.clone().skip(1) {
                    visitor.skipped(s, skip_reason(graph, s));
                }
                end_nodes(graph, &*visitor, ended, &mut remaining, &mut active);
                continue;
            }
            if let Some(s) = node.session {
                if !active.contains(&s) {
                    if !slots(&active) {
                        let steps = parked.entry(s).or_default();
                        if steps.is_empty() {
                            parked_order.push_back(s);
                        }
                        steps.push(n);
                        continue;
                    }
                    active.insert(s);
                }
            }
            let region = node.region.as_ref().filter(|_| node.api).map(|r| {
                regions
                    .entry(r.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(limits.per_region.max(1))))
                    .clone()
            });
            // Cleanups run to the end even after an interrupt; a second one exits instead.
            let token = if cleanup {
                CancellationToken::new()
            } else {
                cancel.child_token()
            };
            running.insert(n, Instant::now());
            visitor.started(n);
            let v = visitor.clone();
            let ask = limits.on_error == OnError::Ask;
            let handle = tasks.spawn(async move {
                let _permit = match region {
                    Some(sem) => sem.acquire_owned().await.ok(),
                    None => None,
                };
                loop {
                    let result = v.clone().visit(n, token.clone()).await;
                    match result {
                        Err(e) if ask && !e.is_cancelled() => {
                            match v.clone().ask(n, e.clone()).await {
                                Some(Choice::Retry) => continue,
                                Some(Choice::Abort) => return (n, Err(e), true),
                                Some(Choice::Cleanup) | None => return (n, Err(e), false),
                            }
                        }
                        other => return (n, other, false),
                    }
                }
            });
            task_nodes.insert(handle.id(), n);
        }

        if tasks.is_empty() {
            let Some(s) = parked_order.pop_front() else {
                break;
            };
            // Nothing runs yet sessions wait: active sessions hold slots while their next
            // steps wait on something outside them. Let one more in rather than stall.
            active.insert(s);
            queue.extend(parked.remove(&s).unwrap_or_default());
            continue;
        }

        tokio::select! {
            joined = tasks.join_next_with_id() => {
                // Take every step that has ended, not just the first; in lockstep, every step
                // of the round.
                let mut batch = vec![joined];
                if visitor.lockstep() {
                    while let Some(more) = tasks.join_next_with_id().await {
                        batch.push(Some(more));
                    }
                } else {
                    while let Some(more) = tasks.try_join_next_with_id() {
                        batch.push(Some(more));
                    }
                }
                for joined in batch.into_iter().flatten() {
                let (n, result, abort) = match joined {
                    Ok((id, r)) => {
                        task_nodes.remove(&id);
                        r
                    }
                    Err(e) => {
                        // A step panicked: that step failed.
                        let Some(n) = task_nodes.remove(&e.id()) else { continue };
                        (n, Err(StepError::new(format!("internal error: {e}"))), false)
                    }
                };
                let elapsed = running.remove(&n).map(|t| t.elapsed()).unwrap_or_default();
                visitor.ended(n, &result, elapsed);
                let node = graph.node(n);
                if let (Err(e), Some(s)) = (&result, node.session) {
                    let stops = abort
                        || (!e.is_cancelled()
                            && matches!(
                                limits.on_error,
                                OnError::Abort | OnError::RunCleanupProvisioner
                            ));
                    if stops {
                        aborted.insert(s);
                    }
                }
                let outcome = if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
                results[n.index()] = Some(result);
                let skipped = walker.finish(n, outcome);
                for s in &skipped {
                    visitor.skipped(*s, skip_reason(graph, *s));
                }
                let ended = std::iter::once(n).chain(skipped);
                end_nodes(graph, &*visitor, ended, &mut remaining, &mut active);
                }
                if visitor.lockstep() {
                    visitor.settled();
                }
            }
            signal = interrupts.recv(), if interrupts_open => {
                if signal.is_none() {
                    interrupts_open = false;
                    continue;
                }
                if interrupted {
                    let mut still: Vec<NodeIndex> = running.keys().copied().collect();
                    still.sort_unstable();
                    visitor.abandoned(&still);
                    return Finished {
                        results,
                        interrupted,
                        abandoned: true,
                    };
                }
                interrupted = true;
                visitor.interrupted();
                cancel.cancel();
            }
        }
    }
    Finished {
        results,
        interrupted,
        abandoned: false,
    }
}

/// Count ended steps against their sessions; a session whose steps have all ended frees its
/// slot.
fn end_nodes<V: Visitor>(
    graph: &BuildGraph,
    visitor: &V,
    nodes: impl Iterator<Item = NodeIndex>,
    remaining: &mut [usize],
    active: &mut HashSet<SessionId>,
) {
    for n in nodes {
        if let Some(s) = graph.node(n).session {
            remaining[s] -= 1;
            if remaining[s] == 0 {
                active.remove(&s);
                visitor.session_ended(s);
            }
        }
    }
}

/// Why the walk skipped a step.
fn skip_reason(graph: &BuildGraph, n: NodeIndex) -> &'static str {
    match graph.node(n).kind.policy() {
        RunPolicy::OnFailure => "no step failed",
        _ => "a step before it did not succeed",
    }
}
