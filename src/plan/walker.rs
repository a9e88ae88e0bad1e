//! Walking a build graph: the walker only says *when* a step may run; whoever drives it (the
//! scheduler, or the dry run) decides what running means. A failed step skips its
//! descendants, except cleanup steps, which run once everything before them has ended.

use super::graph::{BuildGraph, RunPolicy};
use petgraph::graph::NodeIndex;
use petgraph::Direction;
use std::collections::BTreeSet;

/// How a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed,
    /// Not run after all (a cleanup the user chose to skip, a step stopped before it began).
    Skipped,
}

/// Where a step is in the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for a predecessor.
    Pending,
    /// May run now.
    Ready,
    /// Handed out by [`Walker::take_ready`], not finished yet.
    Running,
    Succeeded,
    Failed,
    /// Will not run: a predecessor failed (or, for an error cleanup, none did).
    Skipped,
}

/// The walk's state: which steps are ready, running, done or skipped.
#[derive(Debug)]
pub struct Walker<'g> {
    graph: &'g BuildGraph,
    /// Predecessors that have not ended yet.
    pending: Vec<usize>,
    /// A predecessor ended without succeeding.
    blocked: Vec<bool>,
    /// A predecessor failed.
    failed: Vec<bool>,
    state: Vec<State>,
    ready: BTreeSet<NodeIndex>,
    unfinished: usize,
}

impl<'g> Walker<'g> {
    /// Start a walk: the steps with no predecessor are ready.
    pub fn new(graph: &'g BuildGraph) -> Walker<'g> {
        let n = graph.len();
        let mut walker = Walker {
            graph,
            pending: vec![0; n],
            blocked: vec![false; n],
            failed: vec![false; n],
            state: vec![State::Pending; n],
            ready: BTreeSet::new(),
            unfinished: n,
        };
        for (i, _) in graph.nodes() {
            walker.pending[i.index()] = graph.in_degree(i);
            if walker.pending[i.index()] == 0 {
                walker.state[i.index()] = State::Ready;
                walker.ready.insert(i);
            }
        }
        walker
    }

    /// Every step that may run now, in graph order; they are marked running.
    pub fn take_ready(&mut self) -> Vec<NodeIndex> {
        let ready: Vec<NodeIndex> = std::mem::take(&mut self.ready).into_iter().collect();
        for n in &ready {
            self.state[n.index()] = State::Running;
        }
        ready
    }

    /// Record how a running step ended; its successors may become ready or skipped. Returns
    /// the steps skipped because of it.
    pub fn finish(&mut self, node: NodeIndex, outcome: Outcome) -> Vec<NodeIndex> {
        let mut skipped = Vec::new();
        if self.state.get(node.index()) != Some(&State::Running) {
            return skipped;
        }
        let state = match outcome {
            Outcome::Succeeded => State::Succeeded,
            Outcome::Failed => State::Failed,
            Outcome::Skipped => State::Skipped,
        };
        let mut stack = vec![(node, state)];
        while let Some((n, state)) = stack.pop() {
            self.state[n.index()] = state;
            self.unfinished -= 1;
            for next in self.graph.dag().neighbors_directed(n, Direction::Outgoing) {
                let i = next.index();
                self.pending[i] -= 1;
                self.blocked[i] |= state != State::Succeeded;
                self.failed[i] |= state == State::Failed;
                if self.pending[i] > 0 {
                    continue;
                }
                let runs = match self.graph.node(next).kind.policy() {
                    RunPolicy::AfterSuccess => !self.blocked[i],
                    RunPolicy::Always => true,
                    RunPolicy::OnFailure => self.failed[i],
                };
                if runs {
                    self.state[i] = State::Ready;
                    self.ready.insert(next);
                } else {
                    skipped.push(next);
                    stack.push((next, State::Skipped));
                }
            }
        }
        skipped
    }

    /// Where `node` is in the walk.
    pub fn state(&self, node: NodeIndex) -> State {
        self.state[node.index()]
    }

    /// True once every step has ended or been skipped.
    pub fn is_finished(&self) -> bool {
        self.unfinished == 0
    }
}
