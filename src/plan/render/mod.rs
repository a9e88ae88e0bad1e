//! Views of a build graph. Every view is deterministic: nodes in template order, edges sorted.

mod columns;
mod dot;
mod json;
mod mermaid;
mod svg;
mod text;

pub use dot::dot;
pub use json::json;
pub use mermaid::mermaid;
pub use svg::svg;
pub use text::text;

use super::{BuildGraph, NodeKind};
use crate::source::SourceMap;
use std::fmt;
use std::str::FromStr;

/// A view `kiln graph` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An indented tree of steps: [`text`].
    Text,
    /// Graphviz, clustered by build and source: [`dot`].
    Dot,
    /// A mermaid `flowchart`: [`mermaid`].
    Mermaid,
    /// Nodes and edges for other programs: [`json`].
    Json,
    /// A drawing, laid out in-process: [`svg`].
    Svg,
}

impl Format {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Dot,
        Format::Mermaid,
        Format::Json,
        Format::Svg,
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Dot => "dot",
            Format::Mermaid => "mermaid",
            Format::Json => "json",
            Format::Svg => "svg",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown format `{s}`: expected text, dot, mermaid, json or svg")
            })
    }
}

/// Render `graph` in `format`. `sources` is the map the template was loaded into (for the
/// positions in the JSON view). Only the SVG layout can fail.
pub fn render(graph: &BuildGraph, format: Format, sources: &SourceMap) -> Result<String, String> {
    Ok(match format {
        Format::Text => text(graph),
        Format::Dot => dot(graph),
        Format::Mermaid => mermaid(graph),
        Format::Json => json(graph, sources),
        Format::Svg => svg(graph)?,
    })
}

/// `1 step`, `2 steps`.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// The label of a node in the drawn views: its step name and, when there is one, its summary.
fn label_lines(graph: &BuildGraph, node: petgraph::graph::NodeIndex) -> Vec<String> {
    let n = graph.node(node);
    let mut lines = vec![n.step_name().to_string()];
    if !n.summary.is_empty() {
        lines.push(n.summary.clone());
    }
    lines
}

/// Whether the edge into `to` is a "whatever happened" edge (drawn dashed).
fn is_cleanup_edge(graph: &BuildGraph, to: petgraph::graph::NodeIndex) -> bool {
    matches!(
        graph.node(to).kind,
        NodeKind::Cleanup | NodeKind::ErrorCleanup
    )
}
