//! Graphviz: one cluster per build holding one cluster per source, a shape per kind of step,
//! dashed edges into cleanup steps (they run whatever happened). `dot -Tsvg` draws it.

use super::{is_cleanup_edge, label_lines};
use crate::plan::{BuildGraph, NodeKind};
use petgraph::graph::NodeIndex;
use std::fmt::Write;

/// Render the DOT view.
pub fn dot(graph: &BuildGraph) -> String {
    let mut out = String::from("digraph kiln {\n");
    out.push_str("  rankdir=TB;\n  newrank=true;\n");
    out.push_str("  node [shape=box, fontname=\"Helvetica\", fontsize=11];\n");
    out.push_str("  edge [color=\"#555555\"];\n");
    for n in graph.data() {
        node(&mut out, graph, *n, "  ");
    }
    for (b, build) in graph.builds().iter().enumerate() {
        let _ = writeln!(out, "  subgraph \"cluster_b{b}\" {{");
        let _ = writeln!(
            out,
            "    label={};",
            quote(&format!("build {}", build.name))
        );
        out.push_str("    style=rounded;\n    color=\"#999999\";\n");
        for s in &build.sessions {
            let session = &graph.sessions()[*s];
            let _ = writeln!(out, "    subgraph \"cluster_s{s}\" {{");
            let region = session
                .region
                .as_ref()
                .map(|r| format!(" in {r}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      label={};",
                quote(&format!("{} ({}{region})", session.id, session.builder))
            );
            out.push_str("      style=dashed;\n");
            for n in session.nodes() {
                node(&mut out, graph, n, "      ");
            }
            out.push_str("    }\n");
        }
        out.push_str("  }\n");
    }
    for r in graph.releases() {
        node(&mut out, graph, r.node, "  ");
    }
    for (from, to) in graph.edges() {
        let style = if is_cleanup_edge(graph, to) {
            " [style=dashed]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {}{style};",
            quote(&graph.node(from).id),
            quote(&graph.node(to).id)
        );
    }
    out.push_str("}\n");
    out
}

fn node(out: &mut String, graph: &BuildGraph, n: NodeIndex, indent: &str) {
    let node = graph.node(n);
    let label = label_lines(graph, n)
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("\\n");
    let _ = writeln!(
        out,
        "{indent}{} [label=\"{label}\", {}];",
        quote(&node.id),
        shape(node.kind)
    );
}

fn shape(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Data => "shape=cylinder",
        NodeKind::Launch => "shape=box, style=\"rounded,bold\"",
        NodeKind::Provisioner => "shape=box",
        NodeKind::Capture => "shape=box3d",
        NodeKind::Copy => "shape=parallelogram",
        NodeKind::PostProcessor => "shape=component",
        NodeKind::Publish => "shape=tab",
        NodeKind::Finalize => "shape=doubleoctagon",
        NodeKind::ErrorCleanup => "shape=octagon, style=dashed",
        NodeKind::Discard => "shape=box, style=dashed",
        NodeKind::Cleanup => "shape=octagon",
    }
}

/// A DOT string literal.
fn quote(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

/// Escape text for inside a DOT string: quotes and backslashes (which DOT reads as `\n`,
/// `\l`... escapes), and raw line breaks.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
