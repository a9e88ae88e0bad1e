//! The execution graph: a loaded template compiled into a DAG with one node per step (data
//! source, launch, provisioner, capture, copy, post-processor, publish, release finalize,
//! cleanup) and an edge per "must finish before"; `-only`/`-except` selection; renderers. The
//! builder plugin says which steps a session has; nodes carry what running them takes (a
//! plugin's step, a binder), never an index into the template.
//!
//! Node ids are stable and readable: `data.amazon-ami.ubuntu`, `ubuntu.amazon-ebs.east/launch`,
//! `ubuntu.amazon-ebs.east/provisioner[0].shell`, `.../copy[us-west-2]`,
//! `.../post-processor[0].manifest` (a lone post-processor, chain 0),
//! `.../post-processors[1][0].checksum` (step 0 of chain 1), `.../publish`, `.../cleanup`,
//! `release[bucket/product/release]`. A session's prefix is Packer's build name
//! (`build.type.name`, or `type.name` for an unnamed build).

mod compiler;
mod graph;
pub mod render;
mod select;
mod session;
pub mod show;
mod walker;

pub use crate::body::{SENSITIVE, UNKNOWN};
pub use graph::{
    BuildGraph, Building, Built, DataWork, Graph, Node, NodeKind, PlannedBuild, Release,
    ReleaseKey, RunPolicy, Session, SessionId, Stage, StepWork, Work,
};
pub use select::{Glob, Selection};
pub use walker::{Outcome, State, Walker};

use crate::config::Template;
use crate::diagnostic::Diagnostic;

/// What to compile: Packer's `-only` and `-except` patterns (globs, comma-separated lists allowed).
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    pub only: Vec<String>,
    pub except: Vec<String>,
}

/// Compile a loaded template into its execution graph. Errors (a bad `-only` pattern, one that
/// selects nothing, a value that fails to evaluate) are diagnostics; warnings travel with the
/// graph ([`BuildGraph::warnings`]).
pub fn compile(template: &Template, options: &PlanOptions) -> Result<BuildGraph, Vec<Diagnostic>> {
    compiler::compile(template, options)
}
